"""Global Privacy Control and the "please read our updated notice" prompt.

Both are cheap for everyone they do not concern: GPC costs one header lookup when the
header is absent, and the notice prompt only runs for GET requests to /me/ pages.
"""

from __future__ import annotations

from django.shortcuts import redirect

from accounts.selectors import customer_profile_for_user
from personalization.consent.notices import (
    notice_latest_asking_version,
    notice_needs_acknowledgement,
)
from personalization.consent.selectors import gpc_pending_changes
from personalization.consent.services import RequestFingerprint, consent_apply_gpc

# /me/ pages a customer can use before confirming the notice (the notice itself).
_NOTICE_PAGES = frozenset({"notice"})


def gpc_signal(request) -> bool:
    """The request carries a Global Privacy Control signal (`Sec-GPC: 1`)."""
    return request.headers.get("Sec-GPC", "").strip() == "1"


def customer_profile(request):
    """The signed-in customer's profile (None for others), looked up once per request."""
    if not hasattr(request, "_consent_profile"):
        request._consent_profile = customer_profile_for_user(user=request.user)
    return request._consent_profile


class ConsentMiddleware:
    """Honours `Sec-GPC: 1` from signed-in customers; sends customers who have not read
    a notice version that asks again to /me/notice/ before any other /me/ page.

    Goes after AuthenticationMiddleware (it needs `request.user`).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if gpc_signal(request) and request.user.is_authenticated:
            self._honour_gpc(request)
        return self.get_response(request)

    def _honour_gpc(self, request) -> None:
        profile = customer_profile(request)
        if profile is None:
            return
        # A read first: once honoured, a repeated signal costs no lock and adds nothing.
        if gpc_pending_changes(customer=profile, asking_version=notice_latest_asking_version()):
            consent_apply_gpc(
                customer=profile, fingerprint=RequestFingerprint.from_request(request)
            )

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if (
            request.method not in ("GET", "HEAD")
            or match is None
            or match.namespace != "me"
            or match.url_name in _NOTICE_PAGES
            or not request.user.is_authenticated
        ):
            return None
        profile = customer_profile(request)
        if profile is None or not notice_needs_acknowledgement(profile=profile):
            return None
        return redirect("me:notice")
