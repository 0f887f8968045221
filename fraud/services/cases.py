"""Fraud cases: open (deduplicated), add evidence, hold and release revenue, conclude.

Every function here is the only way its change happens, runs in one transaction and writes a
`FraudCaseEvent`. Revenue is held through channels_app's payout holds: a case owns at most one
active `PayoutHold`; extending it releases the old hold and places one for the new total in the
same transaction, so the publisher's held amount never dips in between.

`by` names who acts: a user (admin actions), a string naming a detector ("farming"), or None
("system").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from channels_app import clock
from channels_app.exceptions import Conflict, NotFound
from channels_app.models import Claim, JournalLine
from channels_app.payouts.services.holds import hold_place, hold_release
from fraud.lock_objects import case_lock, case_open_lock
from fraud.models.cases import (
    OPEN_CASE_STATUSES,
    FraudCase,
    FraudCaseEvent,
    FraudCaseKind,
    FraudCaseStatus,
)

Action = FraudCaseEvent.Action

MAX_READER_REFS = 2_000


def _max_evidence() -> int:
    return int(getattr(settings, "DROPGATE_FRAUD_CASE_MAX_EVIDENCE", 500))


def _actor(by: Any) -> tuple[Any, str]:
    """(user or None, label) of whoever acts."""
    if by is None:
        return None, "system"
    if isinstance(by, str):
        return None, by[:64] or "system"
    return by, str(by.get_username())[:64]


def _event(case: FraudCase, action: str, by: Any, **details: Any) -> FraudCaseEvent:
    user, label = _actor(by)
    return FraudCaseEvent.objects.create(
        case=case, at=clock.now(), actor=user, actor_label=label, action=action, details=details
    )


def _locked(case_id: int) -> FraudCase:
    try:
        return case_lock(case_id)
    except FraudCase.DoesNotExist:
        raise NotFound(code="case_not_found") from None


def _require_open(case: FraudCase) -> None:
    if not case.is_open:
        raise Conflict(f"The case is already {case.status}.", code="case_closed")


def _set_hold(case: FraudCase, *, amount_drops: int, by: Any, why: str) -> str:
    """Make the case's active hold exactly `amount_drops`; returns the event action.

    Precondition: the case row is locked and the caller saves it afterwards.
    """
    user, _label = _actor(by)
    action = Action.HOLD_EXTENDED if case.hold_id is not None else Action.HOLD_PLACED
    if case.hold_id is not None:
        try:
            hold_release(hold_id=case.hold_id, by=user, note=f"superseded: case {case.pk} {why}")
        except Conflict:
            # Released from the payouts admin behind the case's back: nothing left to supersede.
            action = Action.HOLD_PLACED
    hold = hold_place(
        publisher_ref=case.publisher_ref,
        amount_drops=amount_drops,
        reason=f"fraud case {case.pk}: {case.kind} {case.subject}",
        by=user,
    )
    case.hold = hold
    case.hold_ids = [*case.hold_ids, hold.pk]
    case.held_drops = amount_drops
    case.status = FraudCaseStatus.HOLDING
    return action


def _release_hold(case: FraudCase, *, by: Any, note: str) -> int:
    """Release the case's active hold, if any; returns the amount it kept back."""
    if case.hold_id is None:
        return 0
    user, _label = _actor(by)
    released = case.held_drops
    try:
        hold_release(hold_id=case.hold_id, by=user, note=note[:255])
    except Conflict:
        pass  # already released from the payouts admin
    case.hold = None
    case.held_drops = 0
    return released


def _merge_readers(existing: Sequence[str], new: Iterable[str]) -> list[str]:
    merged = sorted({*existing, *(ref for ref in new if ref)})
    return merged[:MAX_READER_REFS]


