"""Content manipulation: an article's surge against its hour-of-week baseline, confirmed by the
graph of its readers, devices and networks; a genuine viral article and a new article's first
readers raise nothing. Synthetic traffic: bot sessions with uniform timing or inhuman speed
aggregate into a case per article."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app import clock
from fraud.models.cases import ArticleTrafficHour, FraudCase, FraudCaseEvent
from fraud.services.content import (
    content_scan,
    content_surges,
    content_traffic_rollup,
    synthetic_scan,
)
from tests.fraud.test_cases import active_holds, make_decision, make_payer, make_session, make_view

pytestmark = pytest.mark.django_db

PUB = "pub_content"
HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)


@pytest.fixture
def now():
    # Mid-hour, so "a few minutes ago" stays in the current hour.
    return timezone.now().replace(minute=30, second=0, microsecond=0)


def history(now, article: str, per_hour: int = 10, weeks: int = 4, hours: int = 3) -> None:
    """Ordinary traffic at the same hours of the week over the past weeks, rolled up."""
    current = now.replace(minute=0)
    for week in range(1, weeks + 1):
        for back in range(hours):
            at = current - back * HOUR - week * WEEK + timedelta(minutes=10)
            for _ in range(per_hour):
                make_view(make_session(PUB, at=at), article, at=at)
    content_traffic_rollup(since=now - (weeks + 1) * WEEK, until=now)


def bot_surge(now, article: str, readers: int = 40, devices: int = 3, networks: int = 2):
    """Paying accounts on a handful of devices and networks that read only this article."""
    fingerprints = [secrets.token_hex(32) for _ in range(devices)]
    prefixes = [secrets.token_hex(32) for _ in range(networks)]
    payers = []
    for n in range(readers):
        at = now - timedelta(minutes=5 + n % 20)
        payer = make_payer()
        session = make_session(
            PUB,
            reader_ref=payer.reader_ref,
            fingerprint=fingerprints[n % devices],
            network=prefixes[n % networks],
            at=at,
        )
        make_view(session, article, at=at)
        make_decision(
            session, publisher_ref=PUB, reader_ref=payer.reader_ref, article_ref=article, at=at
        )
        payer.pay(PUB, 100_000)
        payers.append(payer)
    return payers


def viral(now, article: str, readers: int = 60, paying: int = 20) -> None:
    """Many people on many devices and networks, some of whom also read other articles."""
    for n in range(readers):
        at = now - timedelta(minutes=5 + n % 25)
        payer = make_payer() if n < paying else None
        reader_ref = payer.reader_ref if payer else ""
        session = make_session(PUB, reader_ref=reader_ref, at=at)
        make_view(session, article, at=at)
        if payer:
            make_decision(
                session, publisher_ref=PUB, reader_ref=reader_ref, article_ref=article, at=at
            )
            payer.pay(PUB, 100_000)
            if n % 3 == 0:
                make_view(session, "another-story", at=at)


def test_a_view_bot_surge_is_confirmed_and_its_revenue_held(now) -> None:
    # given a steady article, then a surge of paying accounts on 3 devices and 2 networks
    history(now, "target")
    payers = bot_surge(now, "target")
    # when the detector runs
    report = content_scan(now=now)
    # then the surge is found above the seasonal baseline and the graph confirms it
    (finding,) = report.surges
    assert finding.article_ref == "target" and finding.confirmed
    assert {"fingerprint_collapse", "network_collapse"} <= set(finding.patterns)
    assert "dedicated_linked_readers" in finding.patterns
    surging = finding.hours[-1]
    assert surging["traffic"] == 40 and surging["median"] == 10
    # and a case holds the surge's revenue
    case = FraudCase.objects.get()
    expected = sum(p.paid[PUB] for p in payers)
    assert (case.kind, case.subject, case.status) == (
        "content_manipulation",
        "article:target",
        "holding",
    )
    assert case.held_drops == expected and [h.amount_drops for h in active_holds(PUB)] == [expected]
    assert sorted(case.reader_refs) == sorted(p.reader_ref for p in payers)
    assert case.evidence[0]["metrics"]["fingerprints"] == 3
    # and a rerun changes nothing
    events = FraudCaseEvent.objects.count()
    content_scan(now=now)
    assert FraudCase.objects.count() == 1 and FraudCaseEvent.objects.count() == events
    assert [h.amount_drops for h in active_holds(PUB)] == [expected]


def test_a_viral_article_surges_but_is_not_manipulation(now) -> None:
    history(now, "viral")
    viral(now, "viral")
    report = content_scan(now=now)
    (finding,) = report.surges
    assert finding.article_ref == "viral" and not finding.confirmed
    assert finding.metrics["fingerprint_diversity"] == 1.0
    assert finding.metrics["largest_component_share"] < 0.5
    assert not FraudCase.objects.exists() and not active_holds(PUB)


def test_normal_traffic_and_new_articles_raise_nothing(now) -> None:
    # an article at its usual level, and a new article's first readers (below the floor)
    history(now, "steady")
    for n in range(12):
        at = now - timedelta(minutes=n + 1)
        make_view(make_session(PUB, at=at), "steady", at=at)
    for n in range(20):
        at = now - timedelta(minutes=n + 1)
        make_view(make_session(PUB, at=at), "brand-new", at=at)
    assert content_surges(now=now) == []
    assert content_scan(now=now).case_ids == [] and not FraudCase.objects.exists()


def test_a_new_article_botted_past_the_floor_is_caught(now) -> None:
    payers = bot_surge(now, "launch", readers=35)
    (finding,) = content_scan(now=now).surges
    assert finding.confirmed and finding.hours[-1]["median"] == 0
    case = FraudCase.objects.get()
    assert case.held_drops == sum(p.paid[PUB] for p in payers)


def test_rollup_is_idempotent(now) -> None:
    at = now - timedelta(minutes=3)
    for _ in range(4):
        make_view(make_session(PUB, at=at), "a", at=at)
    content_traffic_rollup(since=now - HOUR, until=now)
    content_traffic_rollup(since=now - HOUR, until=now)
    (row,) = ArticleTrafficHour.objects.all()
    assert (row.views, row.decisions, row.hour) == (4, 0, now.replace(minute=0))


# --- Synthetic traffic ------------------------------------------------------------------------


def test_synthetic_sessions_are_aggregated_per_article(now) -> None:
    # given 6 bot sessions with uniform timing / inhuman speed on one article, 4 of them paying
    payers = []
    for n in range(6):
        payer = make_payer() if n < 4 else None
        session = make_session(
            PUB,
            reader_ref=payer.reader_ref if payer else "",
            category="bot",
            score=0.92,
            reasons=["uniform_timing", "inhuman_speed"] if n % 2 else ["inhuman_speed"],
        )
        make_view(session, "scraped", at=now)
        if payer:
            payer.pay(PUB, 100_000)
            payers.append(payer)
    # and what must not count: humans, agents, bots flagged for other reasons, too few elsewhere
    for _ in range(6):
        make_view(make_session(PUB, reasons=["languages_mismatch"]), "scraped", at=now)
        make_view(make_session(PUB, category="agent"), "scraped", at=now)
        make_view(make_session(PUB, category="bot", reasons=["webdriver"]), "other", at=now)
    for _ in range(3):
        make_view(make_session(PUB, category="bot", reasons=["uniform_timing"]), "quiet", at=now)
    # when the sweep runs (twice)
    first = synthetic_scan(now=now)
    second = synthetic_scan(now=now)
    # then one case, on the article, holding its bound readers' revenue
    (case,) = FraudCase.objects.all()
    assert first == second == [case.pk]
    assert (case.kind, case.subject) == ("synthetic_traffic", "article:scraped")
    evidence = case.evidence[0]
    assert evidence["sessions"] == 6
    assert evidence["reasons"] == {"inhuman_speed": 6, "uniform_timing": 3}
    expected = sum(p.paid[PUB] for p in payers)
    assert case.held_drops == expected and case.score == 0.92
    assert len(case.evidence) == 1
    # more of the same traffic later: the same case takes the new evidence
    for _ in range(2):
        session = make_session(PUB, category="bot", score=0.9, reasons=["uniform_timing"])
        make_view(session, "scraped", at=now)
    assert synthetic_scan(now=now) == [case.pk]
    case.refresh_from_db()
    assert [entry["sessions"] for entry in case.evidence] == [6, 8]
    assert FraudCase.objects.count() == 1 and case.held_drops == expected


def test_the_scans_are_registered_tasks_on_the_beat_schedule(settings) -> None:
    from paywall.celery import app

    app.loader.import_default_modules()
    for entry in ("fraud-farming-scan", "fraud-content-scan", "fraud-synthetic-scan"):
        schedule = settings.CELERY_BEAT_SCHEDULE[entry]
        task = app.tasks[schedule["task"]]
        assert task.acks_late and schedule["schedule"] > 0


def test_the_content_task_runs_the_scan(now) -> None:
    from fraud.tasks import content_scan as content_scan_task

    bot_surge(now, "hot")
    # the task reads the app clock: move it to the fixture's `now`
    with clock.override(now - timezone.now()):
        result = content_scan_task.apply().get()
    assert result["confirmed"] == 1 and len(result["cases"]) == 1
    assert FraudCase.objects.get().subject == "article:hot"
