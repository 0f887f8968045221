"""How the API reads request bodies, and bad input in general (issue 9, findings 1 and 5).

Finding 1: the body used to be decoded with the charset that Content-Type names, and Python's
codecs include bz2, zlib, base64 and hex: a 158-byte `charset=bz2` body decoded to 64 MiB. JSON
is UTF-8 only (RFC 8259): any other charset is refused with 415 `unsupported_charset` before
anything decodes the body.

Finding 5: bad input gave 500s: deeply nested JSON (RecursionError), a body over 2.5 MiB
(RequestDataTooBig), a NUL in a path (PostgreSQL's DataError). Every bad input is a 4xx in the
JSON error shape, on every operation of the schema.
"""

from __future__ import annotations

import base64
import bz2
import io
import json
import zlib
from typing import Any

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import DataError
from django.test import Client

from paywall.errors import api_exception_handler
from paywall.models import Reader
from paywall.parsers import MAX_JSON_DEPTH, StrictJSONParser, UnsupportedCharset
from tests.paywall.factories import ORIGIN, make_publisher, registration_body
from tests.paywall.helpers import error_code, schema_operations

pytestmark = pytest.mark.django_db

CHARSET_BODIES = {
    "bz2": bz2.compress,
    "zlib": zlib.compress,
    "zlib_codec": zlib.compress,
    "base64": base64.b64encode,
    "hex": lambda raw: raw.hex().encode(),
    "latin-1": lambda raw: raw.decode("utf-8").encode("latin-1"),
    "utf-16": lambda raw: raw.decode("utf-8").encode("utf-16"),
    "utf-8-sig": lambda raw: raw,
    "ascii": lambda raw: raw,
}


def post_raw(client: Client, path: str, raw: bytes, content_type: str, **headers: str) -> Any:
    return client.generic(
        "POST", path, data=raw, content_type=content_type, headers={"Origin": ORIGIN, **headers}
    )


@pytest.mark.parametrize("charset", sorted(CHARSET_BODIES))
def test_a_valid_registration_in_another_charset_is_415_and_creates_nothing(
    client: Client, charset: str
) -> None:
    # Given a registration body that would be valid, encoded with the charset it names
    publisher = make_publisher()
    raw = json.dumps(registration_body(publisher)).encode()

    # When it is posted with that charset
    response = post_raw(
        client,
        "/api/v1/readers",
        CHARSET_BODIES[charset](raw),
        f"application/json; charset={charset}",
        **{"X-Dropgate-Publisher": publisher.key},
    )

    # Then it is refused before decoding, with a stable code, and no reader exists
    assert response.status_code == 415, response.content
    assert error_code(response) == "unsupported_charset"
    assert not Reader.objects.exists()


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=UTF-8",
        'application/json; charset="utf-8"',
        "application/json;charset=utf8",
    ],
)
def test_utf8_json_is_accepted_however_it_is_declared(client: Client, content_type: str) -> None:
    publisher = make_publisher()
    raw = json.dumps(registration_body(publisher)).encode()
    response = post_raw(
        client, "/api/v1/readers", raw, content_type, **{"X-Dropgate-Publisher": publisher.key}
    )
    assert response.status_code == 201, response.content


def test_invalid_utf8_is_400_malformed_json(client: Client) -> None:
    response = post_raw(client, "/api/v1/readers", b'{"a": "\xff\xfe"}', "application/json")
    assert response.status_code == 400
    assert error_code(response) == "malformed_json"


def test_every_operation_with_a_body_refuses_other_charsets(client: Client) -> None:
    # Given every operation of the schema that takes a body
    operations = [(m, p) for m, p, body in schema_operations(client) if body]
    assert len(operations) >= 15

    for method, path in operations:
        # When it gets a bz2 "JSON" body, with and without a credential
        for auth in ("", "Bearer dgk_x_y", "Reader rdt_x_y"):
            headers = {"Authorization": auth} if auth else {}
            response = client.generic(
                method,
                path,
                data=bz2.compress(b"{}"),
                content_type="application/json; charset=bz2",
                headers={"Origin": ORIGIN, **headers},
            )
            # Then it is 415 unsupported_charset, whatever the view would have done
            assert response.status_code == 415, (method, path, response.content)
            assert error_code(response) == "unsupported_charset"


