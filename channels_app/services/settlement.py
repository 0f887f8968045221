"""Redeeming accepted claims on the ledger with PaymentChannelClaim.

Crash safety: the signed transaction (blob and hash) is committed as a `prepared` Settlement
*before* it is submitted. Any later run first resolves that row by its hash and by the
ledger's channel state, so a crash between submit and the database update never leads to a
second, different submission. Resubmitting the same blob is harmless: it has one Sequence.
At most one settlement per channel is in flight (a partial unique constraint).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from xrpl.core.binarycodec import encode
from xrpl.models.transactions import PaymentChannelClaim, PaymentChannelClaimFlag

from channels_app import ledger
from channels_app.crashpoints import crash_point
from channels_app.enqueue import enqueue_on_commit
from channels_app.keys.services import platform_address, settlement_sign
from channels_app.models import (
    IN_FLIGHT,
    Channel,
    ChannelStatus,
    JournalLine,
    Settlement,
    SettlementStatus,
)
from channels_app.selectors import channel_with_highest_claim
from channels_app.services.channels import channel_sync
from channels_app.services.journal import credit, debit, journal_post

logger = logging.getLogger(__name__)

_NEVER_APPLIED = ("tem", "tef", "tel")


@dataclass(frozen=True)
class SettlementOutcome:
    channel_id: str
    state: str  # "validated", "pending", "nothing_to_do", "failed", "closed"
    balance_drops: int
    tx_hash: str = ""


def journal_redeemed_drops(channel_id: str) -> int:
    """What the journal says the ledger has paid out of this channel to the platform."""
    total = JournalLine.objects.filter(
        account="claims_receivable", subaccount=channel_id, entry__kind="claim_redeemed"
    ).aggregate(c=Sum("credit_drops"))["c"]
    return int(total or 0)


def _record_redemption(channel: Channel, *, ledger_balance: int, reference: str) -> None:
    """Journal whatever part of the ledger's channel Balance the journal has not seen yet."""
    delta = ledger_balance - journal_redeemed_drops(channel.channel_id)
    if delta <= 0:
        return
    journal_post(
        kind="claim_redeemed",
        reference=reference,
        postings=[
            debit("settlement_account", delta, channel.destination_address),
            credit("claims_receivable", delta, channel.channel_id),
        ],
        memo=f"channel {channel.channel_id} balance {ledger_balance}",
    )


def _record_network_fee(settlement: Settlement) -> None:
    journal_post(
        kind="network_fee",
        reference=settlement.tx_hash,
        postings=[
            debit("network_fees", settlement.fee_drops),
            credit("settlement_account", settlement.fee_drops, platform_address()),
        ],
    )


@transaction.atomic
def _mark(
    settlement: Settlement, *, status: str, engine_result: str = "", ledger_index: int | None = None
) -> None:
    settlement.status = status
    if engine_result:
        settlement.engine_result = engine_result
    if ledger_index is not None:
        settlement.ledger_index = ledger_index
    settlement.save(update_fields=["status", "engine_result", "ledger_index", "updated_at"])


def settlement_resolve(*, settlement: Settlement) -> str:
    """Bring an in-flight settlement up to date with the ledger. Returns its status afterwards.

    Precondition: no open transaction (it talks to the ledger).
    """
    status = ledger.transaction_status(settlement.tx_hash)
    if status is not None and status.validated:
        with transaction.atomic():
            channel = Channel.objects.select_for_update().get(pk=settlement.channel_id)
            if status.result == "tesSUCCESS":
                _mark(
                    settlement,
                    status=SettlementStatus.VALIDATED,
                    engine_result="tesSUCCESS",
                    ledger_index=status.ledger_index,
                )
                # What the ledger actually paid, which is less than asked if the channel had
                # already expired (then the claim only removed it).
                paid_to = status.channel_balance_after
                if paid_to is None:
                    paid_to = channel.ledger_balance_drops
                _record_redemption(channel, ledger_balance=paid_to, reference=settlement.tx_hash)
                fields = ["ledger_balance_drops"]
                channel.ledger_balance_drops = max(channel.ledger_balance_drops, paid_to)
                if status.channel_deleted:
                    channel.status = ChannelStatus.CLOSED
                    fields.append("status")
                channel.save(update_fields=fields)
            else:
                _mark(
                    settlement,
                    status=SettlementStatus.FAILED,
                    engine_result=status.result or "",
                    ledger_index=status.ledger_index,
                )
            _record_network_fee(settlement)  # tes and tec both burn the fee
        return settlement.status
    if ledger.validated_ledger().ledger_index > settlement.last_ledger_sequence:
        # Past LastLedgerSequence and not in a validated ledger: it can never apply now.
        _mark(
            settlement,
            status=SettlementStatus.FAILED,
            engine_result=settlement.engine_result or "expired",
        )
        return settlement.status
    if status is None:
        _submit(settlement)
    return settlement.status


def _submit(settlement: Settlement) -> None:
    crash_point("settlement_before_submit")
    result = ledger.submit_blob(settlement.tx_blob)
    crash_point("settlement_after_submit")
    if result.engine_result.startswith(_NEVER_APPLIED) and result.engine_result != "tefPAST_SEQ":
        # Not applied, and never will be: the same blob would be refused again.
        _mark(settlement, status=SettlementStatus.FAILED, engine_result=result.engine_result)
        logger.warning("settlement %s refused: %s", settlement.tx_hash, result.engine_result)
        return
    # tefPAST_SEQ may mean this very blob already applied; resolve() finds out by hash.
    _mark(settlement, status=SettlementStatus.SUBMITTED, engine_result=result.engine_result)


