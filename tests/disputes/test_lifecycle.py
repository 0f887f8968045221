"""Routing, SLAs and appeals with the app clock: the publisher's 7 days, tier 2's 14 days and
tier 3's signed bundle, appeals once per side within 14 days to another reviewer."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from channels_app import clock
from channels_app.models import JournalEntry
from channels_app.payouts.models import PayoutHold
from channels_app.selectors import journal_balance
from disputes.exceptions import AppealRefused, DisputeConflict, ReviewerConflict
from disputes.models import Dispute, DisputeEvent, EvidenceBundle
from disputes.services.appeals import dispute_appeal
from disputes.services.bundles import bundle_document, bundle_verify
from disputes.services.filing import dispute_file
from disputes.services.responses import dispute_respond
from disputes.services.review import dispute_ask_publisher, dispute_decide, dispute_escalate
from disputes.services.sla import disputes_sla_run
from tests.disputes.helpers import PRICE, dwell, fetch, pay

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def reviewer(name: str):
    return get_user_model().objects.create_user(username=name, is_staff=True)


def read_article(api, world, seat, seconds: int = 300) -> None:
    result, session = pay(seat, world.articles[0])
    fetch(api, world.articles[0], result.grant.token)
    dwell(session, world.articles[0], seconds)


def statuses(dispute: Dispute) -> list[tuple[str, str, str]]:
    return list(dispute.events.values_list("actor_label", "from_status", "to_status"))


def test_a_content_dispute_the_rules_leave_open_goes_to_the_publisher_then_the_sla(
    api, world
) -> None:
    seat = world.seat()
    read_article(api, world, seat)
    dispute = dispute_file(reader=seat.reader, unlock="first-story", reason="accidental")
    assert (dispute.status, dispute.tier, dispute.reasons) == ("needs_response", 1, ["all_abstain"])
    assert dispute.due_by == dispute.filed_at + 7 * DAY
    hold = PayoutHold.objects.get(pk=dispute.hold_id)
    assert hold.amount_drops == PRICE and hold.released_at is None

    with clock.override(7 * DAY - timedelta(minutes=1)):
        assert disputes_sla_run().decided == 0
    dispute.refresh_from_db()
    assert dispute.status == "needs_response"

    with clock.override(7 * DAY + timedelta(minutes=1)):
        outcome = disputes_sla_run()
        assert disputes_sla_run().decided == 0  # idempotent
    assert outcome.decided == 1
    dispute.refresh_from_db()
    assert (dispute.status, dispute.decided_by, dispute.reasons) == (
        "won_by_reader",
        "sla",
        ["response_overdue"],
    )
    assert dispute.refund is not None and dispute.refund.amount_drops == PRICE
    assert PayoutHold.objects.get(pk=hold.pk).released_at is not None
    assert statuses(dispute) == [
        (f"reader:{seat.reader.public_id}", "", "under_review"),
        ("auto", "under_review", "needs_response"),
        ("sla", "needs_response", "won_by_reader"),
        ("system", "", ""),  # the refund
    ]


def test_tier_2_has_14_days_then_escalates_with_a_signed_bundle(api, world) -> None:
    seat = world.seat()
    read_article(api, world, seat)
    dispute = dispute_file(reader=seat.reader, unlock="first-story", reason="accidental")
    dispute = dispute_respond(
        publisher=world.publisher, dispute_id=dispute.pk, accept=False, statement="Read in full."
    )
    assert (dispute.status, dispute.tier) == ("under_review", 2)
    with clock.override(14 * DAY + timedelta(minutes=1)):
        assert disputes_sla_run().escalated == 1
    dispute.refresh_from_db()
    assert (dispute.status, dispute.tier, dispute.reasons) == ("escalated", 3, ["review_overdue"])
    assert dispute.due_by is None

    bundle = EvidenceBundle.objects.get(dispute=dispute)
    assert bundle_verify(
        body=bundle.body, signature_hex=bundle.signature, public_key_hex=bundle.public_key
    )
    tampered = bundle.body.replace("Read in full.", "Read in part.")
    assert tampered != bundle.body
    assert not bundle_verify(
        body=tampered, signature_hex=bundle.signature, public_key_hex=bundle.public_key
    )
    content = json.loads(bundle.body)
    assert content["dispute"]["publisher_statement"] == "Read in full."
    assert content["evidence"]["deliveries"][0]["status"] == 200
    assert content["evidence"]["claim"]["signed_by_registered_key"] is True


def test_the_bundle_file_verifies_with_the_command(api, world, tmp_path) -> None:
    seat = world.seat()
    pay(seat, world.articles[0], decision="hold")
    dispute = dispute_file(reader=seat.reader, unlock="first-story", reason="unauthorized")
    assert dispute.status == "under_review"
    dispute_escalate(dispute_id=dispute.pk, by=reviewer("carol"))
    bundle = EvidenceBundle.objects.get(dispute=dispute)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle_document(bundle)))
    out = io.StringIO()
    call_command("disputes_bundle_verify", str(path), stdout=out)  # exit 0
    assert out.getvalue().strip() == "valid"
    document = bundle_document(bundle)
    document["bundle"]["dispute"]["amount_drops"] = 1
    path.write_text(json.dumps(document))
    with pytest.raises(SystemExit) as bad:
        call_command("disputes_bundle_verify", str(path))
    assert bad.value.code == 1


def test_reviewers_decide_escalate_and_ask_the_publisher(api, world) -> None:
    seat = world.seat()
    pay(seat, world.articles[0], decision="hold")
    dispute = dispute_file(reader=seat.reader, unlock="first-story", reason="unauthorized")
    assert (dispute.status, dispute.tier, dispute.reasons) == ("under_review", 2, ["all_abstain"])
    alice = reviewer("alice")
    dispute = dispute_ask_publisher(dispute_id=dispute.pk, by=alice)
    assert dispute.status == "needs_response"
    with pytest.raises(DisputeConflict):
        dispute_escalate(dispute_id=dispute.pk, by=alice)
    dispute = dispute_respond(
        publisher=world.publisher, dispute_id=dispute.pk, accept=False, statement="Their device."
    )
    dispute = dispute_decide(dispute_id=dispute.pk, reviewer=alice, winner="publisher", minutes=6)
    assert (dispute.status, dispute.decided_by, dispute.review_minutes) == (
        "won_by_publisher",
        "reviewer:alice",
        6,
    )
    assert dispute.refund is None and dispute.hold_id is None
    with pytest.raises(DisputeConflict) as decided:
        dispute_decide(dispute_id=dispute.pk, reviewer=alice, winner="reader")
    assert decided.value.code == "dispute_decided"


def test_appeals_once_per_side_within_14_days_to_another_reviewer(api, world) -> None:
    seat = world.seat()
    pay(seat, world.articles[0], decision="hold")
    dispute = dispute_file(reader=seat.reader, unlock="first-story", reason="unauthorized")
    alice, bob, carol = reviewer("alice"), reviewer("bob"), reviewer("carol")
    dispute = dispute_decide(dispute_id=dispute.pk, reviewer=alice, winner="reader", minutes=5)
    charged = journal_balance("publisher_payable", world.publisher.key)

    with pytest.raises(AppealRefused) as winner:
        dispute_appeal(dispute_id=dispute.pk, side="reader")
    assert winner.value.code == "appeal_not_needed"
    with clock.override(13 * DAY):
        dispute = dispute_appeal(dispute_id=dispute.pk, side="publisher", message="Wrong call.")
    assert (dispute.status, dispute.tier) == ("under_review", 2)
    with pytest.raises(AppealRefused) as twice:
        dispute_appeal(dispute_id=dispute.pk, side="publisher")
    assert (twice.value.code, twice.value.http_status) == ("appeal_exists", 409)
    with pytest.raises(ReviewerConflict):
        dispute_decide(dispute_id=dispute.pk, reviewer=alice, winner="publisher")

    with clock.override(13 * DAY):
        dispute = dispute_decide(dispute_id=dispute.pk, reviewer=bob, winner="publisher", minutes=9)
    assert dispute.status == "won_by_publisher"
    appeal = dispute.appeals.get()
    assert appeal.overturned is True and appeal.outcome_status == "won_by_publisher"
    # The reader keeps the refund already made; the platform makes the publisher whole.
    assert dispute.refund is not None and dispute.refund.amount_drops == PRICE
    assert journal_balance("publisher_payable", world.publisher.key) == charged - PRICE
    assert journal_balance("refunds_expense") == PRICE
    assert dispute.publisher_charged_drops == 0

    # The reader may appeal once too; bob decided, so carol takes it, and the reader wins again.
    with clock.override(14 * DAY):
        dispute = dispute_appeal(dispute_id=dispute.pk, side="reader")
        with pytest.raises(ReviewerConflict):
            dispute_decide(dispute_id=dispute.pk, reviewer=bob, winner="reader")
        dispute = dispute_decide(dispute_id=dispute.pk, reviewer=carol, winner="reader")
    assert journal_balance("publisher_payable", world.publisher.key) == charged
    assert journal_balance("refunds_expense") == 0
    assert dispute.publisher_charged_drops == PRICE
    assert dispute.refund is not None and dispute.refund.pk == dispute.refund_id  # one refund
    with pytest.raises(AppealRefused) as third:
        dispute_appeal(dispute_id=dispute.pk, side="publisher")
    assert third.value.code == "appeal_exists"
    assert JournalEntry.objects.filter(kind="refund").count() == 1


def test_an_appeal_after_14_days_is_422(api, world) -> None:
    seat = world.seat()
    result, _ = pay(seat, world.articles[0])
    fetch(api, world.articles[0], result.grant.token)
    dispute = dispute_file(reader=seat.reader, unlock="first-story", reason="not_delivered")
    assert dispute.status == "won_by_publisher"
    events = DisputeEvent.objects.count()
    with clock.override(14 * DAY + timedelta(seconds=5)):
        with pytest.raises(AppealRefused) as late:
            dispute_appeal(dispute_id=dispute.pk, side="reader")
    assert (late.value.code, late.value.http_status) == ("appeal_window_closed", 422)
    assert DisputeEvent.objects.count() == events
    with pytest.raises(AppealRefused) as winner:
        dispute_appeal(dispute_id=dispute.pk, side="publisher")
    assert winner.value.code == "appeal_not_needed"
    assert DisputeEvent.objects.count() == events


def test_repeat_filers_and_large_amounts_are_never_automatic(api, world, settings) -> None:
    settings.DROPGATE_DISPUTE_REPEAT_FILER = 2
    seat = world.seat()
    pay(seat, world.articles[0])
    pay(seat, world.articles[1])
    first = dispute_file(reader=seat.reader, unlock="first-story", reason="not_delivered")
    second = dispute_file(reader=seat.reader, unlock="second-story", reason="not_delivered")
    assert first.status == "won_by_reader"
    assert (second.status, second.reasons) == ("under_review", ["repeat_filer"])

    settings.DROPGATE_DISPUTE_AUTO_LIMIT_DROPS = PRICE - 1
    other = world.seat()
    pay(other, world.articles[0])
    big = dispute_file(reader=other.reader, unlock="first-story", reason="not_delivered")
    assert (big.status, big.tier, big.reasons) == ("under_review", 2, ["amount_over_limit"])


def test_the_sla_sweep_is_the_beat_task(api, world) -> None:
    from disputes.tasks import disputes_sla_sweep

    seat = world.seat()
    read_article(api, world, seat)
    dispute = dispute_file(reader=seat.reader, unlock="first-story", reason="not_as_described")
    with clock.override(8 * DAY):
        assert disputes_sla_sweep() == {"decided": 1, "escalated": 0, "refunds_retried": 0}
    dispute.refresh_from_db()
    assert dispute.status == "won_by_reader"


def test_the_audit_trail_is_append_only(api, world) -> None:
    from django.db import DatabaseError, connection, transaction

    from disputes.models import KeyCompromiseReport
    from disputes.services.compromise import key_compromise_report

    seat = world.seat()
    pay(seat, world.articles[0])
    dispute = dispute_file(reader=seat.reader, unlock="first-story", reason="not_delivered")
    event = dispute.events.first()
    assert event is not None and event.actor_label == f"reader:{seat.reader.public_id}"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    with pytest.raises(ValueError, match="append-only"):
        DisputeEvent.objects.filter(pk=event.pk).update(reason="forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE disputes_disputeevent SET reason = %s WHERE id = %s", ["forged", event.pk]
            )
    report = key_compromise_report(reader=seat.reader)
    with pytest.raises(ValueError, match="append-only"):
        KeyCompromiseReport.objects.filter(pk=report.pk).delete()
    assert DisputeEvent.objects.get(pk=event.pk).reason == "not_delivered"
