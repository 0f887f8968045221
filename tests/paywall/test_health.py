"""Health endpoints: liveness always, readiness reports each dependency and the watchtower."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.mark.django_db
def test_liveness(client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


TOKEN = "readyz-token-for-operators-only"


@pytest.fixture
def readyz_token(settings) -> str:
    settings.DROPGATE_READYZ_TOKEN = TOKEN
    cache.clear()
    return TOKEN


@pytest.mark.django_db
def test_readiness_is_503_with_a_code_when_the_ledger_is_down(
    client, settings, readyz_token
) -> None:
    settings.XRPL_URL = "http://127.0.0.1:9/"
    response = client.get("/readyz", headers={"Authorization": f"Bearer {readyz_token}"})
    assert response.status_code == 503
    body = response.json()
    assert body["error"]["code"] == "ledger_unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["watchtower"]["channels_watched"] == 0


@pytest.mark.django_db
def test_readiness_in_public_is_bare(client, settings, readyz_token) -> None:
    # Given a ledger that is down (the public answer still says so, by code only)
    settings.XRPL_URL = "http://127.0.0.1:9/"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": readyz_token}):
        response = client.get("/readyz", headers=headers)
        assert response.status_code == 503
        # Then no checks, channel ids or integrity violations are shown without the token
        assert response.json() == {
            "error": {"code": "ledger_unavailable", "message": "A dependency is unavailable."}
        }
        assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_without_a_configured_token_details_are_never_shown(client, settings) -> None:
    settings.DROPGATE_READYZ_TOKEN = ""
    cache.clear()
    settings.XRPL_URL = "http://127.0.0.1:9/"
    for auth in ("Bearer ", "Bearer", ""):
        response = client.get("/readyz", headers={"Authorization": auth} if auth else {})
        assert "checks" not in response.json()


@pytest.mark.django_db
def test_readiness_is_throttled_per_client_address(client, settings) -> None:
    settings.XRPL_URL = "http://127.0.0.1:9/"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}
    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "readyz": "2/min",
    }
    cache.clear()
    codes = [client.get("/readyz").status_code for _ in range(3)]
    assert codes == [503, 503, 429]
    limited = client.get("/readyz")
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited["Retry-After"]) > 0
    # another address has its own budget
    assert client.get("/readyz", REMOTE_ADDR="198.51.100.4").status_code == 503


@pytest.mark.django_db
@pytest.mark.integration
def test_readiness_ok_with_the_sandbox(client, settings, sandbox_url, readyz_token) -> None:
    settings.XRPL_URL = sandbox_url
    assert client.get("/readyz").json() == {"status": "ok"}
    response = client.get("/readyz", headers={"Authorization": f"Bearer {readyz_token}"})
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
