"""Fraud cases: deduplicated opening, append-only evidence and audit, holds placed, extended
and released through channels_app's payout holds, and the revenue a case may hold.

The helpers at the top (readers who pay through real accepted claims, telemetry rows) are
shared by the detector tests.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from xrpl.wallet import Wallet

from channels_app.exceptions import Conflict
from channels_app.models import Channel
from channels_app.payouts.models import PayoutHold
from channels_app.services.claims import claim_accept
from fraud.models import ArticleView, RiskDecisionRecord, TelemetrySession
from fraud.models.cases import FraudCase, FraudCaseEvent
from fraud.services.cases import (
    case_assign,
    case_confirm,
    case_dismiss,
    case_hold,
    case_note,
    case_open,
    case_release,
    revenue_at_stake,
)
from tests.channels_app.factories import ClaimKey, claim_key, make_channel

pytestmark = pytest.mark.django_db

FEE_BPS = 1000


# --- Shared helpers (imported by the detector tests) -------------------------------------------


def ref(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(6)}"


def new_address() -> str:
    return Wallet.create().classic_address


def net(drops: int) -> int:
    return drops - drops * FEE_BPS // 10_000


@dataclass
class Payer:
    """A reader with a tracked channel whose claims are accepted for real (no ledger needed)."""

    reader_ref: str
    key: ClaimKey
    channel: Channel
    cumulative: int = 0
    paid: dict[str, int] = field(default_factory=dict)

    def pay(self, publisher_ref: str, drops: int) -> None:
        self.cumulative += drops
        claim_accept(
            channel_id=self.channel.channel_id,
            amount_drops=self.cumulative,
            signature=self.key.sign(self.channel.channel_id, self.cumulative),
            min_increment_drops=drops,
            payee_ref=publisher_ref,
            fee_bps=FEE_BPS,
            reference=f"unlock:{publisher_ref}:{self.cumulative}:{self.reader_ref}",
        )
        self.paid[publisher_ref] = self.paid.get(publisher_ref, 0) + net(drops)


def make_payer(reader_ref: str | None = None, *, source_address: str | None = None) -> Payer:
    key = claim_key()
    reader_ref = reader_ref or ref("rdr")
    channel = make_channel(
        key=key,
        owner_ref=reader_ref,
        source_address=source_address or new_address(),
        amount_drops=500_000_000,
    )
    return Payer(reader_ref=reader_ref, key=key, channel=channel)


def make_session(
    publisher_ref: str,
    *,
    reader_ref: str = "",
    fingerprint: str | None = None,
    network: str | None = None,
    category: str = "human",
    score: float = 0.1,
    reasons: list[str] | None = None,
    at: datetime | None = None,
) -> TelemetrySession:
    session = TelemetrySession.objects.create(
        public_id=f"tls_{secrets.token_urlsafe(16)}",
        publisher_ref=publisher_ref,
        reader_ref=reader_ref,
        fingerprint_hash=fingerprint if fingerprint is not None else secrets.token_hex(32),
        network_prefix=network if network is not None else secrets.token_hex(32),
        category=category,
        score=score,
        reasons=reasons or [],
    )
    if at is not None:
        TelemetrySession.objects.filter(pk=session.pk).update(created_at=at, updated_at=at)
    return session


def make_view(session: TelemetrySession, article_ref: str, *, at: datetime) -> ArticleView:
    view = ArticleView.objects.create(
        session=session,
        publisher_ref=session.publisher_ref,
        article_ref=article_ref,
        visible_ms=90_000,
        words=800,
    )
    ArticleView.objects.filter(pk=view.pk).update(created_at=at)
    return view


def make_decision(
    session: TelemetrySession | None,
    *,
    publisher_ref: str,
    reader_ref: str,
    article_ref: str,
    amount_drops: int = 100_000,
    at: datetime | None = None,
    channel_id: str = "",
) -> RiskDecisionRecord:
    record = RiskDecisionRecord.objects.create(
        publisher_ref=publisher_ref,
        reader_ref=reader_ref,
        article_ref=article_ref,
        channel_id=channel_id,
        session=session,
        fingerprint_hash=session.fingerprint_hash if session else "",
        network_prefix=session.network_prefix if session else "",
        action="allow",
        score=session.score if session else 0.0,
        category=session.category if session else "agent",
        amount_drops=amount_drops,
    )
    RiskDecisionRecord.objects.filter(pk=record.pk).update(created_at=at or timezone.now())
    return record


def active_holds(publisher_ref: str) -> list[PayoutHold]:
    return list(PayoutHold.objects.filter(publisher_ref=publisher_ref, released_at__isnull=True))


def actions(case: FraudCase) -> list[str]:
    return list(case.events.order_by("pk").values_list("action", flat=True))


# --- Opening and evidence ------------------------------------------------------------------------


def test_open_dedupes_on_kind_publisher_and_subject_and_appends_evidence() -> None:
    # given an open case
    first = case_open(
        kind="risky_unlock",
        publisher_ref="pub_a",
        subject="reader:rdr_1",
        evidence={"source": "decisions", "score": 0.6},
        score=0.6,
        reader_refs=["rdr_1"],
    )
    # when the same finding comes again, and a different subject
    again = case_open(
        kind="risky_unlock",
        publisher_ref="pub_a",
        subject="reader:rdr_1",
        evidence={"source": "decisions", "score": 0.8},
        score=0.8,
        reader_refs=["rdr_1", "rdr_2"],
    )
    other = case_open(
        kind="risky_unlock", publisher_ref="pub_a", subject="reader:rdr_9", evidence={}
    )
    # then the first case took the evidence; the other subject has its own case
    assert again.pk == first.pk and other.pk != first.pk
    case = FraudCase.objects.get(pk=first.pk)
    assert [entry["score"] for entry in case.evidence] == [0.6, 0.8]
    assert all(entry["source"] == "decisions" and entry["at"] for entry in case.evidence)
    assert case.score == 0.8 and case.reader_refs == ["rdr_1", "rdr_2"]
    assert case.status == "open" and case.held_drops == 0 and not active_holds("pub_a")
    assert actions(case) == ["opened", "evidence"]
    assert case.events.first().actor_label == "decisions"


def test_open_refuses_an_unknown_kind_and_writes_nothing() -> None:
    with pytest.raises(ValueError):
        case_open(kind="nonsense", publisher_ref="pub_a", subject="x", evidence={})
    assert FraudCase.objects.count() == 0 and FraudCaseEvent.objects.count() == 0


def test_evidence_beyond_the_cap_is_counted_not_stored(settings) -> None:
    settings.DROPGATE_FRAUD_CASE_MAX_EVIDENCE = 2
    for n in range(4):
        case_open(kind="velocity", publisher_ref="pub_a", subject="reader:r", evidence={"n": n})
    case = FraudCase.objects.get()
    assert [entry["n"] for entry in case.evidence] == [0, 1]
    assert case.evidence_dropped == 2


# --- Holds --------------------------------------------------------------------------------------


def test_holds_are_placed_extended_released_and_reheld() -> None:
    # given a case that holds 1000 drops
    case = case_open(
        kind="risky_unlock",
        publisher_ref="pub_h",
        subject="reader:r1",
        evidence={"source": "decisions"},
        hold_drops=1000,
    )
    (hold,) = active_holds("pub_h")
    assert (hold.amount_drops, case.hold_id, case.status) == (1000, hold.pk, "holding")
    # when more revenue of the same finding comes in
    case = case_open(
        kind="risky_unlock",
        publisher_ref="pub_h",
        subject="reader:r1",
        evidence={"source": "decisions"},
        hold_drops=500,
    )
    # then one hold for the total replaces the first one
    (extended,) = active_holds("pub_h")
    assert extended.amount_drops == 1500 and extended.pk != hold.pk
    hold.refresh_from_db()
    assert hold.released_at is not None and "superseded" in hold.release_note
    assert (case.held_drops, case.at_stake_drops, case.hold_ids) == (
        1500,
        1500,
        [hold.pk, extended.pk],
    )

    # when an admin releases it, the case stays open and takes new evidence
    reviewer = User.objects.create_user("reviewer")
    case = case_release(case_id=case.pk, by=reviewer, note="looks fine so far")
    assert (case.status, case.held_drops, case.hold_id) == ("released", 0, None)
    assert not active_holds("pub_h")
    extended.refresh_from_db()
    assert extended.released_by == reviewer
    # and new revenue at stake is held again (only the new amount)
    case = case_open(
        kind="risky_unlock",
        publisher_ref="pub_h",
        subject="reader:r1",
        evidence={"source": "decisions"},
        hold_drops=200,
    )
    assert case.status == "holding" and [h.amount_drops for h in active_holds("pub_h")] == [200]
    # and an admin may hold everything at stake again
    case = case_hold(case_id=case.pk, by=reviewer)
    assert [h.amount_drops for h in active_holds("pub_h")] == [1700]
    assert actions(case) == [
        "opened",
        "hold_placed",
        "evidence",
        "hold_extended",
        "hold_released",
        "evidence",
        "hold_placed",
        "hold_extended",
    ]


def test_hold_released_in_the_payouts_admin_is_replaced_not_double_released() -> None:
    case = case_open(
        kind="risky_unlock", publisher_ref="pub_x", subject="s", evidence={}, hold_drops=10
    )
    from channels_app.payouts.services.holds import hold_release

    hold_release(hold_id=case.hold_id)
    case = case_open(
        kind="risky_unlock", publisher_ref="pub_x", subject="s", evidence={}, hold_drops=5
    )
    assert [h.amount_drops for h in active_holds("pub_x")] == [15]
    assert actions(case)[-1] == "hold_placed"


def test_confirm_keeps_the_hold_and_closes_the_case() -> None:
    case = case_open(
        kind="account_farming",
        publisher_ref="pub_c",
        subject="cluster:1",
        evidence={},
        hold_drops=700,
    )
    case = case_confirm(case_id=case.pk, by="lead", note="farm confirmed")
    assert case.status == "confirmed" and case.closed_at is not None
    assert [h.amount_drops for h in active_holds("pub_c")] == [700]
    # a closed case takes no further action; the next finding opens a new case
    with pytest.raises(Conflict):
        case_release(case_id=case.pk)
    assert [h.amount_drops for h in active_holds("pub_c")] == [700]
    newer = case_open(
        kind="account_farming", publisher_ref="pub_c", subject="cluster:1", evidence={}
    )
    assert newer.pk != case.pk


def test_dismiss_releases_the_hold_and_twice_changes_nothing() -> None:
    case = case_open(
        kind="synthetic_traffic", publisher_ref="pub_d", subject="site", evidence={}, hold_drops=300
    )
    case = case_dismiss(case_id=case.pk, note="false alarm")
    assert case.status == "dismissed" and not active_holds("pub_d")
    events = FraudCaseEvent.objects.count()
    with pytest.raises(Conflict):
        case_dismiss(case_id=case.pk)
    assert FraudCaseEvent.objects.count() == events
    assert actions(case)[-2:] == ["hold_released", "dismissed"]


def test_nothing_at_stake_cannot_be_held() -> None:
    case = case_open(kind="velocity", publisher_ref="pub_v", subject="reader:r", evidence={})
    with pytest.raises(Conflict) as raised:
        case_hold(case_id=case.pk)
    assert raised.value.code == "case_nothing_at_stake"
    assert not PayoutHold.objects.exists() and actions(case) == ["opened"]


def test_release_without_a_hold_is_a_conflict() -> None:
    case = case_open(kind="velocity", publisher_ref="pub_v", subject="reader:r", evidence={})
    with pytest.raises(Conflict):
        case_release(case_id=case.pk)
    assert FraudCase.objects.get(pk=case.pk).status == "open"


# --- Audit trail --------------------------------------------------------------------------------


def test_assign_and_note_are_audited_with_the_actor() -> None:
    lead = User.objects.create_user("lead")
    analyst = User.objects.create_user("analyst")
    case = case_open(kind="velocity", publisher_ref="pub_n", subject="reader:r", evidence={})
    case_assign(case_id=case.pk, assignee=analyst, by=lead)
    case_note(case_id=case.pk, note="checking the channel's funding", by=analyst)
    case.refresh_from_db()
    assert case.assignee == analyst
    assigned, note = case.events.order_by("pk")[1:]
    assert (assigned.actor, assigned.details["assignee"]) == (lead, "analyst")
    assert (note.actor, note.actor_label, note.details["note"]) == (
        analyst,
        "analyst",
        "checking the channel's funding",
    )


def test_events_are_append_only() -> None:
    case = case_open(kind="velocity", publisher_ref="pub_n", subject="reader:r", evidence={})
    event = case.events.get()
    event.details = {"forged": True}
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
    with pytest.raises(ValueError):
        FraudCaseEvent.objects.filter(pk=event.pk).update(details={})
    with pytest.raises(ValueError):
        FraudCaseEvent.objects.all().delete()
    event.refresh_from_db()
    assert event.details != {"forged": True} and FraudCaseEvent.objects.count() == 1


def test_the_database_itself_refuses_to_rewrite_an_event() -> None:
    case = case_open(kind="velocity", publisher_ref="pub_n", subject="reader:r", evidence={})
    event = case.events.get()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE fraud_fraudcaseevent SET action = %s WHERE id = %s", ["forged", event.pk]
            )
    assert FraudCaseEvent.objects.get(pk=event.pk).action != "forged"


# --- Revenue at stake ---------------------------------------------------------------------------


def test_revenue_at_stake_is_the_publishers_net_from_those_readers_claims() -> None:
    since = timezone.now()
    alice, bob = make_payer(), make_payer()
    alice.pay("pub_r", 100_000)
    alice.pay("pub_r", 50_000)
    alice.pay("pub_other", 70_000)
    bob.pay("pub_r", 30_000)
    assert (
        revenue_at_stake(publisher_ref="pub_r", reader_refs=[alice.reader_ref], since=since)
        == alice.paid["pub_r"]
        == net(150_000)
    )
    assert revenue_at_stake(
        publisher_ref="pub_r", reader_refs=[alice.reader_ref, bob.reader_ref], since=since
    ) == net(180_000)
    assert (
        revenue_at_stake(
            publisher_ref="pub_r", reader_refs=[alice.reader_ref], since=timezone.now()
        )
        == 0
    )
