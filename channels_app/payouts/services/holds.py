"""Payout holds: an admin keeps a publisher's matured revenue back (fraud review, disputes).

A hold is not a movement of value, so it is not journaled: it only lowers what the next
batch may pay (see `selectors.publisher_balances`). Payouts already in flight are not
recalled; a hold applies from the next plan on.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from channels_app import clock
from channels_app.exceptions import Conflict, NotFound
from channels_app.payouts.lock_objects import payouts_lock
from channels_app.payouts.models import PayoutHold


@transaction.atomic
def hold_place(
    *, publisher_ref: str, reason: str, amount_drops: int | None = None, by: Any = None
) -> PayoutHold:
    """Hold `amount_drops` of the publisher's matured revenue (None: all of it)."""
    if amount_drops is not None and amount_drops < 1:
        raise ValueError("a hold amount must be positive (or None for all)")
    if not reason.strip():
        raise ValueError("a hold needs a reason")
    payouts_lock()
    return PayoutHold.objects.create(
        publisher_ref=publisher_ref,
        amount_drops=amount_drops,
        reason=reason[:255],
        created_by=by,
    )


@transaction.atomic
def hold_release(*, hold_id: int, by: Any = None, note: str = "") -> PayoutHold:
    """Release a hold; its amount is payable from the next batch on."""
    payouts_lock()
    released = PayoutHold.objects.filter(pk=hold_id, released_at__isnull=True).update(
        released_at=clock.now(), released_by=by, release_note=note[:255]
    )
    hold = PayoutHold.objects.filter(pk=hold_id).first()
    if hold is None:
        raise NotFound(code="hold_not_found")
    if released != 1:
        raise Conflict("The hold was already released.", code="hold_released")
    return hold
