"""Celery tasks of the fraud app: thin doors over the detectors.

The scans take nothing (they read their window from the app clock), are idempotent (a rerun
updates the same cases and holds only revenue not yet held) and ack late. They are scheduled
by django-celery-beat (CELERY_BEAT_SCHEDULE, settings block "Fraud: velocity limits,
detectors and cases").
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

from fraud.services.content import content_scan as run_content_scan
from fraud.services.content import synthetic_scan as run_synthetic_scan
from fraud.services.farming import farming_scan as run_farming_scan
from fraud.services.telemetry import telemetry_sessions_purge

# A locked SQLite database or a dropped connection is transient; nothing else is retried.
_RETRY: dict[str, Any] = {
    "autoretry_for": (OperationalError,),
    "retry_backoff": 2,
    "retry_backoff_max": 120,
    "retry_jitter": True,
    "max_retries": 5,
    "acks_late": True,
}


@shared_task(name="fraud.tasks.farming_scan", **_RETRY)
def farming_scan() -> dict[str, object]:
    report = run_farming_scan()
    return {"clusters": len(report.clusters), "cases": sorted(set(report.case_ids))}


@shared_task(name="fraud.tasks.content_scan", **_RETRY)
def content_scan() -> dict[str, object]:
    report = run_content_scan()
    return {
        "surges": len(report.surges),
        "confirmed": sum(1 for finding in report.surges if finding.confirmed),
        "cases": sorted(set(report.case_ids)),
    }


@shared_task(name="fraud.tasks.synthetic_scan", **_RETRY)
def synthetic_scan() -> dict[str, object]:
    return {"cases": sorted(set(run_synthetic_scan()))}


@shared_task(name="fraud.tasks.telemetry_purge", **_RETRY)
def telemetry_purge() -> dict[str, object]:
    return {"sessions_deleted": telemetry_sessions_purge()}
