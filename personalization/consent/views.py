"""Consent and privacy notice pages: the customer's (/me/) and the owner's (/owner/).

Customer views find the customer from the signed-in user only, never from an id in the
URL or the form.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.decorators import console_required
from accounts.models import CustomerProfile
from accounts.roles import OWNER_CONSOLE
from core.errors import ApplicationError
from personalization.consent import notices, selectors
from personalization.consent.forms import AcknowledgeForm, ConsentForm, NoticeForm
from personalization.consent.middleware import customer_profile, gpc_signal
from personalization.consent.services import (
    ConsentChange,
    RequestFingerprint,
    consent_set,
)
from personalization.models import ConsentEvent, ConsentMethod, PrivacyNotice


def customer_only(view):
    """Signed in (else the login page) and a customer: staff and owners get 403."""

    @wraps(view)
    @login_required
    def wrapped(request, *args, **kwargs):
        profile = customer_profile(request)
        if profile is None:
            raise PermissionDenied(_("These pages are for the shop's customers."))
        return view(request, profile, *args, **kwargs)

    return wrapped


def _current_notice() -> PrivacyNotice:
    return notices.notice_current_or_default()


# --- Customer pages -----------------------------------------------------------------


def _cell_names(rows: list[selectors.ConsentRow]) -> dict[tuple[str, str], str]:
    return {
        (cell.purpose.code, row.category.code): _("%(category)s for %(purpose)s")
        % {"category": row.category.name, "purpose": cell.purpose.name}
        for row in rows
        for cell in row.cells
    }


def _saved_message(events: list[ConsentEvent], names: dict[tuple[str, str], str]) -> str:
    if not events:
        return _("Nothing changed: these were already your choices.")
    allowed = [names[(e.purpose, e.data_category)] for e in events if e.granted]
    stopped = [names[(e.purpose, e.data_category)] for e in events if not e.granted]
    parts = [_("Your choices are saved.")]
    if allowed:
        parts.append(_("Now allowed: %(cells)s.") % {"cells": "; ".join(allowed)})
    if stopped:
        parts.append(_("No longer allowed: %(cells)s.") % {"cells": "; ".join(stopped)})
    return " ".join(parts)


def _method_words(method: str) -> str:
    """How a change was made, from the customer's point of view."""
    words: dict[str, str] = {
        ConsentMethod.UI: _("on this page"),
        ConsentMethod.GPC: _("by your browser's Global Privacy Control signal"),
        ConsentMethod.API: _("in the shop's systems"),
        ConsentMethod.IMPORT: _("by an import from the shop's systems"),
        ConsentMethod.ERASURE: _("by your erasure request"),
        ConsentMethod.OBJECTION: _("by your objection to profiling"),
        ConsentMethod.EMAIL_LINK: _("with the unsubscribe link in an offer email"),
    }
    return str(words.get(method, method))


def _origin_words(method: str | None, at) -> str:
    """Where a box's current state came from, in the customer's words."""
    if method is None or at is None:
        return _("Not decided yet: off until you tick it.")
    when = date_format(timezone.localtime(at), "DATE_FORMAT")
    words: dict[str, str] = {
        ConsentMethod.UI: _("You chose this on %(date)s."),
        ConsentMethod.GPC: _("Set by your browser's privacy signal on %(date)s."),
        ConsentMethod.API: _("Set by the shop's systems on %(date)s."),
        ConsentMethod.IMPORT: _("Set by the shop's import on %(date)s."),
        ConsentMethod.ERASURE: _("Set by your erasure request on %(date)s."),
        ConsentMethod.OBJECTION: _("Set by your objection to profiling on %(date)s."),
        ConsentMethod.EMAIL_LINK: _("Set by the unsubscribe link in an email on %(date)s."),
    }
    template = words.get(method, _("Recorded on %(date)s."))
    return str(template) % {"date": when}


# What the two equal buttons above the grid do to every box.
_EVERYTHING = {"allow": True, "refuse": False}


