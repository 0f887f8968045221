"""Every figure of the operations console (the admin's front page). Nothing here writes.

One module reads across the apps, which is why it lives in `ops`, the one app that imports all
the others and that none imports. Each selector is one query or two, whatever the number of
rows, and takes `now` (the app clock's) rather than reading a clock.

**Scope.** A selector of publisher figures takes `scope` (ops.types.Scope) and filters by
the same lookup as that model's admin changelist (`publisher_key_lookup` in channels_app.adminkit,
pinned by tests/ops/test_selectors.py), so a publisher's staff see here exactly what the
changelist behind the figure shows them. Selectors without `scope` read platform rows, which
a publisher's staff never see; the console does not call them for such users.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Least, TruncDate, TruncHour
from django.utils import timezone

from channels_app import clock
from channels_app.keys.services import payouts_paused
from channels_app.models import IN_FLIGHT, KeyRecord, Settlement, WatchtowerAlert
from channels_app.payouts.models import Payout, PayoutHold, TxState
from channels_app.selectors import channels_to_watch
from channels_app.services.integrity import ALERT_CODE as INTEGRITY_ALERT_CODE
from channels_app.services.watchtower import (
    DEADLINE_NEAR,
    LAST_SCAN_CACHE_KEY,
    max_check_age_seconds,
)
from compliance.models import SarCase, SarStatus
from disputes.models import OPEN_STATUSES, Dispute, DisputeStatus
from fraud.models.cases import OPEN_CASE_STATUSES, FraudCase, FraudCaseStatus
from ops.types import (
    ActiveHolds,
    DayBucket,
    DisputesWaiting,
    FraudQueue,
    HourBucket,
    KeyRotation,
    KeysDue,
    PayoutsAwaitingApproval,
    Period,
    SarCasesOpen,
    Scope,
    UnlockTotals,
    WatchtowerHealth,
)
from paywall.models import Unlock

__all__ = [
    "PUBLISHER_KEY_LOOKUPS",
    "ROTATING_KEYS",
    "active_holds",
    "disputes_waiting",
    "fraud_queue",
    "keys_due",
    "payouts_awaiting_approval",
    "sar_cases_open",
    "unlock_totals",
    "unlocks_by_day",
    "unlocks_by_hour",
    "watchtower_health",
]

# The lookup from a row to its publisher's key, per model with publisher figures: the same as
# the model's admin (tests/ops/test_selectors.py checks they agree).
PUBLISHER_KEY_LOOKUPS: dict[type[Any], str] = {
    Unlock: "article__publisher__key",
    PayoutHold: "publisher_ref",
    Payout: "publisher_ref",
}

# The keys under a scheduled rotation (channels_app.keys.services.keys_rotate_due) and the
# setting that gives each one's maximum age in days (0: never rotated on a schedule).
ROTATING_KEYS: dict[str, str] = {
    KeyRecord.Purpose.SETTLEMENT_REGULAR: "DROPGATE_SETTLEMENT_KEY_MAX_AGE_DAYS",
    KeyRecord.Purpose.ACCESS_TOKEN: "DROPGATE_TOKEN_KEY_MAX_AGE_DAYS",
}


def _scoped(queryset: QuerySet[Any], scope: Scope) -> QuerySet[Any]:
    if scope is None:
        return queryset
    if not scope:
        return queryset.none()  # answered without a query
    lookup = PUBLISHER_KEY_LOOKUPS[queryset.model]
    return queryset.filter(**{f"{lookup}__in": sorted(scope)})


def _day_start(now: datetime) -> datetime:
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


# --- Unlocks and revenue ----------------------------------------------------------------------


def unlock_totals(*, scope: Scope, now: datetime) -> UnlockTotals:
    """Unlocks and what readers paid for them (the price charged, tax and the platform's fee
    included) today and this month so far, in the site's time zone. One query."""
    day_start = _day_start(now)
    month_start = day_start.replace(day=1)
    today = Q(created_at__gte=day_start)
    sums = _scoped(
        Unlock.objects.filter(created_at__gte=month_start, created_at__lte=now), scope
    ).aggregate(
        today_unlocks=Count("pk", filter=today),
        today_drops=Sum("amount_drops", filter=today),
        month_unlocks=Count("pk"),
        month_drops=Sum("amount_drops"),
    )
    return UnlockTotals(
        today=Period(unlocks=sums["today_unlocks"] or 0, drops=sums["today_drops"] or 0),
        month=Period(unlocks=sums["month_unlocks"] or 0, drops=sums["month_drops"] or 0),
        day_start=day_start,
        month_start=month_start,
    )