@pytest.mark.parametrize("charset", ["bz2", "base64", "latin-1"])
def test_the_parser_itself_never_decodes_another_charset(charset: str) -> None:
    # Given the parser alone (views outside /api/ would have no middleware in front)
    raw = CHARSET_BODIES[charset](b'{"a": 1}')

    # Then naming another charset is refused, and UTF-8 is the only decoding used
    with pytest.raises(UnsupportedCharset):
        StrictJSONParser().parse(io.BytesIO(raw), f"application/json; charset={charset}", {})
    assert StrictJSONParser().parse(io.BytesIO(b'{"a": 1}'), "application/json", {}) == {"a": 1}


# --- Finding 5: bad input is a 4xx in the error shape, never a 500 -------------------------------


def assert_error_shape(response: Any, *statuses: int) -> str:
    assert response.status_code < 500, (response.status_code, response.content)
    if statuses:
        assert response.status_code in statuses, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json"), response.content
    return error_code(response)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5_000, 200_000])
def test_deeply_nested_json_is_400_json_too_deep(client: Client, depth: int) -> None:
    raw = ("[" * depth + "]" * depth).encode()
    response = post_raw(client, "/api/v1/readers", raw, "application/json")
    assert assert_error_shape(response, 400) == "json_too_deep"


def test_nesting_within_the_limit_is_parsed() -> None:
    raw = ("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH).encode()
    parsed = StrictJSONParser().parse(io.BytesIO(raw), "application/json", {})
    assert isinstance(parsed, list)


@pytest.mark.parametrize("size", [2_621_440 + 1, 3 * 1024 * 1024 + 1, 8 * 1024 * 1024])
def test_a_body_over_the_limit_is_413(client: Client, size: int) -> None:
    raw = b'"' + b"a" * (size - 2) + b'"'
    response = post_raw(client, "/api/v1/readers", raw, "application/json")
    assert assert_error_shape(response, 413) == "payload_too_large"


def test_the_body_limit_is_django_s_upload_limit(client: Client, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    publisher = make_publisher()
    body = registration_body(publisher)
    body["padding"] = "a" * 1000
    response = post_raw(
        client,
        "/api/v1/readers",
        json.dumps(body).encode(),
        "application/json",
        **{"X-Dropgate-Publisher": publisher.key},
    )
    assert assert_error_shape(response, 413) == "payload_too_large"
    assert not Reader.objects.exists()


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (RequestDataTooBig("too big"), 413, "payload_too_large"),
        (SuspiciousOperation("odd"), 400, "bad_request"),
        (DataError("NUL"), 400, "invalid_request"),
    ],
)
def test_the_api_handler_maps_bad_input_exceptions(exc: Exception, status: int, code: str) -> None:
    # DRF reads request.body itself (RequestDataTooBig) and views reach the database (DataError):
    # whatever gets past the middleware is still a 4xx, not the handler's 500
    response = api_exception_handler(exc, {})
    assert response is not None
    assert response.status_code == status
    assert response.data["error"]["code"] == code


BAD_BODIES = [
    b"garbage",
    b"{",
    b"null",
    b"[]",
    b"1",
    b'"text"',
    b"",
    b"NaN",
    b'{"a": Infinity}',
    b'{"publisher": "\\u0000", "article": "\\u0000"}',
    b'{"publisher": {"a": [1, {"b": null}]}, "article": 1e999999}',
    b"\xef\xbb\xbf{}",
]


def test_every_operation_answers_bad_bodies_with_a_4xx_in_the_error_shape(client: Client) -> None:
    # Given every operation of the schema that takes a body, and a valid publisher
    publisher = make_publisher()
    operations = [(m, p) for m, p, body in schema_operations(client, value=publisher.key) if body]
    for method, path in operations:
        for auth in ("", "Bearer dgk_x_y", "Reader rdt_x_y"):
            for raw in BAD_BODIES:
                # When it gets a body that is not the JSON it takes
                headers = {"Origin": ORIGIN, "X-Dropgate-Publisher": publisher.key}
                if auth:
                    headers["Authorization"] = auth
                response = client.generic(
                    method, path, data=raw, content_type="application/json", headers=headers
                )
                # Then it is a 4xx in the error shape
                assert_error_shape(response)


