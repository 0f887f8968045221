"""Compliance in the unlock path: refusals charge nothing; an allowed charge journals its tax
(fee on the net) and records the decision, the receipt and the rulebook version."""

from __future__ import annotations

from decimal import Decimal

import pytest

from channels_app.models import Channel, Claim, JournalEntry, JournalLine
from channels_app.payouts.selectors import publisher_balance
from channels_app.selectors import journal_balance
from compliance.exceptions import (
    ConsentRequired,
    CountryConfirmationRequired,
    JurisdictionBlocked,
    ReaderLimitReached,
)
from compliance.models import DecisionRecord, RulebookVersion
from compliance.rules import rulebook
from compliance.services.publishers import publisher_policy_set
from compliance.services.readers import consent_give, country_confirm
from compliance.types import SubmittedEvidence
from paywall.models import Unlock
from paywall.services.unlocks import unlock_article
from paywall.types import SubmittedClaim
from tests.channels_app.factories import make_channel
from tests.paywall.factories import make_article, make_publisher, make_reader

pytestmark = pytest.mark.django_db

PRICE = 1_190_000  # 1,000,000 net + 190,000 VAT at 19 %
DE_IP, GB_IP, IR_IP = "85.214.132.117", "81.2.69.160", "2.176.0.1"


@pytest.fixture
def world():
    publisher = make_publisher()
    article = make_article(publisher, price_drops=PRICE)
    reader, token, key = make_reader(publisher)
    channel = make_channel(key=key, owner_ref=reader.public_id, amount_drops=100_000_000)
    return publisher, article, reader, key, channel, f"Reader {token}"


def signed(key, channel: Channel, amount: int) -> SubmittedClaim:
    return SubmittedClaim(
        channel_id=channel.channel_id,
        amount_drops=amount,
        signature=key.sign(channel.channel_id, amount),
    )


def state(channel: Channel) -> tuple[int, int, int, int]:
    channel.refresh_from_db()
    return (
        channel.accepted_drops,
        Claim.objects.count(),
        JournalEntry.objects.count(),
        Unlock.objects.count(),
    )


def unlock(world, amount: int = PRICE, *, article=None, session: str | None = "", **kwargs):
    _publisher, default_article, reader, key, channel, _ = world
    return unlock_article(
        reader=reader,
        article=article or default_article,
        claim=signed(key, channel, amount),
        telemetry_session=session,
        **kwargs,
    )


def test_an_allowed_unlock_journals_the_vat_and_takes_the_fee_on_the_net(world) -> None:
    publisher, _article, _reader, _key, _channel, _ = world
    result = unlock(world, evidence=SubmittedEvidence(country="DE"), client_ip=DE_IP)
    assert result.amount_drops == PRICE

    claim = Claim.objects.get()
    entries = {e.kind: e for e in JournalEntry.objects.filter(reference=f"claim:{claim.pk}")}
    assert set(entries) == {"claim_accepted", "tax", "fee"}
    tax = entries["tax"].lines.get(account="vat_payable")
    assert (tax.subaccount, tax.credit_drops) == ("DE", 190_000)
    fee = entries["fee"].lines.get(account="platform_fee_revenue").credit_drops
    assert fee == 1_000_000 * publisher.fee_bps // 10_000  # on the net, not on the gross
    assert journal_balance("vat_payable", "DE") == -190_000
    assert publisher_balance(publisher.key).owed_drops == PRICE - 190_000 - fee

    record = DecisionRecord.objects.get()
    assert record.claim_id == claim.pk and record.decision == "allow"
    assert (record.country, record.gross_drops, record.net_drops, record.tax_drops) == (
        "DE",
        PRICE,
        1_000_000,
        190_000,
    )
    assert record.rate_percent == 19 and record.scheme == "EU-OSS"
    assert record.rules == ["location.eu.two_evidence", "vat.de.standard"]
    assert record.evidence_kinds == ["declared", "ip"]
    assert record.rulebook_version == rulebook().version
    assert RulebookVersion.objects.filter(version=rulebook().version).exists()
    assert "85.214" not in str(DecisionRecord.objects.values().get())  # the IP is never stored