@transaction.atomic
def case_open(
    *,
    kind: str,
    publisher_ref: str,
    subject: str,
    evidence: dict[str, Any],
    score: float | None = None,
    hold_drops: int | None = None,
    reader_refs: Sequence[str] = (),
) -> FraudCase:
    """Open a case, or add this evidence to the open case of the same (kind, publisher, subject).

    `evidence` is stored as one entry with the time and its `source` (default "system");
    with `hold_drops` the case's hold grows by that much revenue (placed if there was none).
    Returns the case. Lock order: cases:open, the case, then the payouts lock.
    """
    if kind not in FraudCaseKind.values:
        raise ValueError(f"unknown case kind {kind!r}")
    if not publisher_ref or not subject:
        raise ValueError("a case needs a publisher_ref and a subject")
    if hold_drops is not None and hold_drops < 0:
        raise ValueError("hold_drops must not be negative")
    subject = subject[:255]
    now = clock.now()
    source = str(evidence.get("source") or "system")[:64]
    entry = {**evidence, "at": now.isoformat(), "source": source}

    case_open_lock()
    existing = (
        FraudCase.objects.filter(
            kind=kind, publisher_ref=publisher_ref, subject=subject, status__in=OPEN_CASE_STATUSES
        )
        .values_list("pk", flat=True)
        .first()
    )
    if existing is None:
        case = FraudCase.objects.create(
            kind=kind,
            publisher_ref=publisher_ref,
            subject=subject,
            score=score,
            reader_refs=_merge_readers((), reader_refs),
            evidence=[entry],
            opened_at=now,
            updated_at=now,
        )
        _event(case, Action.OPENED, source, kind=kind, subject=subject, score=score)
    else:
        case = case_lock(existing)
        if len(case.evidence) < _max_evidence():
            case.evidence = [*case.evidence, entry]
        else:
            case.evidence_dropped += 1
        case.reader_refs = _merge_readers(case.reader_refs, reader_refs)
        if score is not None:
            case.score = score if case.score is None else max(case.score, score)
        case.updated_at = now
        _event(case, Action.EVIDENCE, source, score=score, readers=len(reader_refs))
    if hold_drops:
        case.at_stake_drops += hold_drops
        total = case.held_drops + hold_drops
        action = _set_hold(case, amount_drops=total, by=source, why=f"+{hold_drops} drops")
        _event(case, action, source, amount_drops=total, added_drops=hold_drops)
    case.save()
    return case


@transaction.atomic
def case_hold(
    *, case_id: int, amount_drops: int | None = None, by: Any = None, note: str = ""
) -> FraudCase:
    """Hold `amount_drops` of the publisher's revenue for this case (None: all it has at stake),
    replacing the case's current hold. Conflict when the case is closed or has nothing at stake."""
    case = _locked(case_id)
    _require_open(case)
    amount = case.at_stake_drops if amount_drops is None else amount_drops
    if amount < 1:
        raise Conflict("The case has no revenue at stake to hold.", code="case_nothing_at_stake")
    action = _set_hold(case, amount_drops=amount, by=by, why="re-held")
    case.updated_at = clock.now()
    case.save()
    _event(case, action, by, amount_drops=amount, note=note[:1000])
    return case


@transaction.atomic
def case_release(*, case_id: int, by: Any = None, note: str = "") -> FraudCase:
    """Release the case's hold: its revenue is payable from the next batch. The case stays
    open (status released) until it is confirmed or dismissed."""
    case = _locked(case_id)
    _require_open(case)
    if case.hold_id is None:
        raise Conflict("The case holds no revenue.", code="case_not_holding")
    released = _release_hold(case, by=by, note=note or f"fraud case {case.pk} released")
    case.status = FraudCaseStatus.RELEASED
    case.updated_at = clock.now()
    case.save()
    _event(case, Action.HOLD_RELEASED, by, amount_drops=released, note=note[:1000])
    return case


@transaction.atomic
def case_confirm(*, case_id: int, by: Any = None, note: str = "") -> FraudCase:
    """Conclude the case as fraud. Its hold stays in place: that revenue is not paid out."""
    case = _locked(case_id)
    _require_open(case)
    now = clock.now()
    case.status = FraudCaseStatus.CONFIRMED
    case.closed_at = case.updated_at = now
    case.save()
    _event(case, Action.CONFIRMED, by, held_drops=case.held_drops, note=note[:1000])
    return case


@transaction.atomic
def case_dismiss(*, case_id: int, by: Any = None, note: str = "") -> FraudCase:
    """Conclude the case as a false alarm, releasing any revenue it held."""
    case = _locked(case_id)
    _require_open(case)
    released = _release_hold(case, by=by, note=note or f"fraud case {case.pk} dismissed")
    if released:
        _event(case, Action.HOLD_RELEASED, by, amount_drops=released, note="dismissed")
    now = clock.now()
    case.status = FraudCaseStatus.DISMISSED
    case.closed_at = case.updated_at = now
    case.save()
    _event(case, Action.DISMISSED, by, note=note[:1000])
    return case


