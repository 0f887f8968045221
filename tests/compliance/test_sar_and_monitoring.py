"""AML monitoring rules open SAR cases; the case state machine, its filing export and the
legal hold that erasure must respect."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from xrpl.wallet import Wallet

from channels_app import clock
from channels_app.models import Channel, ChannelStatus
from compliance.exceptions import SarTransitionRefused
from compliance.models import DecisionRecord, LegalHold, SarCase, SarEvent
from compliance.selectors import legal_hold_active
from compliance.services.monitoring import monitoring_scan
from compliance.services.sar import sar_export, sar_export_csv, sar_open_or_extend, sar_transition
from compliance.types import SubmittedEvidence
from paywall.services.unlocks import unlock_article
from paywall.types import SubmittedClaim
from tests.channels_app.factories import make_channel
from tests.paywall.factories import make_article, make_publisher, make_reader

pytestmark = pytest.mark.django_db


def open_case(subject: str = "rFUNDING") -> SarCase:
    case, opened = sar_open_or_extend(
        rule_id="monitoring.shared_funding",
        subject_kind="funding",
        subject=subject,
        summary="7 readers funded from one account",
        evidence={"readers": 7},
        reader_refs=["rdr_a", "rdr_b"],
        funding_addresses=[subject],
    )
    assert opened
    return case


@pytest.fixture
def officer():
    return get_user_model().objects.create_user("mlro", password="x", is_staff=True)


def test_open_investigating_filed_each_with_actor_and_reason(officer) -> None:
    case = open_case()
    with pytest.raises(SarTransitionRefused):
        sar_transition(
            case_id=case.pk,
            to_status="filed",
            reason="skip",
            actor=officer,
            filing_reference="FIU-1",
        )
    with pytest.raises(SarTransitionRefused) as raised:
        sar_transition(case_id=case.pk, to_status="investigating", reason=" ", actor=officer)
    assert raised.value.code == "sar_reason_required"
    sar_transition(
        case_id=case.pk, to_status="investigating", reason="looking at the channels", actor=officer
    )
    with pytest.raises(SarTransitionRefused) as raised:
        sar_transition(case_id=case.pk, to_status="filed", reason="suspicious", actor=officer)
    assert raised.value.code == "sar_filing_reference_required"
    case = sar_transition(
        case_id=case.pk,
        to_status="filed",
        reason="suspicious pattern",
        actor=officer,
        filing_reference="FIU-2026-0042",
    )
    assert case.status == "filed" and case.closed_at is not None
    with pytest.raises(SarTransitionRefused):
        sar_transition(case_id=case.pk, to_status="investigating", reason="reopen", actor=officer)
    events = list(
        case.events.values_list("action", "from_status", "to_status", "actor_label", "reason")
    )
    assert events == [
        ("opened", "", "open", "monitoring.shared_funding", "7 readers funded from one account"),
        ("status", "open", "investigating", "mlro", "looking at the channels"),
        ("status", "investigating", "filed", "mlro", "suspicious pattern"),
    ]


def test_closed_with_no_action(officer) -> None:
    case = open_case()
    sar_transition(case_id=case.pk, to_status="investigating", reason="check", actor=officer)
    case = sar_transition(
        case_id=case.pk,
        to_status="closed_no_action",
        reason="a library's shared wallet",
        actor=officer,
    )
    assert case.status == "closed_no_action"


def test_events_are_append_only(officer) -> None:
    case = open_case()
    event = case.events.get()
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
    with pytest.raises(ValueError):
        SarEvent.objects.filter(case=case).update(reason="rewritten")
    with pytest.raises(ValueError):
        SarEvent.objects.filter(case=case).delete()


def test_legal_hold_while_open_then_five_years(officer) -> None:
    case = open_case()
    assert legal_hold_active("funding", "rFUNDING")
    assert legal_hold_active("reader", "rdr_a")
    assert not legal_hold_active("reader", "rdr_unrelated")
    sar_transition(case_id=case.pk, to_status="investigating", reason="check", actor=officer)
    case = sar_transition(
        case_id=case.pk, to_status="closed_no_action", reason="fine", actor=officer
    )
    closed = case.closed_at.date()
    until = closed.replace(year=closed.year + 5)
    assert set(LegalHold.objects.filter(case=case).values_list("until", flat=True)) == {until}
    assert legal_hold_active("reader", "rdr_a", on=until)
    assert not legal_hold_active("reader", "rdr_a", on=until + timedelta(days=1))
    with pytest.raises(ValueError):
        LegalHold.objects.filter(case=case).first().delete()


def test_the_same_hit_twice_adds_nothing_new_evidence_is_appended() -> None:
    case = open_case()
    again, opened = sar_open_or_extend(
        rule_id="monitoring.shared_funding",
        subject_kind="funding",
        subject="rFUNDING",
        summary="7 readers funded from one account",
        evidence={"readers": 7},
    )
    assert again.pk == case.pk and not opened and len(again.evidence) == 1
    more, _ = sar_open_or_extend(
        rule_id="monitoring.shared_funding",
        subject_kind="funding",
        subject="rFUNDING",
        summary="9 readers",
        evidence={"readers": 9},
        reader_refs=["rdr_c"],
    )
    assert len(more.evidence) == 2 and more.reader_refs == ["rdr_a", "rdr_b", "rdr_c"]


# --- Monitoring rules against real records ---------------------------------------------------------


@pytest.fixture
def shop():
    publisher = make_publisher()
    return publisher, make_article(publisher, price_drops=1_000_000)


def buy(publisher, article, *, source: str, country: str = "DE", when: datetime | None = None):
    reader, _, key = make_reader(publisher)
    channel = make_channel(
        key=key, owner_ref=reader.public_id, amount_drops=10_000_000, source_address=source
    )
    claim = SubmittedClaim(channel.channel_id, 1_000_000, key.sign(channel.channel_id, 1_000_000))
    if when is None:
        unlock_article(
            reader=reader,
            article=article,
            claim=claim,
            telemetry_session="",
            evidence=SubmittedEvidence(country=country),
        )
    else:
        with clock.override(when - datetime.now(UTC)):
            unlock_article(
                reader=reader,
                article=article,
                claim=claim,
                telemetry_session="",
                evidence=SubmittedEvidence(country=country),
            )
    return reader, channel


def test_many_readers_funded_from_one_account_open_a_case_with_the_export(shop, officer) -> None:
    publisher, article = shop
    funding = Wallet.create().classic_address
    readers = [buy(publisher, article, source=funding)[0] for _ in range(5)]
    outcome = monitoring_scan()
    assert outcome.hits["monitoring.shared_funding"] == 1 and outcome.opened == 1
    case = SarCase.objects.get(rule_id="monitoring.shared_funding")
    assert case.subject == funding and sorted(case.reader_refs) == sorted(
        r.public_id for r in readers
    )
    assert len(case.channel_ids) == 5
    assert monitoring_scan().opened == 0  # unchanged: nothing new

    export = sar_export(case_id=case.pk, actor=officer)
    assert {c["source_address"] for c in export["channels"]} == {funding}
    assert len(export["claims"]) == 5 and len(export["unlocks"]) == 5
    assert all(u["claim_id"] for u in export["unlocks"])
    rows = list(csv.DictReader(io.StringIO(sar_export_csv(export))))
    assert [r["item"] for r in rows].count("claim") == 5
    assert case.events.filter(action="exported").count() == 1


def test_rapid_channel_cycling(shop) -> None:
    publisher, article = shop
    funding = Wallet.create().classic_address
    for _ in range(4):
        _, channel = buy(publisher, article, source=funding)
        Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.CLOSED)
    assert monitoring_scan().hits["monitoring.channel_cycling"] == 1


def test_structuring_just_under_the_limit(shop, settings) -> None:
    from compliance.services.fx import fx_rate_record

    settings.DROPGATE_READER_ROLLING_LIMIT_EUR = "1.00"
    fx_rate_record(
        base="XRP", quote="EUR", rate=Decimal("0.95"), as_of=date(2020, 1, 1), source="t"
    )
    publisher, article = shop
    funding = Wallet.create().classic_address
    now = clock.now()
    # 0.95 EUR per window (just under 1.00) in two of the last three 30-day windows.
    buy(publisher, article, source=funding, when=now - timedelta(days=80))
    buy(publisher, article, source=funding, when=now - timedelta(days=20))
    outcome = monitoring_scan()
    assert outcome.hits["monitoring.structuring"] == 1
    assert SarCase.objects.get(rule_id="monitoring.structuring").subject == funding


def test_high_risk_jurisdiction_exposure(shop) -> None:
    from compliance.exceptions import JurisdictionBlocked

    publisher, article = shop
    buy(
        publisher, article, source=Wallet.create().classic_address, country="MM"
    )  # allowed, high-risk
    with pytest.raises(JurisdictionBlocked):
        buy(publisher, article, source=Wallet.create().classic_address, country="IR")
    assert monitoring_scan().hits["monitoring.high_risk_exposure"] == 2
    assert set(DecisionRecord.objects.values_list("country", flat=True)) == {"MM", "IR"}


def test_confirmed_fraud_cases_become_aml_cases(shop) -> None:
    from fraud.services.cases import case_confirm, case_open

    publisher, _ = shop
    case = case_open(
        kind="account_farming",
        publisher_ref=publisher.key,
        subject="cluster:1",
        evidence={"readers": 6},
        score=0.9,
        hold_drops=0,
        reader_refs=["rdr_1", "rdr_2"],
    )
    assert monitoring_scan().hits["monitoring.fraud_signals"] == 0
    case_confirm(case_id=case.pk, note="farm confirmed")
    outcome = monitoring_scan()
    assert outcome.hits["monitoring.fraud_signals"] == 1
    aml = SarCase.objects.get(rule_id="monitoring.fraud_signals")
    assert aml.reader_refs == ["rdr_1", "rdr_2"] and aml.subject == str(case.pk)
