"""Each rule, as written in disputes.resolvers: pure functions over a frozen Evidence."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from disputes.resolvers import authentication, behaviour, delivery, reputation
from disputes.resolvers.consensus import combine, resolve
from disputes.types import DeliveryFact, Evidence, Policy, Standing, Vote

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = Policy(bounce_seconds=15, repeat_filer=5, auto_limit_drops=10_000_000)
SERVED = DeliveryFact(at=T0, status=200, bytes=5_000, sha256="ab" * 32, dwell_ms_at=20_000)
FAILED = DeliveryFact(at=T0, status=500, bytes=0, sha256="", dwell_ms_at=None)


def evidence(**changes: object) -> Evidence:
    base = Evidence(
        reason="not_delivered",
        dispute_class="technical",
        amount_drops=200_000,
        unlocked_at=T0,
        filed_at=T0 + timedelta(minutes=2),
        deliveries=(SERVED,),
        dwell_ms=20_000 + 240_000,
        earlier_charges_at=(),
        grant_ttl_seconds=300,
        claim_signed_by_registered_key=True,
        fraud_decision="allow",
        fingerprint_seen_before=True,
        key_compromise_reported_before=False,
        reader_disputes_recent=1,
        reader_disputes_before=0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# --- Delivery -----------------------------------------------------------------------------


def test_not_delivered_is_the_readers_without_a_successful_delivery() -> None:
    for deliveries in ((), (FAILED,), (FAILED, FAILED)):
        vote = delivery.vote(evidence(deliveries=deliveries), POLICY)
        assert (vote.side, vote.reasons) == ("reader", ("delivery_missing",))


def test_not_delivered_is_the_publishers_with_one() -> None:
    vote = delivery.vote(evidence(deliveries=(FAILED, SERVED)), POLICY)
    assert (vote.side, vote.reasons) == ("publisher", ("delivery_recorded",))


def test_an_empty_body_is_no_delivery() -> None:
    empty = replace(SERVED, bytes=0)
    assert delivery.vote(evidence(deliveries=(empty,)), POLICY).side == "reader"


def test_charged_twice_is_the_readers_when_an_earlier_grant_was_still_valid() -> None:
    earlier = T0 - timedelta(seconds=299)
    vote = delivery.vote(evidence(reason="charged_twice", earlier_charges_at=(earlier,)), POLICY)
    assert (vote.side, vote.reasons) == ("reader", ("charged_within_grant",))


def test_charged_twice_is_the_publishers_otherwise() -> None:
    expired = T0 - timedelta(seconds=300)  # the grant ended exactly at the second charge
    for earlier in ((), (expired,)):
        vote = delivery.vote(evidence(reason="charged_twice", earlier_charges_at=earlier), POLICY)
        assert (vote.side, vote.reasons) == ("publisher", ("single_charge",))


def test_delivery_abstains_on_other_reasons() -> None:
    for reason in ("not_as_described", "accidental", "unauthorized"):
        assert delivery.vote(evidence(reason=reason, deliveries=()), POLICY).side == "abstain"


# --- Behaviour ----------------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["not_as_described", "accidental"])
def test_a_bounce_after_delivery_is_the_readers(reason: str) -> None:
    # 14.999 s visible after the body arrived (20 s of teaser before it do not count)
    vote = behaviour.vote(evidence(reason=reason, dwell_ms=20_000 + 14_999), POLICY)
    assert (vote.side, vote.reasons) == ("reader", ("bounce",))


@pytest.mark.parametrize("reason", ["not_as_described", "accidental"])
def test_reading_it_leaves_the_answer_to_the_publisher(reason: str) -> None:
    vote = behaviour.vote(evidence(reason=reason, dwell_ms=20_000 + 15_000), POLICY)
    assert (vote.side, vote.reasons) == ("abstain", ("read",))


def test_no_delivery_is_the_readers_and_no_telemetry_abstains() -> None:
    vote = behaviour.vote(evidence(reason="accidental", deliveries=(FAILED,)), POLICY)
    assert (vote.side, vote.reasons) == ("reader", ("no_delivery",))
    vote = behaviour.vote(evidence(reason="accidental", dwell_ms=None), POLICY)
    assert (vote.side, vote.reasons) == ("abstain", ("dwell_unknown",))


def test_the_bounce_threshold_is_the_policys() -> None:
    strict = replace(POLICY, bounce_seconds=60)
    assert (
        behaviour.vote(evidence(reason="accidental", dwell_ms=20_000 + 59_000), strict).side
        == "reader"
    )


def test_behaviour_abstains_on_technical_and_fraud_disputes() -> None:
    for reason in ("not_delivered", "charged_twice", "unauthorized"):
        assert behaviour.vote(evidence(reason=reason, dwell_ms=20_001), POLICY).side == "abstain"


# --- Authentication -----------------------------------------------------------------------


def test_a_compromise_reported_before_the_unlock_is_the_readers() -> None:
    vote = authentication.vote(
        evidence(reason="unauthorized", key_compromise_reported_before=True), POLICY
    )
    assert (vote.side, vote.reasons) == ("reader", ("key_compromise_reported",))


def test_registered_key_allow_and_a_known_fingerprint_are_the_publishers() -> None:
    vote = authentication.vote(evidence(reason="unauthorized"), POLICY)
    assert vote.side == "publisher"
    assert vote.reasons == ("registered_key", "fraud_allow", "known_fingerprint")


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        ({"claim_signed_by_registered_key": False}, "unregistered_key"),
        ({"fraud_decision": "hold"}, "fraud_not_allow"),
        ({"fraud_decision": None}, "fraud_not_allow"),
        ({"fingerprint_seen_before": False}, "new_fingerprint"),
    ],
)
def test_anything_less_abstains(change: dict[str, object], missing: str) -> None:
    vote = authentication.vote(evidence(reason="unauthorized", **change), POLICY)
    assert (vote.side, vote.reasons) == ("abstain", (missing,))


def test_authentication_abstains_on_other_reasons() -> None:
    assert authentication.vote(evidence(reason="not_delivered"), POLICY).side == "abstain"


# --- Reputation ---------------------------------------------------------------------------


def test_reputation_marks_repeat_filers_and_first_disputes() -> None:
    assert reputation.standing(evidence(reader_disputes_recent=4), POLICY) == Standing(False, True)
    assert reputation.standing(
        evidence(reader_disputes_recent=5, reader_disputes_before=4), POLICY
    ) == Standing(True, False)


# --- Consensus ----------------------------------------------------------------------------

FIRST = Standing(repeat_filer=False, first_dispute=True)
RETURNING = Standing(repeat_filer=False, first_dispute=False)


def v(side: str, *reasons: str) -> Vote:
    return Vote("r", side, reasons)  # type: ignore[arg-type]


def test_agreeing_votes_decide_at_tier_1() -> None:
    result = combine(
        (v("reader", "a"), v("abstain"), v("reader", "b")), RETURNING, amount_drops=1, policy=POLICY
    )
    assert (result.winner, result.reasons) == ("reader", ("a", "b"))


def test_disagreement_goes_on_unless_a_first_disputes_tie() -> None:
    votes = (v("reader", "a"), v("publisher", "b"))
    assert combine(votes, RETURNING, amount_drops=1, policy=POLICY).reasons == ("disagreement",)
    tie = combine(votes, FIRST, amount_drops=1, policy=POLICY)
    assert (tie.winner, tie.reasons) == ("reader", ("a", "first_dispute"))
    two_to_one = (v("reader", "a"), v("publisher", "b"), v("publisher", "c"))
    assert combine(two_to_one, FIRST, amount_drops=1, policy=POLICY).winner is None


def test_all_abstaining_is_not_decided() -> None:
    result = combine((v("abstain"), v("abstain")), FIRST, amount_drops=1, policy=POLICY)
    assert (result.winner, result.reasons) == (None, ("all_abstain",))


def test_an_amount_over_the_limit_and_a_repeat_filer_escalate_even_agreement() -> None:
    votes = (v("reader", "a"),)
    over = combine(votes, FIRST, amount_drops=10_000_001, policy=POLICY)
    assert (over.winner, over.reasons) == (None, ("amount_over_limit",))
    at_limit = combine(votes, FIRST, amount_drops=10_000_000, policy=POLICY)
    assert at_limit.winner == "reader"
    repeat = Standing(repeat_filer=True, first_dispute=False)
    blocked = combine(
        (v("reader", "a"), v("publisher", "b")), repeat, amount_drops=20_000_000, policy=POLICY
    )
    assert blocked.reasons == ("disagreement", "amount_over_limit", "repeat_filer")


def test_resolve_runs_every_resolver() -> None:
    result = resolve(evidence(deliveries=()), POLICY)
    assert [vote.resolver for vote in result.votes] == ["delivery", "behaviour", "authentication"]
    assert (result.winner, result.reasons) == ("reader", ("delivery_missing",))