@transaction.atomic
def case_assign(*, case_id: int, assignee: Any, by: Any = None) -> FraudCase:
    """Give the case to `assignee` (a user; None: unassigned)."""
    case = _locked(case_id)
    case.assignee = assignee
    case.updated_at = clock.now()
    case.save(update_fields=["assignee", "updated_at"])
    _, label = _actor(assignee) if assignee is not None else (None, "")
    _event(case, Action.ASSIGNED, by, assignee=label)
    return case


@transaction.atomic
def case_note(*, case_id: int, note: str, by: Any = None) -> FraudCaseEvent:
    """Add a reviewer's note to the case's audit trail (closed cases too)."""
    if not note.strip():
        raise ValueError("a note needs text")
    case = _locked(case_id)
    return _event(case, Action.NOTE, by, note=note[:2000])


def revenue_at_stake(
    *,
    publisher_ref: str,
    reader_refs: Iterable[str],
    since: datetime,
    until: datetime | None = None,
) -> int:
    """What the publisher earned (net of the platform fee) from claims on these readers'
    channels accepted in [since, until): the revenue a case about them may hold."""
    readers = list({ref for ref in reader_refs if ref})
    if not readers:
        return 0
    claims = Claim.objects.filter(
        payee_ref=publisher_ref, channel__owner_ref__in=readers, accepted_at__gte=since
    )
    if until is not None:
        claims = claims.filter(accepted_at__lt=until)
    references = [f"claim:{pk}" for pk in claims.values_list("pk", flat=True)]
    total = 0
    for start in range(0, len(references), 500):
        sums = JournalLine.objects.filter(
            account="publisher_payable",
            subaccount=publisher_ref,
            entry__kind__in=("claim_accepted", "tax", "fee"),
            entry__reference__in=references[start : start + 500],
        ).aggregate(c=Sum("credit_drops"), d=Sum("debit_drops"))
        total += int(sums["c"] or 0) - int(sums["d"] or 0)
    return max(0, total)


def case_open_detected(
    *,
    kind: str,
    publisher_ref: str,
    subject: str,
    evidence: dict[str, Any],
    score: float | None,
    reader_refs: Sequence[str],
    since: datetime,
) -> FraudCase | None:
    """Open or update a detector's case, holding the revenue its readers brought since the
    finding began (the first evidence's `window_start`, else `since`).

    Idempotent: when the open case already lists every reader, already holds that revenue and
    its last evidence is this same evidence, nothing is written and the case is returned
    unchanged; otherwise the evidence is appended and only the revenue not yet held is added
    to the hold. Precondition: the caller holds its `detector_lock`.
    """
    digest = hashlib.sha256(json.dumps(evidence, sort_keys=True, default=str).encode()).hexdigest()[
        :16
    ]
    existing = FraudCase.objects.filter(
        kind=kind, publisher_ref=publisher_ref, subject=subject[:255], status__in=OPEN_CASE_STATUSES
    ).first()
    readers = _merge_readers(existing.reader_refs if existing else (), reader_refs)
    start = since
    if existing is not None and existing.evidence:
        recorded = existing.evidence[0].get("window_start")
        if recorded:
            start = min(since, datetime.fromisoformat(recorded))
    total = revenue_at_stake(publisher_ref=publisher_ref, reader_refs=readers, since=start)
    delta = total - (existing.at_stake_drops if existing is not None else 0)
    if (
        existing is not None
        and delta <= 0
        and set(reader_refs) <= set(existing.reader_refs)
        and existing.evidence
        and existing.evidence[-1].get("digest") == digest
    ):
        return existing
    return case_open(
        kind=kind,
        publisher_ref=publisher_ref,
        subject=subject,
        evidence={
            **evidence,
            "window_start": start.isoformat(),
            "revenue_drops": total,
            "digest": digest,
        },
        score=score,
        hold_drops=delta if delta > 0 else None,
        reader_refs=reader_refs,
    )
