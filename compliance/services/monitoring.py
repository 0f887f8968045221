"""AML transaction monitoring: velocity and pattern rules over the records, not single-amount
alerts. Each rule is a `monitoring` rule in the rulebook (its parameters dated, with their
source); a hit opens (or adds evidence to) a SAR case for the subject.

| rule | subject | looks at |
|---|---|---|
| `monitoring.structuring` | funding account | rolling windows whose EUR total falls just under the anonymous limit, repeatedly |
| `monitoring.shared_funding` | funding account | many readers' channels funded from one account |
| `monitoring.channel_cycling` | funding account | channels opened and closed again quickly from one account |
| `monitoring.high_risk_exposure` | reader | decisions (allowed or refused) placing a reader in a high-risk jurisdiction |
| `monitoring.fraud_signals` | fraud case | fraud cases (farming, synthetic traffic, content manipulation) confirmed by review |
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from channels_app import clock
from channels_app.models import ChannelStatus
from channels_app.selectors import channels_registered_since
from compliance.models import DecisionRecord
from compliance.rules import rulebook
from compliance.selectors import reader_limit_window
from compliance.services.sar import sar_open_or_extend
from fraud.selectors import fraud_cases_concluded_since

__all__ = ["MonitoringOutcome", "monitoring_scan"]


@dataclass(frozen=True)
class MonitoringOutcome:
    hits: dict[str, int]
    opened: int


def _params(rule_id: str, now: datetime) -> dict[str, Any] | None:
    dated = rulebook().rule(rule_id).value_on(now.date())
    return dict(dated.value) if dated else None


def _structuring(now: datetime) -> list[dict[str, Any]]:
    params = _params("monitoring.structuring", now)
    limit, _, _ = reader_limit_window(now)
    if params is None or limit is None:
        return []
    window = timedelta(days=int(params["window_days"]))
    lookback = timedelta(days=int(params["lookback_days"]))
    floor = limit * (Decimal(100) - Decimal(str(params["band_pct"]))) / Decimal(100)
    rows = (
        DecisionRecord.objects.filter(
            claim_id__isnull=False, at__gte=now - lookback, eur_amount__isnull=False
        )
        .exclude(funding_address="")
        .values_list("funding_address", "reader_ref", "at", "eur_amount")
    )
    by_funding: dict[str, list[tuple[datetime, Decimal, str]]] = defaultdict(list)
    for funding, reader, at, amount in rows:
        if amount is not None:
            by_funding[funding].append((at, amount, reader))
    hits = []
    for funding, charges in by_funding.items():
        near: list[str] = []
        start = now - lookback
        while start < now:
            end = start + window
            total = sum((a for at, a, _ in charges if start <= at < end), Decimal(0))
            if floor <= total <= limit:
                near.append(f"{start.date()}..{end.date()}: {total} EUR")
            start = end
        if len(near) >= int(params["min_windows"]):
            hits.append(
                {
                    "rule_id": "monitoring.structuring",
                    "subject_kind": "funding",
                    "subject": funding,
                    "summary": f"Spending just under the anonymous limit ({limit} EUR) in {len(near)} windows",
                    "evidence": {"windows": near, "limit_eur": str(limit)},
                    "reader_refs": sorted({r for _, _, r in charges}),
                    "funding_addresses": [funding],
                }
            )
    return hits


def _shared_funding(now: datetime) -> list[dict[str, Any]]:
    params = _params("monitoring.shared_funding", now)
    if params is None:
        return []
    owners: dict[str, set[str]] = defaultdict(set)
    channels: dict[str, list[str]] = defaultdict(list)
    for channel_id, source, owner, _, _ in channels_registered_since(
        now - timedelta(days=int(params["window_days"]))
    ):
        owners[source].add(owner)
        channels[source].append(channel_id)
    return [
        {
            "rule_id": "monitoring.shared_funding",
            "subject_kind": "funding",
            "subject": source,
            "summary": f"{len(readers)} readers funded from one account",
            "evidence": {"readers": len(readers), "channels": len(channels[source])},
            "reader_refs": sorted(readers),
            "funding_addresses": [source],
            "channel_ids": channels[source],
        }
        for source, readers in owners.items()
        if len(readers) >= int(params["min_readers"])
    ]


def _channel_cycling(now: datetime) -> list[dict[str, Any]]:
    params = _params("monitoring.channel_cycling", now)
    if params is None:
        return []
    window = timedelta(hours=int(params["window_hours"]))
    by_source: dict[str, list[tuple[str, str, str, datetime]]] = defaultdict(list)
    for channel_id, source, owner, status, registered in channels_registered_since(now - window):
        by_source[source].append((channel_id, owner, status, registered))
    hits = []
    for source, rows in by_source.items():
        cycled = [r for r in rows if r[2] in (ChannelStatus.CLOSING, ChannelStatus.CLOSED)]
        if (
            len(rows) >= int(params["min_channels"])
            and len(cycled) >= int(params["min_channels"]) - 1
        ):
            hits.append(
                {
                    "rule_id": "monitoring.channel_cycling",
                    "subject_kind": "funding",
                    "subject": source,
                    "summary": f"{len(rows)} channels opened and {len(cycled)} closed within {params['window_hours']} h",
                    "evidence": {"opened": len(rows), "closed_or_closing": len(cycled)},
                    "reader_refs": sorted({r[1] for r in rows}),
                    "funding_addresses": [source],
                    "channel_ids": [r[0] for r in rows],
                }
            )
    return hits


def _high_risk(now: datetime) -> list[dict[str, Any]]:
    params = _params("monitoring.high_risk_exposure", now)
    if params is None:
        return []
    countries = list(params["countries"])
    rows = DecisionRecord.objects.filter(
        country__in=countries, at__gte=now - timedelta(days=int(params["window_days"]))
    ).values_list("reader_ref", "publisher_ref", "country", "decision", "funding_address")
    by_reader: dict[str, list[tuple[str, str, str, str]]] = defaultdict(list)
    for reader, publisher, country, decision, funding in rows:
        by_reader[reader].append((publisher, country, decision, funding))
    return [
        {
            "rule_id": "monitoring.high_risk_exposure",
            "subject_kind": "reader",
            "subject": reader,
            "publisher_ref": items[0][0],
            "summary": f"Reader placed in {', '.join(sorted({i[1] for i in items}))} ({len(items)} decisions)",
            "evidence": {
                "countries": sorted({i[1] for i in items}),
                "decisions": {
                    d: sum(1 for i in items if i[2] == d) for d in sorted({i[2] for i in items})
                },
            },
            "reader_refs": [reader],
            "funding_addresses": sorted({i[3] for i in items if i[3]}),
        }
        for reader, items in by_reader.items()
        if len(items) >= int(params["min_unlocks"])
    ]


def _fraud(now: datetime) -> list[dict[str, Any]]:
    params = _params("monitoring.fraud_signals", now)
    if params is None:
        return []
    cases = fraud_cases_concluded_since(
        kinds=tuple(params["case_kinds"]),
        statuses=tuple(params["statuses"]),
        since=now - timedelta(days=int(params["window_days"])),
    )
    return [
        {
            "rule_id": "monitoring.fraud_signals",
            "subject_kind": "fraud_case",
            "subject": str(case["pk"]),
            "publisher_ref": case["publisher_ref"],
            "summary": f"Fraud case {case['pk']} ({case['kind']}) {case['status']}: {case['subject']}",
            "evidence": {"fraud_case": case["pk"], "kind": case["kind"], "status": case["status"]},
            "reader_refs": list(case["reader_refs"] or []),
        }
        for case in cases
    ]


RULES = (
    ("monitoring.structuring", _structuring),
    ("monitoring.shared_funding", _shared_funding),
    ("monitoring.channel_cycling", _channel_cycling),
    ("monitoring.high_risk_exposure", _high_risk),
    ("monitoring.fraud_signals", _fraud),
)


def monitoring_scan(*, now: datetime | None = None) -> MonitoringOutcome:
    """Run every monitoring rule in force; open or extend a SAR case per hit. Idempotent
    (an unchanged hit adds nothing)."""
    now = now or clock.now()
    counts: dict[str, int] = {}
    opened = 0
    for rule_id, run in RULES:
        hits = run(now)
        counts[rule_id] = len(hits)
        for hit in hits:
            _, was_opened = sar_open_or_extend(
                rule_id=hit["rule_id"],
                subject_kind=hit["subject_kind"],
                subject=hit["subject"],
                summary=hit["summary"],
                evidence=hit["evidence"],
                publisher_ref=hit.get("publisher_ref", ""),
                reader_refs=hit.get("reader_refs", ()),
                funding_addresses=hit.get("funding_addresses", ()),
                channel_ids=hit.get("channel_ids", ()),
            )
            opened += int(was_opened)
    return MonitoringOutcome(hits=counts, opened=opened)
