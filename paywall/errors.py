"""Every API error is JSON: {"error": {"code": "...", "message": "..."}} with a stable code.

Domain code raises `DropgateError` subclasses (each with a `code` and an HTTP status); DRF's
own exceptions are mapped to codes here. Nothing reaches the client as a 500 page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
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


def _details(exc: DropgateError) -> dict[str, Any]:
    """Extra machine-readable fields an error carries (e.g. the price on a 402)."""
    details = getattr(exc, "details", None)
    if not isinstance(details, dict):
        return {}
    return {key: value for key, value in details.items() if key not in {"code", "message"}}


def _drf_code(exc: Exception) -> str:
    """The stable code of a DRF exception: a view's own code if it gave one, else the class's."""
    if isinstance(exc, drf_exceptions.APIException) and not isinstance(
        exc, drf_exceptions.ValidationError
    ):
        own = exc.get_codes()
        if isinstance(own, str) and own != exc.default_code:
            return own
    if isinstance(exc, Http404):
        return "not_found"
    if isinstance(exc, DjangoPermissionDenied):
        return "permission_denied"
    return next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "request_error")


_DATABASE_DOWN = (OperationalError, InterfaceError)


def database_unavailable_body() -> dict[str, Any]:
    return error_body("database_unavailable", "The database is unavailable. Try again shortly.")


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, _DATABASE_DOWN):
        logger.warning("database unavailable: %s", type(exc).__name__)
        return Response(database_unavailable_body(), status=503, headers={"Retry-After": "5"})
    if isinstance(exc, DropgateError):
        envelope = Response(
            error_body(exc.code, exc.message, **_details(exc)), status=exc.http_status
        )
        if exc.retry_after is not None:
            envelope["Retry-After"] = str(exc.retry_after)
        if exc.http_status == 401:
            # RFC 9110: a 401 names the scheme to use. The view knows which one it expects.
            view = context.get("view")
            request = context.get("request")
            header = view.get_authenticate_header(request) if view and request else None
            if header:
                envelope["WWW-Authenticate"] = header
        return envelope
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(error_body("internal_error", "An internal error occurred."), status=500)
    code = _drf_code(exc)
    if isinstance(exc, drf_exceptions.ValidationError):
        response.data = error_body(code, "The request is invalid.", fields=response.data)
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = error_body(code, str(detail) or code.replace("_", " "))
    return response


class DatabaseUnavailableMiddleware:
    """Outside DRF too (admin, health), a database that cannot be reached is a 503, not a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, _DATABASE_DOWN):
            logger.warning("database unavailable: %s", type(exception).__name__)
            response = JsonResponse(database_unavailable_body(), status=503)
            response["Retry-After"] = "5"
            return response
        return None


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return JsonResponse(error_body("not_found", "No such resource."), status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return JsonResponse(error_body("internal_error", "An internal error occurred."), status=500)
