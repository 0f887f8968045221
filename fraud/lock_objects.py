"""Row locks of the fraud app, always taken in this order:

1. `detector_lock(name)` — one detector run at a time (farming, content, synthetic);
2. `case_open_lock()` — opening or finding the open case of a subject;
3. `case_lock(case_id)` — the case row;
4. then channels_app's `payouts_lock` (taken inside hold_place / hold_release).

Preconditions: inside `transaction.atomic()`. (SQLite serialises writers anyway: its
transactions are IMMEDIATE.)
"""

from __future__ import annotations

from fraud.models.cases import FraudCase, FraudLock


def detector_lock(name: str) -> None:
    """Serialise runs of one detector, so two runs never both open or extend the same case."""
    FraudLock.objects.select_for_update().get_or_create(name=f"detector:{name}"[:32])


def case_lock(case_id: int) -> FraudCase:
    """Lock and return the case (FraudCase.DoesNotExist if there is none)."""
    return FraudCase.objects.select_for_update().get(pk=case_id)


def case_open_lock() -> None:
    """Serialise opening cases, so two writers never both create the same open case."""
    FraudLock.objects.select_for_update().get_or_create(name="cases:open")
