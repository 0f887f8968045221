"""The publisher's answer: accept (the reader is refunded now) or contest with a statement
(the dispute goes to the admin queue, tier 2)."""

from __future__ import annotations

from django.db import transaction

from channels_app import clock
from disputes.exceptions import DisputeConflict, DisputeInvalid, DisputeNotFound
from disputes.models import MAX_STATEMENT_CHARS, Dispute, DisputeEvent, DisputeStatus, Side
from disputes.services.core import decide, dispute_lock, review_due, route
from disputes.services.money import dispute_settle
from paywall.models import Publisher

__all__ = ["dispute_respond"]


def dispute_respond(
    *, publisher: Publisher, dispute_id: int, accept: bool, statement: str = ""
) -> Dispute:
    """Answer a dispute on one of `publisher`'s unlocks.

    - accept: decided for the reader (`decided_by` publisher) and refunded; allowed while the
      dispute is open.
    - contest: only while it awaits the publisher (`needs_response`); needs a statement
      (at most 5,000 characters), kept with the dispute.

    Raises DisputeNotFound (not this publisher's: 404), DisputeConflict
    (`dispute_decided`, `dispute_not_awaiting_response`: 409), DisputeInvalid (400).
    """
    if not isinstance(statement, str) or len(statement) > MAX_STATEMENT_CHARS:
        raise DisputeInvalid(
            f"statement may be at most {MAX_STATEMENT_CHARS} characters.", code="statement_too_long"
        )
    if not accept and not statement.strip():
        raise DisputeInvalid("Contesting a dispute needs a statement.", code="statement_required")
    by = f"publisher:{publisher.key}"
    with transaction.atomic():
        dispute = dispute_lock(dispute_id)
        if dispute.publisher_id != publisher.pk:
            raise DisputeNotFound()
        if not dispute.is_open:
            raise DisputeConflict("The dispute is already decided.", code="dispute_decided")
        if statement:
            dispute.publisher_statement = statement
        if accept:
            decide(
                dispute,
                Side.READER,
                decided_by="publisher",
                reasons=("publisher_accepted",),
                by=by,
                statement_chars=len(statement),
            )
        else:
            if dispute.status != DisputeStatus.NEEDS_RESPONSE:
                raise DisputeConflict(
                    "The dispute is not waiting for the publisher's response.",
                    code="dispute_not_awaiting_response",
                )
            route(
                dispute,
                DisputeStatus.UNDER_REVIEW,
                tier=2,
                due_by=review_due(clock.now()),
                reasons=("publisher_contested",),
                by=by,
                action=DisputeEvent.Action.RESPONDED,
                statement_chars=len(statement),
            )
    return dispute_settle(dispute.pk)
