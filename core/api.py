"""The API's one error envelope: {"error": {"code", "message", "field", "details"}}."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import ApplicationError


class StrictQueryAPIView(APIView):
    """An API view that refuses query parameters it does not take (400 naming the
    first), so a misspelt `limt=5` is an error rather than silently the default.
    Checked after authentication, permissions and throttling."""

    query_parameters: tuple[str, ...] = ()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        unknown = sorted(key for key in request.query_params if key not in self.query_parameters)
        if unknown:
            raise ApplicationError(
                _("Unknown query parameter '%(name)s'.") % {"name": unknown[0]}, field=unknown[0]
            )


def error_body(code: str, message: str, field: str | None = None, details: Any = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    if details is not None:
        body["details"] = details
    return {"error": body}


def _first_field_error(detail: Any, prefix: str = "") -> tuple[str | None, str]:
    """The first (field path, message) in DRF's nested validation detail."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            if key == "non_field_errors":
                path = prefix
            return _first_field_error(value, path)
    if isinstance(detail, list) and detail:
        for index, value in enumerate(detail):
            if value:
                if isinstance(value, dict | list):
                    return _first_field_error(value, f"{prefix}[{index}]" if prefix else str(index))
                return prefix or None, str(value)
    return prefix or None, str(detail)


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.field), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("too_large", _("The body is larger than the API takes.")),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        return Response(error_body("not_found", _("Not found.")), status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_field_error(exc.detail)
        response.data = error_body("invalid", message, field, details=exc.detail)
    elif isinstance(exc, exceptions.APIException):
        code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
        response.data = error_body(str(code), str(exc.detail))
    return response
