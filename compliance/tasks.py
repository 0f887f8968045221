"""Celery tasks of compliance: thin doors on django-celery-beat schedules (paywall/settings.py).
Idempotent: a scan that finds nothing new changes nothing; a quarter's return is made once."""

from __future__ import annotations

from celery import shared_task

from compliance.services.monitoring import monitoring_scan as _monitoring_scan
from compliance.services.reports import tax_report_generate
from compliance.services.reports import tax_reports_due as _tax_reports_due


@shared_task(name="compliance.tasks.monitoring_scan", acks_late=True)
def monitoring_scan() -> dict[str, object]:
    outcome = _monitoring_scan()
    return {"hits": outcome.hits, "opened": outcome.opened}


@shared_task(name="compliance.tasks.tax_reports_due", acks_late=True)
def tax_reports_due() -> list[str]:
    return [f"{report.scheme} {report.period}" for report in _tax_reports_due()]


@shared_task(name="compliance.tasks.tax_report", acks_late=True)
def tax_report(scheme: str, period: str, actor: str = "task") -> int:
    return tax_report_generate(scheme=scheme, period=period, actor=actor).pk
