from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.selectors import user_has_totp, user_needs_mfa


class MfaRequiredMiddleware:
    """An owner without an authenticator app is sent to set one up first.

    Guards the owner console, the staff console (which an owner may also open: review
    queue, data requests) and the admin. Staff who are not owners are never guarded
    (`user_needs_mfa`). Sign-in asks for the app's code whenever one is set up
    (allauth's MFA stage), so requiring the app here means no owner page opens on a
    password alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._guarded(request.path) and user_needs_mfa(user=request.user):
            if not user_has_totp(user=request.user):
                messages.warning(
                    request,
                    _(
                        "Set up an authenticator app first: the owner's pages and the "
                        "admin need a code from it at every sign-in."
                    ),
                )
                return redirect("mfa_activate_totp")
        return self.get_response(request)

    @staticmethod
    def _guarded(path: str) -> bool:
        admin = reverse("admin:index")
        if path in (reverse("admin:login"), reverse("admin:logout")):
            return False
        return path.startswith((reverse("owner:dashboard"), reverse("staff:dashboard"), admin))
