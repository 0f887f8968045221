"""Payment-channel rules and result codes (reference: xrpl-payment-channels.md).

In-process sandbox, driven through its RPC handlers; the clock is a fake wall clock.
Negative tests assert that nothing changed (tem/tef/tel/ter) or that only the fee and
the sequence were taken (tec).
"""

from __future__ import annotations

import pytest
from xrpl.constants import CryptoAlgorithm
from xrpl.models.transactions import (
    AccountSet,
    AccountSetAsfFlag,
    PaymentChannelClaim,
    PaymentChannelClaimFlag,
    PaymentChannelCreate,
    PaymentChannelFund,
)
from xrpl.wallet import Wallet

from channels_app.sandbox.state import keylet_paychan

from .conftest import LocalLedger, sign_claim

XRP = 1_000_000


@pytest.fixture
def parties(local_ledger: LocalLedger) -> tuple[Wallet, Wallet, Wallet]:
    source = local_ledger.new_wallet(100 * XRP)
    destination = local_ledger.new_wallet(20 * XRP)
    claim_key = Wallet.create()
    return source, destination, claim_key


def create_channel(
    ledger: LocalLedger,
    source: Wallet,
    destination: Wallet,
    claim_key: Wallet,
    amount: int = 10 * XRP,
    **fields,
) -> str:
    sequence = ledger.sequence(source.address)
    tx = PaymentChannelCreate(
        account=source.address,
        destination=destination.address,
        amount=str(amount),
        settle_delay=fields.pop("settle_delay", 3600),
        public_key=claim_key.public_key,
        **fields,
    )
    response = ledger.submit(tx, source)
    assert response["engine_result"] == "tesSUCCESS", response
    ledger.accept()
    return keylet_paychan(source.address, destination.address, sequence)


def assert_fee_only(ledger: LocalLedger, before: dict, address: str, fee: int = 10) -> None:
    """A tec result: the fee was taken and the sequence used, nothing else changed."""
    after = ledger.snapshot()
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    root_before = next(
        v
        for v in before.values()
        if v.get("Account") == address and v["LedgerEntryType"] == "AccountRoot"
    )
    root_after = ledger.account(address)
    assert int(root_before["Balance"]) - int(root_after["Balance"]) == fee
    assert int(root_after["Sequence"]) == int(root_before["Sequence"]) + 1
    assert len(changed) == 1


# -- channel id and create ---------------------------------------------------------------


def test_channel_id_is_sha512half_of_0078_source_destination_sequence(local_ledger, parties):
    source, destination, claim_key = parties
    sequence = local_ledger.sequence(source.address)
    response = local_ledger.submit(
        PaymentChannelCreate(
            account=source.address,
            destination=destination.address,
            amount="1000000",
            settle_delay=60,
            public_key=claim_key.public_key,
        ),
        source,
    )
    assert response["engine_result"] == "tesSUCCESS"
    local_ledger.accept()
    tx = local_ledger.rpc("tx", transaction=response["tx_json"]["hash"])
    created = [n["CreatedNode"] for n in tx["meta"]["AffectedNodes"] if "CreatedNode" in n]
    assert len(created) == 1 and created[0]["LedgerEntryType"] == "PayChannel"
    import hashlib

    from xrpl.core.addresscodec import decode_classic_address

    expected = (
        hashlib.sha512(
            b"\x00\x78"
            + decode_classic_address(source.address)
            + decode_classic_address(destination.address)
            + sequence.to_bytes(4, "big")
        )
        .digest()[:32]
        .hex()
        .upper()
    )
    assert created[0]["LedgerIndex"] == expected
    node = local_ledger.channel(expected)
    assert node["Amount"] == "1000000" and node["Balance"] == "0"
    assert local_ledger.account(source.address)["OwnerCount"] == 1


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"amount": "0"}, "temBAD_AMOUNT"),
        (
            {
                "amount": {
                    "currency": "USD",
                    "issuer": "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh",
                    "value": "1",
                }
            },
            "temBAD_AMOUNT",
        ),
        ({"destination": "self"}, "temDST_IS_SRC"),
        ({"public_key": "04" + "11" * 32}, "temMALFORMED"),
        ({"public_key": "ED" + "11" * 31}, "temMALFORMED"),
    ],
)
def test_create_malformed_changes_nothing(local_ledger, parties, overrides, code):
    source, destination, claim_key = parties
    fields = {
        "account": source.address,
        "destination": destination.address,
        "amount": "1000000",
        "settle_delay": 60,
        "public_key": claim_key.public_key,
        **overrides,
    }
    if fields["destination"] == "self":
        fields["destination"] = source.address
    before = local_ledger.snapshot()
    # xrpl-py's model validation would refuse some of these; build and sign the raw JSON.
    response = _submit_raw(local_ledger, source, "PaymentChannelCreate", fields)
    assert response["engine_result"] == code
    assert response["applied"] is False
    assert local_ledger.snapshot() == before


