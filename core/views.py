import re
from urllib.parse import urlencode

from csp.constants import NONCE, SELF
from csp.decorators import csp_update
from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.shortcuts import render
from django.template import loader
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_GET, require_safe
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView

from core import health
from core.api import error_body

# Paths that answer in the API's error envelope rather than with a page.
API_PREFIX = "/api/v1/"


@never_cache
@require_GET
def healthz(request):
    """JSON state of the database and the broker; 503 when either is down."""
    components = {"database": health.check_database(), "broker": health.check_broker()}
    ok = all(state.ok for state in components.values())
    body = {"status": "ok" if ok else "down"}
    body.update({name: state.as_dict() for name, state in components.items()})
    return JsonResponse(body, status=200 if ok else 503)


@require_safe
@cache_control(max_age=86400, public=True)
def favicon(request):
    """/favicon.ico, for browsers and tools that ask for it without reading a page."""
    path = finders.find("favicon.ico")
    if path is None:
        raise Http404
    return FileResponse(open(path, "rb"), content_type="image/x-icon")


# Swagger UI's init script comes from the same view (?script=), never inline.
api_docs = SpectacularSwaggerSplitView.as_view(
    url_name="api-schema", template_name="api_docs/swagger_ui.html"
)
# ReDoc writes its styles into <style> elements at run time (allowed by this response's
# nonce) and runs its search in a worker it builds from a blob: URL.
api_redoc = csp_update({"style-src": [NONCE], "worker-src": [SELF, "blob:"]})(
    SpectacularRedocView.as_view(url_name="api-schema", template_name="api_docs/redoc.html")
)


# --- Error pages ----------------------------------------------------------------------
# In the site's layout, each with a way back. 400 and 500 render without the request's
# context (no context processors, no database): the request or the database may be
# what failed. Under /api/ the same errors answer in the API's error envelope.

# get_object_or_404's wording names a model; people get the page's own words instead.
_GENERIC_NOT_FOUND = re.compile(r"^No \w+ matches the given query\.$")


def _wants_api_envelope(request) -> bool:
    return request is not None and request.path_info.startswith(API_PREFIX)


def _ways_back(request=None, *, sign_in_next: str | None = None) -> list[tuple[str, str]]:
    """Links out of an error page: home (a signed-in person's home is their role's start
    page), and a sign-in link for anyone not signed in."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return [(_("Go to your start page"), reverse("home"))]
    sign_in = reverse("account_login")
    if sign_in_next:
        sign_in += "?" + urlencode({"next": sign_in_next})
    return [(_("Go to the home page"), reverse("home")), (_("Sign in"), sign_in)]


def _message(exception) -> str:
    """A message the app raised for people to read, if any (never the URL resolver's)."""
    message = exception.args[0] if exception is not None and exception.args else None
    if isinstance(message, str) and not _GENERIC_NOT_FOUND.match(message):
        return message
    return ""


def _bare_page(template_name: str, status: int) -> HttpResponse:
    context = {"shop_name": settings.SHOP_NAME, "ways_back": _ways_back(), "status": status}
    return HttpResponse(loader.get_template(template_name).render(context), status=status)


@requires_csrf_token
def bad_request(request, exception=None):
    if _wants_api_envelope(request):
        message = _("The request could not be understood.")
        return JsonResponse(error_body("bad_request", message), status=400)
    return _bare_page("400.html", status=400)


@requires_csrf_token
def permission_denied(request, exception=None):
    if _wants_api_envelope(request):
        message = _("You do not have permission to perform this action.")
        return JsonResponse(error_body("permission_denied", message), status=403)
    context = {
        "message": _message(exception),
        "ways_back": _ways_back(request, sign_in_next=request.get_full_path()),
        "status": 403,
    }
    return render(request, "403.html", context, status=403)


@requires_csrf_token
def page_not_found(request, exception=None):
    if _wants_api_envelope(request):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    context = {"message": _message(exception), "ways_back": _ways_back(request), "status": 404}
    return render(request, "404.html", context, status=404)


@requires_csrf_token
def server_error(request):
    if _wants_api_envelope(request):
        message = _("Something went wrong on the shop's side. Please try again later.")
        return JsonResponse(error_body("server_error", message), status=500)
    return _bare_page("500.html", status=500)


def csrf_failure(request, reason=""):
    """A form sent with a missing or stale CSRF token (CSRF_FAILURE_VIEW)."""
    context = {
        "cookie_missing": reason == REASON_NO_CSRF_COOKIE,
        "ways_back": _ways_back(request),
        "status": 403,
    }
    return render(request, "403_csrf.html", context, status=403)