def unlocks_by_hour(*, scope: Scope, now: datetime, hours: int = 24) -> list[HourBucket]:
    """The last `hours` hours (the current one last, so far), each with its unlocks and
    drops, empty hours included. One query."""
    current = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    first = current.astimezone(UTC)  # absolute hours: a change of clocks moves no bucket
    starts = [first - timedelta(hours=back) for back in range(hours - 1, -1, -1)]
    rows = (
        _scoped(Unlock.objects.filter(created_at__gte=starts[0], created_at__lte=now), scope)
        .annotate(hour=TruncHour("created_at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("hour")
        .annotate(unlocks=Count("pk"), drops=Sum("amount_drops"))
    )
    found = {row["hour"]: row for row in rows}  # aware datetimes: equal instants match
    return [
        HourBucket(
            start=timezone.localtime(start),
            unlocks=found.get(start, _EMPTY)["unlocks"],
            drops=found.get(start, _EMPTY)["drops"] or 0,
        )
        for start in starts
    ]


def unlocks_by_day(*, scope: Scope, now: datetime, days: int = 30) -> list[DayBucket]:
    """The last `days` days in the site's time zone (today last, so far), each with its
    unlocks and drops, empty days included. One query."""
    zone = timezone.get_current_timezone()
    today = timezone.localtime(now).date()
    dates = [today - timedelta(days=back) for back in range(days - 1, -1, -1)]
    since = datetime.combine(dates[0], time.min, tzinfo=zone)
    rows = (
        _scoped(Unlock.objects.filter(created_at__gte=since, created_at__lte=now), scope)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .order_by()
        .values("day")
        .annotate(unlocks=Count("pk"), drops=Sum("amount_drops"))
    )
    found: dict[date, dict[str, Any]] = {row["day"]: row for row in rows}
    return [
        DayBucket(
            day=day,
            unlocks=found.get(day, _EMPTY)["unlocks"],
            drops=found.get(day, _EMPTY)["drops"] or 0,
        )
        for day in dates
    ]


_EMPTY: dict[str, Any] = {"unlocks": 0, "drops": 0}


# --- Platform: the watchtower, fraud, keys, disputes, SAR -------------------------------------


def watchtower_health(*, now: datetime) -> WatchtowerHealth:
    """The watchtower's health by the rules of `watchtower_status` (channels_app.services.
    watchtower), computed in the database in four queries whatever the number of channels,
    where `watchtower_status` reads every watched channel and checks its integrity tag.

    A row failing its integrity check is counted here through the alert the watchtower's scan
    raises for it (an open integrity alert is an `integrity_violation`), and its value is in
    the sums. Ledger time is estimated from the last scan's record as `watchtower_status`
    does without the ledger; the ledger is never called. tests/ops/test_selectors.py checks
    that both agree. Platform rows.
    """
    last_scan = cache.get(LAST_SCAN_CACHE_KEY)
    scan = last_scan if isinstance(last_scan, dict) else {}
    scanned_at = _iso_datetime(scan.get("at"))
    if "ledger_close_time" in scan and scanned_at is not None:
        elapsed = max(0.0, (now - scanned_at).total_seconds())
        ledger_now = int(scan["ledger_close_time"] + elapsed)
    else:
        ledger_now = clock.to_ripple_time(now)
    margin = int(settings.DROPGATE_WATCHTOWER_ALERT_MARGIN_SECONDS)
    max_age = max_check_age_seconds()
    in_flight = Settlement.objects.filter(status__in=IN_FLIGHT).values("channel_id")
    unredeemed = Q(accepted_drops__gt=F("ledger_balance_drops"))
    watched = channels_to_watch().annotate(
        deadline=Least(
            Coalesce("expiration", "cancel_after"), Coalesce("cancel_after", "expiration")
        ),
        checked_at=Coalesce("synced_at", "registered_at"),
    )
    sums = watched.aggregate(
        channels=Count("pk"),
        unredeemed=Sum(F("accepted_drops") - F("ledger_balance_drops"), filter=unredeemed),
        nearest=Min("deadline"),
        at_risk=Count(
            "pk", filter=unredeemed & Q(deadline__lte=ledger_now + margin) & ~Q(pk__in=in_flight)
        ),
        stale=Count("pk", filter=Q(checked_at__lt=now - timedelta(seconds=max_age))),
        in_flight=Count("pk", filter=Q(pk__in=in_flight)),
    )
    nearest = sums["nearest"]
    nearest_channel = (
        watched.filter(deadline=nearest).order_by("pk").values_list("channel_id", flat=True).first()
        if nearest is not None
        else None
    )
    alerts = WatchtowerAlert.objects.filter(resolved_at__isnull=True).aggregate(
        open=Count("pk"),
        critical=Count("pk", filter=Q(level=WatchtowerAlert.Level.CRITICAL)),
        integrity=Count("pk", filter=Q(code=INTEGRITY_ALERT_CODE)),
    )
    problems = [
        problem
        for problem, present in (
            ("integrity_violation", alerts["integrity"]),
            (DEADLINE_NEAR, sums["at_risk"]),
            ("watchtower_lagging", sums["stale"]),
            ("critical_alerts_open", alerts["critical"]),
        )
        if present
    ]
    return WatchtowerHealth(
        healthy=not problems,
        problems=tuple(problems),
        channels_watched=sums["channels"],
        unredeemed_drops=sums["unredeemed"] or 0,
        settlements_in_flight=sums["in_flight"],
        nearest_deadline=clock.from_ripple_time(nearest) if nearest is not None else None,
        nearest_deadline_channel=nearest_channel,
        nearest_margin_seconds=nearest - ledger_now if nearest is not None else None,
        alert_margin_seconds=margin,
        channels_at_risk=sums["at_risk"],
        integrity_violations=alerts["integrity"],
        channels_not_checked_recently=sums["stale"],
        last_scan_age_seconds=int((now - scanned_at).total_seconds()) if scanned_at else None,
        open_alerts=alerts["open"],
        open_critical_alerts=alerts["critical"],
    )


def _iso_datetime(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value is not None else None
    except ValueError:
        return None


def fraud_queue() -> FraudQueue:
    """Fraud cases not concluded, those holding revenue and what they hold. Platform rows.
    One query."""
    sums = FraudCase.objects.filter(status__in=OPEN_CASE_STATUSES).aggregate(
        open_cases=Count("pk"),
        holding_cases=Count("pk", filter=Q(status=FraudCaseStatus.HOLDING)),
        held_drops=Sum("held_drops", filter=Q(status=FraudCaseStatus.HOLDING)),
    )
    return FraudQueue(
        open_cases=sums["open_cases"] or 0,
        holding_cases=sums["holding_cases"] or 0,
        held_drops=sums["held_drops"] or 0,
    )


def keys_due(*, now: datetime, window_days: int = 7) -> KeysDue:
    """Active keys under a scheduled rotation (ROTATING_KEYS) due within `window_days`,
    overdue ones included (the beat task `keys-rotate-due` should have rotated them: is it
    running?). Platform rows. One query."""
    max_age = {purpose: int(getattr(settings, name)) for purpose, name in ROTATING_KEYS.items()}
    labels = dict(KeyRecord.Purpose.choices)
    rotations = []
    rows = KeyRecord.objects.filter(
        purpose__in=[p for p, days in max_age.items() if days > 0], active=True
    ).values("purpose", "key_id", "activated_at", "created_at")
    for row in rows:
        born = row["activated_at"] or row["created_at"]
        due_at = born + timedelta(days=max_age[row["purpose"]])
        rotations.append(
            KeyRotation(
                purpose=row["purpose"],
                purpose_label=labels.get(row["purpose"], row["purpose"]),
                key_id=row["key_id"],
                in_force_since=born,
                due_at=due_at,
                overdue=due_at <= now,
            )
        )
    rotations.sort(key=lambda rotation: (rotation.due_at, rotation.key_id))
    horizon = now + timedelta(days=window_days)
    return KeysDue(
        due=tuple(r for r in rotations if r.due_at <= horizon),
        next_due=rotations[0] if rotations else None,
        window_days=window_days,
    )


def disputes_waiting(*, now: datetime) -> DisputesWaiting:
    """Open disputes by whom they wait for, those past their stage's deadline, and the
    nearest deadline to come. Platform rows (decided by platform staff). One query."""
    upcoming = Q(due_by__gt=now)
    sums = Dispute.objects.filter(status__in=OPEN_STATUSES).aggregate(
        open=Count("pk"),
        needs_response=Count("pk", filter=Q(status=DisputeStatus.NEEDS_RESPONSE)),
        under_review=Count("pk", filter=Q(status=DisputeStatus.UNDER_REVIEW)),
        escalated=Count("pk", filter=Q(status=DisputeStatus.ESCALATED)),
        overdue=Count("pk", filter=Q(due_by__lte=now)),
        next_due_by=Min("due_by", filter=upcoming),
    )
    return DisputesWaiting(
        open=sums["open"] or 0,
        needs_response=sums["needs_response"] or 0,
        under_review=sums["under_review"] or 0,
        escalated=sums["escalated"] or 0,
        overdue=sums["overdue"] or 0,
        next_due_by=sums["next_due_by"],
    )


def sar_cases_open() -> SarCasesOpen:
    """Suspicious-activity cases not yet filed or closed. Platform rows. One query."""
    sums = SarCase.objects.filter(status__in=(SarStatus.OPEN, SarStatus.INVESTIGATING)).aggregate(
        open=Count("pk", filter=Q(status=SarStatus.OPEN)),
        investigating=Count("pk", filter=Q(status=SarStatus.INVESTIGATING)),
        oldest=Min("opened_at"),
    )
    return SarCasesOpen(
        open=sums["open"] or 0,
        investigating=sums["investigating"] or 0,
        oldest_opened_at=sums["oldest"],
    )


# --- Publisher figures: holds and payouts -----------------------------------------------------


def active_holds(*, scope: Scope) -> ActiveHolds:
    """Payout holds not released, and what they hold. One query."""
    sums = _scoped(PayoutHold.objects.filter(released_at__isnull=True), scope).aggregate(
        holds=Count("pk"),
        drops=Sum("amount_drops"),
        everything=Count("pk", filter=Q(amount_drops__isnull=True)),
    )
    return ActiveHolds(
        holds=sums["holds"] or 0,
        drops=sums["drops"] or 0,
        holding_everything=sums["everything"] or 0,
    )


def payouts_awaiting_approval(*, scope: Scope) -> PayoutsAwaitingApproval:
    """Vault payouts collecting their signers' approvals; for the platform (scope None) also
    whether payouts are paused, which a publisher's staff are not told (a compromise drill
    pauses them). One query, two for the platform."""
    sums = _scoped(Payout.objects.filter(status=TxState.AWAITING_APPROVAL), scope).aggregate(
        payouts=Count("pk"), drops=Sum("amount_drops"), oldest=Min("created_at")
    )
    return PayoutsAwaitingApproval(
        payouts=sums["payouts"] or 0,
        drops=sums["drops"] or 0,
        oldest=sums["oldest"],
        paused=payouts_paused() if scope is None else None,
    )
