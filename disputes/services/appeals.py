"""Appeals: either side may appeal a decision once, within DROPGATE_DISPUTE_APPEAL_DAYS of it.

An appeal reopens the dispute in the admin queue (tier 2, due in DROPGATE_DISPUTE_REVIEW_DAYS)
for a reviewer other than the one who decided it. A second appeal by the same side, an appeal
of an undecided dispute or by the side that won is refused with 409; a late one with 422.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction

from channels_app import clock
from disputes.exceptions import AppealRefused, DisputeInvalid, DisputeNotFound
from disputes.models import MAX_MESSAGE_CHARS, Appeal, Dispute, DisputeEvent, DisputeStatus, Side
from disputes.services.core import dispute_lock, review_due, route
from paywall.models import Publisher, Reader

__all__ = ["dispute_appeal"]


def dispute_appeal(
    *,
    dispute_id: int,
    side: str,
    message: str = "",
    reader: Reader | None = None,
    publisher: Publisher | None = None,
) -> Dispute:
    """`side` appeals the dispute's decision. With `reader` or `publisher` given (the API),
    the dispute must be theirs and `side` must be theirs (DisputeNotFound otherwise).

    Raises AppealRefused: `appeal_exists`, `dispute_not_decided`, `appeal_not_needed` (409),
    `appeal_window_closed` (422); DisputeInvalid.
    """
    if side not in Side.values:
        raise DisputeInvalid("side must be 'reader' or 'publisher'.", code="invalid_side")
    if not isinstance(message, str) or len(message) > MAX_MESSAGE_CHARS:
        raise DisputeInvalid(
            f"message may be at most {MAX_MESSAGE_CHARS} characters.", code="message_too_long"
        )
    now = clock.now()
    with transaction.atomic():
        dispute = dispute_lock(dispute_id)
        if reader is not None and (dispute.reader_id != reader.pk or side != Side.READER):
            raise DisputeNotFound()
        if publisher is not None and (
            dispute.publisher_id != publisher.pk or side != Side.PUBLISHER
        ):
            raise DisputeNotFound()
        if Appeal.objects.filter(dispute=dispute, side=side).exists():
            raise AppealRefused(
                "This side has already appealed this dispute.", code="appeal_exists"
            )
        if dispute.is_open:
            raise AppealRefused("The dispute is not decided yet.", code="dispute_not_decided")
        if dispute.winner == side:
            raise AppealRefused("This side won the dispute.", code="appeal_not_needed")
        window = timedelta(days=int(settings.DROPGATE_DISPUTE_APPEAL_DAYS))
        if dispute.decided_at is None or now - dispute.decided_at > window:
            error = AppealRefused(
                f"Decisions can be appealed for {settings.DROPGATE_DISPUTE_APPEAL_DAYS} days.",
                code="appeal_window_closed",
            )
            error.http_status = 422
            raise error
        label = (
            f"reader:{dispute.reader.public_id}"
            if side == Side.READER
            else f"publisher:{dispute.publisher.key}"
        )
        try:
            with transaction.atomic():
                Appeal.objects.create(
                    dispute=dispute,
                    side=side,
                    filed_at=now,
                    message=message,
                    appealed_status=dispute.status,
                    appealed_decided_by=dispute.decided_by,
                    excluded_reviewer=dispute.decided_by_user,
                )
        except IntegrityError as exc:
            raise AppealRefused(
                "This side has already appealed this dispute.", code="appeal_exists"
            ) from exc
        route(
            dispute,
            DisputeStatus.UNDER_REVIEW,
            tier=2,
            due_by=review_due(now),
            reasons=(f"appeal_by_{side}",),
            by=label,
            action=DisputeEvent.Action.APPEALED,
            appealed_decision=dispute.decided_by,
            message_chars=len(message),
        )
    return dispute
