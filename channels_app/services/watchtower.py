"""The watchtower: never let a channel close while the platform holds an unredeemed claim.

A source that asks to close (tfClose) sets the channel's Expiration to parent close time +
SettleDelay; after that, anyone can remove the channel and the claim is worth nothing. The
watchtower notices the Expiration (or a near CancelAfter), redeems the highest claim at once
and closes the channel so the reader's remainder goes back promptly.

Alerts (WatchtowerAlert, one open per channel and code):
- `deadline_near_no_settlement` (critical): a deadline is nearer than
  DROPGATE_WATCHTOWER_ALERT_MARGIN_SECONDS, value is unredeemed and no settlement is in
  flight. Resolved by the scan once the channel holds nothing unredeemed.
- `deadline_passed` (critical): the deadline passed with value unredeemed.
- `claim_lost` (critical): the channel closed with accepted claims never redeemed.
- `integrity_violation` (critical): a stored row failed its integrity check; the channel is
  refused until `manage.py recover_channels` rebuilds it (see services.integrity).

Every check reads the channel and its highest claim verified, and a scan records itself in the
cache; `watchtower_status()` reports health and metrics from the database and that record.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction

from channels_app import clock, ledger
from channels_app.models import IN_FLIGHT, Channel, ChannelStatus, Settlement, WatchtowerAlert
from channels_app.selectors import (
    channel_with_highest_claim,
    channels_to_watch,
    settlement_in_flight,
)
from channels_app.services.channels import channel_sync
from channels_app.services.integrity import ALERT_CODE as INTEGRITY_ALERT_CODE
from channels_app.services.integrity import (
    StateIntegrityError,
    channel_is_intact,
    integrity_alert_record,
    integrity_guarded,
)
from channels_app.services.journal import credit, debit, journal_post
from channels_app.services.settlement import journal_redeemed_drops, settlement_resolve

logger = logging.getLogger(__name__)

LAST_SCAN_CACHE_KEY = "dropgate:watchtower:last_scan"
DEADLINE_NEAR = "deadline_near_no_settlement"
DEADLINE_PASSED = "deadline_passed"
CLAIM_LOST = "claim_lost"


@dataclass(frozen=True)
class WatchDecision:
    channel_pk: int
    action: str  # "none", "settle", "settle_and_close", "alerted", "refused"
    reason: str = ""


def _deadline(channel: Channel) -> int | None:
    times = [t for t in (channel.expiration, channel.cancel_after) if t is not None]
    return min(times) if times else None


def alert_raise(*, channel: Channel, level: str, code: str, message: str) -> None:
    try:
        with transaction.atomic():
            WatchtowerAlert.objects.create(
                channel=channel,
                level=level,
                code=code,
                message=message,
                unredeemed_drops=channel.unredeemed_drops,
            )
    except IntegrityError:
        return  # already open for this channel
    logger.error("watchtower alert %s on %s: %s", code, channel.channel_id, message)


def _write_off_lost_claims(channel: Channel) -> None:
    """The channel is gone with accepted value never redeemed: book the loss and alert."""
    lost = channel.accepted_drops - journal_redeemed_drops(channel.channel_id)
    if lost <= 0:
        return
    journal_post(
        kind="claim_written_off",
        reference=f"channel:{channel.channel_id}",
        postings=[
            debit("claims_written_off", lost, channel.channel_id),
            credit("claims_receivable", lost, channel.channel_id),
        ],
    )
    alert_raise(
        channel=channel,
        level=WatchtowerAlert.Level.CRITICAL,
        code=CLAIM_LOST,
        message=f"The channel closed with {lost} drops of accepted claims unredeemed.",
    )


def _deadline_alert(channel: Channel, *, deadline: int, now: int) -> None:
    """Alert when value is at risk: deadline within the margin and nothing on its way."""
    unredeemed = channel.unredeemed_drops
    remaining = deadline - now
    if not unredeemed or remaining > settings.DROPGATE_WATCHTOWER_ALERT_MARGIN_SECONDS:
        return
    which = "Expiration" if deadline == channel.expiration else "CancelAfter"
    if remaining <= 0:
        alert_raise(
            channel=channel,
            level=WatchtowerAlert.Level.CRITICAL,
            code=DEADLINE_PASSED,
            message=f"{unredeemed} drops unredeemed {-remaining}s after the channel's {which}.",
        )
    elif settlement_in_flight(channel) is None:
        alert_raise(
            channel=channel,
            level=WatchtowerAlert.Level.CRITICAL,
            code=DEADLINE_NEAR,
            message=(
                f"{unredeemed} drops unredeemed with {remaining}s to the channel's {which} "
                "and no settlement in flight."
            ),
        )


@integrity_guarded
def watchtower_check(*, channel_pk: int, ledger_now: int | None = None) -> WatchDecision:
    """Look at one channel on the ledger and decide what must happen now.

    The channel and its highest claim are read verified. Precondition: no open transaction.
    Raises LedgerUnavailable, and StateIntegrityError (the channel must not be acted on).
    """
    channel_sync(channel_pk=channel_pk)
    # The claims must back the accepted amount: both read under one lock (claims keep arriving).
    channel, _ = channel_with_highest_claim(channel_pk=channel_pk)
    if channel.status == ChannelStatus.CLOSED:
        with transaction.atomic():
            _write_off_lost_claims(channel)
        return WatchDecision(channel_pk, "none", "closed")
    now = ledger.validated_ledger().close_time if ledger_now is None else ledger_now
    deadline = _deadline(channel)
    if deadline is not None:
        _deadline_alert(channel, deadline=deadline, now=now)
        if channel.expiration is not None:
            return WatchDecision(channel_pk, "settle_and_close", "close_requested")
        if deadline - now <= settings.DROPGATE_CLOSE_SAFETY_MARGIN_SECONDS:
            return WatchDecision(channel_pk, "settle_and_close", "cancel_after_near")
    if channel.unredeemed_drops >= settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS:
        return WatchDecision(channel_pk, "settle", "threshold")
    return WatchDecision(channel_pk, "none")


def _resolve_settled_alerts() -> int:
    """Close deadline alerts whose channel no longer holds unredeemed value."""
    resolved = 0
    open_alerts = WatchtowerAlert.objects.filter(
        code=DEADLINE_NEAR, resolved_at__isnull=True
    ).select_related("channel")
    for alert in open_alerts:
        channel = alert.channel
        if channel_is_intact(channel) and channel.unredeemed_drops == 0:
            resolved += WatchtowerAlert.objects.filter(pk=alert.pk).update(resolved_at=clock.now())
    return resolved


def watchtower_scan() -> list[WatchDecision]:
    """Check every watched channel once. Returns the decisions (the task enqueues the work).

    A channel that fails its integrity check is refused (and alerted) without stopping the
    scan. The scan's time and result are recorded for `watchtower_status`.
    """
    started = time.monotonic()
    now = ledger.validated_ledger().close_time
    decisions = []
    for pk in channels_to_watch().values_list("pk", flat=True).order_by("pk"):
        try:
            decisions.append(watchtower_check(channel_pk=pk, ledger_now=now))
        except StateIntegrityError:
            decisions.append(WatchDecision(pk, "refused", StateIntegrityError.code))
    _resolve_settled_alerts()
    cache.set(
        LAST_SCAN_CACHE_KEY,
        {
            "at": clock.now().isoformat(),
            "ledger_close_time": now,
            "channels": len(decisions),
            "refused": sum(1 for d in decisions if d.action == "refused"),
            "duration_ms": int((time.monotonic() - started) * 1000),
        },
        timeout=None,
    )
    return decisions


def watchtower_resolve_in_flight() -> int:
    """Resolve every in-flight settlement; a channel failing its check does not stop the rest.

    Returns how many were looked at. Precondition: no open transaction.
    """
    count = 0
    for settlement in Settlement.objects.filter(status__in=IN_FLIGHT).order_by("pk"):
        try:
            settlement_resolve(settlement=settlement)
        except StateIntegrityError as error:
            integrity_alert_record(error)
        count += 1
    return count


def _scan_interval_seconds() -> float:
    entry = getattr(settings, "CELERY_BEAT_SCHEDULE", {}).get("watchtower-scan", {})
    schedule = entry.get("schedule", 5.0)
    return float(schedule) if isinstance(schedule, int | float) else 5.0


def max_check_age_seconds() -> int:
    """How old a watched channel's last check may be before the watchtower counts as lagging."""
    return max(60, int(6 * _scan_interval_seconds()))


