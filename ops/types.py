"""The console's figures, as `ops.selectors` reads them. Money is integer drops."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

# The publisher keys whose figures a user may see; None: every publisher's and the platform's
# (channels_app.adminkit.publisher_scope answers it for a request).
Scope = frozenset[str] | None


@dataclass(frozen=True)
class Period:
    """Unlocks in a period and what readers paid for them."""

    unlocks: int
    drops: int


@dataclass(frozen=True)
class UnlockTotals:
    today: Period
    month: Period
    day_start: datetime  # the start of today in the site's time zone
    month_start: datetime


@dataclass(frozen=True)
class HourBucket:
    start: datetime
    unlocks: int
    drops: int


@dataclass(frozen=True)
class DayBucket:
    day: date
    unlocks: int
    drops: int


@dataclass(frozen=True)
class WatchtowerHealth:
    """`channels_app.services.watchtower.watchtower_status`, typed (see there)."""

    healthy: bool
    problems: tuple[str, ...]
    channels_watched: int
    unredeemed_drops: int
    settlements_in_flight: int
    nearest_deadline: datetime | None
    nearest_deadline_channel: str | None
    nearest_margin_seconds: int | None
    alert_margin_seconds: int
    channels_at_risk: int
    integrity_violations: int
    channels_not_checked_recently: int
    last_scan_age_seconds: int | None
    open_alerts: int
    open_critical_alerts: int


@dataclass(frozen=True)
class FraudQueue:
    open_cases: int  # open, holding revenue or released (not concluded)
    holding_cases: int
    held_drops: int


@dataclass(frozen=True)
class ActiveHolds:
    holds: int
    drops: int  # of the holds with an amount
    holding_everything: int  # holds without an amount: all of a publisher's matured revenue


@dataclass(frozen=True)
class PayoutsAwaitingApproval:
    payouts: int
    drops: int
    oldest: datetime | None
    paused: bool | None  # paused by an administrator or a drill; None: not for this user


@dataclass(frozen=True)
class KeyRotation:
    """One active key under a scheduled rotation, and when it is due."""

    purpose: str
    purpose_label: str
    key_id: str
    in_force_since: datetime
    due_at: datetime
    overdue: bool


@dataclass(frozen=True)
class KeysDue:
    due: tuple[KeyRotation, ...]  # due within the window (overdue first), nearest first
    next_due: KeyRotation | None  # the nearest of every rotating key, due or not
    window_days: int


@dataclass(frozen=True)
class DisputesWaiting:
    open: int
    needs_response: int  # waiting for the publisher
    under_review: int  # waiting for the admin queue
    escalated: int  # waiting for an outside arbitrator (no deadline)
    overdue: int  # past their stage's deadline (the SLA sweep decides them)
    next_due_by: datetime | None  # the nearest deadline not yet passed


@dataclass(frozen=True)
class SarCasesOpen:
    open: int
    investigating: int
    oldest_opened_at: datetime | None