def test_a_non_json_content_type_is_415(client: Client) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        response = post_raw(client, "/api/v1/readers", b"a=b", content_type)
        assert assert_error_shape(response, 415) == "unsupported_media_type"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/content/0/0",
        "/api/v1/publishers/0/articles",
        "/api/v1/publishers/0/articles/0",
        "/api/v1/publishers/%00/articles",
        "/api/v1/publishers/pub_x/articles?slugs=%00",
        "/api/v1/content/%00/x",
        "/api/v1/channels/%00",
        "/api/v1/readers/me/receipts/%00",
        "/api/v1/wallet/transactions/%00",
        "/api/v1/publisher/exchange-rates/%00",
        "/api/v1/config?publisher=%00",
    ],
)
@pytest.mark.parametrize(
    "auth", ["", "Bearer x", "Bearer dgk_x_y", "Reader rdt_x_y", "Bearer a.b.c"]
)
def test_odd_identifiers_are_4xx_never_500(client: Client, path: str, auth: str) -> None:
    headers = {"Origin": ORIGIN, **({"Authorization": auth} if auth else {})}
    response = client.get(path, headers=headers)
    assert_error_shape(response)


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "DELETE", "PUT", "CONNECT", "PROPFIND"])
def test_unsupported_methods_are_4xx_json_on_every_path(client: Client, method: str) -> None:
    publisher = make_publisher()
    paths = {p for _m, p, _b in schema_operations(client, value=publisher.key)}
    supported = {(m, p) for m, p, _b in schema_operations(client, value=publisher.key)}
    for path in sorted(paths):
        if (method, path) in supported:
            continue
        response = client.generic(method, path, data=b"x", headers={"Origin": ORIGIN})
        assert assert_error_shape(response, 401, 403, 405) in {
            "method_not_allowed",
            "not_authenticated",
            "grant_required",
            "permission_denied",
        }, (method, path)


def test_a_bad_host_outside_the_api_is_400_in_the_error_shape(client: Client) -> None:
    # Django's own 400 (a SuspiciousOperation outside DRF) was its HTML page
    response = client.get("/healthz", headers={"Host": "evil.example"})
    assert assert_error_shape(response, 400) == "bad_request"


def _asgi_post(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> list[dict[str, Any]]:
    """POST /api/v1/readers through the real ASGI application, the body in `chunks`."""
    from asgiref.sync import async_to_sync

    from paywall.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/readers",
        "raw_path": b"/api/v1/readers",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    sent_chunks: list[int] = []

    async def scenario() -> list[dict[str, Any]]:
        app = ApplicationCommunicator(application, scope)
        for index, chunk in enumerate(chunks):
            await app.send_input(
                {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
            )
            sent_chunks.append(index)
        out = [await app.receive_output(10)]
        while out[-1]["type"] != "http.response.body" or out[-1].get("more_body"):
            out.append(await app.receive_output(10))
        await app.wait(5)
        return out

    return async_to_sync(scenario)()


@pytest.mark.django_db(transaction=True)
def test_the_asgi_app_refuses_a_declared_oversize_body_before_reading_it() -> None:
    # Given a request that declares 64 MiB and sends only its first bytes
    messages = _asgi_post([(b"content-length", str(64 * 1024 * 1024).encode())], [b"[[["])
    # Then the answer is 413 in the error shape, without waiting for the rest
    start, body = messages[0], messages[-1]
    assert start["status"] == 413
    assert json.loads(body["body"])["error"]["code"] == "payload_too_large"


@pytest.mark.django_db(transaction=True)
def test_the_asgi_app_refuses_an_undeclared_body_once_it_passes_the_limit() -> None:
    # Given a chunked body (no Content-Length) of 4 x 1 MiB
    messages = _asgi_post([], [b" " * (1024 * 1024)] * 4)
    start, body = messages[0], messages[-1]
    assert start["status"] == 413
    assert json.loads(body["body"])["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/readers/me/receipts/%C2%B9",  # "¹": str.isdigit() says yes, int() says no
        "/api/v1/readers/me/receipts/%D9%A3",  # "٣", an Arabic-Indic digit
        "/api/v1/readers/me/receipts/99999999999999999999999",
        "/api/v1/readers/me/receipts?before=%C2%B9",
        "/api/v1/readers/me/receipts?before=99999999999999999999999",
    ],
)
def test_digits_that_are_not_ascii_are_4xx(client: Client, path: str) -> None:
    # Found by the schemathesis harness: a receipt id of "¹" was int()'d, a 500
    from tests.paywall.factories import make_reader

    publisher = make_publisher()
    _reader, token, _key = make_reader(publisher)
    response = client.get(path, headers={"Origin": ORIGIN, "Authorization": f"Reader {token}"})
    assert assert_error_shape(response, 400, 404) in {"receipt_not_found", "invalid_request"}
