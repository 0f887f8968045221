"""Money after a decision: the reader's refund, and the publisher's charge kept in line.

- **Reader wins:** a full refund of the unlock through channels_app.payouts' `refund_issue`
  (reference `dispute:<id>`): reader credit by default, XRP back on the ledger when the reader's
  channel is closed. The refund debits the publisher's payable in the journal (a balance
  already paid out goes negative and later revenue pays it off before the next payout).
- **Publisher wins:** nothing moves; but if an appeal overturns a decision that had already
  refunded the reader, the reader keeps the refund and the platform makes the publisher whole
  (`dispute_reinstated`: Dr refunds_expense / Cr publisher_payable). Should a later appeal
  overturn that again, the same entry kind charges the publisher back.

`dispute_settle` is idempotent: it computes what the publisher should bear for the current
decision, compares it with what the refund and the adjustments so far make it bear, and posts
only the difference. A refund that cannot be made now (ledger down, payouts paused, hot float
short) is recorded as an event and retried by the SLA sweep.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Sum

from channels_app.exceptions import DropgateError
from channels_app.models import ChannelStatus, JournalLine
from channels_app.payouts.models import Refund, RefundMode, TxState
from channels_app.payouts.services.refunds import refund_issue
from channels_app.selectors import channel_snapshot
from channels_app.services.journal import credit, debit, journal_post
from disputes.models import Dispute, DisputeEvent, DisputeStatus
from disputes.services.core import dispute_lock, event

__all__ = ["dispute_settle", "refund_reference"]

logger = logging.getLogger(__name__)

REINSTATED = "dispute_reinstated"


def refund_reference(dispute: Dispute) -> str:
    return f"dispute:{dispute.pk}"


def _live(refund: Refund | None) -> bool:
    return refund is not None and refund.status not in (TxState.FAILED, TxState.CANCELLED)


def _adjusted(dispute: Dispute) -> int:
    """Net drops the adjustments so far took off the publisher (credited back)."""
    totals = JournalLine.objects.filter(
        entry__kind=REINSTATED,
        entry__reference__startswith=f"{refund_reference(dispute)}:",
        account="publisher_payable",
    ).aggregate(c=Sum("credit_drops"), d=Sum("debit_drops"))
    return int(totals["c"] or 0) - int(totals["d"] or 0)


def _refund_mode(dispute: Dispute) -> str:
    snapshot = channel_snapshot(dispute.unlock.channel_id)
    closed = snapshot is None or snapshot.status == ChannelStatus.CLOSED
    return RefundMode.LEDGER if closed else RefundMode.CREDIT


def _issue_refund(dispute: Dispute, *, wait_seconds: float | None) -> Refund | None:
    """Refund the unlock (or resume a ledger refund). None if it cannot be made now."""
    existing = dispute.refund
    mode = existing.mode if existing is not None else _refund_mode(dispute)
    try:
        outcome = refund_issue(
            reader_ref=dispute.reader.public_id,
            channel_id=dispute.unlock.channel_id,
            amount_drops=dispute.amount_drops,
            mode=mode,  # type: ignore[arg-type]
            reason=f"dispute {dispute.pk}: {dispute.reason}",
            reference=refund_reference(dispute),
            publisher_ref=dispute.publisher.key,
            wait_seconds=wait_seconds,
        )
    except DropgateError as exc:
        logger.warning("dispute %s: refund not issued (%s)", dispute.pk, exc.code)
        with transaction.atomic():
            locked = dispute_lock(dispute.pk)
            last = locked.events.order_by("-at", "-pk").first()
            if last is None or (last.action, last.reason) != (
                DisputeEvent.Action.REFUND_FAILED,
                exc.code,
            ):
                event(
                    locked,
                    DisputeEvent.Action.REFUND_FAILED,
                    by="system",
                    reason=exc.code,
                    mode=mode,
                )
        return None
    return Refund.objects.get(pk=outcome.refund_id)


def dispute_settle(
    dispute_id: int, *, wait_seconds: float | None = None, dispute: Dispute | None = None
) -> Dispute:
    """Make the money match the dispute's decision (see the module doc). Idempotent.

    `dispute` may be the row the caller just wrote (saves a read). Precondition: no open
    transaction of the caller's that must not see a ledger wait (a ledger refund waits up to
    `wait_seconds`, default DROPGATE_PAYOUT_WAIT_SECONDS).
    """
    if dispute is None:
        dispute = Dispute.objects.select_related("unlock", "reader", "publisher", "refund").get(
            pk=dispute_id
        )
    if dispute.status not in (DisputeStatus.WON_BY_READER, DisputeStatus.WON_BY_PUBLISHER):
        return dispute
    if dispute.refund_id is None and dispute.status == DisputeStatus.WON_BY_PUBLISHER:
        return dispute  # nothing was refunded, so nothing moves
    refund = dispute.refund
    issued: Refund | None = None
    if dispute.status == DisputeStatus.WON_BY_READER and (
        not _live(refund) or (refund is not None and refund.status == TxState.QUEUED)
    ):
        issued = _issue_refund(dispute, wait_seconds=wait_seconds)
    with transaction.atomic():
        locked = Dispute.objects.select_for_update().get(pk=dispute.pk)
        locked.publisher = dispute.publisher
        linked = issued is not None and issued.pk != locked.refund_id
        if issued is not None and linked:
            locked.refund = issued
            event(
                locked,
                DisputeEvent.Action.REFUNDED,
                by="system",
                reason=issued.mode,
                refund=issued.reference,
                amount_drops=issued.amount_drops,
                status=issued.status,
            )
        refund = issued if issued is not None else locked.refund
        refunded = refund.amount_drops if refund is not None and _live(refund) else 0
        # A refund linked just now has had no adjustment yet.
        charged = refunded - (_adjusted(locked) if refunded and not linked else 0)
        target = locked.amount_drops if locked.status == DisputeStatus.WON_BY_READER else 0
        delta = min(target, refunded) - charged
        if delta:
            count = locked.events.filter(action=DisputeEvent.Action.CHARGE_ADJUSTED).count()
            publisher = locked.publisher.key
            amount = abs(delta)
            postings = (
                [debit("publisher_payable", amount, publisher), credit("refunds_expense", amount)]
                if delta > 0
                else [
                    debit("refunds_expense", amount),
                    credit("publisher_payable", amount, publisher),
                ]
            )
            journal_post(
                kind=REINSTATED,
                reference=f"{refund_reference(locked)}:{count + 1}",
                postings=postings,
                memo=f"dispute {locked.pk} {locked.status}",
            )
            event(
                locked,
                DisputeEvent.Action.CHARGE_ADJUSTED,
                by="system",
                reason="publisher charged again" if delta > 0 else "publisher made whole",
                delta_drops=delta,
            )
            charged += delta
        if linked or locked.publisher_charged_drops != charged:
            locked.publisher_charged_drops = charged
            locked.save(update_fields=["publisher_charged_drops", "refund"])
    return locked