def _submit_raw(ledger: LocalLedger, wallet: Wallet, tx_type: str, fields: dict, **extra) -> dict:
    """Sign transaction JSON that xrpl-py's models would reject, with the codec directly."""
    from xrpl.core.binarycodec import encode, encode_for_signing
    from xrpl.core.keypairs import sign as keypairs_sign

    def camel(name: str) -> str:
        special = {
            "public_key": "PublicKey",
            "settle_delay": "SettleDelay",
            "cancel_after": "CancelAfter",
        }
        return special.get(name, "".join(part.capitalize() for part in name.split("_")))

    tx = {camel(k): v for k, v in fields.items()}
    tx["TransactionType"] = tx_type
    tx.setdefault("Sequence", ledger.sequence(wallet.address))
    tx.setdefault("Fee", "10")
    tx["SigningPubKey"] = wallet.public_key
    tx.update(extra)
    tx["TxnSignature"] = keypairs_sign(encode_for_signing(tx), wallet.private_key)
    return ledger.rpc("submit", tx_blob=encode(tx))


def test_create_insufficient_reserve_and_unfunded(local_ledger):
    destination = local_ledger.new_wallet(20 * XRP)
    poor = local_ledger.new_wallet(XRP + 100_000)  # below base + 1 object reserve (1.2 XRP)
    claim_key = Wallet.create()
    before = local_ledger.snapshot()
    tx = PaymentChannelCreate(
        account=poor.address,
        destination=destination.address,
        amount="1",
        settle_delay=60,
        public_key=claim_key.public_key,
    )
    assert local_ledger.result(tx, poor) == "tecINSUFFICIENT_RESERVE"
    assert_fee_only(local_ledger, before, poor.address)

    rich_enough = local_ledger.new_wallet(5 * XRP)
    before = local_ledger.snapshot()
    tx = PaymentChannelCreate(
        account=rich_enough.address,
        destination=destination.address,
        amount=str(4 * XRP),
        settle_delay=60,
        public_key=claim_key.public_key,
    )
    assert local_ledger.result(tx, rich_enough) == "tecUNFUNDED"
    assert_fee_only(local_ledger, before, rich_enough.address)


def test_create_destination_rules(local_ledger, parties):
    source, destination, claim_key = parties
    missing = Wallet.create()

    def create(dst: str, **fields) -> str:
        return local_ledger.result(
            PaymentChannelCreate(
                account=source.address,
                destination=dst,
                amount="1000000",
                settle_delay=60,
                public_key=claim_key.public_key,
                **fields,
            ),
            source,
        )

    before = local_ledger.snapshot()
    assert create(missing.address) == "tecNO_DST"
    assert_fee_only(local_ledger, before, source.address)

    assert (
        local_ledger.result(
            AccountSet(account=destination.address, set_flag=AccountSetAsfFlag.ASF_REQUIRE_DEST),
            destination,
        )
        == "tesSUCCESS"
    )
    assert create(destination.address) == "tecDST_TAG_NEEDED"
    assert create(destination.address, destination_tag=7) == "tesSUCCESS"

    assert (
        local_ledger.result(
            AccountSet(
                account=destination.address, set_flag=AccountSetAsfFlag.ASF_DISABLE_INCOMING_PAYCHAN
            ),
            destination,
        )
        == "tesSUCCESS"
    )
    before = local_ledger.snapshot()
    assert create(destination.address, destination_tag=7) == "tecNO_PERMISSION"
    assert_fee_only(local_ledger, before, source.address)

    assert (
        local_ledger.result(
            AccountSet(
                account=destination.address,
                clear_flag=AccountSetAsfFlag.ASF_DISABLE_INCOMING_PAYCHAN,
            ),
            destination,
        )
        == "tesSUCCESS"
    )
    assert create(destination.address, destination_tag=7) == "tesSUCCESS"


