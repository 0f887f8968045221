"""The admin queue's actions (tier 2 and 3): decide, escalate to an outside arbitrator, ask
the publisher. Staff call them through the admin; the rules live here."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from channels_app import clock
from disputes.exceptions import DisputeConflict, DisputeInvalid, ReviewerConflict
from disputes.models import Appeal, Dispute, DisputeEvent, DisputeStatus, Side
from disputes.services.bundles import bundle_export
from disputes.services.core import decide, dispute_lock, response_due, route
from disputes.services.money import dispute_settle

__all__ = ["dispute_ask_publisher", "dispute_decide", "dispute_escalate", "escalate_locked"]

MAX_REVIEW_MINUTES = 24 * 60


def dispute_decide(
    *,
    dispute_id: int,
    reviewer: Any,
    winner: str,
    note: str = "",
    minutes: int = 0,
) -> Dispute:
    """A reviewer decides an open dispute for `winner` ("reader" or "publisher").

    `minutes` is the review time spent (disputes_report's cost). An appeal goes to a reviewer
    other than the one who decided the appealed decision: ReviewerConflict (409) for them.
    Raises DisputeConflict (`dispute_decided`), DisputeInvalid.
    """
    if winner not in Side.values:
        raise DisputeInvalid("winner must be 'reader' or 'publisher'.", code="invalid_winner")
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not 0 <= minutes <= MAX_REVIEW_MINUTES
    ):
        raise DisputeInvalid(
            "minutes must be a whole number of review minutes.", code="invalid_minutes"
        )
    with transaction.atomic():
        dispute = dispute_lock(dispute_id)
        if not dispute.is_open:
            raise DisputeConflict("The dispute is already decided.", code="dispute_decided")
        appeal = Appeal.objects.filter(dispute=dispute, decided_at__isnull=True).first()
        if appeal is not None and appeal.excluded_reviewer_id == reviewer.pk:
            raise ReviewerConflict()
        dispute.review_minutes += minutes
        decide(
            dispute,
            winner,
            decided_by=f"reviewer:{reviewer.get_username()}",
            reasons=("reviewer_decision",),
            by=reviewer,
            note=note,
            minutes=minutes,
        )
    return dispute_settle(dispute.pk)


def escalate_locked(dispute: Dispute, *, by: Any, reasons: tuple[str, ...], note: str = "") -> None:
    """Escalate to tier 3 and export the signed evidence bundle.
    Precondition: the dispute row is locked and under review."""
    route(
        dispute,
        DisputeStatus.ESCALATED,
        tier=3,
        due_by=None,
        reasons=reasons,
        by=by,
        action=DisputeEvent.Action.ESCALATED,
        reason=note or ",".join(reasons),
    )
    bundle_export(dispute, by=by)


def dispute_escalate(*, dispute_id: int, by: Any, note: str = "") -> Dispute:
    """Send a dispute under review to an outside arbitrator (tier 3), with its signed
    evidence bundle. DisputeConflict (`dispute_not_under_review`) otherwise."""
    with transaction.atomic():
        dispute = dispute_lock(dispute_id)
        if dispute.status != DisputeStatus.UNDER_REVIEW:
            raise DisputeConflict(
                "Only a dispute under review can be escalated.", code="dispute_not_under_review"
            )
        escalate_locked(dispute, by=by, reasons=("reviewer_escalated",), note=note)
    return dispute


def dispute_ask_publisher(*, dispute_id: int, by: Any, note: str = "") -> Dispute:
    """Ask the publisher to answer a dispute under review (`needs_response`, due in
    DROPGATE_DISPUTE_RESPONSE_DAYS; no answer decides it for the reader).
    DisputeConflict (`dispute_not_under_review`) otherwise."""
    with transaction.atomic():
        dispute = dispute_lock(dispute_id)
        if dispute.status != DisputeStatus.UNDER_REVIEW:
            raise DisputeConflict(
                "Only a dispute under review can be sent to the publisher.",
                code="dispute_not_under_review",
            )
        route(
            dispute,
            DisputeStatus.NEEDS_RESPONSE,
            tier=dispute.tier,
            due_by=response_due(clock.now()),
            reasons=("publisher_asked",),
            by=by,
            reason=note or "publisher_asked",
        )
    return dispute
