"""Read queries: publisher balances (the payable rule), payouts, holds, credits.

The payable rule
----------------
A publisher's money is the journal's `publisher_payable` sub-account (credit side: what the
platform owes). Claims credit it net of the platform fee and of the tax included in the
price at accept time (`claim_accepted` minus `tax` minus `fee`), credit uses credit it (`credit_applied`), payouts and refunds debit it. Of what is
owed, only *matured* revenue is payable:

- revenue from a claim matures when the claim is **redeemed** on the ledger (its channel's
  validated Balance has reached the claim's cumulative amount, i.e. the XRP is in the
  platform's account) **and** it was accepted at or before the cutoff `now - holdback`;
- revenue from a credit use matures at the cutoff (the credit was already the platform's XRP);
- revenue on a claim whose channel closed without redeeming it is *lost* (the watchtower
  wrote it off): never payable, and shown apart from pending.

Then `matured = owed - pending - lost - in_flight`, where in_flight is every payout and
publisher-charged ledger refund not yet final (their journal entries are posted only when
they validate). Holds take matured money off: a hold without an amount holds all of it.
`available = max(0, matured - held)`. A negative `matured` (refunds beyond matured revenue)
is carried: later revenue pays it off before anything is paid out again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db.models import CharField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, Concat

from channels_app import clock
from channels_app.models import ChannelStatus, Claim, JournalLine
from channels_app.payouts.conf import setting
from channels_app.payouts.models import (
    OPEN_STATES,
    Payout,
    PayoutHold,
    ReaderCredit,
    Refund,
    RefundMode,
)
from channels_app.payouts.types import PublisherBalance

PAYABLE = "publisher_payable"
CLAIM_KINDS = ("claim_accepted", "tax", "fee")
REVENUE_KINDS = (*CLAIM_KINDS, "credit_applied")


def payout_cutoff(now: datetime | None = None) -> datetime:
    """Revenue accepted at or before this moment is past the holdback window."""
    return (now or clock.now()) - timedelta(seconds=setting("DROPGATE_PAYOUT_HOLDBACK_SECONDS"))


def _claim_references(claims: QuerySet[Claim]) -> QuerySet[Any]:
    """The journal references ("claim:<pk>") of these claims, as a subquery."""
    return claims.annotate(
        ref=Concat(Value("claim:"), Cast("pk", output_field=CharField()), output_field=CharField())
    ).values("ref")


def _net_by_publisher(lines: QuerySet[JournalLine]) -> dict[str, int]:
    rows = lines.values("subaccount").annotate(c=Sum("credit_drops"), d=Sum("debit_drops"))
    return {row["subaccount"]: int(row["c"] or 0) - int(row["d"] or 0) for row in rows}


def _sum_by(queryset: QuerySet, field: str) -> dict[str, int]:  # type: ignore[type-arg]
    rows = queryset.values(field).annotate(total=Sum("amount_drops"))
    return {row[field]: int(row["total"] or 0) for row in rows}


def publisher_balances(
    publisher_refs: Iterable[str] | None = None, *, now: datetime | None = None
) -> dict[str, PublisherBalance]:
    """Balances of the given publishers (all publishers with journal lines when None).

    A handful of aggregate queries, whatever the number of publishers.
    """
    cutoff = payout_cutoff(now)
    refs = None if publisher_refs is None else set(publisher_refs)
    lines = JournalLine.objects.filter(account=PAYABLE)
    if refs is not None and len(refs) <= 500:
        lines = lines.filter(subaccount__in=refs)

    unredeemed = Claim.objects.filter(amount_drops__gt=F("channel__ledger_balance_drops"))
    lost_refs = _claim_references(unredeemed.filter(channel__status=ChannelStatus.CLOSED))
    open_unredeemed_refs = _claim_references(
        unredeemed.exclude(channel__status=ChannelStatus.CLOSED)
    )
    revenue = lines.filter(entry__kind__in=REVENUE_KINDS)
    is_lost = Q(entry__kind__in=CLAIM_KINDS, entry__reference__in=lost_refs)

    owed = _net_by_publisher(lines)
    lost = _net_by_publisher(revenue.filter(is_lost))
    pending = _net_by_publisher(
        revenue.filter(
            Q(entry__created_at__gt=cutoff)
            | Q(entry__kind__in=CLAIM_KINDS, entry__reference__in=open_unredeemed_refs)
        ).exclude(is_lost)
    )
    paid = _net_by_publisher(lines.filter(entry__kind="payout"))
    in_flight: dict[str, int] = defaultdict(int)
    for ref, total in _sum_by(
        Payout.objects.filter(status__in=OPEN_STATES), "publisher_ref"
    ).items():
        in_flight[ref] += total
    refunds = Refund.objects.filter(mode=RefundMode.LEDGER, status__in=OPEN_STATES).exclude(
        publisher_ref=""
    )
    for ref, total in _sum_by(refunds, "publisher_ref").items():
        in_flight[ref] += total
    holds: dict[str, int | None] = {}
    for publisher_ref, amount in PayoutHold.objects.filter(released_at__isnull=True).values_list(
        "publisher_ref", "amount_drops"
    ):
        if amount is None or (publisher_ref in holds and holds[publisher_ref] is None):
            holds[publisher_ref] = None
        else:
            holds[publisher_ref] = (holds.get(publisher_ref) or 0) + amount

    wanted = refs if refs is not None else set(owed) | set(in_flight)
    balances: dict[str, PublisherBalance] = {}
    for ref in wanted:
        matured = owed.get(ref, 0) - pending.get(ref, 0) - lost.get(ref, 0) - in_flight.get(ref, 0)
        positive = max(0, matured)
        held = 0
        if ref in holds:
            limit = holds[ref]
            held = positive if limit is None else min(positive, limit)
        balances[ref] = PublisherBalance(
            publisher_ref=ref,
            owed_drops=owed.get(ref, 0),
            pending_drops=pending.get(ref, 0),
            lost_drops=lost.get(ref, 0),
            in_flight_drops=in_flight.get(ref, 0),
            held_drops=held,
            available_drops=positive - held,
            paid_drops=-paid.get(ref, 0),
            matured_drops=matured,
            cutoff=cutoff,
        )
    return balances


def publisher_balance(publisher_ref: str, *, now: datetime | None = None) -> PublisherBalance:
    return publisher_balances([publisher_ref], now=now)[publisher_ref]


def publisher_payouts(
    publisher_ref: str, *, limit: int = 50, before_id: int | None = None
) -> list[Payout]:
    """The publisher's payouts, newest first, `limit` at most, older than `before_id` if given."""
    payouts = Payout.objects.filter(publisher_ref=publisher_ref).select_related("batch")
    if before_id is not None:
        payouts = payouts.filter(pk__lt=before_id)
    return list(payouts.order_by("-pk")[:limit])


def credit_available(reader_ref: str) -> int:
    """The reader's unspent credit in drops (0 without any)."""
    row = ReaderCredit.objects.filter(reader_ref=reader_ref).only("balance_drops").first()
    return row.balance_drops if row is not None else 0
