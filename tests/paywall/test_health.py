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


@pytest.mark.django_db
def test_database_down_is_a_503_with_a_code(client, monkeypatch) -> None:
    from django.db import OperationalError

    from paywall.api import public

    def broken(*args, **kwargs):
        raise OperationalError("too many clients already")

    monkeypatch.setattr(public.ConfigApi, "get", broken)
    response = client.get("/api/v1/config?publisher=pub_x", headers={"Origin": "http://x"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"


@pytest.mark.django_db
def test_database_down_outside_the_api_is_a_503_too(client, monkeypatch) -> None:
    from django.db import OperationalError

    from paywall import health

    def broken(request):
        raise OperationalError("connection refused")

    monkeypatch.setattr(health, "_check_database", lambda: None)
    monkeypatch.setattr("paywall.health.render", lambda *a, **k: broken(None))
    response = client.get("/")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"
