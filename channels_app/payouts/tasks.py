"""Celery tasks of payouts that need nothing from outside channels_app: the hot float sweep
and the resolve pass. (The batch itself needs publishers' addresses: paywall.tasks.)"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from channels_app.exceptions import TRANSIENT_OUTAGES
from channels_app.payouts.services.approvers import signer_list_changes_resolve
from channels_app.payouts.services.payouts import payouts_dispatch, payouts_resolve
from channels_app.payouts.services.refunds import refunds_resolve
from channels_app.payouts.services.vault import hot_float_sweep, sweeps_resolve

_RETRY: dict[str, Any] = {
    "autoretry_for": TRANSIENT_OUTAGES,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 20,
    "acks_late": True,
}


@shared_task(name="channels_app.payouts.tasks.sweep_hot_float", **_RETRY)
def sweep_hot_float() -> dict[str, object]:
    outcome = hot_float_sweep()
    return {
        "state": outcome.state,
        "amount_drops": str(outcome.amount_drops),
        "tx": outcome.tx_hash,
    }


@shared_task(name="channels_app.payouts.tasks.resolve_payouts", **_RETRY)
def resolve_payouts() -> int:
    """Finish what a crash or restart left in flight, and move queued payouts on."""
    count = payouts_resolve() + refunds_resolve()
    sweeps_resolve()
    # A vault SignerList change at its quorum, submitted, or expired (offline approvers).
    signer_list_changes_resolve()
    payouts_dispatch(wait_seconds=0)
    return count
