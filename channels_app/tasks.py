"""Celery tasks: thin doors over the settlement and watchtower services.

Tasks take ids, re-fetch, are idempotent, ack late, and retry only transient ledger outages.
A channel that fails its integrity check is refused, not retried: the service has alerted,
and only `manage.py recover_channels` makes it usable again.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from channels_app.enqueue import enqueue, release_once
from channels_app.exceptions import TRANSIENT_OUTAGES
from channels_app.selectors import channels_due_for_settlement, channels_with_failed_settlement
from channels_app.services.integrity import StateIntegrityError, integrity_alert_record
from channels_app.services.settlement import settlement_run
from channels_app.services.watchtower import watchtower_resolve_in_flight
from channels_app.services.watchtower import watchtower_scan as run_watchtower_scan
from channels_app.services.watchtower import watchtower_status as read_watchtower_status

logger = logging.getLogger(__name__)

_RETRY: dict[str, Any] = {
    "autoretry_for": TRANSIENT_OUTAGES,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 20,
    "acks_late": True,
}


def settle_once_key(channel_pk: int, close: bool = False) -> str:
    """At most one settlement of a channel waits in the queue (a close is queued apart)."""
    return f"dropgate:settle-queued:{channel_pk}:{int(close)}"


def settle_channel_queue(channel_pk: int, reason: str, close: bool = False) -> bool:
    """Queue `settle_channel` unless one for this channel already waits; False if not queued."""
    return enqueue(
        settle_channel, channel_pk, reason, close, once_key=settle_once_key(channel_pk, close)
    )


@shared_task(name="channels_app.tasks.settle_channel", **_RETRY)
def settle_channel(channel_pk: int, reason: str, close: bool = False) -> dict[str, object]:
    # The queued mark is held while this runs and retries (a retry redeems the highest claim
    # there is by then), and released when it is done: the next claim past the threshold, or
    # the next scan or sweep, queues the next settlement.
    try:
        outcome = settlement_run(channel_pk=channel_pk, reason=reason, close=close)
    except StateIntegrityError as error:
        integrity_alert_record(error)
        release_once(settle_once_key(channel_pk, close))
        return {"channel": error.channel_id, "state": "refused", "error": error.code}
    release_once(settle_once_key(channel_pk, close))
    return {"channel": outcome.channel_id, "state": outcome.state, "tx": outcome.tx_hash}


@shared_task(name="channels_app.tasks.settle_due_channels", **_RETRY)
def settle_due_channels() -> int:
    watchtower_resolve_in_flight()
    pks = list(channels_due_for_settlement().values_list("pk", flat=True))
    for pk in pks:
        settle_channel_queue(pk, "threshold")
    # A settlement that failed (a sequence taken by another transaction, a ledger outage past
    # its LastLedgerSequence) is tried again here rather than left until the next threshold.
    retries = [(pk, close) for pk, close in channels_with_failed_settlement() if pk not in pks]
    for pk, close in retries:
        settle_channel_queue(pk, "retry", close)
    return len(pks) + len(retries)


@shared_task(name="channels_app.tasks.watchtower_scan", **_RETRY)
def watchtower_scan() -> int:
    decisions = run_watchtower_scan()
    for decision in decisions:
        if decision.action == "settle":
            settle_channel_queue(decision.channel_pk, decision.reason)
        elif decision.action == "settle_and_close":
            settle_channel_queue(decision.channel_pk, decision.reason, True)
    return len(decisions)


@shared_task(name="channels_app.tasks.watchtower_health", acks_late=True)
def watchtower_health() -> dict[str, object]:
    """Log the watchtower's health (an error when unhealthy), for schedules and log alerting."""
    status = read_watchtower_status()
    if status["healthy"]:
        logger.info("watchtower healthy: %s channel(s) watched", status["channels_watched"])
    else:
        logger.error("watchtower UNHEALTHY: %s", status["problems"])
    return status