def test_create_with_cancel_after_in_the_past_is_tec_expired(local_ledger, parties):
    source, destination, claim_key = parties
    local_ledger.accept()
    past = local_ledger.parent_close_time - 1
    before = local_ledger.snapshot()
    tx = PaymentChannelCreate(
        account=source.address,
        destination=destination.address,
        amount="1000000",
        settle_delay=60,
        public_key=claim_key.public_key,
        cancel_after=past,
    )
    assert local_ledger.result(tx, source) == "tecEXPIRED"
    assert_fee_only(local_ledger, before, source.address)


# -- fund -----------------------------------------------------------------------------------


def test_fund_adds_amount_and_only_source_may_fund(local_ledger, parties):
    source, destination, claim_key = parties
    channel = create_channel(local_ledger, source, destination, claim_key)
    tx = PaymentChannelFund(account=source.address, channel=channel, amount="500000")
    assert local_ledger.result(tx, source) == "tesSUCCESS"
    assert local_ledger.channel(channel)["Amount"] == str(10 * XRP + 500000)

    before = local_ledger.snapshot()
    tx = PaymentChannelFund(account=destination.address, channel=channel, amount="1")
    assert local_ledger.result(tx, destination) == "tecNO_PERMISSION"
    assert_fee_only(local_ledger, before, destination.address)


def test_fund_missing_channel_is_tec_no_entry(local_ledger, parties):
    source, _, _ = parties
    before = local_ledger.snapshot()
    tx = PaymentChannelFund(account=source.address, channel="AB" * 32, amount="1")
    assert local_ledger.result(tx, source) == "tecNO_ENTRY"
    assert_fee_only(local_ledger, before, source.address)


def test_fund_expiration_must_respect_settle_delay(local_ledger, parties):
    source, destination, claim_key = parties
    channel = create_channel(local_ledger, source, destination, claim_key, settle_delay=100)
    parent = local_ledger.parent_close_time
    before = local_ledger.snapshot()
    tx = PaymentChannelFund(
        account=source.address, channel=channel, amount="1", expiration=parent + 99
    )
    assert local_ledger.result(tx, source) == "temBAD_EXPIRATION"
    assert local_ledger.snapshot() == before
    tx = PaymentChannelFund(
        account=source.address, channel=channel, amount="1", expiration=parent + 100
    )
    assert local_ledger.result(tx, source) == "tesSUCCESS"
    assert local_ledger.channel(channel)["Expiration"] == parent + 100


def test_fund_unfunded(local_ledger, parties):
    source, destination, claim_key = parties
    channel = create_channel(local_ledger, source, destination, claim_key)
    before = local_ledger.snapshot()
    tx = PaymentChannelFund(account=source.address, channel=channel, amount=str(95 * XRP))
    assert local_ledger.result(tx, source) == "tecUNFUNDED"
    assert_fee_only(local_ledger, before, source.address)


# -- claim ----------------------------------------------------------------------------------


def claim(
    ledger,
    wallet,
    channel,
    *,
    balance=None,
    amount=None,
    signature=None,
    public_key=None,
    flags=0,
    **kw,
):
    fields = {"account": wallet.address, "channel": channel, "flags": flags}
    if balance is not None:
        fields["balance"] = str(balance)
    if amount is not None:
        fields["amount"] = str(amount)
    if signature is not None:
        fields["signature"] = signature
    if public_key is not None:
        fields["public_key"] = public_key
    return ledger.result(PaymentChannelClaim(**fields), wallet, **kw)


