"""Sealed rows: every write seals a channel or claim, every money read verifies it, and a row
changed behind the application's back is refused (503 state_integrity_violation) and alerted."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from channels_app.models import Channel, Claim, JournalEntry, JournalLine, WatchtowerAlert
from channels_app.selectors import channel_snapshot, highest_claim
from channels_app.services.claims import claim_accept
from channels_app.services.integrity import (
    StateIntegrityError,
    channel_is_intact,
    channel_verify,
    claim_verify,
)
from channels_app.services.watchtower import watchtower_status
from channels_app.tasks import settle_channel
from tests.channels_app.factories import claim_key, make_channel
from tests.channels_app.integrity.helpers import (
    insert_claim_row,
    replace_claim,
    tamper_channel,
)
from tests.paywall.factories import make_article, make_publisher, make_reader
from tests.paywall.helpers import Api, error_code

pytestmark = pytest.mark.django_db

PRICE = 100_000


def accept(channel: Channel, key, amount: int) -> None:
    claim_accept(
        channel_id=channel.channel_id,
        amount_drops=amount,
        signature=key.sign(channel.channel_id, amount),
        min_increment_drops=PRICE,
        payee_ref="pub_test",
        fee_bps=1000,
        reference="unlock:test",
    )


def books() -> tuple[int, int, int]:
    return Claim.objects.count(), JournalEntry.objects.count(), JournalLine.objects.count()


def integrity_alert(channel: Channel) -> WatchtowerAlert:
    return WatchtowerAlert.objects.get(channel=channel, code="integrity_violation")


# --- every write seals ----------------------------------------------------------------------


def test_writes_seal_the_channel_and_the_claim() -> None:
    # given a new channel: creating it sealed it
    key = claim_key()
    channel = make_channel(key=key)
    assert channel.mac and channel_is_intact(Channel.objects.get(pk=channel.pk))
    # when a claim is accepted (the compare-and-set writes the new tag in the same UPDATE)
    accept(channel, key, PRICE)
    # then both rows verify, and the channel's tag moved with its accepted amount
    stored = channel_verify(Channel.objects.get(pk=channel.pk))
    assert stored.accepted_drops == PRICE and stored.mac != channel.mac
    claim_verify(Claim.objects.get(), channel=stored)
    # and an ORM update of a sealed field re-seals the row
    Channel.objects.filter(pk=channel.pk).update(status="closing")
    assert channel_is_intact(Channel.objects.get(pk=channel.pk))


def test_the_tag_key_comes_from_the_kek_not_the_secret_key(settings) -> None:
    channel = make_channel(key=claim_key())
    settings.SECRET_KEY = "another-secret-key-entirely-" * 2
    assert channel_is_intact(Channel.objects.get(pk=channel.pk))
    settings.DROPGATE_KEK = "another-key-encryption-key"
    assert not channel_is_intact(Channel.objects.get(pk=channel.pk))


# --- a tampered channel row ------------------------------------------------------------------


def test_a_lowered_accepted_amount_is_detected_on_the_next_claim() -> None:
    # given a channel that accepted 3 prices of claims
    key = claim_key()
    channel = make_channel(key=key)
    for n in (1, 2, 3):
        accept(channel, key, n * PRICE)
    # when someone lowers its high-water mark in the database (to sell the same value twice)
    tamper_channel(channel, accepted_drops=PRICE)
    before = books()
    # then the next claim is refused with a 503-class error and nothing is booked
    with pytest.raises(StateIntegrityError) as caught:
        accept(channel, key, 2 * PRICE)
    assert caught.value.code == "state_integrity_violation"
    assert caught.value.http_status == 503
    assert books() == before
    # and a critical alert names the channel
    alert = integrity_alert(channel)
    assert alert.level == "critical" and alert.resolved_at is None
    assert "recover_channels" in alert.message


@pytest.mark.parametrize(
    "change",
    [
        {"amount_drops": 50_000_000},
        {"ledger_balance_drops": 0, "accepted_drops": 0},
        {"status": "open", "expiration": None},
        {"cancel_after": None},
        {"public_key": "ED" + "11" * 32},
        {"mac": ""},
    ],
    ids=["amount", "balances", "reopened", "cancel_after", "key", "tag_wiped"],
)
def test_any_sealed_field_changed_in_the_database_is_detected(change) -> None:
    key = claim_key()
    channel = make_channel(
        key=key,
        accepted_drops=3 * PRICE,
        ledger_balance_drops=PRICE,
        status="closing",
        expiration=800_000_000,
        cancel_after=900_000_000,
    )
    tamper_channel(channel, **change)
    with pytest.raises(StateIntegrityError):
        channel_snapshot(channel.channel_id)


def test_an_orm_write_never_reseals_a_tampered_row() -> None:
    # given a tampered row
    key = claim_key()
    channel = make_channel(key=key)
    tamper_channel(channel, accepted_drops=5 * PRICE)
    # when application code writes it (a sync, a settlement) through update() or save()
    with pytest.raises(StateIntegrityError):
        Channel.objects.filter(pk=channel.pk).update(ledger_balance_drops=PRICE)
    loaded = Channel.objects.get(pk=channel.pk)
    loaded.ledger_balance_drops = PRICE
    with pytest.raises(StateIntegrityError):
        loaded.save(update_fields=["ledger_balance_drops"])
    # then the change was not laundered: the row still fails its check
    stored = Channel.objects.get(pk=channel.pk)
    assert stored.ledger_balance_drops == 0 and not channel_is_intact(stored)


def test_the_api_answers_503_for_a_tampered_channel_and_charges_nothing(client) -> None:
    cache.clear()
    publisher = make_publisher()
    article = make_article(publisher, price_drops=PRICE)
    reader, token, key = make_reader(publisher)
    channel = make_channel(key=key, owner_ref=reader.public_id)
    # someone flips a closing channel back to open in the database
    Channel.objects.filter(pk=channel.pk).update(status="closing")
    tamper_channel(channel, status="open")
    response = Api(client).post(
        "unlocks",
        {
            "article": article.slug,
            "claim": {
                "channel_id": channel.channel_id,
                "amount_drops": str(PRICE),
                "signature": key.sign(channel.channel_id, PRICE),
            },
        },
        auth=f"Reader {token}",
    )
    assert response.status_code == 503
    assert error_code(response) == "state_integrity_violation"
    assert Claim.objects.count() == 0
    assert integrity_alert(channel).level == "critical"
    # and reading the channel is refused the same way
    mine = Api(client).get(f"channels/{channel.channel_id}", auth=f"Reader {token}")
    assert mine.status_code == 503 and error_code(mine) == "state_integrity_violation"


# --- a tampered or forged claim --------------------------------------------------------------


def test_a_claim_with_a_changed_amount_is_detected_before_settlement() -> None:
    key = claim_key()
    channel = make_channel(key=key)
    accept(channel, key, PRICE)
    accept(channel, key, 2 * PRICE)
    # the top claim's amount is raised in the database (and the channel's mark with it)
    top = Claim.objects.get(amount_drops=2 * PRICE)
    replace_claim(top, amount_drops=3 * PRICE)
    channel = Channel.objects.get(pk=channel.pk)
    with pytest.raises(StateIntegrityError) as caught:
        highest_claim(channel)
    assert caught.value.subject == f"claim {top.pk}"


def test_a_claim_with_a_changed_signature_is_detected() -> None:
    key = claim_key()
    channel = make_channel(key=key)
    accept(channel, key, PRICE)
    claim = Claim.objects.get()
    replace_claim(claim, signature=claim_key().sign(channel.channel_id, PRICE).upper())
    with pytest.raises(StateIntegrityError):
        highest_claim(Channel.objects.get(pk=channel.pk))


def test_a_forged_claim_row_is_detected(settings) -> None:
    # given a channel with a real claim, and a higher claim row inserted straight into the table
    key = claim_key()
    channel = make_channel(key=key)
    accept(channel, key, PRICE)
    real = Claim.objects.get()
    insert_claim_row(
        channel_id=channel.pk,
        amount_drops=9 * PRICE,
        increment_drops=8 * PRICE,
        signature=claim_key().sign(channel.channel_id, 9 * PRICE),
        payee_ref="pub_forger",
        reference="forged",
        accepted_at=real.accepted_at,
        mac="0" * 64,
    )
    # when anything reads the highest claim to redeem it, it is refused and alerted
    with pytest.raises(StateIntegrityError):
        highest_claim(Channel.objects.get(pk=channel.pk))
    assert integrity_alert(channel)


def test_a_deleted_top_claim_is_detected() -> None:
    key = claim_key()
    channel = make_channel(key=key)
    accept(channel, key, PRICE)
    accept(channel, key, 2 * PRICE)
    Claim.objects.filter(amount_drops=2 * PRICE).delete()  # the mark is no longer backed
    with pytest.raises(StateIntegrityError) as caught:
        highest_claim(Channel.objects.get(pk=channel.pk))
    assert caught.value.subject == "claims of channel"


# --- the doors refuse and the watchtower reports it -----------------------------------------


def test_settle_task_returns_refused_and_status_reports_the_violation(settings) -> None:
    settings.XRPL_URL = "http://127.0.0.1:9/"
    key = claim_key()
    good, bad = make_channel(key=key), make_channel(key=claim_key())
    accept(good, key, PRICE)
    tamper_channel(bad, accepted_drops=7)
    result = settle_channel.apply(args=(bad.pk, "test")).get()
    assert result == {
        "channel": bad.channel_id,
        "state": "refused",
        "error": "state_integrity_violation",
    }
    status = watchtower_status()
    assert status["healthy"] is False
    assert "integrity_violation" in status["problems"]
    assert status["integrity_violations"] == [bad.channel_id]
    assert status["open_integrity_alerts"] == 1
    assert status["unredeemed_drops"] == PRICE  # the tampered row is not counted
