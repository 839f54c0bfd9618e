"""The emails a customer gets at each step of a data request.

Messages are composed when the step happens and sent after
the step's transaction commits, so a rolled-back step sends nothing. They carry no
personal data beyond the recipient's own address.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.defaultfilters import date as date_filter
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.language import customer_language
from accounts.models import CustomerProfile
from personalization.models import DataRequest, DataRequestKind

logger = logging.getLogger(__name__)

RECEIVED = "received"
STARTED = "started"
COMPLETED = "completed"
CANCELLED = "cancelled"


def customer_address(customer: CustomerProfile | None) -> str:
    """Where the customer's mail goes: the login's address, else the shop's record."""
    if customer is None:
        return ""
    user = customer.user
    if user is not None and user.email:
        return user.email
    return customer.email


def _when(moment) -> str:
    return date_filter(timezone.localtime(moment), "DATETIME_FORMAT")


def _day(moment) -> str:
    return date_filter(timezone.localtime(moment), "DATE_FORMAT")


def _kind_name(request: DataRequest) -> str:
    return {
        DataRequestKind.EXPORT: _("copy of your data"),
        DataRequestKind.ERASURE: _("erasure of your data"),
        DataRequestKind.OBJECTION: _("objection to profiling"),
    }[DataRequestKind(request.kind)]


def model_receipt(request: DataRequest) -> str:
    """What the erasure did to the recommendation model, with the time, in plain words."""
    method = (request.outcome or {}).get("model")
    if method in ("downdate", "done") and request.removed_from_model_at:
        return _("Your data was removed from our recommendation model at %(when)s.") % {
            "when": _when(request.removed_from_model_at)
        }
    if method == "none" and request.removed_from_model_at:
        return _("Our recommendation model held none of your data (checked at %(when)s).") % {
            "when": _when(request.removed_from_model_at)
        }
    if method == "retrain":
        return _(
            "Our recommendation model could not drop your data on its own, so it is being "
            "trained again without it; until that is done, the suggestions other customers "
            "see may still reflect what you bought."
        )
    return ""


def _compose(request: DataRequest, step: str) -> tuple[str, str]:
    kind = _kind_name(request)
    shop = settings.SHOP_NAME
    where = _("You can follow it under “My data requests” when you sign in.")
    number = _("Request number: %(number)s") % {"number": request.pk}
    if step == RECEIVED:
        subject = _("We received your request: %(kind)s") % {"kind": kind}
        lines = [
            _("We received your request (%(kind)s) on %(when)s.")
            % {"kind": kind, "when": _when(request.requested_at)},
            _("We will complete it by %(due)s at the latest.") % {"due": _day(request.due_at)},
        ]
        if request.kind == DataRequestKind.ERASURE and request.not_before:
            lines.append(
                _(
                    "Erasure starts after %(when)s. Until then you can cancel it; after "
                    "that it cannot be undone."
                )
                % {"when": _when(request.not_before)}
            )
        lines.append(where)
    elif step == STARTED:
        subject = _("We are working on your request: %(kind)s") % {"kind": kind}
        lines = [_("We started on your request (%(kind)s).") % {"kind": kind}, where]
    elif step == COMPLETED:
        subject = _("Your request is complete: %(kind)s") % {"kind": kind}
        if request.kind == DataRequestKind.EXPORT:
            from personalization.datarights.export import EXPORT_KEPT_DAYS

            lines = [
                _(
                    "Your copy of your data is ready. Sign in and open “My data requests” "
                    "to download it; it stays available for %(days)s days."
                )
                % {"days": EXPORT_KEPT_DAYS},
            ]
        elif request.kind == DataRequestKind.ERASURE:
            lines = [
                _(
                    "We erased your data and your login. We kept only a record that you "
                    "asked for this and of your consent changes, under a customer number "
                    "that no longer leads to you. This is the last email you get from us."
                )
            ]
            model_line = model_receipt(request)
            if model_line:
                lines.append(model_line)
        else:
            lines = [
                _(
                    "Personalization is now off for you and we will not send you offer "
                    "emails. You can change this again at any time in “My data & choices”."
                )
            ]
    elif step == CANCELLED:
        subject = _("Your request was cancelled: %(kind)s") % {"kind": kind}
        lines = [_("Your request (%(kind)s) was cancelled. Nothing was changed.") % {"kind": kind}]
    else:  # pragma: no cover - programming error
        raise ValueError(step)
    body = "\n\n".join([*lines, number, shop]) + "\n"
    return f"{shop}: {subject}", body


def _send(subject: str, body: str, to: str) -> None:
    try:
        send_mail(subject, body, None, [to])
    except Exception:  # a mail server outage must not undo the step
        logger.exception("data request email could not be sent")


def notify_on_commit(request: DataRequest, step: str, *, to: str) -> None:
    """Send the step's email once the current transaction commits."""
    if not to:
        return
    # In the language the customer chose on the site's switch; without one, the
    # language active for the step (the page's, or the shop's default in a worker).
    language = customer_language(request.customer)
    with translation.override(language) if language else nullcontext():
        subject, body = _compose(request, step)
    transaction.on_commit(partial(_send, subject, body, to))
