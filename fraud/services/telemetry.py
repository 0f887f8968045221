"""Telemetry sessions: open or resume one, fold batches into features and a score (in
memory), persist features and score, count refused frames.

The socket (fraud.consumers) keeps one `SessionState` per connection. `telemetry_batch_apply`
is pure memory and fast (no I/O); `telemetry_session_persist` writes the features, score and
dwell at most every DROPGATE_TELEMETRY_PERSIST_SECONDS and on close, and mirrors the score
into the cache for the unlock path. Raw events never leave the batch they came in.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from channels_app import clock
from fraud.exceptions import BatchRejected
from fraud.features.fingerprint import (
    fingerprint_hash,
    fingerprint_reasons,
    network_prefix_hash,
    ua_info,
)
from fraud.features.session import SessionFeatures, session_signals
from fraud.models import ArticleView, TelemetrySession
from fraud.scoring import INSUFFICIENT_REASON, UNAVAILABLE_REASON, mouse_model, risk_score
from fraud.selectors import origin_cache_key, score_cache_key
from fraud.types import BatchLimits, RiskScore, TelemetryBatch

__all__ = [
    "SESSION_PREFIX",
    "SessionState",
    "batch_limits",
    "telemetry_batch_apply",
    "telemetry_open_allowed",
    "telemetry_reject",
    "telemetry_session_open",
    "telemetry_session_persist",
    "telemetry_sessions_purge",
]

logger = logging.getLogger(__name__)

SESSION_PREFIX = "tls_"
REJECTED_COUNTER = "fraud:telemetry:rejected:{reason}"
MAX_REPLACED = 64
# The model reruns after this many new mouse samples (about half a second of movement).
MODEL_EVERY_MOVES = 32
# Reasons that describe only this connection's data and are not carried over on resume.
_TRANSIENT = frozenset({INSUFFICIENT_REASON, UNAVAILABLE_REASON})


def batch_limits() -> BatchLimits:
    return BatchLimits(
        max_batch_bytes=int(settings.DROPGATE_TELEMETRY_MAX_BATCH_BYTES),
        max_events=int(settings.DROPGATE_TELEMETRY_MAX_EVENTS),
        min_interval_ms=int(settings.DROPGATE_TELEMETRY_MIN_INTERVAL_MS),
        burst=int(settings.DROPGATE_TELEMETRY_BURST),
    )


def _new_mouse_features() -> Any:
    from fraud.features.mouse import MouseFeatures

    return MouseFeatures()


@dataclass
class SessionState:
    """One connection's view of its session: accumulators and the current score."""

    pk: int
    public_id: str
    publisher_ref: str
    user_agent: str
    accept_language: str
    resumed: bool
    next_seq: int | None
    ua_reasons: tuple[str, ...]
    prior_reasons: tuple[str, ...] = ()
    rejected: dict[str, int] = field(default_factory=dict)
    events_count: int = 0
    mouse_origin: tuple[int, int, int] = (0, 0, 0)
    mouse: Any = field(default_factory=_new_mouse_features)
    features: SessionFeatures = field(default_factory=SessionFeatures)
    fingerprint_hash: str = ""
    fingerprint_reasons: tuple[str, ...] = ()
    integrity_replaced: tuple[str, ...] = ()
    model_score: float | None = None
    model_moves: int = -1
    score: RiskScore = field(
        default_factory=lambda: RiskScore(score=0.0, reasons=(), category="unknown")
    )
    dirty_articles: set[str] = field(default_factory=set)
    dirty: bool = False
    last_persist: float = field(default_factory=time.monotonic)


def _new_public_id() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(16)


def telemetry_open_allowed(*, client_ip: str) -> bool:
    """Whether `client_ip` may open one more telemetry session this minute
    (DROPGATE_TELEMETRY_SESSIONS_PER_IP_MINUTE): every new session is a database row, so
    opening them is rate limited per address. The address is only a hashed cache key."""
    limit = int(settings.DROPGATE_TELEMETRY_SESSIONS_PER_IP_MINUTE)
    if limit <= 0:
        return True
    digest = hashlib.sha256(client_ip.encode("utf-8", "replace")).hexdigest()[:32]
    key = f"fraud:tls:opened:{digest}:{int(time.time()) // 60}"
    if cache.add(key, 1, 120):
        return True
    try:
        return int(cache.incr(key)) <= limit
    except ValueError:  # expired between add and incr
        cache.add(key, 1, 120)
        return True


