"""Behavioural data is kept only as long as the detectors look back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fraud.models import ArticleView, RiskDecisionRecord, TelemetrySession
from fraud.tasks import telemetry_purge

pytestmark = pytest.mark.django_db


def _session(public_id: str, *, days_old: int) -> TelemetrySession:
    session = TelemetrySession.objects.create(public_id=public_id, publisher_ref="pub_r")
    ArticleView.objects.create(session=session, publisher_ref="pub_r", article_ref="story")
    TelemetrySession.objects.filter(pk=session.pk).update(
        updated_at=timezone.now() - timedelta(days=days_old)
    )
    return session


def test_old_sessions_and_their_views_go_and_decisions_stay(settings) -> None:
    settings.DROPGATE_TELEMETRY_RETENTION_DAYS = 30
    old = _session("tls_" + "o" * 22, days_old=31)
    recent = _session("tls_" + "r" * 22, days_old=29)
    decision = RiskDecisionRecord.objects.create(
        publisher_ref="pub_r",
        reader_ref="rdr_1",
        article_ref="story",
        channel_id="A" * 64,
        session=old,
        action="allow",
        score=0.1,
        reasons=[],
        category="human",
        amount_drops=1000,
    )

    assert telemetry_purge() == {"sessions_deleted": 1}

    assert list(TelemetrySession.objects.values_list("pk", flat=True)) == [recent.pk]
    assert list(ArticleView.objects.values_list("session_id", flat=True)) == [recent.pk]
    decision.refresh_from_db()
    assert decision.session is None and decision.action == "allow"
    assert telemetry_purge() == {"sessions_deleted": 0}
