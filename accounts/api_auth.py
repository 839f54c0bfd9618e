"""REST API authentication by `Authorization: Api-Key <key>` and scope checks."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from accounts.models import ApiKey
from accounts.services import api_key_authenticate
from core.clientip import client_ip

KEYWORD = "Api-Key"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _sep, key = header.partition(" ")
        if keyword != KEYWORD:
            return None
        key = key.strip()
        if not key:
            raise exceptions.AuthenticationFailed(_("The Api-Key header has no key."))
        api_key = api_key_authenticate(key=key)
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("Unknown or revoked API key."))
        return api_key, api_key

    def authenticate_header(self, request) -> str:
        return KEYWORD


def scopes_of(request) -> frozenset[str]:
    """The scopes of the caller's API key; nothing else carries any.

    The API is for the shop's systems only: no page calls it, so a browser session
    (which is not even an authentication class here) never gets a scope.
    """
    if isinstance(request.auth, ApiKey):
        return frozenset(request.auth.scopes)
    return frozenset()


class HasScope(permissions.BasePermission):
    """Grants access when the caller holds the view's `required_scope`.

    A method the view does not answer at all is let through, so that DRF's method
    check answers 405 with an Allow header instead of a misleading "missing scope".
    """

    message = _("This key is not allowed to do that (missing scope).")

    def has_permission(self, request, view) -> bool:
        if not getattr(request.user, "is_authenticated", False):
            return False
        if request.method not in view.allowed_methods:
            return True  # APIView.dispatch answers 405 Method Not Allowed
        method = "GET" if request.method == "HEAD" else request.method
        required = getattr(view, "required_scopes", {}).get(method)
        if required is None:
            required = getattr(view, "required_scope", None)
        if required is None:
            return False
        if required not in scopes_of(request):
            self.message = _("This key lacks the scope '%(scope)s'.") % {"scope": required}
            return False
        return True


class ApiKeyRateThrottle(throttling.SimpleRateThrottle):
    """Requests per minute per key (or per signed-in user), counted in fixed windows.

    DRF's SimpleRateThrottle keeps every request's time in one cached list and rewrites
    it on each request, which grows with the rate (at 10,000/min the cache moves a
    10,000-entry list per request). A counter per window costs the same at any rate; a
    client may burst up to twice the rate across a window boundary.
    """

    scope = "api_key"
    # Set by SimpleRateThrottle.__init__ from the rate (the stubs leave them out); read
    # only once a rate is known.
    num_requests: int
    duration: int

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key-{request.auth.pk}"
        elif getattr(request.user, "is_authenticated", False):
            ident = f"user-{request.user.pk}"
        else:
            ident = client_ip(request)  # the trusted-proxy setting, as sign-in limits
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        self.window_ends = (window + 1) * self.duration
        key = f"{self.key}:{window}"
        # add() is a no-op when the counter exists; incr() is atomic in Redis.
        self.cache.add(key, 0, timeout=self.duration + 1)
        try:
            count = self.cache.incr(key)
        except ValueError:  # expired between add() and incr()
            self.cache.add(key, 1, timeout=self.duration + 1)
            count = 1
        return count <= self.num_requests

    def wait(self) -> float | None:
        return max(self.window_ends - self.timer(), 0.0)


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents the Api-Key header in the OpenAPI schema."""

    target_class = "accounts.api_auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Authorization: Api-Key <key>`; create keys with "
            "`manage.py create_api_key NAME --scopes ...`.",
        }