def telemetry_session_open(
    *,
    publisher_ref: str,
    resume: str | None,
    user_agent: str,
    client_ip: str,
    accept_language: str = "",
) -> SessionState:
    """A new session for `publisher_ref`, or the one `resume` names if it is that publisher's.

    Precondition: the caller has checked the page's origin against the publisher. A resumed
    session keeps its reasons, refusals and event count (a reconnect wipes nothing), but its
    feature accumulators start again.

    Only resuming an existing session of this publisher skips the per-address limit on new
    sessions: a `resume` id that is unknown, malformed or another publisher's makes a new row,
    and counts like any other (raises BatchRejected("too_fast") over the limit).
    """
    info = ua_info(user_agent)
    ua_reasons = fingerprint_reasons({}, user_agent=user_agent)
    row = None
    if resume:
        row = TelemetrySession.objects.filter(public_id=resume, publisher_ref=publisher_ref).first()
    resumed = row is not None
    if row is None and not telemetry_open_allowed(client_ip=client_ip):
        raise BatchRejected("too_fast", "sessions per address")
    if row is None:
        row = TelemetrySession.objects.create(
            public_id=_new_public_id(),
            publisher_ref=publisher_ref,
            network_prefix=network_prefix_hash(client_ip),
            ua_family=info.browser_family,
            device_type=info.device_type,
            is_bot_ua=info.is_bot,
            reasons=list(ua_reasons),
        )
    state = SessionState(
        pk=row.pk,
        public_id=row.public_id,
        publisher_ref=publisher_ref,
        user_agent=user_agent,
        accept_language=accept_language,
        resumed=resumed,
        next_seq=None if resumed else 0,
        ua_reasons=ua_reasons,
    )
    if resumed:
        state.prior_reasons = tuple(
            r for r in row.reasons if isinstance(r, str) and r not in _TRANSIENT
        )
        state.rejected = {str(k): int(v) for k, v in (row.rejected or {}).items()}
        state.events_count = row.events_count
        state.fingerprint_hash = row.fingerprint_hash
        # The page's mouse deltas carry on from its last sample: start from it if known.
        origin = cache.get(origin_cache_key(row.public_id))
        if isinstance(origin, (list, tuple)) and len(origin) == 3:
            state.mouse_origin = (int(origin[0]), int(origin[1]), int(origin[2]))
    state.score = _rescore(state)
    _mirror(state)
    return state


def _rescore(state: SessionState, *, force_model: bool = False) -> RiskScore:
    """Rules on every call; the model once MODEL_EVERY_MOVES new moves have arrived since
    its last run, or with `force_model` (a batch with a click, before persisting), which
    keeps a batch cheap."""
    model = mouse_model()
    n_moves = int(state.mouse.n_moves)
    new_moves = n_moves - max(state.model_moves, 0)
    due = state.model_moves < 0 or new_moves >= MODEL_EVERY_MOVES or (force_model and new_moves)
    if model is not None and n_moves >= model.min_moves and due:
        state.model_score = float(model.score(state.mouse.vector()))
        state.model_moves = n_moves
    values = state.features.values(max_reading_wpm=int(settings.DROPGATE_RISK_MAX_READING_WPM))
    reasons = (
        *state.prior_reasons,
        *state.ua_reasons,
        *state.fingerprint_reasons,
        *(("integrity_replaced",) if state.integrity_replaced else ()),
        *session_signals(values),
    )
    return risk_score(
        reasons=reasons,
        rejected=state.rejected,
        model=model,
        model_score=state.model_score,
        n_moves=n_moves,
    )


def telemetry_batch_apply(state: SessionState, batch: TelemetryBatch) -> RiskScore:
    """Fold one parsed batch into the session's features and rescore it (memory only).

    Precondition: `batch` was parsed with `expected_seq=state.next_seq` and
    `mouse_origin=state.mouse_origin`.
    """
    state.features.update(batch)
    mouse = batch.mouse
    if len(mouse):
        state.mouse.add_moves(mouse.t, mouse.x, mouse.y)
    if batch.mouse_end is not None:
        state.mouse_origin = batch.mouse_end
    if len(batch.clicks):
        pointer = batch.clicks[batch.clicks[:, 4] == 0]
        if len(pointer):
            state.mouse.add_clicks(pointer[:, 0], pointer[:, 1], pointer[:, 2])
    if batch.fingerprint is not None:
        state.fingerprint_hash = fingerprint_hash(batch.fingerprint)
        state.fingerprint_reasons = fingerprint_reasons(
            batch.fingerprint,
            user_agent=state.user_agent,
            accept_language=state.accept_language,
        )
    if batch.integrity_replaced:
        merged = dict.fromkeys((*state.integrity_replaced, *batch.integrity_replaced))
        state.integrity_replaced = tuple(merged)[:MAX_REPLACED]
    state.events_count += batch.events
    state.next_seq = batch.seq + 1
    state.dirty_articles.update(item.article for item in batch.dwell)
    previous = state.score
    # A click is what comes before an unlock: the model sees every move up to it.
    state.score = _rescore(state, force_model=len(batch.clicks) > 0)
    state.dirty = True
    if (previous.score, previous.reasons) != (state.score.score, state.score.reasons) or (
        state.events_count == batch.events
    ):
        _mirror(state)
    return state.score


