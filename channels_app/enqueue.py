"""Queue a Celery task once the surrounding transaction commits, without failing its caller.

By then the work is durable (a claim, a close request): a broker that cannot be reached must
not turn that into an error for the request that committed it. The periodic sweeps
(`settle_due_channels`, `watchtower_scan`) find the work again, so nothing is lost; the
failure is logged with the task's name only.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """`task.apply_async(args, kwargs)` after the commit (at once outside a transaction)."""

    def send() -> None:
        try:
            task.apply_async(args=args, kwargs=kwargs)
        except Exception as exc:  # the broker is down or unreachable: kombu, redis, socket errors
            logger.warning(
                "could not queue %s (%s): the periodic sweep will pick the work up",
                task.name,
                type(exc).__name__,
            )

    transaction.on_commit(send)
