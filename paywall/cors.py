"""CORS per publisher: a response carries Access-Control-Allow-Origin only for an origin that
the publisher the request is about allows. Nothing is allowed globally (settings).

django-cors-headers asks `check_request_enabled` once the view has answered. The views
record the publisher they resolved on the request (`bind_publisher_origins`); before that
point (an error raised while authenticating, or a preflight, which carries no credentials)
the publisher is found from the reader token or the URL, and a preflight is answered for an
origin some active publisher allows: the real request is then checked against its own
publisher, by the view (403 origin_not_allowed) and here.
"""

from __future__ import annotations

from typing import Any

from corsheaders.middleware import CorsMiddleware
from django.http import HttpRequest
from django.urls import Resolver404, resolve

from paywall import selectors
from paywall.models import Reader

__all__ = ["API_PREFIX", "PublisherCorsMiddleware", "bind_publisher_origins", "cors_allowed"]

API_PREFIX = "/api/v1/"
_ORIGINS_ATTR = "dropgate_allowed_origins"


def bind_publisher_origins(request: HttpRequest, origins: frozenset[str]) -> None:
    """Record which origins the publisher of this request allows (called by the views)."""
    setattr(request, _ORIGINS_ATTR, origins)


def _publisher_key_hint(request: HttpRequest) -> str | None:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        match = None
    if match is not None and isinstance(match.kwargs.get("pub"), str):
        return str(match.kwargs["pub"])
    return request.headers.get("X-Dropgate-Publisher") or request.GET.get("publisher")


def _origins_for(request: HttpRequest) -> frozenset[str] | None:
    bound = getattr(request, _ORIGINS_ATTR, None)
    if bound is not None:
        return frozenset(bound)
    auth = getattr(request, "auth", None)
    if isinstance(auth, Reader):
        return (
            frozenset(auth.publisher.allowed_origins) if auth.publisher.is_active else frozenset()
        )
    key = _publisher_key_hint(request)
    if key:
        return selectors.publisher_allowed_origins(key=key)
    return None


def cors_allowed(sender: Any, request: HttpRequest, **kwargs: Any) -> bool:
    """Receiver of corsheaders' check_request_enabled: may this response be shared?"""
    if not request.path_info.startswith(API_PREFIX):
        return False
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return False
    origins = _origins_for(request)
    if origins is not None:
        return origin in origins
    is_preflight = (
        request.method == "OPTIONS" and "access-control-request-method" in request.headers
    )
    return is_preflight and selectors.origin_is_registered(origin)


class PublisherCorsMiddleware(CorsMiddleware):
    """django-cors-headers' middleware, run synchronously.

    Its `check_request_enabled` signal calls `cors_allowed`, which may read the database (the
    publisher of an unauthenticated request, a preflight's origin). Under ASGI the upstream
    middleware runs in the event loop when everything beneath it is async, and a database query
    there raises SynchronousOnlyOperation: every error answered before a view bound its
    publisher, and every preflight, became a 500. Sync-only, Django runs it in a worker thread.
    """

    async_capable = False