def test_destination_redeems_signed_claim(local_ledger, parties):
    source, destination, claim_key = parties
    channel = create_channel(local_ledger, source, destination, claim_key)
    dst_before = local_ledger.balance(destination.address)
    sig = sign_claim(claim_key, channel, 3_000_000)
    assert (
        claim(
            local_ledger,
            destination,
            channel,
            balance=3_000_000,
            amount=3_000_000,
            signature=sig,
            public_key=claim_key.public_key,
        )
        == "tesSUCCESS"
    )
    assert local_ledger.balance(destination.address) == dst_before + 3_000_000 - 10
    assert local_ledger.channel(channel)["Balance"] == "3000000"
    # A later, larger claim pays only the difference.
    sig = sign_claim(claim_key, channel, 5_000_000)
    assert (
        claim(
            local_ledger,
            destination,
            channel,
            balance=5_000_000,
            amount=5_000_000,
            signature=sig,
            public_key=claim_key.public_key,
        )
        == "tesSUCCESS"
    )
    assert local_ledger.balance(destination.address) == dst_before + 5_000_000 - 20


def test_ed25519_claim_key(local_ledger):
    source = local_ledger.new_wallet(100 * XRP)
    destination = local_ledger.new_wallet(20 * XRP)
    from xrpl import CryptoAlgorithm

    claim_key = Wallet.create(algorithm=CryptoAlgorithm.ED25519)
    channel = create_channel(local_ledger, source, destination, claim_key)
    sig = sign_claim(claim_key, channel, 1_000_000)
    assert (
        claim(
            local_ledger,
            destination,
            channel,
            balance=1_000_000,
            signature=sig,
            public_key=claim_key.public_key,
        )
        == "tesSUCCESS"
    )


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"balance": 2, "amount": 1}, "temBAD_AMOUNT"),
        (
            {"flags": PaymentChannelClaimFlag.TF_CLOSE | PaymentChannelClaimFlag.TF_RENEW},
            "temMALFORMED",
        ),
        ({"balance": 1, "signature": "30" * 35}, "temMALFORMED"),  # signature without key
    ],
)
def test_claim_preflight_errors_change_nothing(local_ledger, parties, kwargs, code):
    source, destination, claim_key = parties
    channel = create_channel(local_ledger, source, destination, claim_key)
    before = local_ledger.snapshot()
    assert claim(local_ledger, destination, channel, **kwargs) == code
    assert local_ledger.snapshot() == before


def test_claim_non_positive_balance_is_bad_amount(local_ledger, parties):
    source, destination, claim_key = parties
    channel = create_channel(local_ledger, source, destination, claim_key)
    before = local_ledger.snapshot()
    response = _submit_raw(
        local_ledger,
        source,
        "PaymentChannelClaim",
        {"account": source.address, "channel": channel, "balance": "0"},
    )
    assert response["engine_result"] == "temBAD_AMOUNT"
    assert local_ledger.snapshot() == before


def test_claim_signature_checks(local_ledger, parties):
    source, destination, claim_key = parties
    channel = create_channel(local_ledger, source, destination, claim_key)
    before = local_ledger.snapshot()
    # Signed for 1 XRP, claimed as 2 XRP: the signature does not cover the amount.
    sig = sign_claim(claim_key, channel, 1_000_000)
    assert (
        claim(
            local_ledger,
            destination,
            channel,
            balance=2_000_000,
            amount=2_000_000,
            signature=sig,
            public_key=claim_key.public_key,
        )
        == "temBAD_SIGNATURE"
    )
    # The destination without a signature.
    assert claim(local_ledger, destination, channel, balance=1_000_000) == "temBAD_SIGNATURE"
    # A valid signature by another key than the channel's.
    other = Wallet.create()
    sig = sign_claim(other, channel, 1_000_000)
    assert (
        claim(
            local_ledger,
            destination,
            channel,
            balance=1_000_000,
            signature=sig,
            public_key=other.public_key,
        )
        == "temBAD_SIGNER"
    )
    assert local_ledger.snapshot() == before


