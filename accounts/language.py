"""The site's language switch, remembered per person.

A visitor's choice lives in Django's language cookie (Django's `set_language`); a
signed-in person's is also stored on their user, so it follows them to another browser
and back after signing out and in again. `UserLanguageMiddleware` applies the stored
choice on every request of a signed-in person, over the cookie and the browser's
Accept-Language, and keeps the cookie in step so pages after signing out stay in it.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.csrf import csrf_protect
from django.views.i18n import set_language as django_set_language

from accounts.models import CustomerProfile
from accounts.services import user_language_set


def supported_language(code: str) -> str | None:
    """The code of LANGUAGES that `code` stands for ("en" -> "en-gb"), or None."""
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def customer_language(customer: CustomerProfile | None) -> str | None:
    """The language the customer's login chose on the site's switch, if any (for emails
    written outside a page: a worker's steps, offer emails)."""
    user = customer.user if customer is not None else None
    return supported_language(user.language) if user is not None else None


@csrf_protect
def set_language(request: HttpRequest) -> HttpResponse:
    """POST `language` (and `next`): switch the site's language; a GET only goes back."""
    response = django_set_language(request)
    if request.method == "POST" and request.user.is_authenticated:
        code = supported_language(request.POST.get("language", ""))
        if code is not None:
            user_language_set(user=request.user, language=code)
    return response


class UserLanguageMiddleware:
    """Activates a signed-in person's stored language (after AuthenticationMiddleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        code = self._stored(request)
        if code is not None:
            translation.activate(code)
            request.LANGUAGE_CODE = code
        response = self.get_response(request)
        # After the view: signing in or switching may have changed who or what it is.
        code = self._stored(request)
        if code is not None and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != code:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                code,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response

    @staticmethod
    def _stored(request: HttpRequest) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return supported_language(getattr(user, "language", ""))
