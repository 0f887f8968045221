"""The watchtower: never let a channel close while the platform holds an unredeemed claim.

A source that asks to close (tfClose) sets the channel's Expiration to parent close time +
SettleDelay; after that, anyone can remove the channel and the claim is worth nothing. The
watchtower notices the Expiration (or a near CancelAfter), redeems the highest claim at once
and closes the channel so the reader's remainder goes back promptly. If the deadline is
nearer than the alert margin and value is still unredeemed, it raises an admin alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from channels_app import clock, ledger
from channels_app.models import Channel, ChannelStatus, WatchtowerAlert
from channels_app.selectors import channels_to_watch
from channels_app.services.channels import channel_sync
from channels_app.services.journal import credit, debit, journal_post
from channels_app.services.settlement import journal_redeemed_drops

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchDecision:
    channel_pk: int
    action: str  # "none", "settle", "settle_and_close", "alerted"
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
        code="claim_lost",
        message=f"The channel closed with {lost} drops of accepted claims unredeemed.",
    )


def watchtower_check(*, channel_pk: int, ledger_now: int | None = None) -> WatchDecision:
    """Look at one channel on the ledger and decide what must happen now.

    Precondition: no open transaction. Raises LedgerUnavailable.
    """
    channel = channel_sync(channel_pk=channel_pk)
    if channel.status == ChannelStatus.CLOSED:
        with transaction.atomic():
            _write_off_lost_claims(channel)
        return WatchDecision(channel_pk, "none", "closed")
    now = ledger.validated_ledger().close_time if ledger_now is None else ledger_now
    deadline = _deadline(channel)
    unredeemed = channel.unredeemed_drops
    if deadline is not None:
        remaining = deadline - now
        if unredeemed and remaining <= settings.DROPGATE_WATCHTOWER_ALERT_MARGIN_SECONDS:
            alert_raise(
                channel=channel,
                level=WatchtowerAlert.Level.CRITICAL
                if remaining <= 0
                else WatchtowerAlert.Level.WARNING,
                code="deadline_passed" if remaining <= 0 else "deadline_near",
                message=(
                    f"{unredeemed} drops unredeemed with {remaining}s to the channel's "
                    f"{'Expiration' if deadline == channel.expiration else 'CancelAfter'}."
                ),
            )
        if channel.expiration is not None:
            return WatchDecision(channel_pk, "settle_and_close", "close_requested")
        if remaining <= settings.DROPGATE_CLOSE_SAFETY_MARGIN_SECONDS:
            return WatchDecision(channel_pk, "settle_and_close", "cancel_after_near")
    if unredeemed >= settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS:
        return WatchDecision(channel_pk, "settle", "threshold")
    return WatchDecision(channel_pk, "none")


def watchtower_scan() -> list[WatchDecision]:
    """Check every watched channel once. Returns the decisions (the task enqueues the work)."""
    now = ledger.validated_ledger().close_time
    decisions = []
    for pk in channels_to_watch().values_list("pk", flat=True).order_by("pk"):
        decisions.append(watchtower_check(channel_pk=pk, ledger_now=now))
    return decisions


def watchtower_status() -> dict[str, object]:
    """Health and metrics: channels watched, nearest deadline, its margin and open alerts."""
    watched = list(channels_to_watch())
    deadlines = [d for d in (_deadline(c) for c in watched) if d is not None]
    nearest = min(deadlines) if deadlines else None
    now = clock.to_ripple_time(clock.now())
    return {
        "channels_watched": len(watched),
        "unredeemed_drops": sum(c.unredeemed_drops for c in watched),
        "nearest_deadline": clock.from_ripple_time(nearest).isoformat() if nearest else None,
        "nearest_margin_seconds": (nearest - now) if nearest else None,
        "open_alerts": WatchtowerAlert.objects.filter(resolved_at__isnull=True).count(),
    }
