"""One clock for the app, and the one place Ripple-epoch ledger time is converted.

Tests move time with `clock.override(...)`; nothing else reads the wall clock directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

RIPPLE_EPOCH_UNIX = 946_684_800

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


@contextmanager
def override(offset: timedelta) -> Iterator[None]:
    global _offset  # noqa: PLW0603 - the single movable clock, by design
    previous, _offset = _offset, offset
    try:
        yield
    finally:
        _offset = previous


def from_ripple_time(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds + RIPPLE_EPOCH_UNIX, UTC)


def to_ripple_time(moment: datetime) -> int:
    return int(moment.timestamp()) - RIPPLE_EPOCH_UNIX
