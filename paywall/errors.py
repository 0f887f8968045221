"""Every API error is JSON: {"error": {"code": "...", "message": "..."}} with a stable code.

Domain code raises `DropgateError` subclasses (each with a `code` and an HTTP status); DRF's
own exceptions are mapped to codes here. Nothing reaches the client as a 500 page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
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
        # DRF's own classes get the project's names below; a subclass of ours keeps its code.
        ours = type(exc).__module__ != drf_exceptions.__name__
        if isinstance(own, str) and (own != exc.default_code or ours):
            return own
    if isinstance(exc, Http404):
        return "not_found"
    if isinstance(exc, DjangoPermissionDenied):
        return "permission_denied"
    return next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "request_error")


_DATABASE_DOWN = (OperationalError, InterfaceError)
# The cache (Redis): throttles, velocity counters and single-use marks live there, so a request
# that cannot reach it is refused with a 503 rather than let through or answered 500.
_CACHE_DOWN = (RedisConnectionError, RedisTimeoutError)


def database_unavailable_body() -> dict[str, Any]:
    return error_body("database_unavailable", "The database is unavailable. Try again shortly.")


_TOO_LARGE = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def bad_input_body(exc: Exception) -> tuple[int, dict[str, Any]] | None:
    """(status, body) for an exception that only bad input raises, or None for anything else.

    - a body over DATA_UPLOAD_MAX_MEMORY_SIZE (Django's RequestDataTooBig): 413;
    - Django's other SuspiciousOperation (a bad Host, a malformed multipart body…): 400;
    - a value the database cannot hold (a NUL character in a text, a number out of range:
      DataError): 400, the same for every backend.
    """
    if isinstance(exc, _TOO_LARGE):
        return 413, error_body("payload_too_large", "The request body is too large.")
    if isinstance(exc, SuspiciousOperation):
        return 400, error_body("bad_request", "The request is malformed.")
    if isinstance(exc, DataError):
        return 400, error_body("invalid_request", "A value in the request cannot be stored.")
    return None


def dependency_unavailable_body(exc: Exception) -> dict[str, Any] | None:
    """The 503 body for a database or cache that cannot be reached, or None for other errors."""
    if isinstance(exc, _DATABASE_DOWN):
        logger.warning("database unavailable: %s", type(exc).__name__)
        return database_unavailable_body()
    if isinstance(exc, _CACHE_DOWN):
        logger.warning("cache unavailable: %s", type(exc).__name__)
        return error_body("cache_unavailable", "The cache is unavailable. Try again shortly.")
    return None


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    bad_input = bad_input_body(exc)
    if bad_input is not None:
        status, body = bad_input
        return Response(body, status=status)
    unavailable = dependency_unavailable_body(exc)
    if unavailable is not None:
        return Response(unavailable, status=503, headers={"Retry-After": "5"})
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
    """Outside DRF too (admin, health), a database or cache that cannot be reached is a 503,
    not a 500, and an exception only bad input raises is its 4xx (bad_input_body)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        bad_input = bad_input_body(exception)
        if bad_input is not None:
            status, body = bad_input
            return JsonResponse(body, status=status)
        unavailable = dependency_unavailable_body(exception)
        if unavailable is not None:
            response = JsonResponse(unavailable, status=503)
            response["Retry-After"] = "5"
            return response
        return None


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 (SuspiciousOperation outside DRF), in the JSON error shape; 413 for a body
    over the limit."""
    mapped = bad_input_body(exception) if exception is not None else None
    status, body = mapped or (400, error_body("bad_request", "The request is malformed."))
    return JsonResponse(body, status=status)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return JsonResponse(error_body("not_found", "No such resource."), status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    return JsonResponse(error_body("internal_error", "An internal error occurred."), status=500)
