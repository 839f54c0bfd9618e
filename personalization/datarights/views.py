"""Pages for data requests (customer and staff) and retention (owner). Thin: parse,
call a service or selector, render."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.decorators import console_required
from accounts.roles import OWNER_CONSOLE, STAFF_CONSOLE
from accounts.selectors import customer_profile_for_user
from core.enqueue import enqueue
from core.errors import ApplicationError
from personalization.consent.services import RequestFingerprint
from personalization.datarights import export, selectors, services, tasks
from personalization.datarights.forms import (
    ErasureRequestForm,
    HandledForm,
    NoteForm,
    RetentionForm,
    StaffFilterForm,
)
from personalization.models import DataRequestKind, DataRequestStatus

EVENT_LABELS = {
    services.RECEIVED: gettext_lazy("Received"),
    services.QUEUED: gettext_lazy("Cancel window ended; queued"),
    services.STARTED: gettext_lazy("Started"),
    services.RESUMED: gettext_lazy("Resumed"),
    services.REQUEUED: gettext_lazy("Queued again"),
    services.COMPLETED: gettext_lazy("Completed"),
    services.CANCELLED: gettext_lazy("Cancelled"),
    services.FAILED: gettext_lazy("Failed"),
    services.RETRIED: gettext_lazy("Retried"),
    services.NOTE: gettext_lazy("Note"),
    services.HANDLED: gettext_lazy("Marked handled"),
    services.EXPORT_DELETED: gettext_lazy("Export file deleted"),
    services.SUPERSEDED: gettext_lazy("Closed: the customer's data was erased"),
}
STAFF_PAGE_SIZE = 50


def _profile_or_404(request):
    profile = customer_profile_for_user(user=request.user)
    if profile is None:
        raise Http404
    return profile


def _customer_page(request, *, profile, erasure_form=None, status=200):
    rows = selectors.customer_requests(customer=profile) if profile else []
    # One of each at a time: no second export or erasure is offered while one is open.
    pending = {row.request.kind: row.request for row in rows if row.is_open}
    context = {
        "profile": profile,
        "rows": rows,
        "pending_export": pending.get(DataRequestKind.EXPORT),
        "pending_erasure": pending.get(DataRequestKind.ERASURE),
        "erasure_form": erasure_form or ErasureRequestForm(),
        "cancel_window_minutes": settings.ERASURE_CANCEL_WINDOW_MINUTES,
        "export_kept_days": export.EXPORT_KEPT_DAYS,
    }
    return render(request, "me/requests.html", context, status=status)


@login_required
def data_requests(request):
    """The customer's requests, and the buttons to make new ones."""
    return _customer_page(request, profile=customer_profile_for_user(user=request.user))


