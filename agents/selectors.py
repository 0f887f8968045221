"""Reads of the agents app: agent revenue, reported apart from readers'."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Sum

from agents.models import AgentPayment
from paywall.models import Publisher


def agent_revenue(*, publisher: Publisher) -> dict[str, Any]:
    """Paid agent sales of `publisher`: totals, by scheme and by operator (drops as strings)."""
    paid = AgentPayment.objects.filter(publisher=publisher, status=AgentPayment.Status.PAID)
    totals = paid.aggregate(count=Count("pk"), gross=Sum("amount_drops"), fee=Sum("fee_drops"))

    def rows(field: str) -> list[dict[str, Any]]:
        grouped = (
            paid.values(field)
            .annotate(count=Count("pk"), gross=Sum("amount_drops"), fee=Sum("fee_drops"))
            .order_by(field)
        )
        return [
            {
                "key": row[field] or "anonymous",
                "count": row["count"],
                "gross_drops": str(row["gross"] or 0),
                "fee_drops": str(row["fee"] or 0),
            }
            for row in grouped
        ]

    return {
        "publisher": publisher.key,
        "count": totals["count"] or 0,
        "gross_drops": str(totals["gross"] or 0),
        "fee_drops": str(totals["fee"] or 0),
        "net_drops": str((totals["gross"] or 0) - (totals["fee"] or 0)),
        "by_scheme": rows("scheme"),
        "by_operator": rows("operator__name"),
    }
