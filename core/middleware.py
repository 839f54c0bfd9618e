"""Input refused before any view runs: NUL characters anywhere, and the API's body limit.

PostgreSQL refuses to store a NUL character in text, so one in a URL, a query string or
a form field would otherwise reach a query and fail there (a 500 on every customer
endpoint for an `{external_id}` holding `%00`). The API's body limit is its own, sized
for the documented batch (`core.inputs.max_event_batch_bytes`); pages keep Django's
`DATA_UPLOAD_MAX_MEMORY_SIZE`.
"""

from __future__ import annotations

import io

from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

from core import inputs
from core.api import error_body

API_PREFIX = "/api/"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class InputGuardMiddleware:
    """Refuses requests with a NUL character in the path, the query string or a form
    field (400), and API requests over the API's body limit (413); API refusals come in
    the API's error envelope."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.api_body_limit = inputs.max_event_batch_bytes()

    def __call__(self, request):
        is_api = request.path_info.startswith(API_PREFIX)
        field = _nul_field(request, forms=not is_api)
        if field is not None:
            message = _("%(field)s contains a NUL character, which is never valid input.") % {
                "field": field
            }
            if is_api:
                return JsonResponse(error_body("invalid", message, field), status=400)
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        if is_api:
            refused = self._read_api_body(request)
            if refused is not None:
                return refused
        return self.get_response(request)

    def _read_api_body(self, request) -> HttpResponse | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.api_body_limit:
            return JsonResponse(
                error_body(
                    "too_large",
                    _("The body is %(size)s bytes; the API takes at most %(limit)s.")
                    % {"size": f"{length:,}", "limit": f"{self.api_body_limit:,}"},
                ),
                status=413,
            )
        if length:
            # Read here, within the API's own limit, so Django's page limit
            # (DATA_UPLOAD_MAX_MEMORY_SIZE, checked when `body` is first read) does not
            # apply to it; `body` then returns these bytes.
            request._body = request.read()
            request._stream = io.BytesIO(request._body)
        return None


def _nul_field(request, *, forms: bool) -> str | None:
    """The first input holding a NUL character ("path", a parameter's name), or None."""
    if inputs.NUL in request.path:
        return "path"
    sources = [request.GET]
    if forms and request.method == "POST" and request.content_type in FORM_TYPES:
        sources.append(request.POST)
    for source in sources:
        for key, values in source.lists():
            if inputs.NUL in key or any(inputs.NUL in value for value in values):
                return key.replace(inputs.NUL, "") or "query"
    return None
