"""Press-and-hold challenges: issue one for a risky unlock, verify the pointer trace the page
streams back over the telemetry socket, and mark the session as having passed.

A challenge lives in the cache (DROPGATE_CHALLENGE_TTL_SECONDS), is bound to one telemetry
session and can be answered once. Passing needs a hold of at least `hold_ms` by the page's
own timestamps *and* by the server's clock since the challenge was issued, and a well-formed
down → moves → up sequence that stays where it was pressed. A hold with moves must show a
little natural jitter (moves that never change position, or come at a perfectly even rhythm,
are a script's). A hold with no moves at all passes on its timing alone: that is a keyboard
hold (Space/Enter, sent as a down and an up) or a hand that kept still, and refusing those
would lock out keyboard and switch users.
"""

from __future__ import annotations

import secrets
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache

from channels_app import clock
from fraud.models import TelemetrySession
from fraud.types import ChallengeResult, IntArray

__all__ = ["CHALLENGE_PREFIX", "challenge_issue", "challenge_verify"]

CHALLENGE_PREFIX = "chl_"
KIND = "press_hold"
PHASE_DOWN, PHASE_MOVE, PHASE_UP = 0, 1, 2
# The page's clock may run ahead of ours by this much (event timestamps vs frame arrival).
CLOCK_SLACK_MS = 250
# A hold that wanders farther than this from where it was pressed is a drag, not a hold.
MAX_WANDER_PX = 48.0


def _key(challenge_id: str) -> str:
    return f"fraud:chl:{challenge_id}"


def _now_ms() -> float:
    return clock.now().timestamp() * 1000.0


def challenge_issue(*, session_id: str) -> dict[str, Any]:
    """A new challenge bound to telemetry session `session_id`: what the SDK is sent
    (`{"id": "chl_…", "kind": "press_hold", "hold_ms": N}`)."""
    challenge_id = CHALLENGE_PREFIX + secrets.token_urlsafe(16)
    hold_ms = int(settings.DROPGATE_CHALLENGE_HOLD_MS)
    cache.set(
        _key(challenge_id),
        {"session": session_id, "hold_ms": hold_ms, "issued_ms": _now_ms()},
        int(settings.DROPGATE_CHALLENGE_TTL_SECONDS),
    )
    return {"id": challenge_id, "kind": KIND, "hold_ms": hold_ms}


def _trace_problem(events: IntArray, hold_ms: int, elapsed_ms: float) -> str:
    """The first reason the trace fails, or "" if it passes."""
    if len(events) < 2:
        return "too_short"
    t, x, y, phase = events[:, 0], events[:, 1], events[:, 2], events[:, 3]
    if phase[0] != PHASE_DOWN or phase[-1] != PHASE_UP or np.any(phase[1:-1] != PHASE_MOVE):
        return "sequence"
    if np.any(np.diff(t) < 0):
        return "time_order"
    held = int(t[-1] - t[0])
    if held < hold_ms:
        return "released_early"
    if elapsed_ms < hold_ms or elapsed_ms + CLOCK_SLACK_MS < held:
        return "server_time"
    wander = np.hypot(x - x[0], y - y[0])
    if float(wander.max()) > MAX_WANDER_PX:
        return "moved_away"
    positions = {(int(a), int(b)) for a, b in zip(x.tolist(), y.tolist(), strict=True)}
    if len(events) > 2 and len(positions) < 2:
        return "no_jitter"
    move_dt = np.diff(t[1:-1])
    if move_dt.size >= 4 and np.all(move_dt == move_dt[0]):
        return "uniform_timing"
    return ""


def challenge_verify(*, session_id: str, challenge_id: str, events: IntArray) -> ChallengeResult:
    """Check the pointer trace of challenge `challenge_id` sent on `session_id`'s socket.

    Single use: the challenge is consumed by its first answer, passed or not. A pass sets the
    session's challenge_passed_at (the retried unlock is then allowed unless hard rules fire).
    """
    key = _key(challenge_id)
    issued = cache.get(key)
    if not isinstance(issued, dict) or issued.get("session") != session_id:
        return ChallengeResult(challenge_id=challenge_id[:64], passed=False, reason="unknown")
    # cache.add is atomic: of two answers racing, only one finds the marker absent.
    if not cache.add(f"{key}:used", 1, int(settings.DROPGATE_CHALLENGE_TTL_SECONDS)):
        return ChallengeResult(challenge_id=challenge_id, passed=False, reason="replayed")
    cache.delete(key)
    problem = _trace_problem(events, int(issued["hold_ms"]), _now_ms() - float(issued["issued_ms"]))
    if problem:
        return ChallengeResult(challenge_id=challenge_id, passed=False, reason=problem)
    TelemetrySession.objects.filter(public_id=session_id).update(challenge_passed_at=clock.now())
    return ChallengeResult(challenge_id=challenge_id, passed=True)
