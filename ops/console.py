"""The operations console: what the admin's front page shows a user, and where each figure's
queue is.

`console_for(site, request)` decides which tiles the user sees and asks `ops.selectors` for
their figures; it reads nothing itself. A tile is shown when the user may open the changelist
behind it (the model's admin grants them view or change) and, for a tile of platform rows
(the model's admin has no `publisher_key_lookup`), only to platform staff. A publisher's staff
see their own publishers' figures: the same scope as their changelists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.admin import AdminSite
from django.db.models import Model
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from channels_app import clock
from channels_app.adminkit import publisher_scope
from channels_app.models import Channel, KeyRecord, WatchtowerAlert
from channels_app.payouts.models import Payout, PayoutHold, TxState
from compliance.models import SarCase, SarStatus
from disputes.models import Dispute
from fraud.models.cases import OPEN_CASE_STATUSES, FraudCase
from ops import selectors
from ops.charts import BarChart, Point, bar_chart
from ops.formatting import xrp_text
from ops.types import (
    ActiveHolds,
    DisputesWaiting,
    FraudQueue,
    KeysDue,
    PayoutsAwaitingApproval,
    SarCasesOpen,
    Scope,
    UnlockTotals,
    WatchtowerHealth,
)
from paywall.models import Unlock

# A tile's state, for its colour and its text: nothing to do, something waits, act now.
OK, WAITING, ACT = "ok", "waiting", "act"


@dataclass(frozen=True)
class Console:
    as_of: datetime
    platform: bool  # the user sees every publisher and the platform's own tiles
    unlocks: UnlockTotals | None
    unlocks_chart: BarChart | None
    revenue_chart: BarChart | None
    watchtower: WatchtowerHealth | None
    fraud: FraudQueue | None
    holds: ActiveHolds | None
    payouts: PayoutsAwaitingApproval | None
    keys: KeysDue | None
    disputes: DisputesWaiting | None
    sar: SarCasesOpen | None
    links: dict[str, str]  # queue → its changelist, filtered
    states: dict[str, str]  # tile → OK, WAITING or ACT

    @property
    def empty(self) -> bool:
        """The user may see none of the figures."""
        return not any(
            (
                self.unlocks,
                self.watchtower,
                self.fraud,
                self.holds,
                self.payouts,
                self.keys,
                self.disputes,
                self.sar,
            )
        )


def _may_view(site: AdminSite, request: HttpRequest, model: type[Model], scope: Scope) -> bool:
    model_admin = site._registry.get(model)
    if model_admin is None or not model_admin.has_view_or_change_permission(request):
        return False
    return scope is None or getattr(model_admin, "publisher_key_lookup", None) is not None


def _changelist(site: AdminSite, model: type[Model], **filters: Any) -> str:
    meta = model._meta
    url = reverse(f"{site.name}:{meta.app_label}_{meta.model_name}_changelist")
    return f"{url}?{urlencode(filters)}" if filters else url


def console_for(site: AdminSite, request: HttpRequest) -> Console:
    """The console `request.user` may see on `site`, as of the app clock's now."""
    now = clock.now()
    scope = publisher_scope(request)

    def may(model: type[Model]) -> bool:
        return _may_view(site, request, model, scope)

    links: dict[str, str] = {}
    unlocks = unlocks_chart = revenue_chart = None
    if may(Unlock):
        unlocks = selectors.unlock_totals(scope=scope, now=now)
        unlocks_chart, revenue_chart = _charts(scope=scope, now=now)
        links["unlocks_today"] = _changelist(
            site, Unlock, created_at__gte=unlocks.day_start.isoformat()
        )
        links["unlocks_month"] = _changelist(
            site, Unlock, created_at__gte=unlocks.month_start.isoformat()
        )
    watchtower = selectors.watchtower_health(now=now) if may(Channel) else None
    if watchtower is not None:
        links["channels"] = _changelist(site, Channel, status__exact="open")
        if watchtower.nearest_deadline_channel:
            links["nearest_channel"] = _changelist(
                site, Channel, q=watchtower.nearest_deadline_channel
            )
        if may(WatchtowerAlert):
            links["alerts"] = _changelist(site, WatchtowerAlert, resolved_at__isnull="True")
    fraud = selectors.fraud_queue() if may(FraudCase) else None
    if fraud is not None:
        links["fraud_cases"] = _changelist(site, FraudCase, status__in=",".join(OPEN_CASE_STATUSES))
    holds = selectors.active_holds(scope=scope) if may(PayoutHold) else None
    if holds is not None:
        links["holds"] = _changelist(site, PayoutHold, state="active")
    payouts = selectors.payouts_awaiting_approval(scope=scope) if may(Payout) else None
    if payouts is not None:
        links["payouts"] = _changelist(site, Payout, status__exact=TxState.AWAITING_APPROVAL)
    keys = selectors.keys_due(now=now) if may(KeyRecord) else None
    if keys is not None:
        links["keys"] = _changelist(
            site, KeyRecord, active__exact="1", purpose__in=",".join(selectors.ROTATING_KEYS)
        )
    disputes = selectors.disputes_waiting(now=now) if may(Dispute) else None
    if disputes is not None:
        links["disputes"] = _changelist(site, Dispute, queue="open")
    sar = selectors.sar_cases_open() if scope is None and may(SarCase) else None
    if sar is not None:
        links["sar"] = _changelist(
            site, SarCase, status__in=f"{SarStatus.OPEN},{SarStatus.INVESTIGATING}"
        )
    return Console(
        as_of=now,
        platform=scope is None,
        unlocks=unlocks,
        unlocks_chart=unlocks_chart,
        revenue_chart=revenue_chart,
        watchtower=watchtower,
        fraud=fraud,
        holds=holds,
        payouts=payouts,
        keys=keys,
        disputes=disputes,
        sar=sar,
        links=links,
        states=_states(
            watchtower=watchtower,
            fraud=fraud,
            holds=holds,
            payouts=payouts,
            keys=keys,
            disputes=disputes,
            sar=sar,
        ),
    )


