"""Publishers choose per article whether agents may buy and at what price; agent revenue is
reported apart."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.agents.conftest import PRICE, decode_header, machine_url
from tests.paywall.factories import make_api_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_publisher_sets_agent_price_and_refusal(
    client: Client, article: Any, platform: str
) -> None:
    auth = f"Bearer {make_api_key(article.publisher)}"
    url = f"/api/v1/publisher/articles/{article.slug}/agents"
    response = client.put(
        url,
        {"access": "allow", "price_drops": 7_000},
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )
    assert response.status_code == 200, response.content
    assert response.json()["machine_url"].endswith(machine_url(article))
    offered = client.get(machine_url(article))
    assert {r["amount"] for r in decode_header(offered["PAYMENT-REQUIRED"])["accepts"]} == {"7000"}

    refused = client.put(
        url,
        {"access": "refuse", "price_drops": None},
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )
    assert refused.status_code == 200
    blocked = client.get(machine_url(article))
    assert blocked.status_code == 403
    assert blocked.json()["error"]["code"] == "agents_refused"

    bad = client.put(
        url,
        {"access": "maybe", "price_drops": 0},
        content_type="application/json",
        HTTP_AUTHORIZATION=auth,
    )
    assert bad.status_code == 400


def test_agent_revenue_reported_apart(client: Client, article: Any, platform: str) -> None:
    auth = f"Bearer {make_api_key(article.publisher)}"
    response = client.get("/api/v1/publisher/agent-revenue", HTTP_AUTHORIZATION=auth)
    assert response.status_code == 200
    assert response.json()["count"] == 0
    assert response.json()["gross_drops"] == "0"
    assert PRICE > 0


def test_fiat_priced_article_is_offered_at_the_current_rate(
    client: Client, article: Any, platform: str
) -> None:
    from decimal import Decimal

    from tests.paywall.factories import make_article, make_rate

    fiat = make_article(
        article.publisher, slug="fiat-story", price_fiat=Decimal("0.05"), currency="USD"
    )
    missing = client.get(machine_url(fiat))
    assert missing.status_code == 503
    assert missing.json()["error"]["code"] == "exchange_rate_unavailable"
    make_rate(currency="USD", rate="0.50")
    offered = client.get(machine_url(fiat))
    assert offered.status_code == 402
    assert {r["amount"] for r in decode_header(offered["PAYMENT-REQUIRED"])["accepts"]} == {
        "100000"
    }
