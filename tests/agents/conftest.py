"""Fixtures of the agents suite: a platform account on the sandbox, a publisher with an
article, and helpers that pay as an agent."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache
from xrpl.clients import JsonRpcClient
from xrpl.models.transactions import Payment
from xrpl.transaction import autofill, sign
from xrpl.wallet import Wallet

from channels_app import ledger
from channels_app.services.platform import platform_bootstrap
from tests.fixtures.sandbox import fund_account
from tests.paywall.factories import make_article, make_publisher

PRICE = 2_000


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def platform(settings: Any, sandbox_url: str) -> str:
    settings.XRPL_URL = sandbox_url
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12
    settings.DROPGATE_AGENT_POLL_SECONDS = 0.02
    return str(platform_bootstrap()["address"])


@pytest.fixture
def article(platform: str) -> Any:
    publisher = make_publisher()
    return make_article(publisher, price_drops=PRICE)


@pytest.fixture
def agent_wallet(sandbox_url: str) -> Wallet:
    wallet = Wallet.create()
    fund_account(sandbox_url, wallet.address, 50_000_000)
    return wallet


def machine_url(article: Any) -> str:
    return f"/api/v1/agents/{article.publisher.key}/articles/{article.slug}"


def decode_header(value: str) -> dict[str, Any]:
    return json.loads(base64.b64decode(value))


def encode_header(value: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def requirement(client: Any, article: Any, scheme: str = "exact") -> dict[str, Any]:
    response = client.get(machine_url(article))
    assert response.status_code == 402, response.content
    required = decode_header(response["PAYMENT-REQUIRED"])
    return next(r for r in required["accepts"] if r["scheme"] == scheme)


def signed_payment(url: str, wallet: Wallet, req: dict[str, Any], **overrides: Any) -> str:
    """A presigned Payment blob for `req`, as the XRPL exact scheme asks; `overrides`
    change fields to make it wrong."""
    client = JsonRpcClient(url)
    fields: dict[str, Any] = {
        "account": wallet.address,
        "destination": req["payTo"],
        "amount": req["amount"],
        "destination_tag": req["extra"]["destinationTag"],
        "invoice_id": req["extra"]["invoiceId"],
        "last_ledger_sequence": ledger.validated_ledger().ledger_index + 20,
    }
    fields.update(overrides)
    filled = autofill(Payment(**fields), client)
    return str(sign(filled, wallet).blob())


def exact_header(req: dict[str, Any], blob: str) -> str:
    return encode_header(
        {"x402Version": 2, "accepted": req, "payload": {"txBlob": blob}, "resource": None}
    )
