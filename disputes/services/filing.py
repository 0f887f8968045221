"""Filing a dispute, and tier 1: decided at once when the rules agree, else routed.

A content dispute tier 1 cannot decide goes to the publisher first (`needs_response`, due in
DROPGATE_DISPUTE_RESPONSE_DAYS); any other goes to the admin queue (`under_review`, tier 2,
due in DROPGATE_DISPUTE_REVIEW_DAYS). Either way the disputed amount is held from payouts
until it is decided.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from channels_app import clock
from disputes.evidence import evidence_collect, evidence_link, policy_current
from disputes.exceptions import DisputeExists, DisputeInvalid, DisputeWindowClosed, UnlockNotFound
from disputes.models import (
    MAX_MESSAGE_CHARS,
    OPEN_STATUSES,
    REASON_CLASS,
    Dispute,
    DisputeClass,
    DisputeEvent,
    DisputeReason,
    DisputeStatus,
)
from disputes.resolvers.consensus import resolve
from disputes.services.core import decide, event, response_due, review_due, route
from disputes.services.money import dispute_settle
from disputes.types import Consensus
from paywall.models import Reader, Unlock

__all__ = ["dispute_apply_tier1", "dispute_file", "reader_unlock_find"]


def reader_unlock_find(*, reader: Reader, unlock: int | str, lock: bool = False) -> Unlock:
    """The reader's own unlock, by id (an integer) or by its article's slug (a string);
    with `lock`, its row locked (inside a transaction).

    UnlockNotFound for anything else, another reader's unlock included: nothing tells a
    reader whether someone else's unlock exists.
    """
    queryset = Unlock.objects.select_related("reader", "article__publisher").filter(reader=reader)
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    if isinstance(unlock, bool):
        raise UnlockNotFound()
    if isinstance(unlock, int):
        found = queryset.filter(pk=unlock).first()
    elif isinstance(unlock, str) and unlock:
        found = queryset.filter(article__slug=unlock).first()
    else:
        found = None
    if found is None:
        raise UnlockNotFound()
    return found


def _votes(consensus: Consensus) -> list[dict[str, object]]:
    return [
        {"resolver": v.resolver, "vote": v.side, "reasons": list(v.reasons)}
        for v in consensus.votes
    ]


def dispute_apply_tier1(dispute: Dispute, consensus: Consensus) -> None:
    """Decide or route a freshly filed dispute by `consensus`.

    Precondition: inside the filing transaction, the dispute just created (under_review, tier 1).
    """
    details: dict[str, Any] = {
        "votes": _votes(consensus),
        "repeat_filer": consensus.standing.repeat_filer,
        "first_dispute": consensus.standing.first_dispute,
    }
    if consensus.winner is not None:
        decide(
            dispute,
            consensus.winner,
            decided_by="auto",
            reasons=consensus.reasons,
            by="auto",
            new=True,
            **details,
        )
        return
    now = dispute.filed_at
    if dispute.dispute_class == DisputeClass.CONTENT:
        route(
            dispute,
            DisputeStatus.NEEDS_RESPONSE,
            tier=1,
            due_by=response_due(now),
            reasons=consensus.reasons,
            by="auto",
            **details,
        )
    else:
        route(
            dispute,
            DisputeStatus.UNDER_REVIEW,
            tier=2,
            due_by=review_due(now),
            reasons=consensus.reasons,
            by="auto",
            **details,
        )


def dispute_file(*, reader: Reader, unlock: int | str, reason: str, message: str = "") -> Dispute:
    """The reader contests the charge of one of its unlocks; tier 1 runs at once.

    Raises DisputeInvalid (unknown reason, message over 2,000 characters), UnlockNotFound
    (not this reader's unlock: 404), DisputeExists (an open dispute on the unlock, or one the
    reader already won: 409), DisputeWindowClosed (older than DROPGATE_DISPUTE_WINDOW_DAYS:
    422). Each refusal changes nothing. A reader win is refunded before this returns when
    the refund can be made now (else the SLA sweep retries it).
    """
    if reason not in DisputeReason.values:
        raise DisputeInvalid(
            f"reason must be one of: {', '.join(DisputeReason.values)}.", code="invalid_reason"
        )
    if not isinstance(message, str) or len(message) > MAX_MESSAGE_CHARS:
        raise DisputeInvalid(
            f"message may be at most {MAX_MESSAGE_CHARS} characters.", code="message_too_long"
        )
    now = clock.now()
    window = timedelta(days=int(settings.DROPGATE_DISPUTE_WINDOW_DAYS))
    try:
        with transaction.atomic():
            # The unlock's row lock serialises filings on one unlock (SQLite's IMMEDIATE
            # transactions serialise them anyway).
            found = reader_unlock_find(reader=reader, unlock=unlock, lock=True)
            if now - found.created_at > window:
                raise DisputeWindowClosed(
                    f"Unlocks can be disputed for {settings.DROPGATE_DISPUTE_WINDOW_DAYS} days."
                )
            blocking = Dispute.objects.filter(unlock=found).filter(
                Q(status__in=OPEN_STATUSES) | Q(status=DisputeStatus.WON_BY_READER)
            )
            if blocking.exists():
                raise DisputeExists()
            dispute = Dispute.objects.create(
                unlock=found,
                reader=reader,
                publisher=found.article.publisher,
                reason=reason,
                dispute_class=REASON_CLASS[reason],
                message=message,
                amount_drops=found.amount_drops,
                status=DisputeStatus.UNDER_REVIEW,
                tier=1,
                filed_at=now,
                updated_at=now,
            )
            links = evidence_link(dispute)
            event(
                dispute,
                DisputeEvent.Action.FILED,
                by=f"reader:{reader.public_id}",
                reason=reason,
                to_status=DisputeStatus.UNDER_REVIEW,
                unlock=found.pk,
                message_chars=len(message),
            )
            consensus = resolve(
                evidence_collect(dispute, links=links, unlock=found), policy_current()
            )
            dispute_apply_tier1(dispute, consensus)
    except IntegrityError as exc:
        # Another filing on the same unlock committed first (the one-open-dispute constraint).
        raise DisputeExists() from exc
    return dispute_settle(dispute.pk, dispute=dispute)
