"""Ledger time for the sandbox: Ripple-epoch seconds, with an optional forward offset.

The offset only ever grows (time travel forward, for watchtower tests). The wall clock is
injectable so tests of the store can pin it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

RIPPLE_EPOCH_UNIX = 946_684_800


def unix_to_ripple(seconds: float) -> int:
    return int(seconds) - RIPPLE_EPOCH_UNIX


def ripple_to_iso(seconds: int) -> str:
    """rippled's `close_time_iso` form: 2000-01-01T00:00:00Z."""
    moment = datetime.fromtimestamp(seconds + RIPPLE_EPOCH_UNIX, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ripple_to_human(seconds: int) -> str:
    """rippled's `close_time_human` form: 2000-Jan-01 00:00:00.000000000 UTC."""
    moment = datetime.fromtimestamp(seconds + RIPPLE_EPOCH_UNIX, UTC)
    return moment.strftime("%Y-%b-%d %H:%M:%S.000000000 UTC")


class LedgerClock:
    """Wall clock in Ripple-epoch seconds plus a forward-only offset."""

    def __init__(self, *, offset: int = 0, wall: Callable[[], float] = time.time) -> None:
        self.offset = offset
        self._wall = wall

    def now(self) -> int:
        return unix_to_ripple(self._wall()) + self.offset

    def advance(self, seconds: int) -> None:
        if seconds < 0:
            raise ValueError("ledger time only moves forward")
        self.offset += seconds

    def next_close_time(self, parent_close_time: int) -> int:
        """close_time = max(now, parent close + 1 s)."""
        return max(self.now(), parent_close_time + 1)