@require_http_methods(["GET", "POST"])
@customer_only
def consent(request, profile: CustomerProfile):
    """The purpose x data category grid; saving records one ledger event per change."""
    notice = _current_notice()
    rows = selectors.consent_page_rows(customer=profile)
    if request.method == "POST":
        form = ConsentForm(request.POST, rows=rows)
        if not form.is_valid():
            messages.error(
                request, _("Nothing was saved: the form was incomplete. Please try again.")
            )
            return redirect("me:consent")
        if form.cleaned_data["notice_version"] != notice.version:
            messages.error(
                request,
                _(
                    "Nothing was saved: our privacy notice changed while this page was open. "
                    "Please check your choices against version %(version)d and save again."
                )
                % {"version": notice.version},
            )
            return redirect("me:consent")
        current = {
            (cell.purpose.code, row.category.code): cell.granted
            for row in rows
            for cell in row.cells
            if cell.applies
        }
        wanted_all = _EVERYTHING.get(request.POST.get("everything", ""))
        choices = form.choices()
        if wanted_all is not None:
            # "Allow all" / "Refuse all": every box on the page, saved at once.
            choices = dict.fromkeys(choices, wanted_all)
        changes = [
            ConsentChange(purpose, category, wanted)
            for (purpose, category), wanted in choices.items()
            if wanted != current[(purpose, category)]
        ]
        try:
            events = consent_set(
                customer=profile,
                changes=changes,
                method=ConsentMethod.UI,
                actor="customer",
                notice_version=notice.version,
                fingerprint=RequestFingerprint.from_request(request),
            )
        except ApplicationError as error:
            messages.error(request, _("Nothing was saved: %(reason)s") % {"reason": error.message})
            return redirect("me:consent")
        messages.success(request, _saved_message(events, _cell_names(rows)))
        return redirect("me:consent")

    names = _cell_names(rows)
    context = {
        "notice": notice,
        "rows": rows,
        "grid": [
            (row, [(cell, _origin_words(cell.origin_method, cell.origin_at)) for cell in row.cells])
            for row in rows
        ],
        "preticked_by_others": any(
            cell.granted and cell.origin_method not in (None, ConsentMethod.UI)
            for row in rows
            for cell in row.cells
        ),
        "purposes": [cell.purpose for cell in rows[0].cells] if rows else [],
        "has_limited_rows": any(row.limited_to for row in rows),
        "preview_categories": _ENGINE_CATEGORIES,
        "gpc": selectors.gpc_status(
            customer=profile,
            signal=gpc_signal(request),
            asking_version=notices.notice_latest_asking_version(),
        ),
        "recent": [
            (
                event,
                names.get((event.purpose, event.data_category), event.purpose),
                _method_words(event.method),
            )
            for event in selectors.consent_recent_events(customer=profile)
        ],
    }
    return render(request, "me/consent.html", context)


@require_http_methods(["GET", "POST"])
@customer_only
def notice(request, profile: CustomerProfile):
    """The current notice; "I have read this" records the version the customer read."""
    current = _current_notice()
    if request.method == "POST":
        form = AcknowledgeForm(request.POST)
        if not form.is_valid() or form.cleaned_data["version"] != current.version:
            messages.error(
                request,
                _("A newer version of the notice was published meanwhile. Please read this one."),
            )
            return redirect("me:notice")
        try:
            notices.notice_acknowledge(profile=profile, version=form.cleaned_data["version"])
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("me:notice")
        messages.success(
            request,
            _(
                "Thank you for reading version %(version)d of our privacy notice. Please check "
                "your choices below: only what is ticked is allowed."
            )
            % {"version": current.version},
        )
        return redirect("me:consent")

    context = {
        "display": notices.notice_display(notice=current),
        "needs_acknowledgement": notices.notice_needs_acknowledgement(profile=profile),
        "form": AcknowledgeForm(initial={"version": current.version}),
    }
    return render(request, "me/notice.html", context)


# --- Owner console ------------------------------------------------------------------