def watchtower_status(*, ledger_now: int | None = None) -> dict[str, object]:
    """Health and metrics, from the database (and the last scan's record in the cache).

    - channels watched, unredeemed drops, settlements in flight;
    - the nearest deadline, its margin, and the alert margin;
    - channels at risk (deadline within the alert margin, value unredeemed, nothing in flight);
    - integrity: watched channels whose row fails its check (not counted in the sums);
    - lag: the age of the least recently checked watched channel, the last scan's time;
    - open and open critical alerts; `healthy` and the `problems` that make it unhealthy.

    `ledger_now` is the ledger's close time; without it the time is estimated from the last
    scan's ledger time (the ledger's clock may differ from this machine's), else the clock.
    Reads only; never calls the ledger.
    """
    wall = clock.now()
    last_scan = cache.get(LAST_SCAN_CACHE_KEY)
    if ledger_now is not None:
        now = ledger_now
    elif isinstance(last_scan, dict) and "ledger_close_time" in last_scan:
        elapsed = wall.timestamp() - _iso_timestamp(last_scan["at"], default=wall.timestamp())
        now = int(last_scan["ledger_close_time"] + max(0.0, elapsed))
    else:
        now = clock.to_ripple_time(wall)
    margin = settings.DROPGATE_WATCHTOWER_ALERT_MARGIN_SECONDS
    watched = list(channels_to_watch())
    intact = [c for c in watched if channel_is_intact(c)]
    violated = sorted(c.channel_id for c in watched if not channel_is_intact(c))
    in_flight = set(
        Settlement.objects.filter(status__in=IN_FLIGHT).values_list("channel_id", flat=True)
    )
    nearest: tuple[int, Channel] | None = None
    at_risk: list[str] = []
    for channel in intact:
        deadline = _deadline(channel)
        if deadline is None:
            continue
        if nearest is None or deadline < nearest[0]:
            nearest = (deadline, channel)
        if channel.unredeemed_drops and deadline - now <= margin and channel.pk not in in_flight:
            at_risk.append(channel.channel_id)
    max_age = max_check_age_seconds()
    # Every check syncs the channel from the ledger; registration counts as the first check.
    ages = [(wall - (c.synced_at or c.registered_at)).total_seconds() for c in watched]
    oldest = max(ages) if ages else None
    stale = sum(1 for age in ages if age > max_age)
    open_alerts = WatchtowerAlert.objects.filter(resolved_at__isnull=True)
    critical = open_alerts.filter(level=WatchtowerAlert.Level.CRITICAL).count()
    problems = []
    if violated:
        problems.append("integrity_violation")
    if at_risk:
        problems.append(DEADLINE_NEAR)
    if stale:
        problems.append("watchtower_lagging")
    if critical:
        problems.append("critical_alerts_open")
    return {
        "healthy": not problems,
        "problems": problems,
        "channels_watched": len(watched),
        "unredeemed_drops": sum(c.unredeemed_drops for c in intact),
        "settlements_in_flight": len(in_flight),
        "nearest_deadline": clock.from_ripple_time(nearest[0]).isoformat() if nearest else None,
        "nearest_deadline_channel": nearest[1].channel_id if nearest else None,
        "nearest_margin_seconds": (nearest[0] - now) if nearest else None,
        "alert_margin_seconds": margin,
        "channels_at_risk": at_risk,
        "integrity_violations": violated,
        "oldest_check_age_seconds": None if oldest is None else int(oldest),
        "channels_not_checked_recently": stale,
        "max_check_age_seconds": max_age,
        "last_scan": last_scan if isinstance(last_scan, dict) else None,
        "last_scan_age_seconds": int(
            wall.timestamp() - _iso_timestamp(last_scan["at"], default=wall.timestamp())
        )
        if isinstance(last_scan, dict) and "at" in last_scan
        else None,
        "open_alerts": open_alerts.count(),
        "open_critical_alerts": critical,
        "open_integrity_alerts": open_alerts.filter(code=INTEGRITY_ALERT_CODE).count(),
    }


def _iso_timestamp(value: object, *, default: float) -> float:
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        return default
