"""Publisher KYC tiers (VAT ids with python-stdnum, address ownership with the strict verifier)
and the payout gate in payout planning (tier 0: no payouts; self-hosted above EUR 1,000:
proof of the address)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from xrpl.core import keypairs
from xrpl.wallet import Wallet

from channels_app import clock
from channels_app.models import Channel
from channels_app.payouts.services.payouts import payout_plan
from channels_app.services.claims import claim_accept
from compliance.exceptions import KycRefused
from compliance.models import KycEvent, PublisherKyc
from compliance.selectors import payout_gate
from compliance.services.fx import fx_rate_record
from compliance.services.kyc import (
    kyc_address_prove,
    kyc_business_submit,
    kyc_proof_message,
    kyc_tier_set,
    vat_id_validate,
)
from tests.channels_app.factories import claim_key, make_channel

pytestmark = pytest.mark.django_db

PUB = "pub_kyctest"


@pytest.mark.parametrize(
    ("country", "vat_id", "compact"),
    [
        ("DE", "DE 136 695 976", "136695976"),
        ("FR", "FR40303265045", "40303265045"),
        ("GB", "GB980780684", "980780684"),
        ("GR", "EL094259216", "094259216"),
    ],
)
def test_valid_vat_ids(country: str, vat_id: str, compact: str) -> None:
    assert vat_id_validate(country=country, vat_id=vat_id) == compact


@pytest.mark.parametrize(
    ("country", "vat_id", "code"),
    [
        ("DE", "DE136695977", "vat_id_invalid"),
        ("FR", "FR00000000000", "vat_id_invalid"),
        ("US", "12-3456789", "vat_id_unsupported"),
    ],
)
def test_invalid_vat_ids(country: str, vat_id: str, code: str) -> None:
    with pytest.raises(KycRefused) as raised:
        vat_id_validate(country=country, vat_id=vat_id)
    assert raised.value.code == code


def business(ref: str = PUB) -> PublisherKyc:
    return kyc_business_submit(
        publisher_ref=ref,
        legal_name="Daily Drop GmbH",
        address="Unter den Linden 1, Berlin",
        country="DE",
        vat_id="DE136695976",
        actor="test",
    )


def prove(wallet: Wallet, ref: str = PUB, address: str | None = None, **kwargs) -> PublisherKyc:
    address = address or wallet.classic_address
    signature = keypairs.sign(
        kyc_proof_message(publisher_ref=ref, address=address), wallet.private_key
    )
    return kyc_address_prove(
        publisher_ref=ref,
        address=address,
        public_key=wallet.public_key,
        signature=signature,
        actor="test",
        **kwargs,
    )


def test_tiers_are_earned_in_order_and_audited() -> None:
    wallet = Wallet.create()
    with pytest.raises(KycRefused) as raised:
        prove(wallet)
    assert raised.value.code == "kyc_tier_insufficient"
    assert business().tier == 1
    row = prove(wallet)
    assert (row.tier, row.payout_address) == (2, wallet.classic_address)
    assert list(KycEvent.objects.filter(publisher_ref=PUB).values_list("action", flat=True)) == [
        "address_proven",
        "business_verified",
    ]


@pytest.mark.parametrize("algorithm", ["ed25519", "secp256k1"])
def test_address_proof_with_either_key_type(algorithm: str) -> None:
    from xrpl.constants import CryptoAlgorithm

    business()
    wallet = Wallet.create(algorithm=CryptoAlgorithm(algorithm))
    assert prove(wallet).tier == 2


def test_a_proof_by_another_key_or_over_other_bytes_is_refused() -> None:
    business()
    wallet, other = Wallet.create(), Wallet.create()
    signature = keypairs.sign(
        kyc_proof_message(publisher_ref=PUB, address=wallet.classic_address), other.private_key
    )
    with pytest.raises(KycRefused) as raised:
        kyc_address_prove(
            publisher_ref=PUB,
            address=wallet.classic_address,
            public_key=other.public_key,
            signature=signature,
            actor="test",
        )
    assert raised.value.code == "proof_key_mismatch"
    wrong = keypairs.sign(
        kyc_proof_message(publisher_ref="pub_other", address=wallet.classic_address),
        wallet.private_key,
    )
    with pytest.raises(KycRefused) as raised:
        kyc_address_prove(
            publisher_ref=PUB,
            address=wallet.classic_address,
            public_key=wallet.public_key,
            signature=wrong,
            actor="test",
        )
    assert raised.value.code == "proof_invalid"
    assert PublisherKyc.objects.get(publisher_ref=PUB).tier == 1


def test_a_high_s_secp256k1_proof_is_refused_by_the_strict_verifier() -> None:
    from cryptography.hazmat.primitives.asymmetric.utils import (
        decode_dss_signature,
        encode_dss_signature,
    )
    from xrpl.constants import CryptoAlgorithm

    business()
    wallet = Wallet.create(algorithm=CryptoAlgorithm.SECP256K1)
    message = kyc_proof_message(publisher_ref=PUB, address=wallet.classic_address)
    r, s = decode_dss_signature(bytes.fromhex(keypairs.sign(message, wallet.private_key)))
    order = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    high = encode_dss_signature(r, order - s).hex()
    with pytest.raises(KycRefused) as raised:
        kyc_address_prove(
            publisher_ref=PUB,
            address=wallet.classic_address,
            public_key=wallet.public_key,
            signature=high,
            actor="test",
        )
    assert raised.value.code == "proof_invalid"


# --- The gate --------------------------------------------------------------------------------


@pytest.fixture
def rate():
    fx_rate_record(
        base="XRP", quote="EUR", rate=Decimal("0.50"), as_of=date(2020, 1, 1), source="test market"
    )


def test_the_gate(rate) -> None:
    wallet = Wallet.create()
    addr = wallet.classic_address
    small, large = 100_000_000, 3_000_000_000  # 50 EUR, 1,500 EUR at 0.50
    assert payout_gate({PUB: (addr, small)}) == {PUB: "kyc_tier_insufficient"}
    business()
    assert payout_gate({PUB: (addr, small)}) == {}
    assert payout_gate({PUB: (addr, large)}) == {PUB: "payout_address_unproven"}
    prove(wallet)
    assert payout_gate({PUB: (addr, large)}) == {}
    assert payout_gate({PUB: (Wallet.create().classic_address, small)}) == {
        PUB: "payout_address_unverified"
    }
    kyc_tier_set(publisher_ref=PUB, tier=0, actor="admin", reason="documents withdrawn")
    assert payout_gate({PUB: (addr, small)}) == {PUB: "kyc_tier_insufficient"}


def test_custodial_addresses_need_no_ownership_proof() -> None:
    business()
    row = PublisherKyc.objects.get(publisher_ref=PUB)
    PublisherKyc.objects.filter(pk=row.pk).update(address_kind="custodial")
    assert payout_gate({PUB: (Wallet.create().classic_address, 10**12)}) == {}


def test_without_an_xrp_rate_a_self_hosted_payout_needs_the_proof() -> None:
    business()
    assert payout_gate({PUB: (Wallet.create().classic_address, 1_000_000)}) == {
        PUB: "payout_address_unproven"
    }


def test_payout_planning_defers_what_the_gate_refuses(settings, rate) -> None:
    settings.DROPGATE_PAYOUT_GATE = "compliance.selectors.payout_gate"
    settings.DROPGATE_PAYOUT_HOLDBACK_SECONDS = 7 * 86_400
    settings.DROPGATE_PAYOUT_MIN_DROPS = 1_000_000
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12
    key = claim_key()
    channel = make_channel(key=key, amount_drops=100_000_000)
    total = 0
    for n, ref in enumerate(["pub_a", "pub_b"]):
        total += 5_000_000
        claim_accept(
            channel_id=channel.channel_id,
            amount_drops=total,
            signature=key.sign(channel.channel_id, total),
            min_increment_drops=5_000_000,
            payee_ref=ref,
            fee_bps=1000,
            reference=f"u{n}",
        )
    Channel.objects.filter(pk=channel.pk).update(ledger_balance_drops=total)
    business("pub_b")
    destinations = {
        "pub_a": Wallet.create().classic_address,
        "pub_b": Wallet.create().classic_address,
    }
    with clock.override(timedelta(days=8)):
        plan = payout_plan(
            destinations=destinations,
            hot_budget_drops=10**12,
            vault_budget_drops=None,
            fee_drops=10,
            vault_fee_drops=30,
        )
    assert [p.publisher_ref for p in plan.payouts] == ["pub_b"]
    assert {d["publisher_ref"]: d["reason"] for d in plan.deferred} == {
        "pub_a": "kyc_tier_insufficient"
    }