def _create(request, *, kind: str, done: str):
    profile = _profile_or_404(request)
    try:
        services.data_request_create(
            customer=profile,
            kind=kind,
            actor=request.user,
            fingerprint=RequestFingerprint.from_request(request),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("me:data_requests")


@login_required
@require_POST
def data_request_export(request):
    return _create(
        request,
        kind=DataRequestKind.EXPORT,
        done=_("We are preparing a copy of your data. We will email you when it is ready."),
    )


@login_required
@require_POST
def data_request_objection(request):
    return _create(
        request,
        kind=DataRequestKind.OBJECTION,
        done=_("Done: personalization is off and we will not send you offer emails."),
    )


@login_required
@require_POST
def data_request_erasure(request):
    """The confirmation box is checked first (its error next to it, with the focus), and
    only then is the password asked for again."""
    profile = _profile_or_404(request)
    form = ErasureRequestForm(request.POST)
    if not form.is_valid():
        return _customer_page(request, profile=profile, erasure_form=form, status=400)
    return _erasure_confirmed(request)


@reauthentication_required
def _erasure_confirmed(request):
    """Erasure needs the password (or an emailed code) again: allauth asks for it and
    then replays the POST, which passes the box's check above again."""
    return _create(
        request,
        kind=DataRequestKind.ERASURE,
        done=_("Your erasure is scheduled. You can still cancel it for %(minutes)s minutes.")
        % {"minutes": settings.ERASURE_CANCEL_WINDOW_MINUTES},
    )


@login_required
@require_POST
def data_request_cancel(request, request_id: int):
    profile = _profile_or_404(request)
    data_request = selectors.customer_request(customer=profile, request_id=request_id)
    if data_request is None:
        raise Http404
    try:
        services.data_request_cancel(data_request=data_request, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your erasure request is cancelled. Nothing was erased."))
    return redirect("me:data_requests")


@login_required
def data_request_download(request, request_id: int):
    """The export ZIP, for its own customer only; 404 for anyone else or once deleted."""
    profile = _profile_or_404(request)
    data_request = selectors.customer_request(customer=profile, request_id=request_id)
    if (
        data_request is None
        or data_request.kind != DataRequestKind.EXPORT
        or data_request.status != DataRequestStatus.COMPLETED
    ):
        raise Http404
    path = export.export_path(data_request.export_file)
    if path is None:
        raise Http404
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=export.download_name(generated_at=data_request.completed_at or timezone.now()),
        content_type="application/zip",
    )
    response["Cache-Control"] = "private, no-store"
    return response


# --- Staff ---------------------------------------------------------------------------


@console_required(STAFF_CONSOLE)
def staff_data_requests(request):
    """Open requests (or those of a chosen status), oldest due first."""
    form = StaffFilterForm(request.GET or None)
    status = kind = ""
    if form.is_valid():
        status, kind = form.cleaned_data["status"], form.cleaned_data["kind"]
    page = Paginator(selectors.staff_requests(status=status, kind=kind), STAFF_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "staff/requests.html",
        {
            "form": form,
            "page": page,
            "rows": selectors.request_rows(page.object_list),
            "query": query.urlencode(),
        },
    )


def _staff_request_or_404(request_id: int):
    data_request = selectors.staff_request(request_id=request_id)
    if data_request is None:
        raise Http404
    return data_request


def _who(event, customer_user_id) -> str:
    if event.actor_id is None:
        return _("System")
    if event.actor_id == customer_user_id:
        return _("The customer")
    return event.actor.email


def _staff_detail(request, data_request, *, note_form=None, handled_form=None, status=200):
    customer_user_id = data_request.customer.user_id if data_request.customer else None
    events = [
        {
            "event": event,
            "label": EVENT_LABELS.get(event.action, event.action),
            "who": _who(event, customer_user_id),
        }
        for event in selectors.request_events(request=data_request)
    ]
    return render(
        request,
        "staff/requests_detail.html",
        {
            "row": selectors.request_rows([data_request])[0],
            "data_request": data_request,
            "events": events,
            "note_form": note_form or NoteForm(),
            "handled_form": handled_form or HandledForm(),
            "can_retry": data_request.status == DataRequestStatus.FAILED
            and data_request.kind != DataRequestKind.OBJECTION,
            "can_mark_handled": selectors.is_open(data_request)
            and not (data_request.kind == DataRequestKind.ERASURE and data_request.customer_id),
        },
        status=status,
    )


@console_required(STAFF_CONSOLE)
def staff_data_request_detail(request, request_id: int):
    return _staff_detail(request, _staff_request_or_404(request_id))


@console_required(STAFF_CONSOLE)
@require_POST
def staff_data_request_retry(request, request_id: int):
    data_request = _staff_request_or_404(request_id)
    try:
        services.data_request_retry(data_request=data_request, actor=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Queued again."))
    return redirect("staff:data_request_detail", request_id=data_request.pk)


@console_required(STAFF_CONSOLE)
@require_POST
def staff_data_request_note(request, request_id: int):
    data_request = _staff_request_or_404(request_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            services.data_request_note_add(
                data_request=data_request, actor=request.user, note=form.cleaned_data["note"]
            )
        except ApplicationError as error:
            form.add_error(error.field, error.message)
    if not form.is_valid():
        return _staff_detail(request, data_request, note_form=form, status=400)
    messages.success(request, _("Note added."))
    return redirect("staff:data_request_detail", request_id=data_request.pk)


@console_required(STAFF_CONSOLE)
@require_POST
def staff_data_request_handled(request, request_id: int):
    data_request = _staff_request_or_404(request_id)
    form = HandledForm(request.POST)
    if form.is_valid():
        try:
            services.data_request_mark_handled(
                data_request=data_request, actor=request.user, note=form.cleaned_data["note"]
            )
        except ApplicationError as error:
            if error.field != "note":
                # The request's state, not the form, is the problem.
                messages.error(request, error.message)
                return redirect("staff:data_request_detail", request_id=data_request.pk)
            form.add_error("note", error.message)
    if not form.is_valid():
        return _staff_detail(request, data_request, handled_form=form, status=400)
    messages.success(request, _("Marked handled; the customer was told."))
    return redirect("staff:data_request_detail", request_id=data_request.pk)


# --- Owner ---------------------------------------------------------------------------


@console_required(OWNER_CONSOLE)
def owner_retention(request):
    """How long each data category is kept, and what the last retention runs removed."""
    overview = selectors.retention_overview()
    categories = overview["categories"]
    form = RetentionForm(request.POST or None, categories=categories)
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.data_category_retention_set(days_by_code=form.cleaned_data)
        except ApplicationError as error:
            form.add_error(error.field, error.message)
        else:
            if changed:
                messages.success(request, _("Retention periods saved."))
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("owner:retention")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "owner/retention.html",
        {"form": form, "runs": overview["runs"], "categories": categories},
        status=status,
    )


@console_required(OWNER_CONSOLE)
@require_POST
def owner_retention_run(request):
    """Run retention now instead of waiting for the nightly run."""
    if not enqueue(tasks.retention_enforce):
        messages.warning(
            request,
            _(
                "The task queue cannot be reached just now: retention was not started. "
                "Try again in a few minutes; the nightly run happens anyway."
            ),
        )
        return redirect("owner:retention")
    messages.success(
        request, _("Retention is running. Its result appears below when it has finished.")
    )
    return redirect("owner:retention")
