"""Refunds to readers, and reader credit.

`refund_issue` is what the dispute flow calls once a charge is decided against:

- **ledger** mode pays XRP back to the channel's source address (the reader's funding account)
  from the hot account. The signed transaction is stored before it is submitted and resolved
  by hash; the `refund` entry (Dr publisher_payable or refunds_expense / Cr settlement_account)
  is posted when it validates. A failed attempt (tec, refused, expired) paid nothing: calling
  again with the same reference tries again with a new transaction.
- **credit** mode records a credit the reader's later unlocks consume (`credit_consume`):
  Dr publisher_payable (or refunds_expense) / Cr reader_credit at once.

Both are idempotent by `reference`: the same call returns the same refund; a different refund
under a used reference is refused. A channel can be refunded at most what its reader paid on it
(its accepted claims), across both modes.
"""

from __future__ import annotations

import logging
from typing import Literal

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from xrpl.models.transactions import Payment

from channels_app import ledger
from channels_app.keys.services import platform_address, settlement_sign
from channels_app.models import Channel, Claim
from channels_app.payouts import signers
from channels_app.payouts.conf import setting
from channels_app.payouts.exceptions import (
    CreditInsufficient,
    CreditReferenceConflict,
    HotFloatInsufficient,
    PayoutsPaused,
    RefundReferenceConflict,
    RefundRejected,
)
from channels_app.payouts.lock_objects import payouts_lock
from channels_app.payouts.models import (
    IN_FLIGHT_STATES,
    Lane,
    ReaderCredit,
    ReaderCreditEntry,
    Refund,
    RefundMode,
    TxState,
)
from channels_app.payouts.selectors import credit_available
from channels_app.payouts.services.transfers import (
    account_state,
    network_fees,
    signed_fields,
    transfer_submit,
    transfers_await,
)
from channels_app.payouts.services.vault import FEE_ALLOWANCE_DROPS, hot_spendable_drops
from channels_app.payouts.types import CreditUse, RefundOutcome
from channels_app.services.journal import credit, debit, journal_post

logger = logging.getLogger(__name__)

__all__ = ["credit_available", "credit_consume", "refund_issue", "refunds_resolve"]

Charge = Literal["publisher", "platform"]


def _rejected(code: str, message: str) -> RefundRejected:
    return RefundRejected(message, code=code)


def _charged_publisher(channel: Channel, publisher_ref: str | None, charge: Charge) -> str:
    if charge == "platform":
        return ""
    if publisher_ref:
        return publisher_ref
    payees = set(Claim.objects.filter(channel=channel).values_list("payee_ref", flat=True))
    if len(payees) != 1:
        raise _rejected(
            "refund_publisher_ambiguous",
            "Name the publisher to charge (the channel paid none or several).",
        )
    return payees.pop()


def _debit_side(refund: Refund) -> tuple[str, str]:
    if refund.publisher_ref:
        return "publisher_payable", refund.publisher_ref
    return "refunds_expense", ""


def _outcome(refund: Refund) -> RefundOutcome:
    return RefundOutcome(
        refund_id=refund.pk,
        reference=refund.reference,
        mode=refund.mode,
        status=refund.status,
        amount_drops=refund.amount_drops,
        tx_hash=refund.tx_hash or "",
    )


def _refunded_on_channel(channel_id: str) -> int:
    total = (
        Refund.objects.filter(channel_id=channel_id)
        .exclude(status__in=(TxState.FAILED, TxState.CANCELLED))
        .aggregate(s=Sum("amount_drops"))["s"]
    )
    return int(total or 0)


def _on_refund_validated(refund: Refund) -> None:
    account, subaccount = _debit_side(refund)
    journal_post(
        kind="refund",
        reference=refund.reference,
        postings=[
            debit(account, refund.amount_drops, subaccount),
            credit("settlement_account", refund.amount_drops, refund.source_address),
        ],
        memo=f"ledger refund to {refund.destination} ({refund.reason})",
    )


