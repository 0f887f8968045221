"""Clients over real HTTP (a live server) on the sandbox: the off-the-shelf x402 v2 XRPL client
`x402-xrpl` (unchanged) pays by `exact`; Dropgate's own client pays by both schemes within its
spend limit."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from agents.models import AgentPayment
from tests.agents.conftest import PRICE, machine_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))

from dropgate_agent import AgentClient, SpendLimitExceeded

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_off_the_shelf_x402_xrpl_client_pays_exact(
    live_server: Any, article: Any, platform: str, agent_wallet: Any, sandbox_url: str
) -> None:
    from x402_xrpl.clients.base import decode_payment_response
    from x402_xrpl.clients.requests import x402_requests

    session = x402_requests(agent_wallet, rpc_url=sandbox_url, network_filter="xrpl:1")
    response = session.get(live_server.url + machine_url(article), timeout=60)

    assert response.status_code == 200, response.text
    assert response.json()["body_html"] == "<p>The paid body.</p>"
    settled = decode_payment_response(response.headers["PAYMENT-RESPONSE"])
    assert settled["success"] is True
    assert AgentPayment.objects.get().tx_hash == settled["transaction"]


def test_dropgate_agent_client_both_schemes(
    live_server: Any, article: Any, platform: str, agent_wallet: Any, sandbox_url: str
) -> None:
    agent = AgentClient(agent_wallet, rpc_url=sandbox_url, spend_limit_drops=1_000_000 + 2 * PRICE)
    url = live_server.url + machine_url(article)

    bought = agent.get(url)
    assert bought.status_code == 200
    assert agent.spent_drops == PRICE

    agent.open_channel(1_000_000, destination=platform)
    again = agent.get(url)
    assert again.status_code == 200
    assert [p.scheme for p in AgentPayment.objects.order_by("pk")] == ["exact", "paychan"]

    capped = AgentClient(agent_wallet, rpc_url=sandbox_url, spend_limit_drops=PRICE - 1)
    with pytest.raises(SpendLimitExceeded):
        capped.get(url)
    assert AgentPayment.objects.count() == 2
