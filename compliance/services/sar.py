"""Suspicious-activity (SAR) cases: opened by monitoring rules, worked by admins, exported for
filing with the financial intelligence unit, and kept under legal hold.

States: open → investigating → filed | closed_no_action. Every change is a SarEvent with its
actor and reason (append-only). While a case is open its subjects' records are under a legal
hold with no end; when it closes, the hold runs for the rulebook's retention period
(`records.aml.retention`, five years) from that day. Erasure must consult
`compliance.selectors.legal_hold_active`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Q

from channels_app import clock
from channels_app.selectors import (
    channels_by_ids,
    claims_of_channels,
    settlements_of_channels,
)
from compliance.exceptions import SarTransitionRefused
from compliance.models import (
    OPEN_SAR_STATUSES,
    DecisionRecord,
    LegalHold,
    SarCase,
    SarEvent,
    SarStatus,
)
from compliance.rules import rulebook

__all__ = [
    "SAR_TRANSITIONS",
    "sar_export",
    "sar_export_csv",
    "sar_open_or_extend",
    "sar_transition",
]

SAR_TRANSITIONS: dict[str, tuple[str, ...]] = {
    SarStatus.OPEN: (SarStatus.INVESTIGATING,),
    SarStatus.INVESTIGATING: (SarStatus.FILED, SarStatus.CLOSED_NO_ACTION),
    SarStatus.FILED: (),
    SarStatus.CLOSED_NO_ACTION: (),
}
MAX_EVIDENCE = 200


def _actor_label(actor: AbstractBaseUser | AnonymousUser | None, label: str) -> str:
    if actor is not None and getattr(actor, "is_authenticated", False):
        return str(actor.get_username())[:150]
    return label[:150]


def _rows(values: Any) -> list[dict[str, Any]]:
    """A `.values()` queryset as plain dicts."""
    return [dict(row) for row in values]


def _user(actor: AbstractBaseUser | AnonymousUser | None) -> Any:
    """The user to link an event to: an authenticated user, else None (a system actor)."""
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _holds_place(case: SarCase, *, now_subjects: Iterable[tuple[str, str]]) -> None:
    for kind, subject in now_subjects:
        if not subject:
            continue
        try:
            with transaction.atomic():
                LegalHold.objects.create(
                    subject_kind=kind,
                    subject=subject[:96],
                    reason=f"AML case {case.pk} ({case.rule_id})",
                    case=case,
                    rule_id="records.aml.retention",
                    placed_at=clock.now(),
                    until=None,
                )
        except IntegrityError:
            continue


def _subjects(case: SarCase) -> list[tuple[str, str]]:
    subjects = [(case.subject_kind, case.subject)]
    subjects += [("reader", ref) for ref in case.reader_refs]
    subjects += [("funding", address) for address in case.funding_addresses]
    subjects += [("channel", channel) for channel in case.channel_ids]
    if case.publisher_ref:
        subjects.append(("publisher", case.publisher_ref))
    return list(dict.fromkeys(subjects))


def _merge(current: list[str], new: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*current, *(item for item in new if item)]))[:500]


@transaction.atomic
def sar_open_or_extend(
    *,
    rule_id: str,
    subject_kind: str,
    subject: str,
    summary: str,
    evidence: dict[str, Any],
    publisher_ref: str = "",
    reader_refs: Iterable[str] = (),
    funding_addresses: Iterable[str] = (),
    channel_ids: Iterable[str] = (),
) -> tuple[SarCase, bool]:
    """Open a case for a monitoring hit, or add the evidence to the subject's open case.

    Returns (case, opened). Evidence identical to the case's last entry is not added again
    (scans run hourly). Every subject of the case is placed under legal hold.
    """
    now = clock.now()
    case = (
        SarCase.objects.select_for_update()
        .filter(rule_id=rule_id, subject_kind=subject_kind, subject=subject[:96])
        .filter(status__in=OPEN_SAR_STATUSES)
        .first()
    )
    entry = {"at": now.isoformat(), "source": rule_id, **evidence}
    opened = case is None
    if case is None:
        try:
            with transaction.atomic():
                case = SarCase.objects.create(
                    rule_id=rule_id,
                    subject_kind=subject_kind,
                    subject=subject[:96],
                    publisher_ref=publisher_ref,
                    summary=summary[:500],
                    evidence=[entry],
                    reader_refs=_merge([], reader_refs),
                    funding_addresses=_merge([], funding_addresses),
                    channel_ids=_merge([], channel_ids),
                    rulebook_version=rulebook().version,
                    opened_at=now,
                    updated_at=now,
                )
        except IntegrityError:
            # Opened concurrently: extend that one instead.
            return sar_open_or_extend(
                rule_id=rule_id,
                subject_kind=subject_kind,
                subject=subject,
                summary=summary,
                evidence=evidence,
                publisher_ref=publisher_ref,
                reader_refs=reader_refs,
                funding_addresses=funding_addresses,
                channel_ids=channel_ids,
            )
        SarEvent.objects.create(
            case=case,
            at=now,
            actor_label=rule_id,
            action="opened",
            to_status=SarStatus.OPEN,
            reason=summary[:1000],
            details=evidence,
        )
    else:
        last = dict(case.evidence[-1]) if case.evidence else {}
        last.pop("at", None)
        fresh = {k: v for k, v in entry.items() if k != "at"}
        if json.loads(json.dumps(fresh, cls=DjangoJSONEncoder)) == last:
            return case, False
        case.evidence = [*case.evidence, entry][-MAX_EVIDENCE:]
        case.reader_refs = _merge(case.reader_refs, reader_refs)
        case.funding_addresses = _merge(case.funding_addresses, funding_addresses)
        case.channel_ids = _merge(case.channel_ids, channel_ids)
        case.updated_at = now
        case.save()
        SarEvent.objects.create(
            case=case, at=now, actor_label=rule_id, action="evidence", details=evidence
        )
    _holds_place(case, now_subjects=_subjects(case))
    return case, opened


@transaction.atomic
def sar_transition(
    *,
    case_id: int,
    to_status: str,
    reason: str,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    actor_label: str = "",
    filing_reference: str = "",
) -> SarCase:
    """Move a case one step (open → investigating → filed | closed_no_action), with a reason.

    Raises SarTransitionRefused (nothing changes) for any other move, a missing reason, or
    a filing without its reference. Closing starts the retention clock of the legal holds.
    """
    case = SarCase.objects.select_for_update().get(pk=case_id)
    if to_status not in SAR_TRANSITIONS.get(case.status, ()):
        raise SarTransitionRefused(f"A case cannot go from {case.status} to {to_status}.")
    if not reason.strip():
        raise SarTransitionRefused("Give a reason.", code="sar_reason_required")
    if to_status == SarStatus.FILED and not filing_reference.strip():
        raise SarTransitionRefused(
            "Give the FIU's reference of the filing.", code="sar_filing_reference_required"
        )
    label = _actor_label(actor, actor_label or "system")
    now = clock.now()
    previous = case.status
    case.status = to_status
    case.updated_at = now
    if to_status == SarStatus.FILED:
        case.filing_reference = filing_reference.strip()[:100]
    if to_status in (SarStatus.FILED, SarStatus.CLOSED_NO_ACTION):
        case.closed_at = now
    case.save()
    SarEvent.objects.create(
        case=case,
        at=now,
        actor=_user(actor),
        actor_label=label,
        action="status",
        from_status=previous,
        to_status=to_status,
        reason=reason.strip()[:1000],
        details={"filing_reference": case.filing_reference} if case.filing_reference else {},
    )
    if case.closed_at is not None:
        dated = rulebook().rule("records.aml.retention").value_on(now.date())
        years = int(dated.value["years"]) if dated else 5
        until = _add_years(now.date(), years)
        for hold in LegalHold.objects.filter(case=case):
            if hold.until is None or hold.until < until:
                LegalHold.objects.filter(pk=hold.pk).update(until=until)
    return case


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def sar_export(
    *, case_id: int, actor: AbstractBaseUser | AnonymousUser | None = None, actor_label: str = ""
) -> dict[str, Any]:
    """The filing export of a case: the case, its events, and the linked channels, claims,
    settlement transactions and charged unlocks (with their tax). Recorded as an event."""
    case = SarCase.objects.get(pk=case_id)
    channel_ids = list(case.channel_ids)
    linked: list[dict[str, Any]] = []
    if case.reader_refs or case.funding_addresses:
        linked = _rows(
            DecisionRecord.objects.filter(claim_id__isnull=False)
            .filter(
                Q(reader_ref__in=case.reader_refs) | Q(funding_address__in=case.funding_addresses)
            )
            .order_by("at", "pk")
            .values(
                "pk",
                "at",
                "reader_ref",
                "publisher_ref",
                "article_ref",
                "funding_address",
                "country",
                "gross_drops",
                "tax_drops",
                "eur_amount",
                "claim_id",
                "claim_reference",
            )
        )
    claims = claims_of_channels(channel_ids)
    export = {
        "case": {
            "id": case.pk,
            "rule_id": case.rule_id,
            "status": case.status,
            "subject_kind": case.subject_kind,
            "subject": case.subject,
            "publisher_ref": case.publisher_ref,
            "summary": case.summary,
            "opened_at": case.opened_at,
            "closed_at": case.closed_at,
            "filing_reference": case.filing_reference,
            "rulebook_version": case.rulebook_version,
            "evidence": case.evidence,
            "reader_refs": case.reader_refs,
            "funding_addresses": case.funding_addresses,
        },
        "events": [
            {
                "at": event.at,
                "actor": event.actor_label,
                "action": event.action,
                "from_status": event.from_status,
                "to_status": event.to_status,
                "reason": event.reason,
            }
            for event in case.events.order_by("at", "pk")
        ],
        "channels": [
            {
                "channel_id": snap.channel_id,
                "source_address": snap.source_address,
                "owner_ref": snap.owner_ref,
                "amount_drops": snap.amount_drops,
                "accepted_drops": snap.accepted_drops,
                "redeemed_drops": snap.ledger_balance_drops,
                "status": snap.status,
            }
            for snap in channels_by_ids(channel_ids)
        ],
        "claims": [
            {
                "claim_id": row["pk"],
                "channel_id": row["channel__channel_id"],
                "amount_drops": row["amount_drops"],
                "increment_drops": row["increment_drops"],
                "payee_ref": row["payee_ref"],
                "reference": row["reference"],
                "accepted_at": row["accepted_at"],
            }
            for row in claims
        ],
        "transactions": [
            {
                "tx_hash": row["tx_hash"],
                "channel_id": row["channel__channel_id"],
                "balance_drops": row["balance_drops"],
                "close": row["close"],
                "status": row["status"],
                "engine_result": row["engine_result"],
                "ledger_index": row["ledger_index"],
                "created_at": row["created_at"],
            }
            for row in settlements_of_channels(channel_ids)
        ],
        "unlocks": linked,
    }
    SarEvent.objects.create(
        case=case,
        at=clock.now(),
        actor=_user(actor),
        actor_label=_actor_label(actor, actor_label or "system"),
        action="exported",
    )
    return json.loads(json.dumps(export, cls=DjangoJSONEncoder))


def sar_export_csv(export: dict[str, Any]) -> str:
    """The export as one CSV: a row per linked item (channel, claim, transaction, unlock)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["case_id", "item", "id", "channel_id", "amount_drops", "at", "detail"])
    case_id = export["case"]["id"]
    for channel in export["channels"]:
        writer.writerow(
            [
                case_id,
                "channel",
                channel["channel_id"],
                channel["channel_id"],
                channel["amount_drops"],
                "",
                f"source={channel['source_address']} status={channel['status']}",
            ]
        )
    for claim in export["claims"]:
        writer.writerow(
            [
                case_id,
                "claim",
                claim["claim_id"],
                claim["channel_id"],
                claim["increment_drops"],
                claim["accepted_at"],
                claim["reference"],
            ]
        )
    for tx in export["transactions"]:
        writer.writerow(
            [
                case_id,
                "transaction",
                tx["tx_hash"],
                tx["channel_id"],
                tx["balance_drops"],
                tx["created_at"],
                f"{tx['status']} {tx['engine_result']}".strip(),
            ]
        )
    for unlock in export["unlocks"]:
        writer.writerow(
            [
                case_id,
                "unlock",
                unlock["claim_id"],
                "",
                unlock["gross_drops"],
                unlock["at"],
                f"reader={unlock['reader_ref']} country={unlock['country']} tax={unlock['tax_drops']}",
            ]
        )
    return out.getvalue()