def refund_issue(
    *,
    reader_ref: str,
    channel_id: str,
    amount_drops: int,
    mode: Literal["ledger", "credit"],
    reason: str,
    reference: str,
    publisher_ref: str | None = None,
    charge: Charge = "publisher",
    wait_seconds: float | None = None,
) -> RefundOutcome:
    """Refund a reader for charges on `channel_id`, on the ledger or as credit.

    The publisher charged is `publisher_ref`, else the channel's only payee; `charge="platform"`
    makes the platform bear it. Ledger mode needs payouts unpaused and enough hot float.
    Precondition: no open transaction (ledger mode talks to the ledger). Raises
    RefundRejected (refund_*), RefundReferenceConflict, PayoutsPaused, HotFloatInsufficient,
    LedgerUnavailable.
    """
    if mode not in (RefundMode.LEDGER, RefundMode.CREDIT):
        raise _rejected("refund_mode_invalid", "The mode must be 'ledger' or 'credit'.")
    if not isinstance(amount_drops, int) or isinstance(amount_drops, bool) or amount_drops < 1:
        raise _rejected("refund_amount_invalid", "The amount must be a positive number of drops.")
    if not reference or len(reference) > 128:
        raise _rejected(
            "refund_reference_invalid", "A reference of 1 to 128 characters is required."
        )
    existing = Refund.objects.filter(reference=reference).first()
    if existing is not None:
        same = (
            existing.mode == mode
            and existing.reader_ref == reader_ref
            and existing.channel_id == channel_id.upper()
            and existing.amount_drops == amount_drops
        )
        if not same:
            raise RefundReferenceConflict()
        if existing.mode == RefundMode.LEDGER:
            return _refund_ledger_resume(existing, wait_seconds=wait_seconds)
        return _outcome(existing)

    channel = Channel.objects.filter(channel_id=channel_id.upper()).first()
    if channel is None:
        raise _rejected("refund_channel_unknown", "The channel is not known.")
    if channel.owner_ref != reader_ref:
        raise _rejected("refund_channel_not_readers", "The channel is not this reader's.")
    charged = _charged_publisher(channel, publisher_ref, charge)
    if mode == RefundMode.CREDIT:
        return _refund_credit(
            channel,
            charged=charged,
            reader_ref=reader_ref,
            amount=amount_drops,
            reason=reason,
            reference=reference,
        )
    return _refund_ledger_new(
        channel,
        charged=charged,
        reader_ref=reader_ref,
        amount=amount_drops,
        reason=reason,
        reference=reference,
        wait_seconds=wait_seconds,
    )


def _check_refundable(channel: Channel, amount_drops: int) -> None:
    """Precondition: holding the payouts lock."""
    if amount_drops + _refunded_on_channel(channel.channel_id) > channel.accepted_drops:
        raise _rejected(
            "refund_exceeds_paid",
            "The refunds on this channel would exceed what the reader paid on it.",
        )


def _refund_credit(
    channel: Channel, *, charged: str, reader_ref: str, amount: int, reason: str, reference: str
) -> RefundOutcome:
    try:
        with transaction.atomic():
            payouts_lock()
            _check_refundable(channel, amount)
            refund = Refund.objects.create(
                reference=reference,
                mode=RefundMode.CREDIT,
                reader_ref=reader_ref,
                channel_id=channel.channel_id,
                publisher_ref=charged,
                destination="",
                amount_drops=amount,
                reason=reason[:255],
                status=TxState.CREDITED,
            )
            ReaderCredit.objects.get_or_create(reader_ref=reader_ref)
            ReaderCredit.objects.filter(reader_ref=reader_ref).update(
                balance_drops=F("balance_drops") + amount
            )
            ReaderCreditEntry.objects.create(
                reader_ref=reader_ref,
                kind=ReaderCreditEntry.Kind.GRANT,
                amount_drops=amount,
                reference=reference,
            )
            account, subaccount = _debit_side(refund)
            journal_post(
                kind="refund",
                reference=reference,
                postings=[
                    debit(account, amount, subaccount),
                    credit("reader_credit", amount, reader_ref),
                ],
                memo=f"credit refund ({reason})",
                fresh=True,
            )
    except IntegrityError:
        # The same reference was issued concurrently: that one stands.
        existing = Refund.objects.get(reference=reference)
        return _outcome(existing)
    return _outcome(refund)


def _refund_ledger_new(
    channel: Channel,
    *,
    charged: str,
    reader_ref: str,
    amount: int,
    reason: str,
    reference: str,
    wait_seconds: float | None,
) -> RefundOutcome:
    if signers.payouts_paused():
        raise PayoutsPaused()
    hot = platform_address()
    destination = channel.source_address
    if destination == hot:
        raise _rejected("refund_destination_invalid", "The channel's source is the platform.")
    with transaction.atomic():
        payouts_lock()
        _check_refundable(channel, amount)
        try:
            with transaction.atomic():
                refund = Refund.objects.create(
                    reference=reference,
                    mode=RefundMode.LEDGER,
                    lane=Lane.HOT,
                    reader_ref=reader_ref,
                    channel_id=channel.channel_id,
                    publisher_ref=charged,
                    source_address=hot,
                    destination=destination,
                    amount_drops=amount,
                    reason=reason[:255],
                    status=TxState.QUEUED,
                )
        except IntegrityError:
            refund = Refund.objects.get(reference=reference)
    return _refund_ledger_resume(refund, wait_seconds=wait_seconds)


