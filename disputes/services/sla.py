"""SLAs, run by beat (`disputes.tasks.disputes_sla_sweep`):

- a dispute waiting for the publisher past its `due_by` is decided for the reader (`sla`,
  `response_overdue`);
- a dispute in the admin queue past its `due_by` is escalated to tier 3 with its signed
  evidence bundle (`review_overdue`);
- a reader's win whose refund could not be made yet is tried again.

Each dispute is handled in its own transaction after re-reading it under its lock, so a run
that overlaps another, or a reviewer deciding at the same moment, changes nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from channels_app import clock
from channels_app.payouts.models import TxState
from disputes.models import Dispute, DisputeStatus, Side
from disputes.services.core import decide, dispute_lock
from disputes.services.money import dispute_settle
from disputes.services.review import escalate_locked

__all__ = ["SlaOutcome", "disputes_sla_run"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlaOutcome:
    decided: int
    escalated: int
    refunds_retried: int


def disputes_sla_run(
    *, now: datetime | None = None, wait_seconds: float | None = None
) -> SlaOutcome:
    """Apply every deadline passed at `now` (default: the app clock). Idempotent."""
    now = now or clock.now()
    decided = escalated = retried = 0
    overdue = Dispute.objects.filter(due_by__lte=now)
    for pk in (
        overdue.filter(status=DisputeStatus.NEEDS_RESPONSE)
        .order_by("due_by", "pk")
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            dispute = dispute_lock(pk)
            if (
                dispute.status != DisputeStatus.NEEDS_RESPONSE
                or dispute.due_by is None
                or dispute.due_by > now
            ):
                continue
            decide(dispute, Side.READER, decided_by="sla", reasons=("response_overdue",), by="sla")
            decided += 1
        dispute_settle(pk, wait_seconds=wait_seconds)
    for pk in (
        overdue.filter(status=DisputeStatus.UNDER_REVIEW)
        .order_by("due_by", "pk")
        .values_list("pk", flat=True)
    ):
        with transaction.atomic():
            dispute = dispute_lock(pk)
            if (
                dispute.status != DisputeStatus.UNDER_REVIEW
                or dispute.due_by is None
                or dispute.due_by > now
            ):
                continue
            escalate_locked(dispute, by="sla", reasons=("review_overdue",))
            escalated += 1
    unrefunded = Dispute.objects.filter(status=DisputeStatus.WON_BY_READER).filter(
        Q(refund__isnull=True) | Q(refund__status__in=(TxState.FAILED, TxState.QUEUED))
    )
    for pk in unrefunded.order_by("pk").values_list("pk", flat=True):
        dispute_settle(pk, wait_seconds=wait_seconds)
        retried += 1
    return SlaOutcome(decided=decided, escalated=escalated, refunds_retried=retried)
