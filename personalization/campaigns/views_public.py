"""The two links in every offer email; no sign-in needed, the signed token is the key.

A GET only shows a page with one button, so a mail scanner that follows links changes
nothing; the button POSTs. The unsubscribe address also takes the RFC 8058 one-click
POST that mail clients send without cookies, so these views are exempt from CSRF: the
signed token, not a session, authenticates the request.
"""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from personalization.campaigns import services
from personalization.campaigns.links import (
    PREVIEW_TOKEN,
    LinkAction,
    LinkExpired,
    LinkInvalid,
    link_read,
)
from personalization.consent.services import RequestFingerprint


def _error(request, exc: Exception | None, token: str):
    if token == PREVIEW_TOKEN:
        title = _("This is a preview")
        text = _(
            "In the real email this link belongs to the customer it was sent to. "
            "Nothing was changed."
        )
    elif isinstance(exc, LinkExpired):
        title = _("This link has expired")
        text = _(
            "For your safety the links in our emails work for a limited time. Sign in to "
            "“My data & choices” to change what we may do, or use the link in a newer email."
        )
    else:
        title = _("This link is not valid")
        text = _(
            "The link may have been cut short or changed. Copy the whole link from the "
            "email, or sign in to “My data & choices”. Nothing was changed."
        )
    return render(request, "campaigns/link_error.html", {"title": title, "text": text}, status=400)


def _page(request, token: str, *, action: LinkAction, confirm: dict, run, done: dict):
    if token == PREVIEW_TOKEN:
        return _error(request, None, token)
    try:
        link_read(action=action, token=token)
    except (LinkInvalid, LinkExpired) as exc:
        return _error(request, exc, token)
    if request.method != "POST":
        return render(request, "campaigns/link_confirm.html", confirm)
    try:
        customer = run()
    except (LinkInvalid, LinkExpired) as exc:
        return _error(request, exc, token)
    if customer is None:
        done = {
            "title": _("Nothing left to change"),
            "text": _("We no longer hold any data about you, so you will get no more emails."),
        }
    return render(request, "campaigns/link_done.html", done)


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token: str):
    return _page(
        request,
        token,
        action=LinkAction.UNSUBSCRIBE,
        confirm={
            "title": _("Unsubscribe from offer emails"),
            "text": _(
                "You will get no more offer emails from us. Everything else stays as it is; "
                "you can change your mind at any time in “My data & choices”."
            ),
            "button": _("Unsubscribe"),
        },
        run=lambda: services.offers_unsubscribe(
            token=token, fingerprint=RequestFingerprint.from_request(request)
        ),
        done={
            "title": _("You are unsubscribed"),
            "text": _(
                "We will send you no more offer emails. We recorded your choice with the "
                "date, as proof for you and for us."
            ),
        },
    )


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def stop_personalizing(request, token: str):
    return _page(
        request,
        token,
        action=LinkAction.STOP_PERSONALIZING,
        confirm={
            "title": _("Stop personalizing my offers"),
            "text": _(
                "Our AI will stop choosing offers for you: you will see the same suggestions "
                "as any visitor, and no personalized offer emails. You can switch it on again "
                "in “My data & choices”."
            ),
            "button": _("Stop personalizing"),
        },
        run=lambda: services.offers_stop_personalizing(token=token),
        done={
            "title": _("Personalization is off"),
            "text": _(
                "We no longer personalize your offers. You see the same suggestions as any "
                "visitor, and we send you no personalized offer emails."
            ),
        },
    )
