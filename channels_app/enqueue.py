"""Queue Celery tasks without failing the caller, and without piling up duplicates.

- After a commit the work is durable (a claim, a close request): a broker that cannot be
  reached must not turn that into an error for the request that committed it. The periodic
  sweeps (`settle_due_channels`, `watchtower_scan`) find the work again, so nothing is lost;
  the failure is logged with the task's name only.
- `once_key`: at most one such task waits in the queue. Every claim past the threshold, every
  watchtower scan and every sweep would otherwise queue another settlement of the same channel;
  behind an outage or a slow worker those piled up by the hundred and delayed the settlements
  that mattered. The task releases the key when it is done (`release_once`; retries keep it),
  and it expires on its own should the queued task be lost. A cache that cannot be reached
  queues anyway.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

ONCE_TTL_SECONDS = 120


def enqueue(task: Any, *args: Any, once_key: str = "", **kwargs: Any) -> bool:
    """`task.apply_async(args, kwargs)` now; False if it was already queued or not queued."""
    if once_key:
        try:
            if not cache.add(once_key, 1, timeout=ONCE_TTL_SECONDS):
                return False
        except Exception as exc:  # the cache is down: a duplicate is harmless, a loss is not
            logger.warning("enqueue: no dedupe for %s (%s)", task.name, type(exc).__name__)
    try:
        task.apply_async(args=args, kwargs=kwargs)
    except Exception as exc:  # the broker is down or unreachable: kombu, redis, socket errors
        logger.warning(
            "could not queue %s (%s): the periodic sweep will pick the work up",
            task.name,
            type(exc).__name__,
        )
        release_once(once_key)
        return False
    return True


def enqueue_on_commit(task: Any, *args: Any, once_key: str = "", **kwargs: Any) -> None:
    """`enqueue(...)` after the commit (at once outside a transaction)."""
    transaction.on_commit(lambda: enqueue(task, *args, once_key=once_key, **kwargs))


def release_once(once_key: str) -> None:
    """The queued task is done (or was never queued): the next one may be queued."""
    if not once_key:
        return
    try:
        cache.delete(once_key)
    except Exception as exc:  # expires on its own
        logger.warning("enqueue: could not release a dedupe key (%s)", type(exc).__name__)
