"""The watchtower's health check and metrics, its deadline alert, and a worker outage survived."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from channels_app import clock, ledger
from channels_app.models import (
    Channel,
    ChannelStatus,
    Settlement,
    SettlementStatus,
    WatchtowerAlert,
)
from channels_app.services.channels import channel_sync
from channels_app.services.platform import journal_reconcile, platform_bootstrap
from channels_app.services.settlement import settlement_run
from channels_app.services.watchtower import watchtower_check, watchtower_scan, watchtower_status
from tests.channels_app.factories import claim_key, make_channel
from tests.channels_app.integrity.helpers import pay, register
from tests.channels_app.ledger_helpers import ledger_channel, reader_requests_close
from tests.fixtures.sandbox import advance_ledger_time
from tests.fixtures.worker import CeleryProcess, CeleryWorker, wait_until

PRICE = 300_000


def status_command() -> tuple[int, dict[str, Any]]:
    out = StringIO()
    try:
        call_command("watchtower_status", stdout=out)
        code = 0
    except SystemExit as exited:
        code = int(exited.code or 0)
    return code, json.loads(out.getvalue())


def expiration_of(close_result: dict[str, Any]) -> int:
    return next(
        int(node["ModifiedNode"]["FinalFields"]["Expiration"])
        for node in close_result["meta"]["AffectedNodes"]
        if node.get("ModifiedNode", {}).get("LedgerEntryType") == "PayChannel"
    )


def in_flight_settlement(channel: Channel) -> Settlement:
    return Settlement.objects.create(
        channel=channel,
        balance_drops=channel.accepted_drops,
        close=True,
        reason="test",
        tx_hash="AB" * 32,
        tx_blob="00",
        sequence=1,
        last_ledger_sequence=10**9,
        fee_drops=12,
        status=SettlementStatus.SUBMITTED,
    )


# --- metrics and health, from the database ---------------------------------------------------


@pytest.mark.django_db
def test_a_deadline_within_the_margin_is_at_risk_only_with_nothing_in_flight(settings) -> None:
    settings.DROPGATE_WATCHTOWER_ALERT_MARGIN_SECONDS = 120
    now = clock.to_ripple_time(clock.now())
    safe = make_channel(key=claim_key(), cancel_after=now + 86_400, accepted_drops=PRICE)
    risky = make_channel(
        key=claim_key(), status="closing", expiration=now + 60, accepted_drops=2 * PRICE
    )
    make_channel(key=claim_key(), status="closing", expiration=now + 30)  # nothing to redeem
    status = watchtower_status(ledger_now=now)
    assert status["channels_watched"] == 3
    assert status["unredeemed_drops"] == 3 * PRICE
    assert status["nearest_margin_seconds"] == 30
    assert status["alert_margin_seconds"] == 120
    assert status["channels_at_risk"] == [risky.channel_id]
    assert status["problems"] == ["deadline_near_no_settlement"] and not status["healthy"]
    # a settlement on its way takes the channel out of danger
    in_flight_settlement(risky)
    status = watchtower_status(ledger_now=now)
    assert status["channels_at_risk"] == [] and status["settlements_in_flight"] == 1
    assert status["healthy"], status["problems"]
    assert safe.channel_id not in status["channels_at_risk"]


@pytest.mark.django_db
def test_channels_not_checked_for_too_long_mean_the_watchtower_lags() -> None:
    channel = make_channel(key=claim_key())
    Channel.objects.filter(pk=channel.pk).update(synced_at=clock.now())
    assert watchtower_status()["healthy"]
    with clock.override(timedelta(minutes=10)):
        status = watchtower_status()
    assert status["problems"] == ["watchtower_lagging"]
    assert status["channels_not_checked_recently"] == 1
    assert status["oldest_check_age_seconds"] >= 600


# --- the alert, the command, on the sandbox --------------------------------------------------


@pytest.mark.integration
def test_deadline_alert_fires_without_a_settlement_and_clears_once_safe(
    sandbox_url, platform, settings
) -> None:
    # given a paid channel whose reader asked to close, seen late: 15 s before Expiration
    settings.DROPGATE_WATCHTOWER_ALERT_MARGIN_SECONDS = 30
    reader, row = register(sandbox_url, platform, settle_delay=60)
    pay(reader, PRICE, price=PRICE)
    reader_requests_close(sandbox_url, reader)
    advance_ledger_time(sandbox_url, 45)
    channel_sync(channel_pk=row.pk)  # the close is known (e.g. from the wallet's follow-up)
    # then the health check says so, and the command exits 1
    code, status = status_command()
    assert code == 1
    assert status["channels_at_risk"] == [reader.channel_id]
    assert "deadline_near_no_settlement" in status["problems"]
    assert 0 < status["nearest_margin_seconds"] <= 30
    # when the watchtower looks, it alerts and decides to settle and close
    decision = watchtower_check(channel_pk=row.pk)
    assert decision.action == "settle_and_close"
    alert = WatchtowerAlert.objects.get(channel=row)
    assert (alert.code, alert.level, alert.unredeemed_drops) == (
        "deadline_near_no_settlement",
        "critical",
        PRICE,
    )
    # and once the claim has landed, the next scan clears the alert and all is healthy
    assert settlement_run(channel_pk=row.pk, reason=decision.reason, close=True).state == (
        "validated"
    )
    watchtower_scan()
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    code, status = status_command()
    assert code == 0, status
    assert status["healthy"] and status["channels_watched"] == 0
    assert status["last_scan"]["channels"] == 0 and status["last_scan_age_seconds"] <= 5


# --- a worker outage during the settle delay -------------------------------------------------


@pytest.fixture
def live_platform(settings, sandbox_url: str, transactional_db) -> str:
    settings.XRPL_URL = sandbox_url
    settings.DROPGATE_MIN_SETTLE_DELAY_SECONDS = 60
    settings.DROPGATE_WATCHTOWER_SCAN_SECONDS = 1
    settings.DROPGATE_SETTLEMENT_SWEEP_SECONDS = 2
    settings.DROPGATE_WATCHTOWER_ALERT_MARGIN_SECONDS = 40
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12
    return str(platform_bootstrap()["address"])


@pytest.mark.integration
def test_a_reader_close_is_settled_after_the_worker_was_down_for_part_of_the_delay(
    sandbox_url: str,
    live_platform: str,
    celery_worker_process: CeleryWorker,
    celery_beat_process: CeleryProcess,
) -> None:
    # given a paid channel that the running watchtower has been checking
    reader, row = register(sandbox_url, live_platform, settle_delay=60)
    pay(reader, PRICE, price=PRICE)
    registered_sync = row.synced_at
    wait_until(lambda: Channel.objects.get(pk=row.pk).synced_at > registered_sync, timeout=30)
    # when the worker and beat go down, and the reader asks to close meanwhile
    celery_beat_process.stop()
    celery_worker_process.stop()
    expiration = expiration_of(reader_requests_close(sandbox_url, reader))
    # and 25 of the 60 s of SettleDelay pass with nobody watching
    advance_ledger_time(sandbox_url, 25)
    assert expiration - ledger.validated_ledger().close_time <= 35
    assert Channel.objects.get(pk=row.pk).expiration is None  # nobody has seen the close
    # then, once they are back, the claim lands before the Expiration and the channel closes
    celery_worker_process.start()
    celery_beat_process.start()
    wait_until(lambda: Channel.objects.get(pk=row.pk).status == ChannelStatus.CLOSED, timeout=40)
    settlement = Settlement.objects.get(channel=row, status=SettlementStatus.VALIDATED)
    assert settlement.close and settlement.balance_drops == PRICE
    landed = ledger.ledger_request("ledger", ledger_index=settlement.ledger_index)["ledger"]
    assert int(landed["close_time"]) < expiration
    assert ledger_channel(sandbox_url, reader.channel_id) is None
    # the outage raised the deadline alert, which cleared once the claim was safe
    alert = WatchtowerAlert.objects.get(channel=row, code="deadline_near_no_settlement")
    wait_until(lambda: WatchtowerAlert.objects.get(pk=alert.pk).resolved_at is not None, timeout=15)
    assert not WatchtowerAlert.objects.filter(code__in=["claim_lost", "deadline_passed"]).exists()
    assert journal_reconcile().ok