def test_claim_high_s_secp256k1_signature_is_rejected(local_ledger, parties):
    """rippled requires fully canonical (low-S) claim signatures."""
    source, destination, _ = parties
    # A secp256k1 claim key: high S only exists for ECDSA signatures.
    claim_key = Wallet.create(algorithm=CryptoAlgorithm.SECP256K1)
    channel = create_channel(local_ledger, source, destination, claim_key)
    sig = bytes.fromhex(sign_claim(claim_key, channel, 1_000_000))
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    r_len = sig[3]
    r = sig[4 : 4 + r_len]
    s = int.from_bytes(sig[6 + r_len :], "big")
    high_s = (n - s).to_bytes(33, "big").lstrip(b"\x00")
    if high_s[0] & 0x80:
        high_s = b"\x00" + high_s
    body = b"\x02" + bytes([len(r)]) + r + b"\x02" + bytes([len(high_s)]) + high_s
    bad = (b"\x30" + bytes([len(body)]) + body).hex()
    before = local_ledger.snapshot()
    assert (
        claim(
            local_ledger,
            destination,
            channel,
            balance=1_000_000,
            signature=bad,
            public_key=claim_key.public_key,
        )
        == "temBAD_SIGNATURE"
    )
    assert local_ledger.snapshot() == before


def test_claim_missing_channel_and_third_party(local_ledger, parties):
    source, destination, claim_key = parties
    before = local_ledger.snapshot()
    assert claim(local_ledger, source, "CD" * 32, balance=1) == "tecNO_TARGET"
    assert_fee_only(local_ledger, before, source.address)

    channel = create_channel(local_ledger, source, destination, claim_key)
    stranger = local_ledger.new_wallet(10 * XRP)
    sig = sign_claim(claim_key, channel, 1_000_000)
    before = local_ledger.snapshot()
    assert (
        claim(
            local_ledger,
            stranger,
            channel,
            balance=1_000_000,
            signature=sig,
            public_key=claim_key.public_key,
        )
        == "tecNO_PERMISSION"
    )
    assert_fee_only(local_ledger, before, stranger.address)


def test_claim_balance_bounds_are_tec_unfunded_payment(local_ledger, parties):
    source, destination, claim_key = parties
    channel = create_channel(local_ledger, source, destination, claim_key, amount=2 * XRP)
    too_much = 2 * XRP + 1
    sig = sign_claim(claim_key, channel, too_much)
    before = local_ledger.snapshot()
    assert (
        claim(
            local_ledger,
            destination,
            channel,
            balance=too_much,
            signature=sig,
            public_key=claim_key.public_key,
        )
        == "tecUNFUNDED_PAYMENT"
    )
    assert_fee_only(local_ledger, before, destination.address)

    sig = sign_claim(claim_key, channel, XRP)
    assert (
        claim(
            local_ledger,
            destination,
            channel,
            balance=XRP,
            signature=sig,
            public_key=claim_key.public_key,
        )
        == "tesSUCCESS"
    )
    before = local_ledger.snapshot()
    # Replaying the same (or a lower) claim asks for nothing: tecUNFUNDED_PAYMENT.
    assert (
        claim(
            local_ledger,
            destination,
            channel,
            balance=XRP,
            signature=sig,
            public_key=claim_key.public_key,
        )
        == "tecUNFUNDED_PAYMENT"
    )
    assert_fee_only(local_ledger, before, destination.address)


def test_source_claims_without_signature(local_ledger, parties):
    source, destination, claim_key = parties
    channel = create_channel(local_ledger, source, destination, claim_key)
    dst_before = local_ledger.balance(destination.address)
    assert claim(local_ledger, source, channel, balance=1_000_000) == "tesSUCCESS"
    assert local_ledger.balance(destination.address) == dst_before + 1_000_000


