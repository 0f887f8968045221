"""Guards in front of every /api/ view, DRF or not, before anything reads or decodes the body."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from paywall.errors import error_body
from paywall.parsers import UnsupportedCharset, charset_refused, max_body_bytes

__all__ = ["ApiRequestGuardMiddleware"]

API_PREFIX = "/api/"


class ApiRequestGuardMiddleware:
    """Refuse, in the API's JSON error shape and before any view, parser or middleware reads the
    request:

    - a Content-Type naming a charset other than UTF-8: 415 `unsupported_charset`;
    - a declared Content-Length over the body limit: 413 `payload_too_large` (the ASGI guard,
      paywall.asgi_guards, has refused it already in a real server);
    - a NUL character in the path or the query: 400 `invalid_request` (no identifier has one,
      and PostgreSQL cannot even compare a text with one).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            refusal = self._refusal(request)
            if refusal is not None:
                return refusal
        return self.get_response(request)

    @staticmethod
    def _refusal(request: HttpRequest) -> HttpResponse | None:
        if charset_refused(request.META.get("CONTENT_TYPE", "")):
            return JsonResponse(
                error_body(UnsupportedCharset.default_code, str(UnsupportedCharset.default_detail)),
                status=UnsupportedCharset.status_code,
            )
        declared = str(request.META.get("CONTENT_LENGTH") or "0").strip()
        if not declared.isascii() or not declared.isdigit():
            return JsonResponse(
                error_body("invalid_request", "Content-Length is not a number."), status=400
            )
        limit = max_body_bytes()
        if int(declared) > limit:
            return JsonResponse(
                error_body("payload_too_large", f"The request body is larger than {limit} bytes."),
                status=413,
            )
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            return JsonResponse(
                error_body("invalid_request", "The path or query contains a NUL character."),
                status=400,
            )
        return None