def _prepare(
    channel: Channel, *, balance_drops: int, signature: str | None, close: bool, reason: str
) -> Settlement | None:
    fields: dict[str, object] = {"account": platform_address(), "channel": channel.channel_id}
    if signature is not None:
        fields.update(
            balance=str(balance_drops),
            amount=str(balance_drops),
            signature=signature,
            public_key=channel.public_key,
        )
    if close:
        fields["flags"] = PaymentChannelClaimFlag.TF_CLOSE
    signed = settlement_sign(transaction=ledger.transaction_autofill(PaymentChannelClaim(**fields)))  # type: ignore[arg-type]
    try:
        with transaction.atomic():
            # Under the channel's row lock (which resolve also takes to mark a settlement
            # validated), a concurrent run that already landed this amount is seen here, so
            # no redundant transaction is signed into the ledger after it.
            locked = Channel.objects.select_for_update().get(pk=channel.pk)
            if signature is not None and locked.ledger_balance_drops >= balance_drops:
                return None
            return Settlement.objects.create(
                channel=channel,
                balance_drops=balance_drops,
                close=close,
                reason=reason,
                tx_hash=signed.get_hash(),
                tx_blob=encode(signed.to_xrpl()),
                sequence=signed.sequence or 0,
                last_ledger_sequence=signed.last_ledger_sequence or 0,
                fee_drops=int(signed.fee or 0),
                status=SettlementStatus.PREPARED,
            )
    except IntegrityError:
        return None  # another run holds the in-flight slot for this channel


def settlement_run(
    *, channel_pk: int, reason: str, close: bool = False, wait_seconds: float | None = None
) -> SettlementOutcome:
    """Redeem the channel's highest accepted claim (and close the channel if `close`).

    Idempotent: re-running after a crash at any point neither double-submits nor loses a claim.
    Precondition: no open transaction. Raises LedgerUnavailable when the ledger cannot be reached.
    """
    channel = Channel.objects.get(pk=channel_pk)
    inflight = Settlement.objects.filter(channel=channel, status__in=IN_FLIGHT).first()
    if inflight is not None and settlement_resolve(settlement=inflight) in IN_FLIGHT:
        return _await(inflight, channel, wait_seconds)

    channel = channel_sync(channel_pk=channel_pk)
    with transaction.atomic():
        Channel.objects.select_for_update().filter(pk=channel.pk).first()
        _record_redemption(
            channel,
            ledger_balance=channel.ledger_balance_drops,
            reference=f"ledger:{channel.channel_id}:{channel.ledger_balance_drops}",
        )
    if channel.status == ChannelStatus.CLOSED:
        return SettlementOutcome(channel.channel_id, "closed", channel.ledger_balance_drops)
    # Fresh, with its highest claim under one lock: claims keep arriving while this runs.
    channel, claim = channel_with_highest_claim(channel_pk=channel.pk)
    redeemable = claim is not None and claim.amount_drops > channel.ledger_balance_drops
    if not redeemable and not close:
        return SettlementOutcome(channel.channel_id, "nothing_to_do", channel.ledger_balance_drops)
    settlement = _prepare(
        channel,
        balance_drops=claim.amount_drops
        if (claim and redeemable)
        else channel.ledger_balance_drops,
        signature=claim.signature if (claim and redeemable) else None,
        close=close,
        reason=reason,
    )
    if settlement is None:
        return SettlementOutcome(channel.channel_id, "pending", channel.ledger_balance_drops)
    _submit(settlement)
    return _await(settlement, channel, wait_seconds)


def settlement_close_request(*, channel_id: str, reason: str) -> None:
    """Ask for the channel to be settled and closed: its highest accepted claim is redeemed and
    the platform closes it (PaymentChannelClaim with tfClose), by the `settle_channel` task
    once the surrounding transaction commits.

    The same path the watchtower uses for a source's close request; safe to ask twice
    (settlement_run is idempotent and keeps one settlement in flight per channel).
    """
    from channels_app.tasks import (  # the tasks module imports this one
        settle_channel,
        settle_once_key,
    )

    channel_pk = Channel.objects.values_list("pk", flat=True).get(channel_id=channel_id.upper())
    enqueue_on_commit(
        settle_channel, channel_pk, reason, True, once_key=settle_once_key(channel_pk, True)
    )


def _await(
    settlement: Settlement, channel: Channel, wait_seconds: float | None
) -> SettlementOutcome:
    """Poll until the settlement is final or `wait_seconds` pass; pending work is resumed later."""
    deadline = time.monotonic() + (
        settings.DROPGATE_SETTLEMENT_WAIT_SECONDS if wait_seconds is None else wait_seconds
    )
    while settlement.status in IN_FLIGHT:
        settlement_resolve(settlement=settlement)
        if settlement.status not in IN_FLIGHT or time.monotonic() >= deadline:
            break
        time.sleep(0.25)
    state = {
        SettlementStatus.VALIDATED: "validated",
        SettlementStatus.FAILED: "failed",
    }.get(SettlementStatus(settlement.status), "pending")
    return SettlementOutcome(
        channel.channel_id, state, settlement.balance_drops, settlement.tx_hash
    )


def settlement_resolve_all() -> int:
    """Resolve every in-flight settlement (after a crash or restart). Returns how many were touched."""
    count = 0
    for settlement in Settlement.objects.filter(status__in=IN_FLIGHT).order_by("pk"):
        settlement_resolve(settlement=settlement)
        count += 1
    return count