def test_where_no_tax_is_collected_nothing_is_journaled_as_tax(world) -> None:
    unlock(world, evidence=SubmittedEvidence(country="US"))
    assert not JournalLine.objects.filter(account="vat_payable").exists()
    assert DecisionRecord.objects.get().tax_drops == 0


@pytest.mark.parametrize(
    ("evidence", "ip"),
    [
        (SubmittedEvidence(country="CU"), ""),
        (SubmittedEvidence(country="DE"), IR_IP),
        (SubmittedEvidence(country="UA", region="UA-43"), ""),
        (SubmittedEvidence(timezone="Asia/Pyongyang"), ""),
    ],
)
def test_a_blocked_jurisdiction_is_451_and_charges_nothing(world, evidence, ip) -> None:
    channel = world[4]
    before = state(channel)
    with pytest.raises(JurisdictionBlocked) as raised:
        unlock(world, evidence=evidence, client_ip=ip)
    assert raised.value.http_status == 451 and raised.value.code == "jurisdiction_blocked"
    assert raised.value.details["rules"]
    assert state(channel) == before
    record = DecisionRecord.objects.get()
    assert (record.decision, record.code, record.claim_id) == (
        "block",
        "jurisdiction_blocked",
        None,
    )


def test_a_publisher_s_own_blocked_country(world) -> None:
    publisher = world[0]
    publisher_policy_set(publisher_ref=publisher.key, actor="test", blocked_countries=["fr"])
    before = state(world[4])
    with pytest.raises(JurisdictionBlocked) as raised:
        unlock(world, evidence=SubmittedEvidence(country="FR"))
    assert raised.value.details["rules"] == ["publisher.blocked_countries"]
    assert state(world[4]) == before


def test_conflicting_evidence_asks_the_reader_and_the_answer_is_recorded(world) -> None:
    publisher, _article, reader, _key, channel, _ = world
    before = state(channel)
    with pytest.raises(CountryConfirmationRequired) as raised:
        unlock(world, evidence=SubmittedEvidence(country="DE"), client_ip=GB_IP)
    assert raised.value.http_status == 409
    assert raised.value.details["candidates"] == ["DE", "GB"]
    assert state(channel) == before

    confirmation = country_confirm(
        reader_ref=reader.public_id, publisher_ref=publisher.key, country="gb"
    )
    assert (confirmation.country, confirmation.candidates) == ("GB", ["DE", "GB"])
    unlock(world, evidence=SubmittedEvidence(country="DE"), client_ip=GB_IP)
    record = DecisionRecord.objects.get(claim_id__isnull=False)
    assert (
        record.country == "GB"
        and record.rate_percent == 20
        and "confirmed" in record.evidence_kinds
    )


def test_no_evidence_is_asked_when_location_is_required(world, settings) -> None:
    settings.DROPGATE_LOCATION_REQUIRED = True
    before = state(world[4])
    with pytest.raises(CountryConfirmationRequired):
        unlock(world)
    assert state(world[4]) == before
    # An agent (no telemetry session) is not asked: no one is there to answer.
    unlock(world, session=None)
    assert state(world[4])[0] == PRICE


def test_consent_is_required_before_the_first_immediate_access(world, settings) -> None:
    settings.DROPGATE_CONSENT_REQUIRED = True
    publisher, _article, reader, _key, channel, _ = world
    before = state(channel)
    with pytest.raises(ConsentRequired) as raised:
        unlock(world, evidence=SubmittedEvidence(country="DE"))
    assert raised.value.http_status == 428
    version = raised.value.details["text_version"]
    assert state(channel) == before
    consent_give(reader_ref=reader.public_id, publisher_ref=publisher.key, text_version=version)
    unlock(world, evidence=SubmittedEvidence(country="DE"))
    assert (
        "consumer.eu.crd_immediate_access"
        in DecisionRecord.objects.get(claim_id__isnull=False).rules
    )


