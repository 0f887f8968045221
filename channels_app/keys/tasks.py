"""Celery tasks of key management: thin doors over channels_app.keys.services.

Loaded through CELERY_IMPORTS (autodiscovery only finds `<app>.tasks`).
"""

from __future__ import annotations

from celery import shared_task

from channels_app.exceptions import LedgerUnavailable
from channels_app.keys.exceptions import KeystoreUnavailable
from channels_app.keys.services import keys_rotate_due as rotate_due


@shared_task(
    name="channels_app.keys.tasks.keys_rotate_due",
    autoretry_for=(LedgerUnavailable, KeystoreUnavailable),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=10,
    acks_late=True,
)
def keys_rotate_due() -> list[str]:
    """Rotate every key past its maximum age. Idempotent: a key just rotated is young."""
    return [f"{outcome.purpose}:{outcome.new_key_id}" for outcome in rotate_due(actor="scheduler")]
