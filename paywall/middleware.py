"""Guards in front of every /api/ view, DRF or not, before anything reads or decodes the body."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from paywall.errors import error_body
from paywall.parsers import UnsupportedCharset, charset_refused

__all__ = ["ApiRequestGuardMiddleware"]

API_PREFIX = "/api/"


class ApiRequestGuardMiddleware:
    """Refuse, in the API's JSON error shape, a request whose Content-Type names a charset other
    than UTF-8 (415 `unsupported_charset`), before any view, parser or middleware decodes it."""

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
        return None
