"""Press-and-hold challenges: pass, the ways to fail, single use, and the socket's frame."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from channels_app import clock
from fraud.models import TelemetrySession
from fraud.selectors import telemetry_session_score
from fraud.services.challenges import challenge_issue, challenge_verify
from fraud.services.telemetry import telemetry_session_open
from paywall.asgi import application
from tests.fraud.conftest import HUMAN_UA
from tests.paywall.factories import ORIGIN, make_publisher

pytestmark = pytest.mark.django_db


def held(ms: int = 900, *, jitter: bool = True, moves: int = 6) -> np.ndarray:
    """A press at (200, 300), small wobbles, a release `ms` later."""
    rows = [[1000, 200, 300, 0]]
    for n in range(1, moves + 1):
        wobble = (n % 3) - 1 if jitter else 0
        rows.append([1000 + n * ms // (moves + 1) + (n % 2) * 3, 200 + wobble, 300 - wobble, 1])
    rows.append([1000 + ms, 200, 300 + (1 if jitter else 0), 2])
    return np.array(rows, dtype=np.int64)


@pytest.fixture
def session() -> str:
    state = telemetry_session_open(
        publisher_ref="pub_test", resume=None, user_agent=HUMAN_UA, client_ip="198.51.100.4"
    )
    return state.public_id


def answer(session: str, events: np.ndarray, *, after_ms: int = 1200, issue: dict | None = None):
    challenge = issue or challenge_issue(session_id=session)
    with clock.override(timedelta(milliseconds=after_ms)):
        return challenge, challenge_verify(
            session_id=session, challenge_id=challenge["id"], events=events
        )


def test_a_natural_hold_passes_and_marks_the_session(session) -> None:
    challenge, result = answer(session, held())
    assert challenge["id"].startswith("chl_") and challenge["kind"] == "press_hold"
    assert challenge["hold_ms"] == 800
    assert result.passed, result.reason
    row = TelemetrySession.objects.get(public_id=session)
    assert row.challenge_passed_at is not None
    stored = telemetry_session_score(session)
    assert stored is not None and stored.challenge_passed


@pytest.mark.parametrize(
    ("events", "after_ms", "reason"),
    [
        (held(500), 1200, "released_early"),
        (held(900), 400, "server_time"),  # answered sooner than it could have been held
        (held(3000), 1000, "server_time"),  # claims a longer hold than time has passed
        (held(900, jitter=False), 1200, "no_jitter"),
        (held(900)[:1], 1200, "too_short"),
        (held(500, moves=0), 1200, "released_early"),
        (held(900)[::-1], 1200, "sequence"),
        (held(900) + np.array([0, 100, 0, 0]) * (np.arange(8)[:, None] > 3), 1200, "moved_away"),
        (
            np.array(
                [[0, 5, 5, 0]]
                + [[100 * n, 5 + n % 2, 5, 1] for n in range(1, 9)]
                + [[900, 5, 5, 2]]
            ),
            1200,
            "uniform_timing",
        ),
    ],
)
def test_unnatural_or_impossible_holds_fail(session, events, after_ms, reason) -> None:
    _, result = answer(session, events, after_ms=after_ms)
    assert (result.passed, result.reason) == (False, reason)
    assert TelemetrySession.objects.get(public_id=session).challenge_passed_at is None


def test_a_keyboard_or_still_hold_passes_on_its_timing(session) -> None:
    # Space/Enter held on the button arrives as a down and an up, with no pointer moves
    _, result = answer(session, held(900, moves=0))
    assert result.passed, result.reason


def test_a_challenge_is_single_use(session) -> None:
    challenge, first = answer(session, held())
    assert first.passed
    TelemetrySession.objects.filter(public_id=session).update(challenge_passed_at=None)
    _, replay = answer(session, held(), issue=challenge)
    assert (replay.passed, replay.reason) == (False, "unknown")
    assert TelemetrySession.objects.get(public_id=session).challenge_passed_at is None


def test_a_failed_answer_uses_the_challenge_up(session) -> None:
    challenge, first = answer(session, held(300))
    assert not first.passed
    _, second = answer(session, held(), issue=challenge)
    assert not second.passed


def test_a_challenge_answered_from_another_session_fails(session) -> None:
    other = telemetry_session_open(
        publisher_ref="pub_test", resume=None, user_agent=HUMAN_UA, client_ip=""
    ).public_id
    challenge = challenge_issue(session_id=session)
    with clock.override(timedelta(milliseconds=1200)):
        result = challenge_verify(session_id=other, challenge_id=challenge["id"], events=held())
    assert (result.passed, result.reason) == (False, "unknown")
    # ... and the rightful session can still answer it.
    _, mine = answer(session, held(), issue=challenge)
    assert mine.passed


@pytest.mark.django_db(transaction=True)
def test_the_socket_answers_a_challenge_frame() -> None:
    publisher = make_publisher()

    async def scenario() -> tuple[str, dict[str, Any]]:
        comm = WebsocketCommunicator(
            application,
            f"/ws/telemetry/?publisher={publisher.key}",
            headers=[(b"host", b"127.0.0.1:8000"), (b"origin", ORIGIN.encode())],
        )
        assert (await comm.connect())[0]
        session = (await comm.receive_json_from())["session"]
        from channels.db import database_sync_to_async

        challenge = await database_sync_to_async(challenge_issue)(session_id=session)
        events = held(900).tolist()
        with clock.override(timedelta(milliseconds=1200)):
            await comm.send_to(
                text_data=json.dumps({"type": "challenge", "id": challenge["id"], "events": events})
            )
            reply = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return session, reply | {"expected": challenge["id"]}

    session, reply = async_to_sync(scenario)()
    assert reply["type"] == "challenge.result" and reply["id"] == reply["expected"]
    assert reply["passed"] is True
    assert TelemetrySession.objects.get(public_id=session).challenge_passed_at is not None
