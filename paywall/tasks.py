"""Celery tasks of the paywall app: thin doors that hand channels_app what only paywall knows.

Tasks take ids or nothing, re-fetch, are idempotent, ack late, and retry only transient
ledger outages.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from channels_app import clock
from channels_app.exceptions import TRANSIENT_OUTAGES
from channels_app.payouts.exceptions import PayoutsPaused
from channels_app.payouts.services.payouts import payout_batch_run
from paywall.models import Publisher

_RETRY: dict[str, Any] = {
    "autoretry_for": TRANSIENT_OUTAGES,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 20,
    "acks_late": True,
}


def payout_destinations() -> dict[str, str]:
    """Each publisher's payout address, by publisher key. Blank addresses are left out: their
    revenue stays owed (and visible in the balance API) until they set one."""
    return dict(Publisher.objects.exclude(payout_address="").values_list("key", "payout_address"))


@shared_task(name="paywall.tasks.run_payout_batch", **_RETRY)
def run_payout_batch(key: str | None = None) -> dict[str, object]:
    """Plan and pay one payout batch. The default key is the UTC date, so a re-delivered or
    re-run task the same day resumes that day's batch instead of planning another."""
    try:
        outcome = payout_batch_run(
            destinations=payout_destinations(), key=key or f"daily:{clock.now():%Y-%m-%d}"
        )
    except PayoutsPaused:
        return {"state": "paused"}
    return {
        "batch": outcome.key,
        "planned": outcome.planned,
        "validated": outcome.validated,
        "awaiting_approval": outcome.awaiting_approval,
        "pending": outcome.pending,
        "deferred": len(outcome.deferred),
    }
