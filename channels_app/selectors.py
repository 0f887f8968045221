"""Read queries over channels, claims and the journal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, OuterRef, QuerySet, Subquery, Sum

from channels_app import clock
from channels_app.models import (
    IN_FLIGHT,
    Channel,
    ChannelStatus,
    Claim,
    JournalLine,
    Settlement,
    SettlementStatus,
)
from channels_app.services.integrity import channel_verify, claim_verify, claims_consistent_verify
from channels_app.types import ChannelSnapshot


def _reported_status(channel: Channel) -> str:
    """The status callers see: an open channel whose CancelAfter is within the close safety
    margin takes no more claims (services.claims) and is about to be settled and closed by
    the watchtower, so it reads as closing: nothing should be paid or topped up into it."""
    if channel.status == ChannelStatus.OPEN and channel.cancel_after is not None:
        margin = settings.DROPGATE_CLOSE_SAFETY_MARGIN_SECONDS
        if channel.cancel_after - margin <= clock.to_ripple_time(clock.now()):
            return str(ChannelStatus.CLOSING)
    return str(channel.status)


def snapshot_of(channel: Channel) -> ChannelSnapshot:
    return ChannelSnapshot(
        channel_id=channel.channel_id,
        owner_ref=channel.owner_ref,
        source_address=channel.source_address,
        public_key=channel.public_key,
        amount_drops=channel.amount_drops,
        accepted_drops=channel.accepted_drops,
        ledger_balance_drops=channel.ledger_balance_drops,
        remaining_drops=channel.amount_drops - channel.accepted_drops,
        settle_delay=channel.settle_delay,
        expiration=clock.from_ripple_time(channel.expiration) if channel.expiration else None,
        cancel_after=clock.from_ripple_time(channel.cancel_after) if channel.cancel_after else None,
        status=_reported_status(channel),
    )


def channel_snapshot(channel_id: str) -> ChannelSnapshot | None:
    """The channel as stored, verified; StateIntegrityError if its row fails its check."""
    channel = Channel.objects.filter(channel_id=channel_id.upper()).first()
    return snapshot_of(channel_verify(channel)) if channel is not None else None


def highest_claim(channel: Channel) -> Claim | None:
    """The channel's highest accepted claim, verified against its tag and the channel's mark.

    Precondition: `channel` was verified. Raises StateIntegrityError.
    """
    claim = channel.claims.order_by("-amount_drops").first()
    if claim is not None:
        claim_verify(claim, channel=channel)
    claims_consistent_verify(channel, claim)
    return claim


def channel_with_highest_claim(*, channel_pk: int) -> tuple[Channel, Claim | None]:
    """The channel's row and its highest claim, read together and verified.

    Read apart, a claim accepted in between (READ COMMITTED) is higher than the mark read
    before it and looks like a forged row: the two reads hold the channel's row lock, which
    accepting a claim also takes. Precondition: no open transaction whose lock order this
    could break. Raises StateIntegrityError.
    """
    with transaction.atomic():
        channel = channel_verify(Channel.objects.select_for_update().get(pk=channel_pk))
        return channel, highest_claim(channel)


def settlement_in_flight(channel: Channel) -> Settlement | None:
    return Settlement.objects.filter(channel=channel, status__in=IN_FLIGHT).first()


def channels_to_watch() -> QuerySet[Channel]:
    """Channels the watchtower must keep an eye on: not closed, and either holding value or closing."""
    return Channel.objects.exclude(status=ChannelStatus.CLOSED)


def channels_unclosed_of_owner(*, owner_ref: str) -> list[ChannelSnapshot]:
    """The owner's channels not yet gone from the ledger (open or closing), verified, by id.

    Raises StateIntegrityError if a row fails its check.
    """
    channels = Channel.objects.filter(owner_ref=owner_ref).exclude(status=ChannelStatus.CLOSED)
    return [snapshot_of(channel_verify(channel)) for channel in channels.order_by("channel_id")]


def channels_due_for_settlement() -> QuerySet[Channel]:
    """Open channels whose unredeemed amount has passed the settlement threshold."""
    threshold = settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS
    return Channel.objects.exclude(status=ChannelStatus.CLOSED).filter(
        accepted_drops__gte=F("ledger_balance_drops") + threshold
    )


def channels_with_failed_settlement() -> list[tuple[int, bool]]:
    """(channel pk, close) of open channels with drops still to redeem whose latest settlement
    failed without burning a fee (a tef/ter/tel result, or expired unseen: the same claim can
    be redeemed by a fresh transaction), so the sweep tries again, as a close if it was one.
    A tec failure spent its fee and names a lasting problem: it waits for the threshold, a
    deadline or a person, as before."""
    latest = Settlement.objects.filter(channel=OuterRef("pk")).order_by("-created_at", "-pk")
    rows = (
        Channel.objects.exclude(status=ChannelStatus.CLOSED)
        .filter(accepted_drops__gt=F("ledger_balance_drops"))
        .annotate(
            last_status=Subquery(latest.values("status")[:1]),
            last_result=Subquery(latest.values("engine_result")[:1]),
            last_close=Subquery(latest.values("close")[:1]),
        )
        .filter(last_status=SettlementStatus.FAILED)
        .exclude(last_result__startswith="tec")
        .values_list("pk", "last_close")
    )
    return [(pk, bool(close)) for pk, close in rows]


def journal_balance(account: str, subaccount: str | None = None) -> int:
    """Debits minus credits on an account (and optionally one sub-account)."""
    lines = JournalLine.objects.filter(account=account)
    if subaccount is not None:
        lines = lines.filter(subaccount=subaccount)
    totals = lines.aggregate(d=Sum("debit_drops"), c=Sum("credit_drops"))
    return int(totals["d"] or 0) - int(totals["c"] or 0)


def _rows(values: Any) -> list[dict[str, Any]]:
    """A `.values()` queryset as plain dicts."""
    return [dict(row) for row in values]


def channels_by_ids(channel_ids: list[str]) -> list[ChannelSnapshot]:
    """Snapshots of the given channels (unknown ids left out), verified, by id."""
    rows = Channel.objects.filter(channel_id__in=[c.upper() for c in channel_ids])
    return [snapshot_of(channel_verify(row)) for row in rows.order_by("channel_id")]


def claims_of_channels(channel_ids: list[str]) -> list[dict[str, Any]]:
    """The accepted claims on these channels (id, channel, amounts, payee, reference, time)."""
    return _rows(
        Claim.objects.filter(channel__channel_id__in=[c.upper() for c in channel_ids])
        .order_by("channel__channel_id", "amount_drops")
        .values(
            "pk",
            "channel__channel_id",
            "amount_drops",
            "increment_drops",
            "payee_ref",
            "reference",
            "accepted_at",
        )
    )


def settlements_of_channels(channel_ids: list[str]) -> list[dict[str, Any]]:
    """The settlement transactions of these channels (hash, amount redeemed, status, ledger)."""
    return _rows(
        Settlement.objects.filter(channel__channel_id__in=[c.upper() for c in channel_ids])
        .order_by("pk")
        .values(
            "pk",
            "channel__channel_id",
            "tx_hash",
            "balance_drops",
            "close",
            "status",
            "engine_result",
            "ledger_index",
            "created_at",
        )
    )


def channels_registered_since(since: datetime) -> list[tuple[str, str, str, str, datetime]]:
    """(channel id, source address, owner ref, status, registered at) of channels registered
    since `since`: what AML monitoring reads about funding accounts."""
    return list(
        Channel.objects.filter(registered_at__gte=since)
        .order_by("registered_at")
        .values_list("channel_id", "source_address", "owner_ref", "status", "registered_at")
    )
