"""The `paychan` scheme: an agent opens one channel and pays each request with a claim."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from agents.models import AgentPayment
from channels_app.models import Channel, Claim
from tests.agents.conftest import PRICE, decode_header, encode_header, machine_url, requirement
from tests.channels_app.ledger_helpers import open_reader_channel
from tests.paywall.factories import make_api_key, make_article

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def paychan_header(req: dict[str, Any], channel: Any, amount: int) -> str:
    return encode_header(
        {
            "x402Version": 2,
            "accepted": req,
            "payload": {
                "channel": channel.channel_id,
                "amount": str(amount),
                "signature": channel.key.sign(channel.channel_id, amount),
                "publicKey": channel.key.public_key,
            },
        }
    )


def test_paychan_pays_per_request_without_ledger_transactions(
    client: Client, article: Any, platform: str, sandbox_url: str
) -> None:
    second = make_article(article.publisher, slug="second-story", price_drops=PRICE)
    channel = open_reader_channel(sandbox_url, destination=platform, amount_drops=2_000_000)
    req = requirement(client, article, "paychan")

    first = client.get(
        machine_url(article), HTTP_PAYMENT_SIGNATURE=paychan_header(req, channel, PRICE)
    )
    assert first.status_code == 200, first.content
    assert decode_header(first["PAYMENT-RESPONSE"])["success"] is True
    assert Channel.objects.get(channel_id=channel.channel_id).owner_ref.startswith("agent:")

    paid = client.get(
        machine_url(second), HTTP_PAYMENT_SIGNATURE=paychan_header(req, channel, 2 * PRICE)
    )
    assert paid.status_code == 200, paid.content
    assert [p.amount_drops for p in AgentPayment.objects.order_by("pk")] == [PRICE, PRICE]
    assert Claim.objects.count() == 2

    # Replay, stale and underpaid claims are refused and charge nothing.
    for amount, code in (
        (2 * PRICE, "claim_replayed"),
        (PRICE, "claim_stale"),
        (3 * PRICE - 1, "claim_underpaid"),
    ):
        response = client.get(
            machine_url(article), HTTP_PAYMENT_SIGNATURE=paychan_header(req, channel, amount)
        )
        assert response.status_code in (402, 409), response.content
        assert response.json()["error"]["code"] == code
    assert AgentPayment.objects.count() == 2

    revenue = client.get(
        "/api/v1/publisher/agent-revenue",
        HTTP_AUTHORIZATION=f"Bearer {make_api_key(article.publisher)}",
    ).json()
    assert revenue["count"] == 2
    assert revenue["gross_drops"] == str(2 * PRICE)
    assert [row["key"] for row in revenue["by_scheme"]] == ["paychan"]


def test_paychan_forged_first_claim_registers_nothing(
    client: Client, article: Any, platform: str, sandbox_url: str
) -> None:
    channel = open_reader_channel(sandbox_url, destination=platform, amount_drops=2_000_000)
    other = open_reader_channel(sandbox_url, destination=platform, amount_drops=2_000_000)
    req = requirement(client, article, "paychan")
    forged = encode_header(
        {
            "x402Version": 2,
            "accepted": req,
            "payload": {
                "channel": channel.channel_id,
                "amount": str(PRICE),
                "signature": other.key.sign(channel.channel_id, PRICE),
                "publicKey": other.key.public_key,
            },
        }
    )
    response = client.get(machine_url(article), HTTP_PAYMENT_SIGNATURE=forged)
    assert response.status_code in (402, 422)
    assert not Channel.objects.filter(channel_id=channel.channel_id).exists()
    assert not AgentPayment.objects.exists()


def test_agents_have_their_own_velocity_limits(
    client: Client, article: Any, platform: str, sandbox_url: str, settings: Any
) -> None:
    from fraud.models import RiskDecisionRecord

    settings.DROPGATE_VELOCITY_AGENT_READER_PER_MINUTE = 1
    settings.DROPGATE_VELOCITY_READER_PER_MINUTE = 1000  # the readers' limit is not the agents'
    channel = open_reader_channel(sandbox_url, destination=platform, amount_drops=2_000_000)
    req = requirement(client, article, "paychan")
    first = client.get(
        machine_url(article), HTTP_PAYMENT_SIGNATURE=paychan_header(req, channel, PRICE)
    )
    assert first.status_code == 200
    second = client.get(
        machine_url(article), HTTP_PAYMENT_SIGNATURE=paychan_header(req, channel, 2 * PRICE)
    )
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "velocity_limited"
    assert AgentPayment.objects.count() == 1
    assert Claim.objects.count() == 1
    decisions = RiskDecisionRecord.objects.order_by("pk")
    assert [d.category for d in decisions] == ["agent", "agent"]
