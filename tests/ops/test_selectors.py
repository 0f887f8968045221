"""The console's figures (ops.selectors) over real rows: each figure, its scope, and that its
scope is the one of the changelist behind it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.contrib import admin
from django.core.cache import cache

from channels_app import clock
from channels_app.models import Channel, KeyRecord, Settlement
from channels_app.payouts.models import Payout, PayoutHold
from channels_app.services.watchtower import LAST_SCAN_CACHE_KEY, watchtower_status
from disputes.models import Dispute, DisputeStatus
from ops import selectors
from ops.types import Period
from paywall.models import Unlock
from tests.channels_app.factories import claim_key, make_channel
from tests.disputes.helpers import PRICE
from tests.ops.conftest import NOW, at_now

pytestmark = pytest.mark.django_db


def test_every_scoped_figure_filters_like_its_changelist() -> None:
    for model, lookup in selectors.PUBLISHER_KEY_LOOKUPS.items():
        assert admin.site._registry[model].publisher_key_lookup == lookup, model


def test_unlocks_today_and_this_month_for_the_platform_and_for_each_publisher(busy) -> None:
    mine, theirs = busy.mine.key, busy.theirs.key

    platform = selectors.unlock_totals(scope=None, now=NOW)
    assert platform.today == Period(unlocks=3, drops=3 * PRICE)
    assert platform.month == Period(unlocks=4, drops=4 * PRICE)
    assert platform.day_start.isoformat() == "2026-12-15T00:00:00+00:00"
    assert platform.month_start.isoformat() == "2026-12-01T00:00:00+00:00"

    assert selectors.unlock_totals(scope=frozenset({mine}), now=NOW).today == Period(2, 2 * PRICE)
    assert selectors.unlock_totals(scope=frozenset({mine}), now=NOW).month == Period(3, 3 * PRICE)
    assert selectors.unlock_totals(scope=frozenset({theirs}), now=NOW).month == Period(1, PRICE)
    nobody = selectors.unlock_totals(scope=frozenset(), now=NOW)
    assert (nobody.today, nobody.month) == (Period(0, 0), Period(0, 0))


def test_a_later_unlock_is_not_counted_before_it_happens(busy) -> None:
    earlier = NOW - timedelta(hours=4)
    assert selectors.unlock_totals(scope=None, now=earlier).today == Period(0, 0)


def test_unlocks_per_hour_cover_the_last_24_hours_with_the_empty_ones(busy) -> None:
    hours = selectors.unlocks_by_hour(scope=None, now=NOW)

    assert len(hours) == 24
    assert hours[0].start.isoformat() == "2026-12-14T13:00:00+00:00"
    assert hours[-1].start.isoformat() == "2026-12-15T12:00:00+00:00"
    busy_hours = {f"{b.start:%H}": (b.unlocks, b.drops) for b in hours if b.unlocks}
    assert busy_hours == {"09": (1, PRICE), "11": (1, PRICE), "12": (1, PRICE)}

    mine = selectors.unlocks_by_hour(scope=frozenset({busy.mine.key}), now=NOW)
    assert {f"{b.start:%H}": b.unlocks for b in mine if b.unlocks} == {"09": 1, "12": 1}


def test_revenue_per_day_covers_the_last_30_days_with_the_empty_ones(busy) -> None:
    days = selectors.unlocks_by_day(scope=None, now=NOW)

    assert len(days) == 30
    assert (days[0].day, days[-1].day) == (date(2026, 11, 16), date(2026, 12, 15))
    busy_days = {b.day: b.drops for b in days if b.unlocks}
    assert busy_days == {
        date(2026, 11, 25): PRICE,
        date(2026, 12, 13): PRICE,
        date(2026, 12, 15): 3 * PRICE,
    }  # the unlock 40 days ago is outside
    theirs = selectors.unlocks_by_day(scope=frozenset({busy.theirs.key}), now=NOW)
    assert {b.day: b.unlocks for b in theirs if b.unlocks} == {date(2026, 12, 15): 1}


def test_the_watchtower_reports_the_unredeemed_value_and_the_nearest_deadline(busy) -> None:
    health = selectors.watchtower_health(now=NOW)

    # six readers' channels, each with one accepted claim never redeemed, and the closing one
    assert health.unredeemed_drops == 6 * PRICE
    assert health.channels_watched == 7
    assert health.nearest_deadline == NOW + timedelta(days=2)
    assert health.nearest_margin_seconds == 2 * 86_400
    assert (health.open_alerts, health.open_critical_alerts) == (1, 1)
    assert not health.healthy and "critical_alerts_open" in health.problems


def test_the_watchtower_figures_agree_with_the_watchtowers_own_status(busy, settings) -> None:
    # Given, besides the busy platform, a channel with value unredeemed whose deadline is
    # inside the alert margin, one with a settlement on its way, and a recent scan
    settings.DROPGATE_WATCHTOWER_ALERT_MARGIN_SECONDS = 600
    with at_now():
        risky = make_channel(
            key=claim_key(),
            accepted_drops=PRICE,
            cancel_after=clock.to_ripple_time(NOW + timedelta(minutes=5)),
        )
        covered = make_channel(
            key=claim_key(),
            accepted_drops=PRICE,
            cancel_after=clock.to_ripple_time(NOW + timedelta(minutes=4)),
        )
        Settlement.objects.create(
            channel=covered,
            balance_drops=PRICE,
            reason="deadline",
            tx_hash="AB" * 32,
            tx_blob="00",
            sequence=1,
            last_ledger_sequence=10,
            fee_drops=12,
            status="submitted",
        )
        Channel.objects.filter(pk=risky.pk).update(synced_at=clock.now())
        cache.set(
            LAST_SCAN_CACHE_KEY,
            {"at": clock.now().isoformat(), "ledger_close_time": clock.to_ripple_time(NOW)},
        )

        # When both read it at the same moment
        status = watchtower_status()
        health = selectors.watchtower_health(now=clock.now())

    # Then they agree
    assert health.channels_at_risk == len(status["channels_at_risk"]) == 1
    assert health.healthy is status["healthy"] is False
    assert list(health.problems) == status["problems"]
    assert health.unredeemed_drops == status["unredeemed_drops"] == 8 * PRICE
    assert health.channels_watched == status["channels_watched"] == 9
    assert health.settlements_in_flight == status["settlements_in_flight"] == 1
    assert health.nearest_deadline_channel == status["nearest_deadline_channel"]
    assert health.nearest_deadline == datetime.fromisoformat(status["nearest_deadline"])
    assert abs(health.nearest_margin_seconds - status["nearest_margin_seconds"]) <= 5
    assert health.channels_not_checked_recently == status["channels_not_checked_recently"] == 8
    assert (health.open_alerts, health.open_critical_alerts) == (
        status["open_alerts"],
        status["open_critical_alerts"],
    )
    assert health.last_scan_age_seconds is not None and health.last_scan_age_seconds <= 5


def test_fraud_cases_holds_and_payouts(busy) -> None:
    mine = frozenset({busy.mine.key})

    queue = selectors.fraud_queue()
    assert (queue.open_cases, queue.holding_cases, queue.held_drops) == (2, 1, 1_000)

    # the fraud case's hold on mine; the disputed unlock's and one on all of theirs
    holds = selectors.active_holds(scope=None)
    assert (holds.holds, holds.drops, holds.holding_everything) == (3, 1_000 + PRICE, 1)
    assert selectors.active_holds(scope=mine) == type(holds)(1, 1_000, 0)
    assert selectors.active_holds(scope=frozenset({busy.theirs.key})) == type(holds)(2, PRICE, 1)
    # a released hold no longer counts
    PayoutHold.objects.filter(publisher_ref=busy.theirs.key).update(released_at=NOW)
    assert selectors.active_holds(scope=None).holds == 1

    payouts = selectors.payouts_awaiting_approval(scope=None)
    assert (payouts.payouts, payouts.drops, payouts.paused) == (1, 5_000_000, False)
    assert payouts.oldest == Payout.objects.get(publisher_ref=busy.mine.key).created_at
    # a publisher's staff see their payouts, and are not told whether payouts are paused
    theirs = selectors.payouts_awaiting_approval(scope=frozenset({busy.theirs.key}))
    assert (theirs.payouts, theirs.paused) == (0, None)
    assert selectors.payouts_awaiting_approval(scope=mine).payouts == 1


def test_keys_due_for_rotation_overdue_first(busy, settings) -> None:
    due = selectors.keys_due(now=NOW)

    assert [(key.purpose, key.overdue) for key in due.due] == [
        (KeyRecord.Purpose.SETTLEMENT_REGULAR, True),
        (KeyRecord.Purpose.ACCESS_TOKEN, False),
    ]
    assert due.due[1].due_at == NOW + timedelta(days=1)
    assert due.next_due == due.due[0]
    # a key rotated on no schedule is never due
    settings.DROPGATE_SETTLEMENT_KEY_MAX_AGE_DAYS = 0
    assert [key.purpose for key in selectors.keys_due(now=NOW).due] == ["access_token"]
    # nor one outside the window, though it is still the next one
    later = selectors.keys_due(now=NOW - timedelta(days=7))
    assert later.due == () and later.next_due is not None


def test_disputes_waiting_and_past_their_deadline(busy) -> None:
    dispute = Dispute.objects.get()
    assert dispute.status == DisputeStatus.UNDER_REVIEW and dispute.due_by is not None

    waiting = selectors.disputes_waiting(now=NOW)
    assert (waiting.open, waiting.under_review, waiting.needs_response, waiting.overdue) == (
        1,
        1,
        0,
        0,
    )
    assert waiting.next_due_by == dispute.due_by

    late = selectors.disputes_waiting(now=dispute.due_by + timedelta(seconds=1))
    assert (late.overdue, late.next_due_by) == (1, None)


def test_open_sar_cases(busy) -> None:
    cases = selectors.sar_cases_open()
    assert (cases.open, cases.investigating) == (1, 0)
    assert cases.oldest_opened_at is not None


def test_an_empty_platform_reads_zeros(db) -> None:
    assert selectors.unlock_totals(scope=None, now=NOW).month == Period(0, 0)
    assert all(b.unlocks == 0 for b in selectors.unlocks_by_hour(scope=None, now=NOW))
    assert selectors.fraud_queue().open_cases == 0
    assert selectors.keys_due(now=NOW).next_due is None
    assert selectors.disputes_waiting(now=NOW).next_due_by is None
    assert Unlock.objects.count() == 0