def test_consent_is_per_publisher(world, settings) -> None:
    settings.DROPGATE_CONSENT_REQUIRED = True
    _publisher, _article, reader, _key, _channel, _ = world
    version = rulebook().rule("consumer.eu.crd_immediate_access").values[-1].value["text_version"]
    consent_give(reader_ref=reader.public_id, publisher_ref="pub_someoneelse", text_version=version)
    with pytest.raises(ConsentRequired):
        unlock(world, evidence=SubmittedEvidence(country="DE"))


def test_the_rolling_limit_refuses_with_403_and_charges_nothing(world, xrp_eur, settings) -> None:
    settings.DROPGATE_READER_ROLLING_LIMIT_EUR = "1.00"
    publisher, _article, _reader, _key, channel, _ = world
    unlock(world, evidence=SubmittedEvidence(country="DE"))  # 1.19 XRP = 0.595 EUR
    record = DecisionRecord.objects.get()
    assert record.eur_amount == Decimal("0.59500000") and record.eur_rate == xrp_eur
    assert record.eur_rate_source == "test market"
    second = make_article(publisher, slug="second", price_drops=PRICE)
    before = state(channel)
    with pytest.raises(ReaderLimitReached) as raised:
        unlock(world, amount=2 * PRICE, article=second, evidence=SubmittedEvidence(country="DE"))
    assert raised.value.http_status == 403 and raised.value.code == "reader_limit_reached"
    assert raised.value.details["limit_eur"] == "1.00"
    assert state(channel) == before


def test_the_limit_counts_every_reader_funded_from_the_account(world, xrp_eur, settings) -> None:
    settings.DROPGATE_READER_ROLLING_LIMIT_EUR = "1.00"
    publisher, article, _reader, _key, channel, _ = world
    unlock(world, evidence=SubmittedEvidence(country="DE"))
    other, _, other_key = make_reader(publisher)
    other_channel = make_channel(
        key=other_key,
        owner_ref=other.public_id,
        amount_drops=10_000_000,
        source_address=channel.source_address,
    )
    with pytest.raises(ReaderLimitReached):
        unlock_article(
            reader=other,
            article=article,
            claim=signed(other_key, other_channel, PRICE),
            telemetry_session="",
            evidence=SubmittedEvidence(country="DE"),
        )


def test_receipts_by_api(api, world) -> None:
    publisher, article, _reader, _key, _channel, auth = world
    unlock(world, evidence=SubmittedEvidence(country="DE"))
    listing = api.get("readers/me/receipts", auth=auth)
    assert listing.status_code == 200, listing.content
    (receipt,) = listing.json()["receipts"]
    assert receipt["price_drops"] == str(PRICE) and receipt["tax_drops"] == "190000"
    assert receipt["net_drops"] == "1000000" and receipt["tax_rate_percent"] == "19.000"
    assert receipt["publisher"] == publisher.key and receipt["article"] == article.slug
    assert receipt["claim_reference"].startswith("unlock:") and receipt["time"]
    one = api.get(f"readers/me/receipts/{receipt['claim_id']}", auth=auth)
    assert one.status_code == 200 and one.json() == receipt
    assert api.get("readers/me/receipts/999999", auth=auth).status_code == 404


