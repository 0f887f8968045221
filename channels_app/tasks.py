"""Celery tasks: thin doors over the settlement and watchtower services.

Tasks take ids, re-fetch, are idempotent, ack late, and retry only transient ledger outages.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from channels_app.exceptions import LedgerUnavailable
from channels_app.selectors import channels_due_for_settlement
from channels_app.services.settlement import settlement_resolve_all, settlement_run
from channels_app.services.watchtower import watchtower_scan as run_watchtower_scan

logger = logging.getLogger(__name__)

_RETRY: dict[str, Any] = {
    "autoretry_for": (LedgerUnavailable,),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 20,
    "acks_late": True,
}


@shared_task(name="channels_app.tasks.settle_channel", **_RETRY)
def settle_channel(channel_pk: int, reason: str, close: bool = False) -> dict[str, object]:
    outcome = settlement_run(channel_pk=channel_pk, reason=reason, close=close)
    return {"channel": outcome.channel_id, "state": outcome.state, "tx": outcome.tx_hash}


@shared_task(name="channels_app.tasks.settle_due_channels", **_RETRY)
def settle_due_channels() -> int:
    settlement_resolve_all()
    pks = list(channels_due_for_settlement().values_list("pk", flat=True))
    for pk in pks:
        settle_channel.delay(pk, "threshold")
    return len(pks)


@shared_task(name="channels_app.tasks.watchtower_scan", **_RETRY)
def watchtower_scan() -> int:
    decisions = run_watchtower_scan()
    for decision in decisions:
        if decision.action == "settle":
            settle_channel.delay(decision.channel_pk, decision.reason)
        elif decision.action == "settle_and_close":
            settle_channel.delay(decision.channel_pk, decision.reason, True)
    return len(decisions)
