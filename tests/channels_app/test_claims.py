"""Claim acceptance rules: each rule, each rejection code, and that a rejection changes nothing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from xrpl.constants import CryptoAlgorithm

from channels_app import clock
from channels_app.exceptions import ClaimRejected
from channels_app.models import Channel, Claim, JournalEntry, JournalLine
from channels_app.selectors import journal_balance
from channels_app.services.claims import claim_accept
from tests.channels_app.factories import claim_key, make_channel

PRICE = 100_000


def accept(channel: Channel, amount: int, signature: str, **overrides: object):
    arguments: dict[str, object] = {
        "channel_id": channel.channel_id,
        "amount_drops": amount,
        "signature": signature,
        "min_increment_drops": PRICE,
        "payee_ref": "pub_test",
        "fee_bps": 1000,
        "reference": "unlock:test",
    }
    arguments.update(overrides)
    return claim_accept(**arguments)  # type: ignore[arg-type]


def state_of(channel: Channel) -> tuple[int, int, int, int]:
    channel.refresh_from_db()
    return (
        channel.accepted_drops,
        Claim.objects.count(),
        JournalEntry.objects.count(),
        JournalLine.objects.count(),
    )


def assert_rejected(code: str, channel: Channel, amount: int, signature: str, **kw: object) -> None:
    before = state_of(channel)
    with pytest.raises(ClaimRejected) as caught:
        accept(channel, amount, signature, **kw)
    assert caught.value.code == code
    assert state_of(channel) == before, "a rejected claim must change nothing"


@pytest.mark.django_db
@pytest.mark.parametrize("algorithm", [CryptoAlgorithm.ED25519, CryptoAlgorithm.SECP256K1])
def test_valid_claim_is_accepted_and_journaled(algorithm: CryptoAlgorithm) -> None:
    # given a channel with a reader's claim key
    key = claim_key(algorithm)
    channel = make_channel(key=key)
    # when the reader signs the first cumulative claim
    accepted = accept(channel, PRICE, key.sign(channel.channel_id, PRICE))
    # then it is accepted for the whole increment, with the fee split off in the journal
    channel.refresh_from_db()
    assert channel.accepted_drops == PRICE
    assert accepted.increment_drops == PRICE
    assert accepted.fee_drops == PRICE // 10
    assert journal_balance("claims_receivable", channel.channel_id) == PRICE
    assert journal_balance("publisher_payable", "pub_test") == -(PRICE - PRICE // 10)
    assert journal_balance("platform_fee_revenue") == -(PRICE // 10)
    assert (
        journal_balance("claims_receivable")
        + journal_balance("publisher_payable")
        + journal_balance("platform_fee_revenue")
        == 0
    )


@pytest.mark.django_db
def test_cumulative_claims_advance_the_high_water_mark() -> None:
    key = claim_key()
    channel = make_channel(key=key)
    for n in range(1, 4):
        accept(channel, n * PRICE, key.sign(channel.channel_id, n * PRICE))
    channel.refresh_from_db()
    assert channel.accepted_drops == 3 * PRICE
    assert list(Claim.objects.values_list("increment_drops", flat=True)) == [PRICE] * 3


@pytest.mark.django_db
def test_replayed_claim_is_refused() -> None:
    key = claim_key()
    channel = make_channel(key=key)
    signature = key.sign(channel.channel_id, PRICE)
    accept(channel, PRICE, signature)
    assert_rejected("claim_replayed", channel, PRICE, signature)


@pytest.mark.django_db
def test_lower_claim_after_higher_is_stale() -> None:
    key = claim_key()
    channel = make_channel(key=key)
    accept(channel, 2 * PRICE, key.sign(channel.channel_id, 2 * PRICE))
    assert_rejected("claim_stale", channel, PRICE, key.sign(channel.channel_id, PRICE))


@pytest.mark.django_db
def test_forged_claim_signed_by_another_key_is_refused() -> None:
    key, forger = claim_key(), claim_key()
    channel = make_channel(key=key)
    assert_rejected(
        "claim_signature_invalid", channel, PRICE, forger.sign(channel.channel_id, PRICE)
    )


@pytest.mark.django_db
def test_claim_signed_for_another_amount_is_refused() -> None:
    key = claim_key()
    channel = make_channel(key=key)
    assert_rejected(
        "claim_signature_invalid", channel, 2 * PRICE, key.sign(channel.channel_id, PRICE)
    )


@pytest.mark.django_db
def test_claim_for_someone_elses_channel_is_refused() -> None:
    key = claim_key()
    mine, theirs = make_channel(key=key), make_channel(key=claim_key())
    assert_rejected("claim_signature_invalid", theirs, PRICE, key.sign(mine.channel_id, PRICE))


SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def _der_int(value: int) -> bytes:
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big")
    return b"\x02" + bytes([len(raw)]) + raw


def _high_s_variant(der_hex: str) -> str:
    der = bytes.fromhex(der_hex)
    r_len = der[3]
    r = int.from_bytes(der[4 : 4 + r_len], "big")
    s = int.from_bytes(der[6 + r_len :], "big")
    body = _der_int(r) + _der_int(SECP256K1_N - s)
    return (b"\x30" + bytes([len(body)]) + body).hex().upper()


@pytest.mark.django_db
def test_high_s_secp256k1_claim_is_refused() -> None:
    # A high-S signature is mathematically valid but rippled rejects it (not fully canonical).
    key = claim_key(CryptoAlgorithm.SECP256K1)
    channel = make_channel(key=key)
    high_s = _high_s_variant(key.sign(channel.channel_id, PRICE))
    assert_rejected("claim_signature_invalid", channel, PRICE, high_s)


@pytest.mark.django_db
def test_overspent_claim_is_refused() -> None:
    key = claim_key()
    channel = make_channel(key=key, amount_drops=5 * PRICE)
    amount = 5 * PRICE + 1
    assert_rejected("claim_exceeds_channel", channel, amount, key.sign(channel.channel_id, amount))


@pytest.mark.django_db
def test_underpaid_claim_is_refused() -> None:
    key = claim_key()
    channel = make_channel(key=key)
    accept(channel, PRICE, key.sign(channel.channel_id, PRICE))
    amount = PRICE + PRICE // 2
    assert_rejected("claim_underpaid", channel, amount, key.sign(channel.channel_id, amount))


@pytest.mark.django_db
def test_claim_above_the_price_is_refused_when_capped() -> None:
    key = claim_key()
    channel = make_channel(key=key)
    amount = 2 * PRICE
    assert_rejected(
        "claim_overpaid",
        channel,
        amount,
        key.sign(channel.channel_id, amount),
        max_increment_drops=PRICE,
    )


@pytest.mark.django_db
def test_claim_on_a_closing_channel_is_refused() -> None:
    key = claim_key()
    channel = make_channel(key=key, expiration=clock.to_ripple_time(clock.now()) + 86_400)
    assert_rejected("channel_closing", channel, PRICE, key.sign(channel.channel_id, PRICE))


@pytest.mark.django_db
def test_claim_near_cancel_after_is_refused(settings) -> None:
    settings.DROPGATE_CLOSE_SAFETY_MARGIN_SECONDS = 600
    key = claim_key()
    cancel_after = clock.to_ripple_time(clock.now()) + 900
    channel = make_channel(key=key, cancel_after=cancel_after)
    accept(channel, PRICE, key.sign(channel.channel_id, PRICE))
    with clock.override(timedelta(seconds=400)):
        amount = 2 * PRICE
        assert_rejected("channel_closing", channel, amount, key.sign(channel.channel_id, amount))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("channel_id", "amount", "signature"),
    [
        ("XYZ", "100000", "00"),
        (None, "-5", "00"),
        (None, "1.5", "00"),
        (None, str(2**64), "00"),
        (None, "100000", "not-hex"),
    ],
)
def test_malformed_claim_is_refused(channel_id: str | None, amount: str, signature: str) -> None:
    key = claim_key()
    channel = make_channel(key=key)
    before = state_of(channel)
    with pytest.raises(ClaimRejected) as caught:
        accept(channel, amount, signature, channel_id=channel_id or channel.channel_id)  # type: ignore[arg-type]
    assert caught.value.code == "claim_malformed"
    assert caught.value.http_status == 400
    assert state_of(channel) == before


@pytest.mark.django_db
def test_unknown_channel_is_refused() -> None:
    key = claim_key()
    with pytest.raises(ClaimRejected) as caught:
        claim_accept(
            channel_id="AB" * 32,
            amount_drops=PRICE,
            signature=key.sign("AB" * 32, PRICE),
            min_increment_drops=PRICE,
            payee_ref="pub_test",
            fee_bps=0,
            reference="x",
        )
    assert caught.value.code == "channel_unknown"
    assert Claim.objects.count() == 0


def _race(channel: Channel, claims: list[tuple[int, str]]) -> list[object]:
    barrier = threading.Barrier(len(claims))
    results: list[object] = []

    def run(amount: int, signature: str) -> None:
        barrier.wait()
        try:
            results.append(accept(channel, amount, signature))
        except ClaimRejected as exc:
            results.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=claim) for claim in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_claims_are_accepted_once() -> None:
    key = claim_key()
    channel = make_channel(key=key)
    signature = key.sign(channel.channel_id, PRICE)
    results = _race(channel, [(PRICE, signature)] * 4)
    assert sum(1 for r in results if not isinstance(r, str)) == 1
    assert Claim.objects.count() == 1
    channel.refresh_from_db()
    assert channel.accepted_drops == PRICE
    assert journal_balance("claims_receivable", channel.channel_id) == PRICE


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_cannot_share_one_increment() -> None:
    # Two claims both built on accepted=0: 1x and 1.5x the price. Only one may take the increment.
    key = claim_key()
    channel = make_channel(key=key)
    claims = [
        (PRICE, key.sign(channel.channel_id, PRICE)),
        (PRICE * 3 // 2, key.sign(channel.channel_id, PRICE * 3 // 2)),
    ]
    results = _race(channel, claims)
    accepted = [r for r in results if not isinstance(r, str)]
    channel.refresh_from_db()
    total = sum(Claim.objects.values_list("increment_drops", flat=True))
    assert (
        total == channel.accepted_drops == journal_balance("claims_receivable", channel.channel_id)
    )
    # In any order only one can win: after 1x, 1.5x adds too little; after 1.5x, 1x is stale.
    assert len(accepted) == 1
