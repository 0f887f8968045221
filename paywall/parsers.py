"""How the API reads a request body: JSON in UTF-8 only (RFC 8259), bounded in size and depth.

A body is never decoded with the charset a client names: Python's codecs include `bz2`,
`zlib`, `base64` and `hex`, so honouring `charset=` would let a few hundred bytes expand to
gigabytes after every size check. Any charset other than UTF-8 is refused with 415
`unsupported_charset` before the body is read (paywall.middleware also refuses it in front of
every /api/ view, DRF or not).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils.http import parse_header_parameters
from rest_framework import exceptions, parsers, status

__all__ = [
    "JSON_CHARSETS",
    "MAX_JSON_DEPTH",
    "JsonNestedTooDeep",
    "PayloadTooLarge",
    "StrictJSONParser",
    "UnsupportedCharset",
    "charset_refused",
    "max_body_bytes",
]

# The names of UTF-8 a client may declare (compared case-insensitively); RFC 8259 § 8.1.
JSON_CHARSETS = frozenset({"utf-8", "utf8"})
# Objects and arrays nested deeper than this are refused: nothing the API takes nests past 8,
# and code that walks parsed input (serializers, error rendering) may recurse.
MAX_JSON_DEPTH = 64


def max_body_bytes() -> int:
    """The largest body the API reads: Django's DATA_UPLOAD_MAX_MEMORY_SIZE, one limit for all."""
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class UnsupportedCharset(exceptions.APIException):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_detail = "JSON bodies must be UTF-8 (RFC 8259): send charset=utf-8 or no charset."
    default_code = "unsupported_charset"


class JsonNestedTooDeep(exceptions.ParseError):
    default_detail = f"The JSON body nests deeper than {MAX_JSON_DEPTH} levels."
    default_code = "json_too_deep"


def declared_charset(content_type: str) -> str | None:
    """The charset parameter of a Content-Type value, lower-cased, or None if none is named."""
    if not content_type:
        return None
    _media_type, params = parse_header_parameters(content_type)
    charset = params.get("charset")
    return None if charset is None else charset.strip().strip('"').strip().lower()


def charset_refused(content_type: str) -> bool:
    """Whether a Content-Type names a charset other than UTF-8."""
    charset = declared_charset(content_type)
    return charset is not None and charset not in JSON_CHARSETS


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _nesting_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether parsed JSON nests deeper than `limit` (iterative: no recursion of its own)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def json_loads_strict(raw: bytes) -> Any:
    """Parse a UTF-8 JSON body: fractions as Decimal (never float), no NaN/Infinity, bounded depth.

    Raises ParseError (400 `malformed_json`) or JsonNestedTooDeep (400 `json_too_deep`).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise exceptions.ParseError("The body is not valid UTF-8.") from exc
    try:
        value = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise JsonNestedTooDeep() from exc
    except ValueError as exc:
        raise exceptions.ParseError(f"The body is not valid JSON: {exc}") from exc
    if _nesting_depth_exceeds(value, MAX_JSON_DEPTH):
        raise JsonNestedTooDeep()
    return value


class StrictJSONParser(parsers.JSONParser):
    """The API's only parser: UTF-8 JSON, whatever charset the request names, or 415."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        if charset_refused(media_type or ""):
            raise UnsupportedCharset()
        limit = max_body_bytes()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
        return json_loads_strict(raw)
