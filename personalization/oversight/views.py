"""The review queue (staff) and the owner's oversight pages. Thin: parse, call, render."""

from __future__ import annotations

import csv
import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.decorators import console_required
from accounts.roles import OWNER_CONSOLE, STAFF_CONSOLE
from core.errors import ApplicationError
from governance.selectors import ai_policy_unacknowledged
from personalization.models import (
    Attribute,
    Category,
    ReasonCode,
    ReviewDecision,
)
from personalization.oversight import selectors, services
from personalization.oversight.forms import (
    BulkForm,
    ClaimForm,
    DecisionForm,
    EscalateForm,
    NoteOnlyForm,
    OversightSettingsForm,
    QueueFilterForm,
    TrailFilterForm,
)

PAGE_SIZE = 50
FILTER_KEYS = ("view", "rule", "age", "channel", "customer")


def _filter_query(request) -> str:
    query = QueryDict(mutable=True)
    for key in FILTER_KEYS:
        value = request.GET.get(key) or request.POST.get(key)
        if value:
            query[key] = value
    return query.urlencode()


def _queue_url(query: str) -> str:
    url = reverse("staff:review_queue")
    return f"{url}?{query}" if query else url


def _filters(request) -> tuple[QueueFilterForm, selectors.QueueFilters]:
    source = request.GET if request.method == "GET" else request.POST
    form = QueueFilterForm({k: source.get(k, "") for k in FILTER_KEYS})
    return form, form.filters()


@console_required(STAFF_CONSOLE)
def review_queue(request):
    """The queue: filters, counts per rule, oldest first, claim, SLA highlighting."""
    form, filters = _filters(request)
    now = timezone.now()
    settings = selectors.oversight_settings()
    rows = selectors.with_display_relations(
        selectors.review_queryset(filters=filters, user=request.user, now=now)
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "claim_form": ClaimForm(),
        "page": page,
        "rows": selectors.queue_rows(
            items=list(page.object_list), user=request.user, now=now, sla_hours=settings.sla_hours
        ),
        "rule_counts": selectors.rule_counts(),
        "counts": selectors.queue_counts(now=now),
        "rates": selectors.reviewer_approval_rates(now=now),
        "sla_hours": settings.sla_hours,
        "claim_minutes": settings.claim_minutes,
        "query": _filter_query(request),
        "policy": ai_policy_unacknowledged(user=request.user),
    }
    return render(request, "staff/review_queue.html", context)


@console_required(STAFF_CONSOLE)
@require_POST
def review_claim(request):
    """Claim the N oldest items of the filtered queue."""
    _form, filters = _filters(request)
    query = _filter_query(request)
    claim = ClaimForm(request.POST)
    if not claim.is_valid():
        for errors in claim.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(_queue_url(query))
    items = services.review_claim(
        user=request.user,
        count=claim.cleaned_data["count"],
        queryset=selectors.review_queryset(filters=filters, user=request.user),
    )
    if not items:
        messages.info(request, _("Nothing left to claim: other reviewers have the rest."))
        return redirect(_queue_url(query))
    minutes = selectors.oversight_settings().claim_minutes
    messages.success(
        request,
        _("You claimed %(n)d items for %(minutes)d minutes.")
        % {"n": len(items), "minutes": minutes},
    )
    return redirect("staff:review_item", item_id=items[0].pk)


def _replacement_choices(page: selectors.ItemPage):
    return selectors.replacement_choices(item=page.item)


def _decisions(page: selectors.ItemPage):
    return services.DECISIONS_FOR.get(page.item.source, services.TASK_DECISIONS)


def _item_page(request, item_id: int, *, decision_form=None, escalate_form=None, status=200):
    page = selectors.review_item_page(item_id=item_id, user=request.user)
    if page is None:
        messages.info(request, _("That item is no longer in the queue (its list was regenerated)."))
        return redirect("staff:review_queue")
    owner = request.user.has_perm(OWNER_CONSOLE)
    decision_form = decision_form or DecisionForm(
        decisions=_decisions(page), replacement_choices=_replacement_choices(page), owner=owner
    )
    context = {
        "p": page,
        "item": page.item,
        "decision_form": decision_form,
        "escalate_form": escalate_form or EscalateForm(),
        "confirm_form": NoteOnlyForm(),
        "owner": owner,
        "policy": ai_policy_unacknowledged(user=request.user),
        "query": _filter_query(request),
        "approve": ReviewDecision.APPROVE,
        "back_to": BACK_TO_ESCALATIONS
        if (request.GET.get("back_to") or request.POST.get("back_to")) == BACK_TO_ESCALATIONS
        else "",
    }
    return render(request, "staff/review_item.html", context, status=status)


# Where the owner's escalations page sends a decision back to.
BACK_TO_ESCALATIONS = "escalations"


