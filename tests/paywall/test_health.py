"""Health endpoints: liveness always, readiness reports each dependency and the watchtower."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_liveness(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.django_db
def test_readiness_is_503_with_a_code_when_the_ledger_is_down(client, settings) -> None:
    settings.XRPL_URL = "http://127.0.0.1:9/"
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "ledger_unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["watchtower"]["channels_watched"] == 0


@pytest.mark.django_db
@pytest.mark.integration
def test_readiness_ok_with_the_sandbox(client, settings, sandbox_url) -> None:
    settings.XRPL_URL = sandbox_url
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["ledger"]["validated_ledger"] >= 1


def test_home_page(client, db) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert b"Dropgate" in response.content
