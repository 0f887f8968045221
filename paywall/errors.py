"""Every API error is JSON: {"error": {"code": "...", "message": "..."}} with a stable code.

Domain code raises `DropgateError` subclasses (each with a `code` and an HTTP status); DRF's
own exceptions are mapped to codes here. Nothing reaches the client as a 500 page.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from channels_app.exceptions import DropgateError

logger = logging.getLogger(__name__)

_DRF_CODES: dict[type[Exception], str] = {
    drf_exceptions.ParseError: "malformed_json",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.Throttled: "rate_limited",
    drf_exceptions.ValidationError: "invalid_request",
}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update(extra)
    return {"error": body}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DropgateError):
        response = Response(error_body(exc.code, exc.message), status=exc.http_status)
        if exc.retry_after is not None:
            response["Retry-After"] = str(exc.retry_after)
        return response
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(error_body("internal_error", "An internal error occurred."), status=500)
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "request_error")
    if isinstance(exc, drf_exceptions.ValidationError):
        response.data = error_body(code, "The request is invalid.", fields=response.data)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = error_body(code, str(detail) or code.replace("_", " "))
    return response


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return JsonResponse(error_body("not_found", "No such resource."), status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return JsonResponse(error_body("internal_error", "An internal error occurred."), status=500)
