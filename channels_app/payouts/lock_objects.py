"""Row locks of the payouts app, always taken in this order: `payouts_lock` first."""

from __future__ import annotations

from channels_app.payouts.models import PayoutLock

PAYOUTS = "payouts"


def payouts_lock() -> None:
    """Serialise everything that reserves or releases publisher money or hot float.

    Planning a batch, resolving a payout or refund, and issuing a refund all hold it, so a
    balance is never read between a payout's journal entry and its status change.
    Precondition: inside `transaction.atomic()`. (SQLite serialises writers anyway: its
    transactions are IMMEDIATE.)
    """
    PayoutLock.objects.select_for_update().get_or_create(name=PAYOUTS)
