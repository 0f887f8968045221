"""Web Bot Auth: signed crawlers (RFC 9421, Ed25519, key directory) are their operator;
unsigned requests that claim a known crawler's User-Agent are anonymous agents."""

from __future__ import annotations

import base64
import datetime
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.test import Client
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms

from agents.models import AgentAccess, CrawlerOperator, OperatorPolicy
from agents.services.botauth import jwk_thumbprint, operator_keys_set
from tests.agents.conftest import PRICE, decode_header, machine_url

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

DIRECTORY = "https://crawler.example/.well-known/http-message-signatures-directory"


@dataclass
class _Request:
    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)


class _Key(HTTPSignatureKeyResolver):
    def __init__(self, key: ed25519.Ed25519PrivateKey) -> None:
        self.key = key

    def resolve_private_key(self, key_id: str) -> ed25519.Ed25519PrivateKey:
        return self.key


def _x(key: ed25519.Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.fixture
def crawler() -> tuple[CrawlerOperator, ed25519.Ed25519PrivateKey]:
    key = ed25519.Ed25519PrivateKey.generate()
    operator = CrawlerOperator.objects.create(
        name="examplebot",
        display_name="ExampleBot",
        user_agent_token="ExampleBot",
        key_directory_url=DIRECTORY,
    )
    assert (
        operator_keys_set(
            operator=operator, directory={"keys": [{"kty": "OKP", "crv": "Ed25519", "x": _x(key)}]}
        )
        == 1
    )
    return operator, key


def signed_headers(key: ed25519.Ed25519PrivateKey, url: str) -> dict[str, str]:
    request = _Request("GET", url, {"Signature-Agent": f'"{DIRECTORY}"'})
    now = datetime.datetime.now(datetime.UTC)
    HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=_Key(key)).sign(
        request,
        key_id=jwk_thumbprint(_x(key)),
        created=now,
        expires=now + datetime.timedelta(seconds=60),
        tag="web-bot-auth",
        label="sig1",
        covered_component_ids=("@authority", "signature-agent"),
    )
    return {
        f"HTTP_{name.upper().replace('-', '_')}": value for name, value in request.headers.items()
    }


def _price(response: Any) -> str:
    return decode_header(response["PAYMENT-REQUIRED"])["accepts"][0]["amount"]


def test_signed_crawler_gets_its_operator_price(
    client: Client, article: Any, platform: str, crawler: Any
) -> None:
    operator, key = crawler
    OperatorPolicy.objects.create(
        publisher=article.publisher, operator=operator, access=AgentAccess.ALLOW, price_drops=500
    )
    url = f"http://testserver{machine_url(article)}"
    response = client.get(machine_url(article), **signed_headers(key, url))
    assert response.status_code == 402
    assert _price(response) == "500"

    # The same User-Agent without a signature is an anonymous agent: the article's price.
    unsigned = client.get(
        machine_url(article), HTTP_USER_AGENT="Mozilla/5.0 (compatible; ExampleBot/2.1)"
    )
    assert unsigned.status_code == 402
    assert _price(unsigned) == str(PRICE)


def test_refused_operator_and_bad_signature(
    client: Client, article: Any, platform: str, crawler: Any
) -> None:
    operator, key = crawler
    OperatorPolicy.objects.create(
        publisher=article.publisher, operator=operator, access=AgentAccess.REFUSE
    )
    url = f"http://testserver{machine_url(article)}"
    refused = client.get(machine_url(article), **signed_headers(key, url))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "operator_refused"

    # Signed for another host: the signature does not verify here.
    other = signed_headers(key, "http://elsewhere.example/x")
    bad = client.get(machine_url(article), **other)
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "bot_signature_invalid"

    # A key the operator no longer lists is refused too.
    operator_keys_set(operator=operator, directory={"keys": []})
    stale = client.get(machine_url(article), **signed_headers(key, url))
    assert stale.status_code == 401