def _charts(*, scope: Scope, now: datetime) -> tuple[BarChart, BarChart]:
    hours = selectors.unlocks_by_hour(scope=scope, now=now)
    days = selectors.unlocks_by_day(scope=scope, now=now)
    zone = timezone.get_current_timezone_name()
    unlocks_chart = bar_chart(
        slug="unlocks-per-hour",
        title="Unlocks per hour, last 24 hours",
        category_heading="Hour",
        value_heading="Unlocks",
        points=[Point(f"{bucket.start:%H:00}", bucket.unlocks) for bucket in hours],
        value_text=lambda value: f"{value:,}",
        label_every=3,
        summary=f"Hours in {zone}, from {hours[0].start.day} {hours[0].start:%b %H:00} to now.",
    )
    revenue_chart = bar_chart(
        slug="revenue-per-day",
        title="Revenue per day, last 30 days",
        category_heading="Day",
        value_heading="Paid by readers",
        points=[Point(f"{bucket.day.day} {bucket.day:%b}", bucket.drops) for bucket in days],
        value_text=xrp_text,
        label_every=5,
        summary=(
            f"What readers paid for unlocks per day ({zone}), from {days[0].day:%d %b} to today."
        ),
    )
    return unlocks_chart, revenue_chart


def _states(
    *,
    watchtower: WatchtowerHealth | None,
    fraud: FraudQueue | None,
    holds: ActiveHolds | None,
    payouts: PayoutsAwaitingApproval | None,
    keys: KeysDue | None,
    disputes: DisputesWaiting | None,
    sar: SarCasesOpen | None,
) -> dict[str, str]:
    states: dict[str, str] = {}
    if watchtower is not None:
        states["watchtower"] = OK if watchtower.healthy else ACT
        states["settlement"] = ACT if watchtower.channels_at_risk else OK
    if fraud is not None:
        states["fraud"] = WAITING if fraud.open_cases else OK
    if holds is not None:
        states["holds"] = WAITING if holds.holds else OK
    if payouts is not None:
        states["payouts"] = ACT if payouts.paused else WAITING if payouts.payouts else OK
    if keys is not None:
        states["keys"] = (
            ACT if any(key.overdue for key in keys.due) else WAITING if keys.due else OK
        )
    if disputes is not None:
        states["disputes"] = ACT if disputes.overdue else WAITING if disputes.open else OK
    if sar is not None:
        states["sar"] = WAITING if sar.open or sar.investigating else OK
    return states