@console_required(STAFF_CONSOLE)
def review_item(request, item_id: int):
    return _item_page(request, item_id)


def _post_service(request, item_id: int, call, done: str):
    try:
        call()
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, done)
    return redirect("staff:review_item", item_id=item_id)


@console_required(STAFF_CONSOLE)
@require_POST
def review_claim_item(request, item_id: int):
    return _post_service(
        request,
        item_id,
        lambda: services.review_claim_item(user=request.user, item_id=item_id),
        _("You claimed this item."),
    )


@console_required(STAFF_CONSOLE)
@require_POST
def review_release(request, item_id: int):
    return _post_service(
        request,
        item_id,
        lambda: services.review_release(user=request.user, item_id=item_id),
        _("The item is back in the queue."),
    )


@console_required(OWNER_CONSOLE)
@require_POST
def review_mark_policy(request, item_id: int):
    return _post_service(
        request,
        item_id,
        lambda: services.review_mark_policy_level(user=request.user, item_id=item_id),
        _("Marked policy-level: a second person must confirm its decision."),
    )


@console_required(STAFF_CONSOLE)
@require_POST
def review_escalate(request, item_id: int):
    form = EscalateForm(request.POST)
    if not form.is_valid():
        return _item_page(request, item_id, escalate_form=form, status=400)
    return _post_service(
        request,
        item_id,
        lambda: services.review_escalate(
            user=request.user, item_id=item_id, note=form.cleaned_data["note"]
        ),
        _("Escalated to the owner."),
    )


@console_required(STAFF_CONSOLE)
@require_POST
def review_confirm(request, item_id: int):
    form = NoteOnlyForm(request.POST)
    form.is_valid()
    confirm = request.POST.get("confirm") == "yes"
    return _post_service(
        request,
        item_id,
        lambda: services.review_confirm(
            user=request.user,
            item_id=item_id,
            confirm=confirm,
            note=form.cleaned_data.get("note", ""),
        ),
        _("Confirmed: the decision took effect.")
        if confirm
        else _("Declined: the item is back in the queue."),
    )


DONE = {
    ReviewDecision.APPROVE: _("Approved: the customer can now see it."),
    ReviewDecision.REJECT: _("Rejected: the customer will not see it."),
    ReviewDecision.REPLACE: _("Replaced: the customer sees the new item instead."),
    ReviewDecision.CLOSE: _("Closed."),
}


