"""Registering reader channels and keeping them in step with the ledger."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction

from channels_app import clock, ledger
from channels_app.exceptions import ChannelRejected, Conflict
from channels_app.keys.services import platform_address
from channels_app.models import Channel, ChannelStatus
from channels_app.selectors import snapshot_of
from channels_app.services.integrity import channel_verify, integrity_guarded
from channels_app.types import ChannelSnapshot, LedgerChannel

logger = logging.getLogger(__name__)


def _closing_soon(entry: LedgerChannel, *, ledger_now: int) -> bool:
    margin = settings.DROPGATE_CLOSE_SAFETY_MARGIN_SECONDS
    if entry.expiration is not None:
        return True  # the source has asked to close
    return entry.cancel_after is not None and entry.cancel_after - margin <= ledger_now


def _check_registrable(
    entry: LedgerChannel, *, public_key: str, destination_tag: int | None, ledger_now: int
) -> None:
    if entry.destination_address != platform_address():
        raise ChannelRejected(
            "The channel does not pay Dropgate.", code="channel_wrong_destination"
        )
    if destination_tag is not None and entry.destination_tag != destination_tag:
        raise ChannelRejected(
            "The channel's destination tag is not this publisher's.",
            code="channel_wrong_destination_tag",
        )
    if entry.public_key != public_key.upper():
        raise ChannelRejected(
            "The channel's public key is not the reader's claim key.", code="channel_wrong_key"
        )
    if entry.settle_delay < settings.DROPGATE_MIN_SETTLE_DELAY_SECONDS:
        raise ChannelRejected(
            f"SettleDelay must be at least {settings.DROPGATE_MIN_SETTLE_DELAY_SECONDS} seconds.",
            code="channel_settle_delay_too_short",
        )
    if entry.amount_drops - entry.balance_drops < settings.DROPGATE_MIN_CHANNEL_DROPS:
        raise ChannelRejected(
            f"The channel must hold at least {settings.DROPGATE_MIN_CHANNEL_DROPS} drops.",
            code="channel_underfunded",
        )
    if entry.balance_drops != 0:
        raise ChannelRejected(
            "Only fresh channels (nothing redeemed yet) can be registered.",
            code="channel_not_fresh",
        )
    if _closing_soon(entry, ledger_now=ledger_now):
        raise ChannelRejected("The channel is closing.", code="channel_closing")


@integrity_guarded
def channel_register(
    *, channel_id: str, public_key: str, owner_ref: str, destination_tag: int | None
) -> ChannelSnapshot:
    """Read the channel from the validated ledger, check it, and start tracking it.

    Idempotent for the same owner; a channel already registered to another owner is a conflict.
    """
    channel_id = channel_id.upper()
    entry = ledger.channel_entry(channel_id)
    if entry is None:
        raise ChannelRejected(
            "No such channel in a validated ledger (yet).", code="channel_not_found"
        )
    ledger_now = ledger.validated_ledger().close_time
    _check_registrable(
        entry, public_key=public_key, destination_tag=destination_tag, ledger_now=ledger_now
    )
    with transaction.atomic():
        existing = Channel.objects.filter(channel_id=channel_id).first()
        if existing is not None:
            if existing.owner_ref != owner_ref:
                raise Conflict("The channel is registered to someone else.", code="channel_taken")
            return snapshot_of(_apply_ledger_entry(existing, entry))
        channel = Channel(
            channel_id=channel_id,
            owner_ref=owner_ref,
            source_address=entry.source_address,
            destination_address=entry.destination_address,
            destination_tag=entry.destination_tag,
            public_key=entry.public_key,
            amount_drops=entry.amount_drops,
            ledger_balance_drops=entry.balance_drops,
            settle_delay=entry.settle_delay,
            expiration=entry.expiration,
            cancel_after=entry.cancel_after,
            synced_at=clock.now(),
            synced_ledger_index=entry.ledger_index,
        )
        try:
            with transaction.atomic():
                channel.save()
        except IntegrityError as exc:
            raise Conflict(
                "The channel was registered concurrently.", code="channel_taken"
            ) from exc
    logger.info("channel registered %s", channel_id)
    return snapshot_of(channel)


def _locked(channel_pk: int) -> Channel:
    """The row, locked and verified. Precondition: inside a transaction."""
    return channel_verify(Channel.objects.select_for_update().get(pk=channel_pk))


def _apply_ledger_entry(channel: Channel, entry: LedgerChannel) -> Channel:
    """Copy ledger facts onto the row and re-seal it; returns the fresh row.

    Only fields the ledger owns are written (never accepted_drops). Precondition: inside a
    transaction. Raises StateIntegrityError if the stored row fails its check.
    """
    locked = _locked(channel.pk)
    locked.amount_drops = max(entry.amount_drops, locked.amount_drops)
    locked.ledger_balance_drops = max(entry.balance_drops, locked.ledger_balance_drops)
    locked.expiration = entry.expiration
    locked.cancel_after = entry.cancel_after
    locked.synced_at = clock.now()
    locked.synced_ledger_index = entry.ledger_index
    fields = [
        "amount_drops",
        "ledger_balance_drops",
        "expiration",
        "cancel_after",
        "synced_at",
        "synced_ledger_index",
    ]
    if locked.status == ChannelStatus.OPEN and entry.expiration is not None:
        locked.status = ChannelStatus.CLOSING
        fields.append("status")
    locked.save(update_fields=fields)
    return locked


@integrity_guarded
def channel_sync(*, channel_pk: int) -> Channel:
    """Refresh a tracked channel from the validated ledger; mark it closed once it is gone.

    Returns the refreshed, verified row. Raises StateIntegrityError (the row fails its check)
    and LedgerUnavailable.
    """
    channel = channel_verify(Channel.objects.get(pk=channel_pk))
    entry = ledger.channel_entry(channel.channel_id)
    with transaction.atomic():
        if entry is not None:
            return _apply_ledger_entry(channel, entry)
        locked = _locked(channel_pk)
        if locked.status != ChannelStatus.CLOSED:
            locked.status = ChannelStatus.CLOSED
            locked.synced_at = clock.now()
            locked.save(update_fields=["status", "synced_at"])
        return locked