def _mirror(state: SessionState) -> None:
    """The score where the unlock path looks first (the database is the fallback), and the
    last mouse sample's (t, x, y) where a resumed connection looks for the deltas' origin
    (cache only: a single point, never written to the database)."""
    ttl = int(settings.DROPGATE_TELEMETRY_SESSION_TTL_SECONDS)
    if state.mouse_origin != (0, 0, 0):
        cache.set(origin_cache_key(state.public_id), state.mouse_origin, ttl)
    cache.set(
        score_cache_key(state.public_id),
        {
            "score": state.score.score,
            "reasons": list(state.score.reasons),
            "category": state.score.category,
            "events_count": state.events_count,
            "fingerprint_hash": state.fingerprint_hash,
        },
        ttl,
    )


def _features_json(state: SessionState) -> dict[str, Any]:
    values = state.features.values(max_reading_wpm=int(settings.DROPGATE_RISK_MAX_READING_WPM))
    mouse: dict[str, Any] = {"n_moves": int(state.mouse.n_moves)}
    if state.mouse.n_moves:
        vector = np.asarray(state.mouse.vector(), dtype=np.float64)
        mouse["vector"] = [round(float(v), 6) if np.isfinite(v) else None for v in vector]
    if state.model_score is not None:
        mouse["model_score"] = round(state.model_score, 6)
        mouse["model_version"] = state.score.model_version
    return {
        "session": values,
        "mouse": mouse,
        "fingerprint_reasons": list(state.fingerprint_reasons),
        "integrity_replaced": list(state.integrity_replaced),
    }


@transaction.atomic
def telemetry_session_persist(state: SessionState) -> None:
    """Write the session's features, score, counts and dwell; mirror the score to the cache.

    Only fields the socket owns are written (never reader_ref or challenge_passed_at, which
    the unlock path and challenges set). The model is brought up to date first.
    """
    if state.mouse.n_moves != state.model_moves:
        state.score = _rescore(state, force_model=True)
    fields: dict[str, Any] = {
        "features": _features_json(state),
        "score": state.score.score,
        "reasons": list(state.score.reasons),
        "category": state.score.category,
        "events_count": state.events_count,
        "rejected": dict(state.rejected),
    }
    if state.fingerprint_hash:
        fields["fingerprint_hash"] = state.fingerprint_hash
    TelemetrySession.objects.filter(pk=state.pk).update(**fields)
    dwell = state.features.dwell
    for article in sorted(state.dirty_articles):
        visible_ms, words = dwell.get(article, (0, 0))
        ArticleView.objects.update_or_create(
            session_id=state.pk,
            article_ref=article,
            defaults={
                "publisher_ref": state.publisher_ref,
                "visible_ms": visible_ms,
                "words": words,
            },
        )
    state.dirty_articles.clear()
    state.dirty = False
    state.last_persist = time.monotonic()
    _mirror(state)


def telemetry_reject(state: SessionState | None, reason: str) -> None:
    """Count a refused frame (per reason) and record it on the session, then persist it.

    Call before closing the socket. Never records the frame itself.
    """
    key = REJECTED_COUNTER.format(reason=reason)
    if not cache.add(key, 1, None):
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, None)
    if state is None:
        return
    state.rejected[reason] = state.rejected.get(reason, 0) + 1
    state.score = _rescore(state)
    TelemetrySession.objects.filter(pk=state.pk).update(
        rejected=dict(state.rejected),
        score=state.score.score,
        reasons=list(state.score.reasons),
        category=state.score.category,
        events_count=state.events_count,
    )
    _mirror(state)


def telemetry_rejections() -> dict[str, int]:
    """Refused frames per reason since the cache was last cleared (for monitoring)."""
    reasons = ("malformed", "oversize", "too_fast", "origin")
    keys = {REJECTED_COUNTER.format(reason=r): r for r in reasons}
    found = cache.get_many(list(keys))
    return {keys[key]: int(value) for key, value in found.items()}


def telemetry_sessions_purge(*, older_than_days: int | None = None) -> int:
    """Delete telemetry sessions (and their article views) not touched for
    `older_than_days` (DROPGATE_TELEMETRY_RETENTION_DAYS): behavioural data is kept only as
    long as the detectors look back. Risk decisions stay (they are the record of money
    decisions) and lose only their link to the session. Returns how many sessions went."""
    days = int(
        settings.DROPGATE_TELEMETRY_RETENTION_DAYS if older_than_days is None else older_than_days
    )
    cutoff = clock.now() - timedelta(days=days)
    _, per_model = TelemetrySession.objects.filter(updated_at__lt=cutoff).delete()
    return int(per_model.get(TelemetrySession._meta.label, 0))