@console_required(OWNER_CONSOLE)
def notice_list(request):
    context = {
        "current": _current_notice(),
        "versions": notices.notice_versions(),
        "draft": notices.notice_draft(),
    }
    return render(request, "owner/notice_list.html", context)


def _notice_form_page(request, form: NoticeForm, notice: PrivacyNotice | None):
    status = 400 if form.errors else 200
    return render(
        request, "owner/notice_form.html", {"form": form, "notice": notice}, status=status
    )


@require_http_methods(["GET", "POST"])
@console_required(OWNER_CONSOLE)
def notice_create(request):
    draft = notices.notice_draft()
    if draft is not None:
        messages.info(
            request,
            _("There is already a draft (version %(version)d); edit it here.")
            % {"version": draft.version},
        )
        return redirect("owner:notice_edit", version=draft.version)
    current = _current_notice()
    if request.method == "POST":
        form = NoticeForm(request.POST)
        if form.is_valid():
            try:
                created = notices.notice_draft_create(author=request.user, **form.cleaned_data)
            except ApplicationError as error:
                form.add_application_error(error)
            else:
                messages.success(
                    request,
                    _(
                        "Draft version %(version)d saved. Customers do not see it until you "
                        "publish it."
                    )
                    % {"version": created.version},
                )
                return redirect("owner:notice_detail", version=created.version)
    else:
        form = NoticeForm(
            initial={
                "title": current.title,
                "body": current.body,
                "ai_statement": current.ai_statement,
            }
        )
    return _notice_form_page(request, form, None)


@require_http_methods(["GET", "POST"])
@console_required(OWNER_CONSOLE)
def notice_edit(request, version: int):
    notice = get_object_or_404(PrivacyNotice, version=version)
    if notice.status == PrivacyNotice.Status.PUBLISHED:
        messages.error(
            request,
            _("Version %(version)d is published and can no longer be changed. Start a new draft.")
            % {"version": notice.version},
        )
        return redirect("owner:notice_detail", version=notice.version)
    if request.method == "POST":
        form = NoticeForm(request.POST)
        if form.is_valid():
            try:
                notices.notice_draft_update(notice=notice, **form.cleaned_data)
            except ApplicationError as error:
                form.add_application_error(error)
            else:
                messages.success(
                    request,
                    _("Draft version %(version)d saved.") % {"version": notice.version},
                )
                return redirect("owner:notice_detail", version=notice.version)
    else:
        form = NoticeForm(
            initial={
                "title": notice.title,
                "body": notice.body,
                "ai_statement": notice.ai_statement,
            }
        )
    return _notice_form_page(request, form, notice)


@console_required(OWNER_CONSOLE)
def notice_detail(request, version: int):
    notice = get_object_or_404(PrivacyNotice, version=version)
    return render(
        request, "owner/notice_detail.html", {"display": notices.notice_display(notice=notice)}
    )


@require_http_methods(["GET", "POST"])
@console_required(OWNER_CONSOLE)
def notice_publish(request, version: int):
    notice = get_object_or_404(PrivacyNotice, version=version)
    if notice.status == PrivacyNotice.Status.PUBLISHED:
        messages.info(
            request, _("Version %(version)d is already published.") % {"version": notice.version}
        )
        return redirect("owner:notice_detail", version=notice.version)
    if request.method == "POST":
        try:
            published = notices.notice_publish(notice=notice)
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("owner:notice_detail", version=notice.version)
        if published.asks_again:
            text = _(
                "Version %(version)d is published. Customers will be asked to read it the "
                "next time they open their page."
            )
        else:
            text = _(
                "Version %(version)d is published. Customers will not be asked again; it is "
                "on the transparency page and their privacy page."
            )
        messages.success(request, text % {"version": published.version})
        return redirect("owner:notice_list")
    return render(
        request,
        "owner/notice_publish.html",
        {"notice": notice, "changes": notices.notice_changes(notice=notice)},
    )


# Data categories the recommender can read (with consent for on-site recommendations); the
# preview of each is personalization/recommendations/preview.py.
_ENGINE_CATEGORIES = ("purchase_history", "browsing_history", "stated_preferences")
