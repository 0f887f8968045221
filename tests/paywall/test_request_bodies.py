"""How the API reads request bodies (issue 9, findings 1 and 5).

Finding 1: the body used to be decoded with the charset that Content-Type names, and Python's
codecs include bz2, zlib, base64 and hex: a 158-byte `charset=bz2` body decoded to 64 MiB. JSON
is UTF-8 only (RFC 8259): any other charset is refused with 415 `unsupported_charset` before
anything decodes the body.
"""

from __future__ import annotations

import base64
import bz2
import io
import json
import zlib
from typing import Any

import pytest
from django.test import Client

from paywall.models import Reader
from paywall.parsers import StrictJSONParser, UnsupportedCharset
from tests.paywall.factories import ORIGIN, make_publisher, registration_body
from tests.paywall.helpers import error_code

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


def _operations_with_bodies(client: Client) -> list[tuple[str, str]]:
    schema = client.get("/api/schema/?format=json").json()
    found = []
    for template, operations in schema["paths"].items():
        for method, operation in operations.items():
            if isinstance(operation, dict) and "requestBody" in operation:
                path = template
                for parameter in operation.get("parameters", []) + operations.get("parameters", []):
                    if parameter.get("in") == "path":
                        value = "1" if parameter["schema"].get("type") == "integer" else "x"
                        path = path.replace("{" + parameter["name"] + "}", value)
                found.append((method.upper(), path))
    return found


def test_every_operation_with_a_body_refuses_other_charsets(client: Client) -> None:
    # Given every operation of the schema that takes a body
    operations = _operations_with_bodies(client)
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