def test_close_by_source_sets_expiration_then_channel_is_removed(local_ledger, parties):
    source, destination, claim_key = parties
    channel = create_channel(local_ledger, source, destination, claim_key, settle_delay=100)
    parent = local_ledger.parent_close_time
    assert (
        claim(local_ledger, source, channel, flags=PaymentChannelClaimFlag.TF_CLOSE) == "tesSUCCESS"
    )
    assert local_ledger.channel(channel)["Expiration"] == parent + 100
    local_ledger.accept()

    # Renew is source-only; the destination gets tecNO_PERMISSION.
    before = local_ledger.snapshot()
    assert (
        claim(local_ledger, destination, channel, flags=PaymentChannelClaimFlag.TF_RENEW)
        == "tecNO_PERMISSION"
    )
    assert_fee_only(local_ledger, before, destination.address)

    # A claim strictly before Expiration still pays.
    sig = sign_claim(claim_key, channel, 4_000_000)
    assert (
        claim(
            local_ledger,
            destination,
            channel,
            balance=4_000_000,
            signature=sig,
            public_key=claim_key.public_key,
        )
        == "tesSUCCESS"
    )

    local_ledger.advance(101)
    assert local_ledger.parent_close_time >= parent + 100
    src_before = local_ledger.balance(source.address)
    dst_before = local_ledger.balance(destination.address)
    sig = sign_claim(claim_key, channel, 6_000_000)
    # Once parent close >= Expiration, any touch deletes the channel and pays no claim.
    assert (
        claim(
            local_ledger,
            destination,
            channel,
            balance=6_000_000,
            signature=sig,
            public_key=claim_key.public_key,
        )
        == "tesSUCCESS"
    )
    assert local_ledger.channel(channel) is None
    assert local_ledger.balance(destination.address) == dst_before - 10
    assert local_ledger.balance(source.address) == src_before + 10 * XRP - 4_000_000
    assert local_ledger.account(source.address)["OwnerCount"] == 0


def test_renew_clears_expiration(local_ledger, parties):
    source, destination, claim_key = parties
    channel = create_channel(local_ledger, source, destination, claim_key, settle_delay=100)
    assert (
        claim(local_ledger, source, channel, flags=PaymentChannelClaimFlag.TF_CLOSE) == "tesSUCCESS"
    )
    assert "Expiration" in local_ledger.channel(channel)
    assert (
        claim(local_ledger, source, channel, flags=PaymentChannelClaimFlag.TF_RENEW) == "tesSUCCESS"
    )
    assert "Expiration" not in local_ledger.channel(channel)


def test_close_keeps_an_earlier_expiration(local_ledger, parties):
    source, destination, claim_key = parties
    channel = create_channel(local_ledger, source, destination, claim_key, settle_delay=100)
    parent = local_ledger.parent_close_time
    tx = PaymentChannelFund(
        account=source.address, channel=channel, amount="1", expiration=parent + 500
    )
    assert local_ledger.result(tx, source) == "tesSUCCESS"
    assert (
        claim(local_ledger, source, channel, flags=PaymentChannelClaimFlag.TF_CLOSE) == "tesSUCCESS"
    )
    assert local_ledger.channel(channel)["Expiration"] == parent + 100
    tx = PaymentChannelFund(
        account=source.address, channel=channel, amount="1", expiration=parent + 1000
    )
    # Extending is allowed (>= min(parent + SettleDelay, current Expiration)).
    assert local_ledger.result(tx, source) == "tesSUCCESS"


def test_close_by_destination_deletes_at_once(local_ledger, parties):
    source, destination, claim_key = parties
    channel = create_channel(local_ledger, source, destination, claim_key)
    src_before = local_ledger.balance(source.address)
    sig = sign_claim(claim_key, channel, 2_000_000)
    assert (
        claim(
            local_ledger,
            destination,
            channel,
            balance=2_000_000,
            signature=sig,
            public_key=claim_key.public_key,
            flags=PaymentChannelClaimFlag.TF_CLOSE,
        )
        == "tesSUCCESS"
    )
    assert local_ledger.channel(channel) is None
    assert local_ledger.balance(source.address) == src_before + 8_000_000
    assert local_ledger.account(source.address)["OwnerCount"] == 0


def test_close_by_source_on_dry_channel_deletes_at_once(local_ledger, parties):
    source, destination, claim_key = parties
    channel = create_channel(local_ledger, source, destination, claim_key, amount=XRP)
    assert claim(local_ledger, source, channel, balance=XRP) == "tesSUCCESS"
    assert (
        claim(local_ledger, source, channel, flags=PaymentChannelClaimFlag.TF_CLOSE) == "tesSUCCESS"
    )
    assert local_ledger.channel(channel) is None


