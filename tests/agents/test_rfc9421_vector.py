"""RFC 9421 Appendix B.2.6 (Ed25519 over the B.2 test request with the B.1.4 key), verified
by the same library and algorithm the Web Bot Auth check uses; a changed component fails."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from http_message_signatures import HTTPMessageVerifier, HTTPSignatureKeyResolver, algorithms
from http_message_signatures.exceptions import InvalidSignature

# RFC 9421 B.1.4 test-key-ed25519, public half (JWK "x").
TEST_KEY_X = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"
B26_INPUT = (
    'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)
B26_SIGNATURE = "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"


@dataclass
class _Request:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


class _Key(HTTPSignatureKeyResolver):
    def resolve_public_key(self, key_id: str) -> ed25519.Ed25519PublicKey:
        assert key_id == "test-key-ed25519"
        raw = base64.urlsafe_b64decode(TEST_KEY_X + "=")
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)


def _request(**changes: str) -> _Request:
    headers = {
        "Host": "example.com",
        "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
        "Content-Type": "application/json",
        "Content-Length": "18",
        "Signature-Input": B26_INPUT,
        "Signature": B26_SIGNATURE,
    }
    headers.update(changes)
    return _Request("POST", "https://example.com/foo?param=Value&Pet=dog", headers)


def _verify(request: _Request) -> None:
    HTTPMessageVerifier(signature_algorithm=algorithms.ED25519, key_resolver=_Key()).verify(
        request, max_age=None
    )


def test_rfc9421_b26_verifies() -> None:
    _verify(_request())


def test_rfc9421_b26_changed_component_fails() -> None:
    with pytest.raises(InvalidSignature):
        _verify(_request(**{"Content-Length": "19"}))
