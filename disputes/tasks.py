"""Celery tasks of the disputes app: thin doors over disputes.services (ids in, re-fetched)."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from disputes.services.money import dispute_settle
from disputes.services.reports import disputes_report_store, previous_period
from disputes.services.sla import disputes_sla_run


@shared_task(acks_late=True, ignore_result=True)
def disputes_sla_sweep() -> dict[str, int]:
    """Beat: apply passed deadlines (publisher answers, review), retry pending refunds."""
    outcome = disputes_sla_run()
    return {
        "decided": outcome.decided,
        "escalated": outcome.escalated,
        "refunds_retried": outcome.refunds_retried,
    }


@shared_task(acks_late=True, ignore_result=True)
def dispute_refund(dispute_id: int) -> None:
    """Make the money of one decided dispute match its decision (idempotent)."""
    dispute_settle(dispute_id)


@shared_task(acks_late=True, ignore_result=True)
def disputes_report_monthly(period: str | None = None) -> dict[str, Any]:
    """Beat (daily): recompute and keep the report of `period` (default: last month)."""
    report = disputes_report_store(period=period or previous_period())
    return {"period": report.period, "disputes": report.data.get("disputes", 0)}