def test_the_api_maps_refusals_to_their_codes(api, world, client) -> None:
    _publisher, article, _reader, key, channel, auth = world
    body = {
        "article": article.slug,
        "claim": {
            "channel_id": channel.channel_id,
            "amount_drops": str(PRICE),
            "signature": key.sign(channel.channel_id, PRICE),
        },
        "telemetry_session": "",
        "evidence": {"country": "cu"},
    }
    response = api.post("unlocks", body, auth=auth)
    assert response.status_code == 451, response.content
    assert response.json()["error"]["code"] == "jurisdiction_blocked"
    assert response.json()["error"]["rules"] == ["sanctions.ofac.cu"]
    body["evidence"] = {"country": "DE", "region": "FR-75"}
    assert api.post("unlocks", body, auth=auth).status_code == 400
    body["evidence"] = {"country": "DE", "timezone": "Europe/London"}
    response = api.post("unlocks", body, auth=auth)
    assert (
        response.status_code == 409
        and response.json()["error"]["code"] == "country_confirmation_required"
    )
    assert response.json()["error"]["candidates"] == ["DE", "GB"]
    confirm = api.post("readers/me/country", {"country": "DE"}, auth=auth)
    assert confirm.status_code == 201, confirm.content
    response = api.post("unlocks", body, auth=auth)
    assert response.status_code == 201, response.content
    assert state(channel)[0] == PRICE


def test_consent_by_api(api, world, settings) -> None:
    settings.DROPGATE_CONSENT_REQUIRED = True
    auth = world[5]
    status = api.get("readers/me/consent", auth=auth).json()
    assert status["given"] is False and status["text_version"]
    assert status["required"] is True  # the frame asks before the first paid unlock
    refused = api.post(
        "readers/me/consent",
        {
            "text_version": status["text_version"],
            "immediate_access": True,
            "withdrawal_right_lost": False,
        },
        auth=auth,
    )
    assert refused.status_code == 400
    outdated = api.post(
        "readers/me/consent",
        {"text_version": "1999-01-01", "immediate_access": True, "withdrawal_right_lost": True},
        auth=auth,
    )
    assert (
        outdated.status_code == 400 and outdated.json()["error"]["code"] == "consent_text_outdated"
    )
    given = api.post(
        "readers/me/consent",
        {
            "text_version": status["text_version"],
            "immediate_access": True,
            "withdrawal_right_lost": True,
        },
        auth=auth,
    )
    assert given.status_code == 201 and given.json()["given"] is True
    assert api.get("readers/me/consent", auth=auth).json()["given"] is True


def test_consent_status_says_whether_it_is_required(api, world, settings) -> None:
    auth = world[5]
    settings.DROPGATE_CONSENT_REQUIRED = False
    status = api.get("readers/me/consent", auth=auth).json()
    assert status["required"] is False and status["given"] is False
    settings.DROPGATE_CONSENT_REQUIRED = True
    assert api.get("readers/me/consent", auth=auth).json()["required"] is True


def test_tax_preview_charges_and_records_nothing(api, world) -> None:
    article, auth, channel = world[1], world[5], world[4]
    before = state(channel)
    response = api.post(
        "readers/me/tax-preview",
        {"article": article.slug, "evidence": {"country": "AT"}},
        auth=auth,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["price_drops"] == str(PRICE) and body["vat"]["rate_percent"] == "20.000"
    assert int(body["vat"]["net_drops"]) + int(body["vat"]["tax_drops"]) == PRICE
    assert state(channel) == before and not DecisionRecord.objects.exists()


def test_publisher_policy_by_api(api, world) -> None:
    from tests.paywall.factories import make_api_key

    publisher, _article = world[0], world[1]
    token = make_api_key(publisher)
    auth = f"Bearer {token}"
    response = api.send(
        "PUT",
        "publisher/compliance",
        {"blocked_countries": ["ru", "BY"], "tax_category": "e_publication"},
        auth=auth,
        origin=None,
    )
    assert response.status_code == 200, response.content
    assert response.json()["blocked_countries"] == ["BY", "RU"]
    bad = api.send(
        "PUT", "publisher/compliance", {"blocked_countries": ["XX"]}, auth=auth, origin=None
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_country"
    unlock(world, evidence=SubmittedEvidence(country="DE"))
    assert DecisionRecord.objects.get().rate_percent == 7  # e_publication in Germany
