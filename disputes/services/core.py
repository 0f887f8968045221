"""What every dispute service shares: who acts, the locked row, status changes with their
append-only events, the payout hold on an open dispute, and the deadlines.

Preconditions of everything here: inside `transaction.atomic()`, holding the dispute's row
lock (`dispute_lock`). Lock order: the dispute row, then channels_app's payouts lock (taken
inside hold_place / hold_release).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from channels_app import clock
from channels_app.exceptions import Conflict
from channels_app.payouts.services.holds import hold_place, hold_release
from disputes.exceptions import DisputeNotFound
from disputes.models import Appeal, Dispute, DisputeEvent, DisputeStatus, Side

__all__ = [
    "actor",
    "decide",
    "dispute_lock",
    "event",
    "response_due",
    "review_due",
    "route",
]


def actor(by: Any) -> tuple[Any, str]:
    """(user or None, label) of whoever acts: a user, or a label such as `auto`, `sla`,
    `reader:rdr_…`, `publisher:pub_…`."""
    if by is None:
        return None, "system"
    if isinstance(by, str):
        return None, by[:80] or "system"
    return by, f"reviewer:{by.get_username()}"[:80]


def event(
    dispute: Dispute,
    action: str,
    *,
    by: Any,
    reason: str = "",
    from_status: str = "",
    to_status: str = "",
    **details: Any,
) -> DisputeEvent:
    user, label = actor(by)
    return DisputeEvent.objects.create(
        dispute=dispute,
        at=clock.now(),
        actor=user,
        actor_label=label,
        action=action,
        from_status=from_status,
        to_status=to_status,
        reason=reason[:255],
        details=details,
    )


def dispute_lock(dispute_id: int) -> Dispute:
    """Lock and return the dispute; DisputeNotFound if there is none."""
    dispute = (
        Dispute.objects.select_for_update(of=("self",))
        .select_related("unlock", "reader", "publisher")
        .filter(pk=dispute_id)
        .first()
    )
    if dispute is None:
        raise DisputeNotFound()
    return dispute


def response_due(now: datetime) -> datetime:
    return now + timedelta(days=int(settings.DROPGATE_DISPUTE_RESPONSE_DAYS))


def review_due(now: datetime) -> datetime:
    return now + timedelta(days=int(settings.DROPGATE_DISPUTE_REVIEW_DAYS))


def _hold(dispute: Dispute, *, by: Any) -> None:
    """Keep the disputed amount from the publisher's payouts while the dispute is open, unless
    the publisher already bears it (a refund made, an appeal by the publisher pending)."""
    if dispute.hold_id is not None or dispute.publisher_charged_drops:
        return
    user, _label = actor(by)
    dispute.hold = hold_place(
        publisher_ref=dispute.publisher.key,
        amount_drops=dispute.amount_drops,
        reason=f"dispute {dispute.pk}: {dispute.reason}",
        by=user,
    )


def _unhold(dispute: Dispute, *, by: Any, note: str) -> None:
    if dispute.hold_id is None:
        return
    user, _label = actor(by)
    try:
        hold_release(hold_id=dispute.hold_id, by=user, note=note[:255])
    except Conflict:
        pass  # released from the payouts admin already
    dispute.hold = None


def route(
    dispute: Dispute,
    status: str,
    *,
    tier: int,
    due_by: datetime | None,
    reasons: tuple[str, ...] | list[str],
    by: Any,
    action: str = DisputeEvent.Action.ROUTED,
    reason: str = "",
    **details: Any,
) -> DisputeEvent:
    """Move an undecided dispute (or an appealed decision) to `status` with a new deadline."""
    previous = dispute.status
    now = clock.now()
    dispute.status = status
    dispute.tier = max(dispute.tier, tier)
    dispute.due_by = due_by
    dispute.reasons = list(reasons)
    dispute.decided_at = None
    dispute.decided_by = ""
    dispute.decided_by_user = None
    dispute.updated_at = now
    _hold(dispute, by=by)
    dispute.save()
    return event(
        dispute,
        action,
        by=by,
        reason=reason or ",".join(reasons),
        from_status=previous,
        to_status=status,
        due_by=due_by.isoformat() if due_by else None,
        tier=dispute.tier,
        **details,
    )


def decide(
    dispute: Dispute,
    winner: str,
    *,
    decided_by: str,
    reasons: tuple[str, ...] | list[str],
    by: Any,
    note: str = "",
    new: bool = False,
    **details: Any,
) -> DisputeEvent:
    """Decide `dispute` for `winner` ("reader" or "publisher"); closes a pending appeal
    (`new`: the dispute was filed in this transaction, so it has none).

    Money follows after the transaction commits (`dispute_settle`): a refund when the reader
    wins, the publisher made whole when an appeal overturns a refunded decision.
    """
    previous = dispute.status
    status = (
        DisputeStatus.WON_BY_READER if winner == Side.READER else DisputeStatus.WON_BY_PUBLISHER
    )
    user, _label = actor(by)
    now = clock.now()
    dispute.status = status
    dispute.decided_at = now
    dispute.decided_by = decided_by[:80]
    dispute.decided_by_user = user
    dispute.due_by = None
    dispute.reasons = list(reasons)
    dispute.updated_at = now
    _unhold(dispute, by=by, note=f"dispute {dispute.pk} decided: {status}")
    dispute.save()
    appeal = (
        None if new else Appeal.objects.filter(dispute=dispute, decided_at__isnull=True).first()
    )
    if appeal is not None:
        appeal.decided_at = now
        appeal.outcome_status = status
        appeal.overturned = status != appeal.appealed_status
        appeal.save(update_fields=["decided_at", "outcome_status", "overturned"])
        details["appeal"] = {"side": appeal.side, "overturned": appeal.overturned}
    return event(
        dispute,
        DisputeEvent.Action.DECIDED,
        by=by,
        reason=note or ",".join(reasons),
        from_status=previous,
        to_status=status,
        decided_by=dispute.decided_by,
        reasons=list(reasons),
        tier=dispute.tier,
        **details,
    )