def test_cancel_after_removes_channel_on_any_touch_by_anyone(local_ledger, parties):
    source, destination, claim_key = parties
    local_ledger.accept()
    cancel_after = local_ledger.parent_close_time + 50
    channel = create_channel(
        local_ledger, source, destination, claim_key, cancel_after=cancel_after
    )
    assert local_ledger.channel(channel)["CancelAfter"] == cancel_after
    local_ledger.advance(60)
    stranger = local_ledger.new_wallet(10 * XRP)
    src_before = local_ledger.balance(source.address)
    # A Fund by a stranger: not the source, yet it succeeds because it only removes.
    tx = PaymentChannelFund(account=stranger.address, channel=channel, amount="1")
    assert local_ledger.result(tx, stranger) == "tesSUCCESS"
    assert local_ledger.channel(channel) is None
    assert local_ledger.balance(source.address) == src_before + 10 * XRP


def test_account_channels_shape_and_pagination(local_ledger, parties):
    source, destination, claim_key = parties
    other = local_ledger.new_wallet(20 * XRP)
    ids = [
        create_channel(local_ledger, source, destination, claim_key, amount=XRP, source_tag=9)
        for _ in range(3)
    ]
    ids.append(
        create_channel(local_ledger, source, other, claim_key, amount=XRP, destination_tag=5)
    )
    everything = local_ledger.rpc(
        "account_channels", account=source.address, ledger_index="validated"
    )
    assert everything["validated"] is True
    assert {c["channel_id"] for c in everything["channels"]} == set(ids)
    first = everything["channels"][0]
    assert set(first) >= {
        "account",
        "amount",
        "balance",
        "channel_id",
        "destination_account",
        "settle_delay",
        "public_key",
        "public_key_hex",
    }
    assert first["amount"] == "1000000" and first["public_key_hex"] == claim_key.public_key
    filtered = local_ledger.rpc(
        "account_channels", account=source.address, destination_account=other.address
    )
    assert [c["channel_id"] for c in filtered["channels"]] == [ids[3]]
    assert filtered["channels"][0]["destination_tag"] == 5

    page = local_ledger.rpc("account_channels", account=source.address, limit=2)
    assert len(page["channels"]) == 2 and page["limit"] == 2 and "marker" in page
    rest = local_ledger.rpc(
        "account_channels", account=source.address, limit=2, marker=page["marker"]
    )
    assert len(rest["channels"]) == 2 and "marker" not in rest
    seen = [c["channel_id"] for c in page["channels"] + rest["channels"]]
    assert sorted(seen) == sorted(ids)
    bad = local_ledger.rpc("account_channels", account=source.address, marker="nonsense")
    assert bad["status"] == "error"


def test_ledger_entry_shapes(local_ledger, parties):
    source, destination, claim_key = parties
    channel = create_channel(local_ledger, source, destination, claim_key)
    result = local_ledger.rpc("ledger_entry", payment_channel=channel, ledger_index="validated")
    assert result["index"] == channel and result["validated"] is True
    node = result["node"]
    assert node["LedgerEntryType"] == "PayChannel"
    for name in (
        "Account",
        "Destination",
        "Amount",
        "Balance",
        "PublicKey",
        "SettleDelay",
        "PreviousTxnID",
        "PreviousTxnLgrSeq",
    ):
        assert name in node
    by_index = local_ledger.rpc("ledger_entry", index=channel)
    assert by_index["node"]["Amount"] == node["Amount"]
    root = local_ledger.rpc("ledger_entry", account_root=source.address)
    assert root["node"]["LedgerEntryType"] == "AccountRoot"
    wrong_type = local_ledger.rpc("ledger_entry", payment_channel=root["index"])
    assert wrong_type["error"] == "unexpectedLedgerType"
    missing = local_ledger.rpc("ledger_entry", payment_channel="EF" * 32)
    assert missing["error"] == "entryNotFound"
    malformed = local_ledger.rpc("ledger_entry", payment_channel="xyz")
    assert malformed["status"] == "error"
    binary = local_ledger.rpc("ledger_entry", payment_channel=channel, binary=True)
    from xrpl.core.binarycodec import decode

    assert decode(binary["node_binary"])["Amount"] == node["Amount"]
