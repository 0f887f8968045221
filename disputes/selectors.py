"""Read queries of the disputes app. Nothing here writes."""

from __future__ import annotations

from django.db.models import Count, F, QuerySet

from disputes.exceptions import DisputeNotFound
from disputes.models import OPEN_STATUSES, Dispute
from paywall.models import Publisher, Reader

__all__ = [
    "admin_queue",
    "publisher_dispute_get",
    "publisher_disputes",
    "reader_dispute_get",
    "reader_disputes",
]


def _with_related(queryset: QuerySet[Dispute]) -> QuerySet[Dispute]:
    return queryset.select_related("unlock__article", "refund").annotate(
        appeal_count=Count("appeals")
    )


def reader_disputes(
    *, reader: Reader, limit: int = 50, before_id: int | None = None
) -> list[Dispute]:
    """The reader's disputes, newest first."""
    queryset = Dispute.objects.filter(reader=reader)
    if before_id is not None:
        queryset = queryset.filter(pk__lt=before_id)
    return list(_with_related(queryset).order_by("-pk")[:limit])


def publisher_disputes(
    *,
    publisher: Publisher,
    status: str | None = None,
    limit: int = 50,
    before_id: int | None = None,
) -> list[Dispute]:
    """The publisher's disputes, newest first; `status` filters (e.g. needs_response)."""
    queryset = Dispute.objects.filter(publisher=publisher).select_related("reader")
    if status:
        queryset = queryset.filter(status=status)
    if before_id is not None:
        queryset = queryset.filter(pk__lt=before_id)
    return list(_with_related(queryset).order_by("-pk")[:limit])


def admin_queue() -> QuerySet[Dispute]:
    """Open disputes, the nearest SLA deadline first (escalated ones, which wait for an
    outside arbitrator and have none, last)."""
    return Dispute.objects.filter(status__in=OPEN_STATUSES).order_by(
        F("due_by").asc(nulls_last=True), "filed_at", "pk"
    )


def reader_dispute_get(*, reader: Reader, dispute_id: int) -> Dispute:
    """One of the reader's disputes; DisputeNotFound for any other."""
    found = _with_related(Dispute.objects.filter(reader=reader, pk=dispute_id)).first()
    if found is None:
        raise DisputeNotFound()
    return found


def publisher_dispute_get(*, publisher: Publisher, dispute_id: int) -> Dispute:
    """One of the publisher's disputes; DisputeNotFound for any other."""
    found = _with_related(
        Dispute.objects.filter(publisher=publisher, pk=dispute_id).select_related("reader")
    ).first()
    if found is None:
        raise DisputeNotFound()
    return found