@console_required(STAFF_CONSOLE)
@require_POST
def review_decide(request, item_id: int):
    page = selectors.review_item_page(item_id=item_id, user=request.user)
    if page is None:
        messages.info(request, _("That item is no longer in the queue (its list was regenerated)."))
        return redirect("staff:review_queue")
    owner = request.user.has_perm(OWNER_CONSOLE)
    form = DecisionForm(
        request.POST,
        decisions=_decisions(page),
        replacement_choices=_replacement_choices(page),
        owner=owner,
    )
    if not form.is_valid():
        return _item_page(request, item_id, decision_form=form, status=400)
    data = form.cleaned_data
    try:
        item = services.review_decide(
            user=request.user,
            item_id=item_id,
            decision=data["decision"],
            reason_code=data["reason_code"],
            note=data["note"],
            replacement_item_id=data.get("replacement_item"),
            explanation_seen=data["explanation_seen"],
            policy_level=data.get("policy_level", False),
        )
    except ApplicationError as error:
        if error.code in ("decided", "not_found"):
            # A form from before someone (or this reviewer, in another tab) decided:
            # say who did, and show the item as it now stands.
            messages.warning(request, error.message)
            if error.code == "not_found":
                return redirect("staff:review_queue")
            return redirect("staff:review_item", item_id=item_id)
        if error.field and error.field in form.fields:
            form.add_error(error.field, error.message)
        else:
            form.add_error(None, error.message)
        return _item_page(request, item_id, decision_form=form, status=400)
    if item.decided_at is None:
        messages.success(request, _("Proposed: a second person must confirm this decision."))
    else:
        messages.success(request, DONE[ReviewDecision(item.decision)])
    if request.POST.get("back_to") == BACK_TO_ESCALATIONS:
        return redirect("owner:escalations")
    query = _filter_query(request)
    following = (
        selectors.review_queryset(
            filters=selectors.QueueFilters(view=selectors.VIEW_MINE), user=request.user
        )
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        return redirect("staff:review_item", item_id=following)
    return redirect(_queue_url(query))


@console_required(STAFF_CONSOLE)
def review_bulk(request):
    """Bulk decision for the filtered set: GET shows how many; the first POST lists the
    very items it will decide; the confirmed POST decides those (and only those)."""
    form_filters, filters = _filters(request)
    query = _filter_query(request)
    queryset = selectors.review_queryset(filters=filters, user=request.user)
    preview = selectors.bulk_preview(queryset=queryset, user=request.user)
    form = BulkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        decision = form.cleaned_data["decision"]
        if not form.cleaned_data["confirmed"]:
            listed = selectors.bulk_items(
                queryset=queryset, user=request.user, decision=decision, limit=BULK_LIMIT
            )
            context = {
                "form": form,
                "preview": preview,
                "query": query,
                "confirming": True,
                "listed": listed,
                "limit": BULK_LIMIT,
                "reason_label": dict(ReasonCode.choices).get(form.cleaned_data["reason_code"]),
            }
            return render(request, "staff/review_bulk.html", context)
        try:
            result = services.review_bulk_decide(
                user=request.user,
                queryset=queryset,
                decision=decision,
                reason_code=form.cleaned_data["reason_code"],
                note=form.cleaned_data["note"],
                item_ids=_listed_ids(request),
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            text = _(
                "%(n)d decided. Left for one-by-one review: %(risk)d high-risk, "
                "%(claimed)d claimed by others, %(other)d needing a second person or "
                "not a recommendation."
            ) % {
                "n": result.decided,
                "risk": result.skipped_high_risk,
                "claimed": result.skipped_claimed,
                "other": result.skipped_other,
            }
            if result.skipped_decided:
                text += " " + ngettext(
                    "%(n)d listed item was decided by someone else meanwhile.",
                    "%(n)d listed items were decided by someone else meanwhile.",
                    result.skipped_decided,
                ) % {"n": result.skipped_decided}
            messages.success(request, text)
            return redirect(_queue_url(query))
    context = {
        "form": form,
        "filter_form": form_filters,
        "preview": preview,
        "query": query,
        "confirming": False,
        "policy": ai_policy_unacknowledged(user=request.user),
    }
    return render(request, "staff/review_bulk.html", context, status=400 if form.errors else 200)


# A bulk decision lists every item it decides; at most this many at once.
BULK_LIMIT = 200


def _listed_ids(request) -> list[int]:
    """The item numbers the confirmation listed (anything else is ignored)."""
    ids = []
    for value in request.POST.getlist("items")[:BULK_LIMIT]:
        if value.isdigit():
            ids.append(int(value))
    return ids


# --- owner ------------------------------------------------------------------------------


def _known_codes() -> tuple[set[str], set[str]]:
    return (
        set(Attribute.objects.values_list("code", flat=True)),
        set(Category.objects.values_list("slug", flat=True)),
    )


@console_required(OWNER_CONSOLE)
def oversight_settings(request):
    current = selectors.oversight_settings()
    attributes, categories = _known_codes()
    if request.method == "POST":
        form = OversightSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.oversight_settings_update(user=request.user, **form.cleaned_data)
            except ApplicationError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(request, _("Saved. The rules use the new thresholds from now on."))
                return redirect("owner:oversight")
    else:
        initial = {name: getattr(current, name) for name in services.SETTINGS_FIELDS}
        initial["sensitive_attributes"] = ", ".join(current.sensitive_attributes or [])
        initial["sensitive_categories"] = ", ".join(current.sensitive_categories or [])
        form = OversightSettingsForm(initial=initial)
    context = {
        "form": form,
        "sla": selectors.review_sla(),
        "attributes": sorted(attributes),
        "categories": sorted(categories),
    }
    return render(
        request, "owner/oversight_settings.html", context, status=400 if form.errors else 200
    )


@console_required(OWNER_CONSOLE)
def escalations(request):
    """What reviewers handed to the owner, with their notes; each opens the item's page
    to decide it (and comes back here)."""
    context = {"rows": selectors.escalations(), "back_to": BACK_TO_ESCALATIONS}
    return render(request, "owner/escalations.html", context)


@console_required(OWNER_CONSOLE)
def review_trail(request):
    form = TrailFilterForm(request.GET or None)
    rows = selectors.trail_queryset(filters=form.filters())
    if request.GET.get("format") == "csv":
        return _trail_csv(rows)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return render(request, "owner/oversight_trail.html", context)


class _Echo:
    def write(self, value):
        return value


def _trail_csv(rows) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(
            ["at", "action", "by", "item", "customer_number", "reason_code", "note", "snapshot"]
        )
        for action in rows.iterator(chunk_size=2_000):
            yield writer.writerow(
                [
                    action.at.isoformat(),
                    action.action,
                    action.actor.email if action.actor else "",
                    action.item_ref or "",
                    action.customer_ref or "",
                    action.reason_code,
                    _csv_safe(action.note),
                    # JSON, not Python's dict text: spreadsheets and scripts can read it.
                    _csv_safe(json.dumps(action.snapshot, ensure_ascii=False, sort_keys=True)),
                ]
            )

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="review-trail.csv"'
    return response


def _csv_safe(value: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; quote them."""
    if value and value[0] in "=+-@\t\r":
        return "'" + value
    return value
