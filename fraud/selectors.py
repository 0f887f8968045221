"""Reads of telemetry state for the unlock path and for other fraud detectors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache

from channels_app import clock
from fraud.models import ArticleView, RiskDecisionRecord, TelemetrySession
from fraud.types import StoredScore

__all__ = [
    "decision_article_dwell_ms",
    "fraud_cases_concluded_since",
    "origin_cache_key",
    "score_cache_key",
    "telemetry_session_score",
]


def score_cache_key(public_id: str) -> str:
    return f"fraud:tls:{public_id}"


def origin_cache_key(public_id: str) -> str:
    return f"fraud:tls:{public_id}:mouse"


def telemetry_session_score(public_id: str) -> StoredScore | None:
    """The session's binding and stored score: the cache's score (fresher: the socket mirrors
    every change) over the database row's, which also gives the reader binding and whether a
    challenge was passed recently. None if no such session."""
    row = (
        TelemetrySession.objects.filter(public_id=public_id)
        .values(
            "pk",
            "public_id",
            "publisher_ref",
            "reader_ref",
            "score",
            "reasons",
            "category",
            "events_count",
            "fingerprint_hash",
            "network_prefix",
            "challenge_passed_at",
        )
        .first()
    )
    if row is None:
        return None
    mirrored: dict[str, Any] | None = cache.get(score_cache_key(public_id))
    source: dict[str, Any] = {**row, **(mirrored or {})}
    passed_at = row["challenge_passed_at"]
    window = timedelta(seconds=int(settings.DROPGATE_CHALLENGE_PASS_SECONDS))
    return StoredScore(
        pk=int(row["pk"]),
        session_id=row["public_id"],
        publisher_ref=row["publisher_ref"],
        reader_ref=row["reader_ref"],
        score=float(source["score"]),
        reasons=tuple(str(r) for r in source["reasons"] or ()),
        category=source["category"],
        events_count=int(source["events_count"]),
        fingerprint_hash=str(source["fingerprint_hash"] or row["fingerprint_hash"] or ""),
        network_prefix=row["network_prefix"],
        challenge_passed=passed_at is not None and clock.now() - passed_at <= window,
    )


def _rows(values: Any) -> list[dict[str, Any]]:
    """A `.values()` queryset as plain dicts."""
    return [dict(row) for row in values]


def fraud_cases_concluded_since(
    *, kinds: tuple[str, ...], statuses: tuple[str, ...], since: datetime
) -> list[dict[str, Any]]:
    """Fraud cases of `kinds` that reached one of `statuses` since `since` (e.g. confirmed
    account farming): id, kind, publisher, subject, readers and when — for AML monitoring."""
    from fraud.models import FraudCase

    return _rows(
        FraudCase.objects.filter(kind__in=kinds, status__in=statuses, updated_at__gte=since)
        .order_by("pk")
        .values("pk", "kind", "status", "publisher_ref", "subject", "reader_refs", "updated_at")
    )


def decision_article_dwell_ms(*, decision_id: int) -> int | None:
    """How long the decided article has been visible (ms) in the telemetry session the
    decision was made on, as last persisted: 0 before any dwell arrived; None when the
    decision had no session (an agent, or a page without telemetry) or is unknown."""
    row = (
        RiskDecisionRecord.objects.filter(pk=decision_id)
        .values_list("session_id", "article_ref")
        .first()
    )
    if row is None or row[0] is None:
        return None
    visible = (
        ArticleView.objects.filter(session_id=row[0], article_ref=row[1])
        .values_list("visible_ms", flat=True)
        .first()
    )
    return int(visible or 0)
