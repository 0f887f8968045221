"""The monthly report: outcome rates by class, tier, publisher and new vs returning reader,
the share decided automatically, the median time to a decision, the appeal overturn rate and
the review cost against the amount disputed."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from channels_app import clock
from disputes.models import DisputeReport
from disputes.services.appeals import dispute_appeal
from disputes.services.filing import dispute_file
from disputes.services.reports import disputes_report, previous_period
from disputes.services.review import dispute_decide
from disputes.tasks import disputes_report_monthly
from tests.disputes.helpers import PRICE, pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def month(settings, world):
    """Three disputes filed this month: two automatic, one reviewed (10 min) and appealed."""
    settings.DROPGATE_DISPUTE_REVIEW_COST_DROPS_PER_MINUTE = 50_000
    alice = get_user_model().objects.create_user(username="alice", is_staff=True)
    bob = get_user_model().objects.create_user(username="bob", is_staff=True)
    first, second = world.seat(), world.seat()
    pay(first, world.articles[0])
    pay(first, world.articles[1])
    pay(second, world.articles[0], decision="hold")
    dispute_file(reader=first.reader, unlock="first-story", reason="not_delivered")  # reader, new
    dispute_file(reader=first.reader, unlock="second-story", reason="not_delivered")  # returning
    reviewed = dispute_file(reader=second.reader, unlock="first-story", reason="unauthorized")
    with clock.override(timedelta(hours=2)):
        dispute_decide(dispute_id=reviewed.pk, reviewer=alice, winner="publisher", minutes=10)
        dispute_appeal(dispute_id=reviewed.pk, side="reader")
        dispute_decide(dispute_id=reviewed.pk, reviewer=bob, winner="reader", minutes=0)
    return world, f"{clock.now():%Y-%m}"


def test_the_report_counts_what_happened(month) -> None:
    world, period = month
    report = disputes_report(period=period)

    assert (report["disputes"], report["decided"], report["open"]) == (3, 3, 0)
    by_class = report["outcomes"]["by_class"]
    assert (
        by_class["technical"]["won_by_reader"] == 2 and by_class["technical"]["reader_rate"] == 1.0
    )
    assert by_class["fraud"] == {
        "disputes": 1,
        "won_by_reader": 1,
        "won_by_publisher": 0,
        "open": 0,
        "reader_rate": 1.0,
        "publisher_rate": 0.0,
    }
    assert report["outcomes"]["by_tier"]["1"]["disputes"] == 2
    assert report["outcomes"]["by_tier"]["2"]["disputes"] == 1
    assert report["outcomes"]["by_publisher"][world.publisher.key]["disputes"] == 3
    assert report["outcomes"]["by_reader"]["new"]["disputes"] == 2
    assert report["outcomes"]["by_reader"]["returning"]["disputes"] == 1
    assert report["decided_automatically"] == {"count": 2, "share": round(2 / 3, 4)}
    # first decisions: two at once, one two hours later → the median is ~0
    assert report["median_seconds_to_decision"] < 5
    assert report["appeals"] == {"filed": 1, "decided": 1, "overturned": 1, "overturn_rate": 1.0}
    assert report["cost"]["review_minutes"] == 10
    assert report["cost"]["total_drops"] == 500_000
    assert report["cost"]["per_dispute_drops"] == 500_000 // 3
    assert report["cost"]["amount_disputed_drops"] == 3 * PRICE
    assert report["cost"]["cost_to_amount"] == round(500_000 / (3 * PRICE), 4)


def test_another_month_is_empty(month) -> None:
    report = disputes_report(period="2001-01")
    assert report["disputes"] == 0 and report["median_seconds_to_decision"] is None
    assert report["decided_automatically"]["share"] is None


def test_the_command_and_the_task(month) -> None:
    _world, period = month
    out = io.StringIO()
    call_command("disputes_report", "--period", period, "--store", stdout=out)
    assert json.loads(out.getvalue())["disputes"] == 3
    assert DisputeReport.objects.get(period=period).data["disputes"] == 3
    with pytest.raises(CommandError):
        call_command("disputes_report", "--period", "2026-13")
    assert disputes_report_monthly(period) == {"period": period, "disputes": 3}
    assert previous_period(datetime(2026, 1, 15, tzinfo=UTC)) == "2025-12"