def _refund_ledger_resume(refund: Refund, *, wait_seconds: float | None) -> RefundOutcome:
    """Sign (or re-sign after a failed attempt), submit and resolve a ledger refund."""
    wait = setting("DROPGATE_PAYOUT_WAIT_SECONDS") if wait_seconds is None else wait_seconds
    if refund.status in IN_FLIGHT_STATES:
        transfers_await(
            [refund],
            on_validated=_on_refund_validated,
            crash_name="refund",
            wait_seconds=wait,
            allow_submit=not signers.payouts_paused(),
        )
    if refund.status not in (TxState.QUEUED, TxState.FAILED):
        return _outcome(refund)
    if signers.payouts_paused():
        raise PayoutsPaused()
    fees = network_fees()
    state = account_state(refund.source_address)
    signed = settlement_sign(
        transaction=ledger.transaction_autofill(
            Payment(
                account=refund.source_address,
                destination=refund.destination,
                amount=str(refund.amount_drops),
            )
        )
    )
    with transaction.atomic():
        payouts_lock()
        fresh = Refund.objects.get(pk=refund.pk)
        if fresh.status not in (TxState.QUEUED, TxState.FAILED):
            return _outcome(fresh)
        if fresh.status == TxState.FAILED:
            channel = Channel.objects.get(channel_id=fresh.channel_id)
            _check_refundable(channel, fresh.amount_drops)
        # While queued, this refund already counts among the hot account's commitments.
        own = (
            fresh.amount_drops + (fresh.fee_drops or FEE_ALLOWANCE_DROPS)
            if fresh.status == TxState.QUEUED
            else 0
        )
        if hot_spendable_drops(state, fees) + own < fresh.amount_drops + fees.fee_drops:
            raise HotFloatInsufficient()
        attempts = list(fresh.failed_attempts)
        if fresh.status == TxState.FAILED and fresh.tx_hash:
            attempts.append({"tx_hash": fresh.tx_hash, "engine_result": fresh.engine_result})
        Refund.objects.filter(pk=fresh.pk).update(
            status=TxState.PREPARED,
            failed_attempts=attempts,
            engine_result="",
            ledger_index=None,
            finished_at=None,
            **signed_fields(signed),
        )
    refund.refresh_from_db()
    transfer_submit(refund, crash_name="refund")
    transfers_await(
        [refund], on_validated=_on_refund_validated, crash_name="refund", wait_seconds=wait
    )
    return _outcome(refund)


def refunds_resolve(*, wait_seconds: float = 0.0) -> int:
    """Resolve every in-flight ledger refund by its hash. Precondition: no open transaction."""
    rows = list(Refund.objects.filter(status__in=IN_FLIGHT_STATES).order_by("pk"))
    if rows:
        transfers_await(
            rows,
            on_validated=_on_refund_validated,
            crash_name="refund",
            wait_seconds=wait_seconds,
            allow_submit=not signers.payouts_paused(),
        )
    return len(rows)


# --- Reader credit ---------------------------------------------------------------------------


def credit_consume(
    *, reader_ref: str, amount_drops: int, payee_ref: str, fee_bps: int, reference: str
) -> CreditUse:
    """Spend `amount_drops` of the reader's credit on an unlock sold by `payee_ref`.

    The publisher is credited net of the platform fee, as with a claim (`credit_applied`);
    that revenue matures after the holdback like any other. Idempotent by `reference`.
    Raises CreditInsufficient (nothing changes), CreditReferenceConflict.
    """
    if amount_drops < 1:
        raise ValueError("amount_drops must be positive")
    if not 0 <= fee_bps <= 10_000:
        raise ValueError("fee_bps must be from 0 to 10000")
    previous = ReaderCreditEntry.objects.filter(
        kind=ReaderCreditEntry.Kind.USE, reference=reference
    ).first()
    if previous is not None:
        if (previous.reader_ref, previous.amount_drops, previous.payee_ref) != (
            reader_ref,
            amount_drops,
            payee_ref,
        ):
            raise CreditReferenceConflict()
        return _credit_use(previous)
    fee = amount_drops * fee_bps // 10_000
    try:
        with transaction.atomic():
            # Compare-and-set: two uses can never spend the same drops.
            spent = ReaderCredit.objects.filter(
                reader_ref=reader_ref, balance_drops__gte=amount_drops
            ).update(balance_drops=F("balance_drops") - amount_drops)
            if spent != 1:
                raise CreditInsufficient()
            entry = ReaderCreditEntry.objects.create(
                reader_ref=reader_ref,
                kind=ReaderCreditEntry.Kind.USE,
                amount_drops=amount_drops,
                reference=reference,
                payee_ref=payee_ref,
                fee_drops=fee,
            )
            journal_post(
                kind="credit_applied",
                reference=reference,
                postings=[
                    debit("reader_credit", amount_drops, reader_ref),
                    credit("publisher_payable", amount_drops - fee, payee_ref),
                    credit("platform_fee_revenue", fee),
                ],
                fresh=True,
            )
    except IntegrityError:
        # The same reference was consumed concurrently (our decrement rolled back).
        return credit_consume(
            reader_ref=reader_ref,
            amount_drops=amount_drops,
            payee_ref=payee_ref,
            fee_bps=fee_bps,
            reference=reference,
        )
    return _credit_use(entry)


def _credit_use(entry: ReaderCreditEntry) -> CreditUse:
    return CreditUse(
        reader_ref=entry.reader_ref,
        reference=entry.reference,
        amount_drops=entry.amount_drops,
        fee_drops=entry.fee_drops,
        remaining_drops=credit_available(entry.reader_ref),
    )
