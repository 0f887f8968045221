"""risk_decide (allow, challenge, refuse, hold; agents; session binding; velocity) and the
unlock path's mapping of its decisions to HTTP and websocket errors."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from channels_app import clock
from channels_app.models import Channel, Claim
from fraud.models import FraudCase, RiskDecisionRecord, TelemetrySession
from fraud.services.decisions import risk_decide
from fraud.services.telemetry import (
    batch_limits,
    telemetry_batch_apply,
    telemetry_session_open,
    telemetry_session_persist,
)
from fraud.telemetry import batch_parse
from paywall.models import Unlock
from tests.channels_app.factories import make_channel
from tests.fraud.conftest import HEADLESS_UA, HUMAN_UA, human_fingerprint
from tests.paywall.factories import make_article, make_publisher, make_reader
from tests.paywall.helpers import Api, error_code

pytestmark = pytest.mark.django_db

PRICE = 250_000
CHANNEL_ID = "A" * 64

# Keyboard-only interaction with human-looking key cadence: no rule fires.
CALM = {"keys": [110, 180, 95, 240, 160, 130], "clicks": [[9000, 0, 0, 0, 3]]}
# A mouse click with no movement before it: the challenge band.
NO_MOVEMENT_CLICK = {"clicks": [[9000, 100, 100, 0, 0]]}
# A click right after the pointer jumped to it: the hold band.
TELEPORT = {"mouse": [100, 10, 10, 16, 2, 1, 400, 600, 420], "clicks": [[520, 612, 431, 0, 0]]}


def telemetry(
    publisher_ref: str, *batches: dict[str, Any], ua: str = HUMAN_UA, fingerprint=None
) -> str:
    """A telemetry session that sent `batches`, persisted as the socket would."""
    state = telemetry_session_open(
        publisher_ref=publisher_ref, resume=None, user_agent=ua, client_ip="198.51.100.20"
    )
    for seq, content in enumerate(batches):
        body = {"type": "batch", "seq": seq, **content}
        if seq == 0:
            body["fingerprint"] = fingerprint or human_fingerprint()
        batch = batch_parse(
            body, limits=batch_limits(), expected_seq=seq, mouse_origin=state.mouse_origin
        )
        telemetry_batch_apply(state, batch)
    telemetry_session_persist(state)
    return state.public_id


def decide(publisher_ref: str, reader_ref: str, session: str | None, **overrides: Any):
    arguments: dict[str, Any] = {
        "publisher_ref": publisher_ref,
        "reader_ref": reader_ref,
        "article_ref": "first-story",
        "channel_id": CHANNEL_ID,
        "amount_drops": PRICE,
        "telemetry_session": session,
        "user_agent": HUMAN_UA,
        "client_ip": "198.51.100.20",
    }
    arguments.update(overrides)
    return risk_decide(**arguments)


def test_an_agent_without_telemetry_is_allowed_as_an_agent() -> None:
    decision = decide("pub_a", "rdr_1", None)
    assert (decision.action, decision.category, decision.reasons) == ("allow", "agent", ())
    record = RiskDecisionRecord.objects.get()
    assert (record.action, record.category, record.session) == ("allow", "agent", None)
    assert (record.reader_ref, record.article_ref, record.amount_drops) == (
        "rdr_1",
        "first-story",
        PRICE,
    )
    assert len(record.network_prefix) == 64


def test_the_sdk_without_a_telemetry_session_is_held_not_waved_through_as_an_agent() -> None:
    decision = decide("pub_a", "rdr_1", "")
    assert (decision.action, decision.category, decision.reasons) == (
        "hold",
        "unknown",
        ("no_telemetry",),
    )
    assert decision.challenge is None


def test_a_calm_session_is_allowed_and_bound_to_its_first_reader() -> None:
    session = telemetry("pub_a", CALM)
    decision = decide("pub_a", "rdr_1", session)
    assert decision.action == "allow", decision
    assert TelemetrySession.objects.get(public_id=session).reader_ref == "rdr_1"
    assert decide("pub_a", "rdr_1", session).action == "allow"  # same reader again
    record = RiskDecisionRecord.objects.last()
    assert record is not None and record.session is not None
    assert record.fingerprint_hash == TelemetrySession.objects.get().fingerprint_hash


def test_a_session_bound_to_another_reader_is_refused_as_reused() -> None:
    session = telemetry("pub_a", CALM)
    decide("pub_a", "rdr_1", session)
    decision = decide("pub_a", "rdr_2", session)
    assert decision.action == "refuse" and "session_reused" in decision.reasons
    assert TelemetrySession.objects.get(public_id=session).reader_ref == "rdr_1"


def test_an_unknown_or_foreign_session_is_refused() -> None:
    assert decide("pub_a", "rdr_1", "tls_" + "x" * 22).reasons == ("session_unknown",)
    session = telemetry("pub_b", CALM)
    decision = decide("pub_a", "rdr_1", session)
    assert (decision.action, decision.reasons) == ("refuse", ("session_mismatch",))
    assert TelemetrySession.objects.get(public_id=session).reader_ref == ""


def test_an_automated_browser_is_refused() -> None:
    session = telemetry(
        "pub_a", CALM, ua=HEADLESS_UA, fingerprint=human_fingerprint(webdriver=True)
    )
    decision = decide("pub_a", "rdr_1", session)
    assert (decision.action, decision.category) == ("refuse", "bot")
    assert {"webdriver", "headless_ua"} <= set(decision.reasons)


def test_a_session_that_sent_nothing_is_challenged() -> None:
    session = telemetry("pub_a")
    decision = decide("pub_a", "rdr_1", session)
    assert decision.action == "challenge" and "no_interaction" in decision.reasons
    assert decision.challenge is not None and decision.challenge["id"].startswith("chl_")
    assert decision.challenge["kind"] == "press_hold"


def test_the_challenge_band_is_challenged_and_a_passed_challenge_becomes_a_hold() -> None:
    session = telemetry("pub_a", NO_MOVEMENT_CLICK)
    first = decide("pub_a", "rdr_1", session)
    assert first.action == "challenge" and "click_without_movement" in first.reasons
    TelemetrySession.objects.filter(public_id=session).update(challenge_passed_at=clock.now())
    second = decide("pub_a", "rdr_1", session)
    assert second.action == "hold" and "challenge_passed" in second.reasons


def test_the_hold_band_is_held(settings) -> None:
    settings.DROPGATE_RISK_CHALLENGE_AT = 0.8  # click_teleport alone (0.75) is then a hold
    session = telemetry("pub_a", TELEPORT)
    decision = decide("pub_a", "rdr_1", session)
    assert decision.action == "hold" and "click_teleport" in decision.reasons


def test_the_bands_follow_the_settings(settings) -> None:
    session = telemetry("pub_a", TELEPORT)
    settings.DROPGATE_RISK_HOLD_AT = 0.8
    settings.DROPGATE_RISK_CHALLENGE_AT = 0.85
    assert decide("pub_a", "rdr_1", session).action == "allow"


def test_a_velocity_limit_refuses_with_retry_after(settings) -> None:
    settings.DROPGATE_VELOCITY_AGENT_READER_PER_MINUTE = 1
    assert decide("pub_a", "rdr_1", None).action == "allow"
    decision = decide("pub_a", "rdr_1", None)
    assert decision.action == "refuse" and decision.velocity_limit == "reader_per_minute"
    assert decision.retry_after_seconds >= 1 and "velocity_limited" in decision.reasons
    assert list(RiskDecisionRecord.objects.values_list("action", flat=True)) == ["allow", "refuse"]


# --- The unlock path -------------------------------------------------------------------------


@pytest.fixture
def site():
    publisher = make_publisher()
    article = make_article(publisher, price_drops=PRICE)
    reader, token, key = make_reader(publisher)
    channel = make_channel(key=key, owner_ref=reader.public_id)
    return publisher, article, reader, f"Reader {token}", key, channel


def unlock(site, session: str | None, **extra: Any):
    _, article, _, auth, key, channel = site
    body: dict[str, Any] = {
        "article": article.slug,
        "claim": {
            "channel_id": channel.channel_id,
            "amount_drops": str(PRICE),
            "signature": key.sign(channel.channel_id, PRICE),
        },
        **extra,
    }
    if session is not None:
        body["telemetry_session"] = session
    return Api(Client()).post("unlocks", body, auth=auth, headers={"User-Agent": HUMAN_UA})


def nothing_charged(channel: Channel) -> bool:
    channel.refresh_from_db()
    return (
        channel.accepted_drops == 0 and not Claim.objects.exists() and not Unlock.objects.exists()
    )


def test_an_unlock_with_a_calm_session_is_charged_and_binds_it(site) -> None:
    publisher, _, reader, *_ = site
    session = telemetry(publisher.key, CALM)
    response = unlock(site, session)
    assert response.status_code == 201, response.content
    assert TelemetrySession.objects.get(public_id=session).reader_ref == reader.public_id
    record = RiskDecisionRecord.objects.get()
    assert (record.action, record.publisher_ref, record.reader_ref) == (
        "allow",
        publisher.key,
        reader.public_id,
    )
    assert record.channel_id == site[5].channel_id


def test_a_refused_unlock_is_403_risk_refused_and_charges_nothing(site) -> None:
    publisher, *_, channel = site
    session = telemetry(publisher.key, CALM, ua=HEADLESS_UA)
    response = unlock(site, session)
    assert response.status_code == 403 and error_code(response) == "risk_refused"
    assert nothing_charged(channel)


def test_a_challenged_unlock_is_403_with_the_challenge(site) -> None:
    publisher, *_, channel = site
    session = telemetry(publisher.key, NO_MOVEMENT_CLICK)
    response = unlock(site, session)
    assert response.status_code == 403 and error_code(response) == "risk_challenge"
    challenge = response.json()["error"]["challenge"]
    assert challenge["id"].startswith("chl_") and challenge["hold_ms"] == 800
    assert challenge["kind"] == "press_hold"
    assert nothing_charged(channel)


def test_a_velocity_limited_unlock_is_429_with_retry_after(site, settings) -> None:
    *_, channel = site
    settings.DROPGATE_VELOCITY_AGENT_CHANNEL_PER_MINUTE = 0
    settings.DROPGATE_VELOCITY_AGENT_READER_PER_MINUTE = 0
    settings.DROPGATE_VELOCITY_PUBLISHER_PER_MINUTE = 0
    settings.DROPGATE_VELOCITY_AGENT_READER_DROPS_PER_HOUR = PRICE - 1
    response = unlock(site, None)
    assert response.status_code == 429 and error_code(response) == "velocity_limited"
    assert int(response["Retry-After"]) >= 1
    assert response.json()["error"]["retry_after"] >= 1
    assert nothing_charged(channel)


def test_velocity_limits_that_cannot_be_checked_are_a_503_and_charge_nothing(
    site, settings
) -> None:
    *_, channel = site
    settings.CACHES = {
        **settings.CACHES,
        "velocity-down": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        },
    }
    settings.DROPGATE_VELOCITY_CACHE = "velocity-down"
    response = unlock(site, None)
    assert response.status_code == 503 and error_code(response) == "risk_checks_unavailable"
    assert nothing_charged(channel)


def test_a_held_unlock_is_charged_then_its_revenue_is_held_in_a_case(
    site, django_capture_on_commit_callbacks, settings
) -> None:
    settings.DROPGATE_RISK_CHALLENGE_AT = 0.8  # click_teleport alone (0.75) is then a hold
    publisher, _, reader, *_ = site
    session = telemetry(publisher.key, TELEPORT)
    with django_capture_on_commit_callbacks(execute=True):
        response = unlock(site, session)
    assert response.status_code == 201, response.content
    case = FraudCase.objects.get()
    assert (case.kind, case.publisher_ref, case.subject) == (
        "risky_unlock",
        publisher.key,
        reader.public_id,
    )
    # the publisher's share is held: the platform's fee is not publisher revenue
    assert case.held_drops == PRICE - PRICE * publisher.fee_bps // 10_000 < PRICE
    assert "click_teleport" in case.evidence[-1]["reasons"]


def test_a_malformed_telemetry_session_is_a_400(site) -> None:
    response = unlock(site, "not-a-session")
    assert response.status_code == 400 and error_code(response) == "invalid_request"


@pytest.mark.django_db(transaction=True)
def test_the_reader_socket_passes_the_session_and_maps_a_challenge(site) -> None:
    from asgiref.sync import async_to_sync
    from channels.testing import WebsocketCommunicator

    from paywall.asgi import application

    publisher, article, _, auth, key, channel = site
    session = telemetry(publisher.key, NO_MOVEMENT_CLICK)

    async def scenario() -> dict[str, Any]:
        comm = WebsocketCommunicator(
            application,
            "/ws/reader/",
            headers=[
                (b"host", b"127.0.0.1:8000"),
                (b"origin", b"http://127.0.0.1:8000"),
                (b"user-agent", HUMAN_UA.encode()),
            ],
        )
        assert (await comm.connect())[0]
        token = auth.split(" ", 1)[1]
        await comm.send_json_to({"type": "auth", "publisher": publisher.key, "token": token})
        assert (await comm.receive_json_from(timeout=5))["type"] == "ready"
        await comm.send_json_to(
            {
                "type": "unlock",
                "id": 1,
                "article": article.slug,
                "telemetry_session": session,
                "claim": {
                    "channel_id": channel.channel_id,
                    "amount_drops": str(PRICE),
                    "signature": key.sign(channel.channel_id, PRICE),
                },
            }
        )
        reply = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return reply

    reply = async_to_sync(scenario)()
    assert (reply["type"], reply["status"], reply["error"]["code"]) == (
        "error",
        403,
        "risk_challenge",
    )
    assert reply["error"]["challenge"]["id"].startswith("chl_")
    assert nothing_charged(channel)
    assert TelemetrySession.objects.get(public_id=session).reader_ref == site[2].public_id
