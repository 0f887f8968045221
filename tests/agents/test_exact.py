"""The machine URL over x402 version 2, `exact` scheme, against the real sandbox ledger."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from agents.models import AgentPayment
from channels_app import ledger
from channels_app.models import JournalEntry
from channels_app.selectors import journal_balance
from tests.agents.conftest import (
    PRICE,
    decode_header,
    exact_header,
    machine_url,
    requirement,
    signed_payment,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_unpaid_answers_402_in_x402_v2(client: Client, article: Any, platform: str) -> None:
    response = client.get(machine_url(article))
    assert response.status_code == 402
    required = decode_header(response["PAYMENT-REQUIRED"])
    assert required["x402Version"] == 2
    schemes = [r["scheme"] for r in required["accepts"]]
    assert schemes == ["exact", "paychan"]
    exact = required["accepts"][0]
    assert exact["network"] == "xrpl:1"
    assert exact["asset"] == "XRP"
    assert exact["amount"] == str(PRICE)
    assert exact["payTo"] == platform
    assert exact["extra"]["destinationTag"] == article.publisher.destination_tag
    assert len(exact["extra"]["invoiceId"]) == 64
    assert required["resource"]["url"].endswith(machine_url(article))
    body = response.json()
    assert body["accepts"] == required["accepts"]
    assert body["error"]["code"] == "payment_required"


def test_exact_pays_once_and_serves(
    client: Client, article: Any, platform: str, agent_wallet: Any, sandbox_url: str
) -> None:
    before = ledger.account_balance(platform)
    req = requirement(client, article)
    header = exact_header(req, signed_payment(sandbox_url, agent_wallet, req))

    response = client.get(machine_url(article), HTTP_PAYMENT_SIGNATURE=header)

    assert response.status_code == 200, response.content
    assert response.json()["body_html"] == "<p>The paid body.</p>"
    settled = decode_header(response["PAYMENT-RESPONSE"])
    assert settled["success"] is True
    assert settled["network"] == "xrpl:1"
    assert settled["payer"] == agent_wallet.address
    payment = AgentPayment.objects.get()
    assert payment.status == "paid" and payment.tx_hash == settled["transaction"]
    assert ledger.account_balance(platform) == before + PRICE
    assert JournalEntry.objects.filter(kind="agent_payment").count() == 1
    fee = PRICE * article.publisher.fee_bps // 10_000
    assert journal_balance("publisher_payable", article.publisher.key) == -(PRICE - fee)
    assert journal_balance("settlement_account", platform) == ledger.account_balance(platform)

    # The same payment again is refused, and nothing moves.
    again = client.get(machine_url(article), HTTP_PAYMENT_SIGNATURE=header)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "payment_replayed"
    assert AgentPayment.objects.count() == 1
    assert ledger.account_balance(platform) == before + PRICE


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"amount": str(PRICE - 1)}, "payment_underpaid"),
        ({"destination_tag": 4_242_424}, "payment_wrong_destination_tag"),
        ({"invoice_id": "AB" * 32}, "payment_invoice_mismatch"),
    ],
)
def test_exact_refusals_charge_nothing(
    client: Client,
    article: Any,
    platform: str,
    agent_wallet: Any,
    sandbox_url: str,
    override: dict[str, Any],
    code: str,
) -> None:
    before = ledger.account_balance(platform)
    req = requirement(client, article)
    header = exact_header(req, signed_payment(sandbox_url, agent_wallet, req, **override))
    response = client.get(machine_url(article), HTTP_PAYMENT_SIGNATURE=header)
    assert response.status_code == 402
    assert response.json()["error"]["code"] == code
    assert "PAYMENT-REQUIRED" in response
    assert not AgentPayment.objects.exists()
    assert ledger.account_balance(platform) == before


def test_exact_wrong_destination(
    client: Client, article: Any, platform: str, agent_wallet: Any, sandbox_url: str
) -> None:
    req = requirement(client, article)
    other = dict(req, payTo=agent_wallet.address)
    blob = signed_payment(sandbox_url, agent_wallet, req, destination=article_wallet_address())
    for sent in (exact_header(req, blob), exact_header(other, blob)):
        response = client.get(machine_url(article), HTTP_PAYMENT_SIGNATURE=sent)
        assert response.status_code == 402
        assert response.json()["error"]["code"] in {
            "payment_wrong_destination",
            "invoice_invalid",
        }
    assert not AgentPayment.objects.exists()


def article_wallet_address() -> str:
    return "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"  # genesis: a funded account that is not ours


def test_exact_expired_requirement(
    client: Client, article: Any, platform: str, agent_wallet: Any, sandbox_url: str
) -> None:
    from datetime import timedelta

    from channels_app import clock

    req = requirement(client, article)
    header = exact_header(req, signed_payment(sandbox_url, agent_wallet, req))
    with clock.override(timedelta(seconds=3600)):
        response = client.get(machine_url(article), HTTP_PAYMENT_SIGNATURE=header)
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "invoice_expired"
    assert not AgentPayment.objects.exists()


def test_malformed_header_is_400(client: Client, article: Any, platform: str) -> None:
    for bad in ("not base64 !!", "eyJ4NDAyVmVyc2lvbiI6IDF9", "W10="):
        response = client.get(machine_url(article), HTTP_PAYMENT_SIGNATURE=bad)
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] in {
            "payment_malformed",
            "x402_version_unsupported",
        }


def test_ledger_down_is_503(client: Client, article: Any, settings: Any) -> None:
    settings.XRPL_URL = "http://127.0.0.1:9/"
    settings.XRPL_NETWORK_ID = ""
    response = client.get(machine_url(article))
    assert response.status_code == 503
    assert response.json()["error"]["code"] in {"network_unknown", "ledger_unavailable"}


def test_ledger_down_after_reserving_then_the_same_header_finishes(
    client: Client, article: Any, platform: str, agent_wallet: Any, sandbox_url: str, settings: Any
) -> None:
    from agents.services import exact as exact_service
    from agents.services.offers import invoice_check
    from agents.services.purchase import payment_header_parse
    from agents.types import Buyer
    from channels_app.exceptions import LedgerUnavailable

    req = requirement(client, article)
    header = exact_header(req, signed_payment(sandbox_url, agent_wallet, req))
    payment = payment_header_parse(header)
    invoice = invoice_check(
        accepted=payment.accepted, article=article, buyer=Buyer(), network="xrpl:1"
    )
    checked = exact_service.exact_check(payload=payment.payload, invoice=invoice)
    row = exact_service.exact_reserve(
        checked=checked, invoice=invoice, article=article, operator_id=None, risk_decision_id=None
    )
    settings.XRPL_URL = "http://127.0.0.1:9/"
    with pytest.raises(LedgerUnavailable):
        exact_service.exact_settle(payment=row)
    assert AgentPayment.objects.get().status == "submitted"

    settings.XRPL_URL = sandbox_url
    response = client.get(machine_url(article), HTTP_PAYMENT_SIGNATURE=header)
    assert response.status_code == 200, response.content
    assert AgentPayment.objects.get().status == "paid"
    assert JournalEntry.objects.filter(kind="agent_payment").count() == 1
