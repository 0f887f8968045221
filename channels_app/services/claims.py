"""Accepting readers' signed channel claims: the hot path of every unlock."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction

from channels_app import clock
from channels_app.enqueue import enqueue_on_commit
from channels_app.exceptions import ClaimRejected
from channels_app.models import Channel, ChannelStatus, Claim
from channels_app.services.integrity import channel_verify, integrity_guarded
from channels_app.services.journal import credit, debit, journal_post
from channels_app.signatures import (
    InvalidSignature,
    MalformedInput,
    claim_message,
    parse_channel_id,
    parse_drops,
    parse_hex,
    verify_signature,
)
from channels_app.types import AcceptedClaim, TaxShare

logger = logging.getLogger(__name__)


class ClaimConflict(ClaimRejected):
    code = "claim_conflict"
    http_status = 409
    default_message = (
        "Another claim on this channel was accepted at the same time; sign the next one."
    )


def _rejected(code: str, message: str, status: int = 422) -> ClaimRejected:
    error = ClaimRejected(message, code=code)
    error.http_status = status
    return error


def _closing_within_margin(channel: Channel) -> bool:
    if channel.status != ChannelStatus.OPEN or channel.expiration is not None:
        return True
    if channel.cancel_after is None:
        return False
    margin = settings.DROPGATE_CLOSE_SAFETY_MARGIN_SECONDS
    return channel.cancel_after - margin <= clock.to_ripple_time(clock.now())


def _check_claim(
    channel: Channel,
    *,
    amount_drops: int,
    signature: bytes,
    min_increment_drops: int,
    max_increment_drops: int | None,
) -> None:
    """Every rule a claim must pass, cheapest first. Raises ClaimRejected; changes nothing."""
    if _closing_within_margin(channel):
        raise _rejected("channel_closing", "The channel is closing; open a new one.", 409)
    if amount_drops > channel.amount_drops:
        raise _rejected(
            "claim_exceeds_channel", "The claim is more than the channel holds; top it up."
        )
    try:
        verify_signature(
            message=claim_message(bytes.fromhex(channel.channel_id), amount_drops),
            signature=signature,
            public_key=bytes.fromhex(channel.public_key),
        )
    except InvalidSignature as exc:
        raise _rejected(
            "claim_signature_invalid", f"The claim signature is not valid ({exc.reason})."
        ) from exc
    if amount_drops == channel.accepted_drops:
        raise _rejected("claim_replayed", "This claim was already accepted.", 409)
    if amount_drops < channel.accepted_drops:
        raise _rejected("claim_stale", "A higher claim on this channel was already accepted.", 409)
    if amount_drops - channel.accepted_drops < min_increment_drops:
        raise _rejected(
            "claim_underpaid",
            f"The claim must add at least {min_increment_drops} drops to the last one.",
            402,
        )
    if (
        max_increment_drops is not None
        and amount_drops - channel.accepted_drops > max_increment_drops
    ):
        raise _rejected(
            "claim_overpaid",
            f"The claim adds more than the price ({max_increment_drops} drops); sign exactly the price.",
        )


# A compare-and-set can also lose to a write that did not move the accepted amount (a sync
# from the ledger re-sealing the row); such a claim is checked again, a bounded number of times.
_CAS_ATTEMPTS = 3


def _advance(channel: Channel, *, amount: int) -> bool:
    """Compare-and-set the accepted amount, sealing the new state in the same UPDATE.

    Pinning the old tag pins every sealed field: the new tag is computed from the row as read
    and verified, so it can only be written over that very state.
    """
    return (
        Channel.objects.filter(
            pk=channel.pk,
            mac=channel.mac,
            accepted_drops=channel.accepted_drops,
            status=ChannelStatus.OPEN,
            amount_drops__gte=amount,
        ).update(accepted_drops=amount, mac=channel.expected_mac(accepted_drops=amount))
        == 1
    )


@integrity_guarded
def claim_accept(
    *,
    channel_id: str,
    amount_drops: int | str,
    signature: str,
    min_increment_drops: int,
    payee_ref: str,
    fee_bps: int,
    reference: str,
    max_increment_drops: int | None = None,
    tax: TaxShare | None = None,
) -> AcceptedClaim:
    """Verify a claim and accept it for `min_increment_drops` or more (at most `max_increment_drops`).

    `tax` is the VAT/GST included in the increment (the caller priced it for exactly this
    increment): it is journaled to `vat_payable` and the platform fee is taken on the net.

    The accepted amount is advanced by compare-and-set on the channel row, and the claim row is
    unique per (channel, amount), so two concurrent claims can never both take the same
    increment. The claim and its journal entries commit together; call inside an outer
    transaction only if that transaction also commits before the reader is answered.
    """
    try:
        channel_key = parse_channel_id(channel_id).hex().upper()
        amount = parse_drops(amount_drops)
        signature_bytes = parse_hex(signature, field="signature")
    except MalformedInput as exc:
        raise _rejected("claim_malformed", f"The claim is malformed: {exc.reason}.", 400) from exc
    if min_increment_drops < 1:
        raise ValueError("min_increment_drops must be positive")
    if tax is not None and not 0 <= tax.drops <= min_increment_drops:
        raise ValueError("the tax must be within the increment")

    channel = Channel.objects.filter(channel_id=channel_key).first()
    if channel is None:
        raise _rejected("channel_unknown", "The channel is not registered.", 404)
    signature_hex = signature_bytes.hex().upper()
    for _attempt in range(_CAS_ATTEMPTS):
        # The row is verified before any rule reads it, and the compare-and-set below pins
        # exactly the state that was verified and checked.
        channel_verify(channel)
        _check_claim(
            channel,
            amount_drops=amount,
            signature=signature_bytes,
            min_increment_drops=min_increment_drops,
            max_increment_drops=max_increment_drops,
        )
        accepted = _record(
            channel,
            amount=amount,
            signature_hex=signature_hex,
            payee_ref=payee_ref,
            fee_bps=fee_bps,
            reference=reference,
            tax=tax,
        )
        if accepted is not None:
            return accepted
        fresh = Channel.objects.filter(pk=channel.pk).first()
        if fresh is None or fresh.accepted_drops != channel.accepted_drops:
            raise ClaimConflict()
        channel = fresh  # only re-sealed by another writer: check the claim again
    raise ClaimConflict()


def _record(
    channel: Channel,
    *,
    amount: int,
    signature_hex: str,
    payee_ref: str,
    fee_bps: int,
    reference: str,
    tax: TaxShare | None = None,
) -> AcceptedClaim | None:
    """Advance the channel, store the sealed claim and journal it, all or nothing.

    Returns None (and writes nothing) if the compare-and-set lost. Precondition: the claim
    passed every rule against `channel`, which was verified.

    The fee is a share of the publisher's revenue, which excludes tax: it is taken on the
    increment net of `tax` (VAT is owed to a tax authority, never revenue to share).
    """
    increment = amount - channel.accepted_drops
    tax_drops = min(tax.drops, increment) if tax is not None else 0
    fee = (increment - tax_drops) * fee_bps // 10_000
    with transaction.atomic():
        if not _advance(channel, amount=amount):
            return None
        try:
            # No savepoint: the compare-and-set above already made this (channel, amount)
            # ours; the unique constraint is a backstop, and on a clash the whole block rolls
            # back as ClaimConflict propagates. save() seals the claim.
            claim = Claim(
                channel=channel,
                amount_drops=amount,
                increment_drops=increment,
                signature=signature_hex,
                payee_ref=payee_ref,
                reference=reference[:128],
            )
            claim.save(force_insert=True)
        except IntegrityError as exc:
            raise ClaimConflict() from exc
        journal_post(
            fresh=True,
            kind="claim_accepted",
            reference=f"claim:{claim.pk}",
            postings=[
                debit("claims_receivable", increment, channel.channel_id),
                credit("publisher_payable", increment, payee_ref),
            ],
            memo=reference,
        )
        if tax is not None and tax_drops:
            journal_post(
                fresh=True,
                kind="tax",
                reference=f"claim:{claim.pk}",
                postings=[
                    debit("publisher_payable", tax_drops, payee_ref),
                    credit("vat_payable", tax_drops, tax.subaccount),
                ],
            )
        journal_post(
            fresh=True,
            kind="fee",
            reference=f"claim:{claim.pk}",
            postings=[
                debit("publisher_payable", fee, payee_ref),
                credit("platform_fee_revenue", fee),
            ],
        )
        if amount - channel.ledger_balance_drops >= settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS:
            from channels_app.tasks import settle_channel, settle_once_key

            enqueue_on_commit(
                settle_channel, channel.pk, "threshold", once_key=settle_once_key(channel.pk)
            )
    return AcceptedClaim(
        claim_id=claim.pk,
        channel_id=channel.channel_id,
        amount_drops=amount,
        increment_drops=increment,
        fee_drops=fee,
        tax_drops=tax_drops,
    )
