"""The monthly dispute report (`manage.py disputes_report --period YYYY-MM`, the report task,
and the admin's report page).

Over the disputes filed in the period (a cohort: later decisions of those disputes count):
outcome rates by class, by tier, by publisher and by new vs returning reader (a reader's first
dispute ever is "new"); the share decided automatically; the median time from filing to the
first decision; the appeal overturn rate; and the cost of review (reviewer minutes x
DROPGATE_DISPUTE_REVIEW_COST_DROPS_PER_MINUTE) against the amount disputed. Rates are
fractions rounded to 4 places; money is integer drops.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Min

from channels_app import clock
from disputes.exceptions import DisputeInvalid
from disputes.models import Appeal, Dispute, DisputeEvent, DisputeReport, DisputeStatus

__all__ = ["disputes_report", "disputes_report_store", "period_bounds", "previous_period"]

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of the month `period` (YYYY-MM), UTC. DisputeInvalid if malformed."""
    match = _PERIOD.match(period or "")
    if match is None:
        raise DisputeInvalid("period must be YYYY-MM.", code="invalid_period")
    year, month = int(match.group(1)), int(match.group(2))
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def previous_period(now: datetime | None = None) -> str:
    now = now or clock.now()
    year, month = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
    return f"{year:04d}-{month:02d}"


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _outcomes(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, dict[str, int]] = defaultdict(
        lambda: {"disputes": 0, "won_by_reader": 0, "won_by_publisher": 0, "open": 0}
    )
    for row in rows:
        group = groups[str(row[key])]
        group["disputes"] += 1
        if row["status"] == DisputeStatus.WON_BY_READER:
            group["won_by_reader"] += 1
        elif row["status"] == DisputeStatus.WON_BY_PUBLISHER:
            group["won_by_publisher"] += 1
        else:
            group["open"] += 1
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(groups):
        group = groups[name]
        decided = group["won_by_reader"] + group["won_by_publisher"]
        out[name] = {
            **group,
            "reader_rate": _rate(group["won_by_reader"], decided),
            "publisher_rate": _rate(group["won_by_publisher"], decided),
        }
    return out


def disputes_report(*, period: str) -> dict[str, Any]:
    """The report of the disputes filed in `period` (YYYY-MM)."""
    start, end = period_bounds(period)
    cohort = Dispute.objects.filter(filed_at__gte=start, filed_at__lt=end)
    rows: list[dict[str, Any]] = [
        dict(row)
        for row in cohort.values(
            "pk",
            "dispute_class",
            "tier",
            "publisher__key",
            "reader_id",
            "status",
            "decided_by",
            "filed_at",
            "amount_drops",
            "review_minutes",
        )
    ]
    firsts = dict(
        Dispute.objects.filter(reader_id__in={r["reader_id"] for r in rows})
        .values("reader_id")
        .annotate(first=Min("pk"))
        .values_list("reader_id", "first")
    )
    first_decisions: dict[int, datetime] = {}
    for dispute_id, at in (
        DisputeEvent.objects.filter(dispute__in=cohort, action=DisputeEvent.Action.DECIDED)
        .order_by("at", "pk")
        .values_list("dispute_id", "at")
    ):
        first_decisions.setdefault(dispute_id, at)
    for row in rows:
        row["reader"] = "new" if firsts.get(row["reader_id"]) == row["pk"] else "returning"
        row["tier"] = str(row["tier"])
    decided = [
        r
        for r in rows
        if r["status"] in (DisputeStatus.WON_BY_READER, DisputeStatus.WON_BY_PUBLISHER)
    ]
    automatic = [r for r in decided if r["decided_by"] == "auto"]
    waits = [
        (first_decisions[r["pk"]] - r["filed_at"]).total_seconds()
        for r in rows
        if r["pk"] in first_decisions
    ]
    appeals = Appeal.objects.filter(dispute__in=cohort)
    appeals_decided = appeals.filter(decided_at__isnull=False)
    overturned = appeals_decided.filter(overturned=True).count()
    minutes = sum(r["review_minutes"] for r in rows)
    rate = int(settings.DROPGATE_DISPUTE_REVIEW_COST_DROPS_PER_MINUTE)
    amount = sum(r["amount_drops"] for r in rows)
    count = len(rows)
    return {
        "period": period,
        "disputes": count,
        "decided": len(decided),
        "open": count - len(decided),
        "outcomes": {
            "by_class": _outcomes(rows, "dispute_class"),
            "by_tier": _outcomes(rows, "tier"),
            "by_publisher": _outcomes(rows, "publisher__key"),
            "by_reader": _outcomes(rows, "reader"),
        },
        "decided_automatically": {
            "count": len(automatic),
            "share": _rate(len(automatic), len(decided)),
        },
        "median_seconds_to_decision": round(statistics.median(waits), 3) if waits else None,
        "appeals": {
            "filed": appeals.count(),
            "decided": appeals_decided.count(),
            "overturned": overturned,
            "overturn_rate": _rate(overturned, appeals_decided.count()),
        },
        "cost": {
            "review_minutes": minutes,
            "rate_drops_per_minute": rate,
            "total_drops": minutes * rate,
            "per_dispute_drops": (minutes * rate) // count if count else 0,
            "amount_disputed_drops": amount,
            "amount_per_dispute_drops": amount // count if count else 0,
            "cost_to_amount": _rate(minutes * rate, amount),
        },
    }


@transaction.atomic
def disputes_report_store(*, period: str) -> DisputeReport:
    """Compute `period`'s report and keep it (replacing an earlier computation)."""
    data = disputes_report(period=period)
    report, _ = DisputeReport.objects.update_or_create(
        period=period, defaults={"data": data, "computed_at": clock.now()}
    )
    return report
