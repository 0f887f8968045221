"""What every API view shares: JSON in (decimals exact) and out, caching and Vary headers,
origin checks, and the error envelope in the schema."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from django.utils.cache import patch_vary_headers
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from paywall.authentication import BearerGrant
from paywall.cors import bind_publisher_origins
from paywall.models import Publisher, PublisherApiKey, Reader
from paywall.parsers import StrictJSONParser
from paywall.services.publishers import publisher_check_origin
from paywall.throttles import IPRateThrottle


class ApiView(APIView):
    """Base of every API view: JSON only, bearer auth only (no cookies, so no CSRF).

    Every response varies on Authorization and Origin, and is `private, no-store` unless a
    view declares its successful answers public, so no cache ever shares paid content.
    """

    authentication_classes: Sequence[type[BaseAuthentication]] = ()
    permission_classes: Sequence[type[BasePermission]] = (AllowAny,)
    throttle_classes: Sequence[type[BaseThrottle]] = (IPRateThrottle,)
    parser_classes: Sequence[type[BaseParser]] = (StrictJSONParser,)
    renderer_classes: Sequence[type[BaseRenderer]] = (JSONRenderer,)
    success_cache_control = "private, no-store"

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        patch_vary_headers(response, ("Authorization", "Origin"))
        if not response.has_header("Cache-Control"):
            ok = 200 <= response.status_code < 300
            response["Cache-Control"] = self.success_cache_control if ok else "private, no-store"
        return response


def require_origin(request: Request, publisher: Publisher) -> None:
    """Refuse (403 origin_not_allowed) unless the request's Origin is one of the publisher's.

    Also records the publisher's origins for the CORS headers of this response.
    """
    bind_publisher_origins(request._request, frozenset(publisher.allowed_origins))
    # Browsers send no Origin on same-origin GETs (the signer frame's); Sec-Fetch-Site,
    # which scripts cannot set, says so instead.
    publisher_check_origin(
        publisher=publisher,
        origin=request.headers.get("Origin"),
        fetch_site=request.headers.get("Sec-Fetch-Site"),
    )


def no_cors(request: Request) -> None:
    """Server-to-server endpoints: never shared with a browser origin."""
    bind_publisher_origins(request._request, frozenset())


class IsReader(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, Reader)


class IsPublisher(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, PublisherApiKey)


class BearerGrantPresent(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, BearerGrant)


def reader_of(request: Request) -> Reader:
    reader = request.auth
    assert isinstance(reader, Reader)  # guaranteed by IsReader
    return reader


def api_key_of(request: Request) -> PublisherApiKey:
    api_key = request.auth
    assert isinstance(api_key, PublisherApiKey)  # guaranteed by IsPublisher
    return api_key


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validate input; a ValidationError becomes 400 invalid_request with per-field messages."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- Fields ----------------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^[0-9]+$",
        "description": "Drops as a decimal string (1 XRP = 1000000 drops); an integer is accepted on input.",
    }
)
class DropsField(serializers.Field):
    """Drops: read as a JSON integer or a decimal string; written as a decimal string.

    Strings are how the XRP Ledger writes drops, and they stay exact past 2^53.
    """

    default_error_messages: ClassVar = {
        "invalid": "Drops must be a whole number (integer or decimal string).",
        "range": "Drops must be from {low} to {high}.",
    }

    def __init__(self, *, low: int = 1, high: int = 2**63 - 1, **kwargs: Any) -> None:
        self.low, self.high = low, high
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            value = data
        elif isinstance(data, str) and data.isascii() and data.isdigit() and len(data) <= 20:
            value = int(data)
        else:
            self.fail("invalid")
        if not self.low <= value <= self.high:
            self.fail("range", low=self.low, high=self.high)
        return value

    def to_representation(self, value: int) -> str:
        return str(value)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "pattern": "^[0-9]+$"},
            {"type": "integer", "format": "int64", "minimum": 1},
        ]
    }
)
class ClaimAmountField(serializers.Field):
    """A claim's cumulative amount as sent (integer or string); channels_app parses it, so a
    bad amount is rejected with `claim_malformed` like every other claim defect."""

    default_error_messages: ClassVar = {"invalid": "amount_drops must be an integer or a string."}

    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("invalid")
        if isinstance(data, str) and len(data) > 40:
            self.fail("invalid")
        return data

    def to_representation(self, value: int | str) -> str:
        return str(value)


# --- Schema ----------------------------------------------------------------------------------


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable snake_case error code.")
    message = serializers.CharField(help_text="Human-readable explanation; never secret.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


_ERROR_DESCRIPTIONS = {
    400: "Bad input: `malformed_json`, `json_too_deep`, `invalid_request` (with `fields`), or a domain code.",
    401: "Missing or invalid credential.",
    402: "`payment_required`: send a signed claim (price in the error body).",
    403: "`origin_not_allowed`, `publisher_inactive`, `reader_limit_reached` or another refusal.",
    404: "Unknown resource (`publisher_not_found`, `article_not_found`, ...).",
    409: "Conflict (e.g. `channel_taken`, `claim_conflict`, `claim_replayed`, `country_confirmation_required`).",
    413: "`payload_too_large`: the body is over the size limit.",
    415: "`unsupported_media_type` (send application/json) or `unsupported_charset` (UTF-8 only).",
    422: "Rejected claim or channel (`claim_*`, `channel_*`).",
    428: "`consent_required`: give consent to immediate access first (POST /api/v1/readers/me/consent).",
    429: "`rate_limited`: retry after the Retry-After seconds.",
    451: "`jurisdiction_blocked`: not sold where the reader is; the body names the rules.",
    503: "A dependency is down (`database_unavailable`, `cache_unavailable`, "
    "`ledger_unavailable`, `exchange_rate_unavailable`, ...): retry after Retry-After.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=_ERROR_DESCRIPTIONS[code])
        # Any operation may meet a rate limit or a dependency that is down.
        for code in sorted({*statuses, 429, 503})
    }
