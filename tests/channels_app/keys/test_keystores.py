"""Keystores: XRPL signature formats, the software and the PKCS#11 (SoftHSM2) backends, and the
same transactions validating on the sandbox whichever keystore signed them."""

from __future__ import annotations

import secrets

import pytest
from coincurve import PrivateKey
from xrpl.clients import JsonRpcClient
from xrpl.core.binarycodec import encode, encode_for_signing
from xrpl.core.keypairs import derive_classic_address
from xrpl.models.transactions import Payment, PaymentChannelClaim
from xrpl.models.transactions.transaction import Transaction
from xrpl.transaction import autofill

from channels_app.keys.crypto import (
    SECP256K1_HALF_N,
    Algorithm,
    der_encode_signature,
    ec_point_to_xrpl_public_key,
    ecdsa_to_xrpl_der,
)
from channels_app.keys.exceptions import KeystoreUnavailable
from channels_app.keys.keystore import Keystore, Pkcs11Keystore, SoftwareKeystore
from channels_app.signatures import (
    SECP256K1_N,
    InvalidSignature,
    sha512_half,
    verify_signature,
)
from tests.channels_app.keys.helpers import open_channel, submit_validated
from tests.fixtures.sandbox import fund_account, sandbox_rpc

AAD = b"test:aad"


# --- Signature encoding ----------------------------------------------------------------------


def test_high_s_is_normalised_to_low_s_and_strict_der() -> None:
    key = PrivateKey()
    digest = sha512_half(b"normalise me")
    raw = key.sign_recoverable(digest, hasher=None)[:64]
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    high = r.to_bytes(32, "big") + (SECP256K1_N - s if s <= SECP256K1_HALF_N else s).to_bytes(
        32, "big"
    )
    public = key.public_key.format(compressed=True)

    # Given the high-S form, which rippled refuses,
    with pytest.raises(InvalidSignature, match="high S"):
        verify_signature(
            message=b"normalise me",
            signature=der_encode_signature(r, int.from_bytes(high[32:], "big")),
            public_key=public,
        )
    # when it is normalised, it verifies under the strict rules.
    fixed = ecdsa_to_xrpl_der(high)
    assert int.from_bytes(fixed[-32:], "big") <= SECP256K1_HALF_N
    verify_signature(message=b"normalise me", signature=fixed, public_key=public)


@pytest.mark.parametrize("value", [1, 0x7F, 0x80, 0xFF, SECP256K1_N - 1])
def test_der_integers_are_minimal_and_positive(value: int) -> None:
    der = der_encode_signature(value, value)
    length = der[3]
    body = der[4 : 4 + length]
    assert body[0] & 0x80 == 0
    assert not (len(body) > 1 and body[0] == 0 and not body[1] & 0x80)
    assert int.from_bytes(body, "big") == value


def test_ec_points_convert_to_xrpl_public_keys() -> None:
    key = PrivateKey()
    uncompressed = key.public_key.format(compressed=False)
    octet_string = bytes([0x04, len(uncompressed)]) + uncompressed
    expected = key.public_key.format(compressed=True).hex().upper()
    assert ec_point_to_xrpl_public_key(octet_string, Algorithm.SECP256K1) == expected
    assert ec_point_to_xrpl_public_key(uncompressed, Algorithm.SECP256K1) == expected
    raw = secrets.token_bytes(32)
    assert (
        ec_point_to_xrpl_public_key(b"\x04\x20" + raw, Algorithm.ED25519)
        == "ED" + raw.hex().upper()
    )
    with pytest.raises(ValueError):
        ec_point_to_xrpl_public_key(b"\x04\x03abc", Algorithm.ED25519)


# --- Backends ---------------------------------------------------------------------------------


def _software() -> SoftwareKeystore:
    return SoftwareKeystore("test-kek-material")


@pytest.fixture(params=["software", "pkcs11"])
def any_keystore(request) -> Keystore:
    if request.param == "software":
        return _software()
    return request.getfixturevalue("hsm")


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_signatures_verify_under_rippleds_rules(any_keystore: Keystore, algorithm) -> None:
    key_id = secrets.token_hex(8)
    made = any_keystore.generate(key_id=key_id, algorithm=algorithm, aad=AAD)
    assert made.public_key.startswith("ED" if algorithm is Algorithm.ED25519 else ("02", "03"))
    # ECDSA's S is random: over 24 signatures about half come out high and must be normalised.
    for n in range(24):
        message = f"message {n}".encode()
        signature = any_keystore.sign(
            key_id=key_id, algorithm=algorithm, sealed=made.sealed, aad=AAD, message=message
        )
        verify_signature(
            message=message, signature=signature, public_key=bytes.fromhex(made.public_key)
        )
        if algorithm is Algorithm.SECP256K1:
            assert signature == ecdsa_to_xrpl_der(_raw(signature))


def _raw(der: bytes) -> bytes:
    r_len = der[3]
    r = der[4 : 4 + r_len]
    s = der[6 + r_len :]
    return int.from_bytes(r, "big").to_bytes(32, "big") + int.from_bytes(s, "big").to_bytes(
        32, "big"
    )


def test_software_keys_are_sealed_and_bound_to_their_row() -> None:
    store = _software()
    made = store.generate(key_id="k1", algorithm=Algorithm.ED25519, aad=b"settlement:k1")
    assert len(made.sealed) == 12 + 32 + 16
    with pytest.raises(Exception):  # noqa: B017 - cryptography's InvalidTag
        store.sign(
            key_id="k1",
            algorithm=Algorithm.ED25519,
            sealed=made.sealed,
            aad=b"settlement:other",
            message=b"x",
        )
    assert "kek" not in repr(store).lower()


@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_hsm_keys_are_generated_inside_and_never_extractable(
    hsm: Pkcs11Keystore, algorithm
) -> None:
    key_id = secrets.token_hex(8)
    made = hsm.generate(key_id=key_id, algorithm=algorithm, aad=AAD)
    assert made.sealed == b""  # nothing of the key is stored outside the token
    assert hsm.key_attributes(key_id=key_id) == {
        "sensitive": True,
        "extractable": False,
        "always_sensitive": True,
        "never_extractable": True,
        "local": True,
    }
    hsm.destroy(key_id=key_id)
    with pytest.raises(KeystoreUnavailable):
        hsm.sign(key_id=key_id, algorithm=algorithm, sealed=b"", aad=AAD, message=b"gone")


def test_hsm_seals_with_aes_gcm_inside_the_token(hsm: Pkcs11Keystore) -> None:
    secret = secrets.token_bytes(32)
    sealed = hsm.seal(secret, aad=b"hd_master:1")
    assert secret not in sealed
    assert hsm.unseal(sealed, aad=b"hd_master:1") == secret
    with pytest.raises(KeystoreUnavailable):
        hsm.unseal(sealed, aad=b"hd_master:2")


def test_wrong_pin_is_a_clean_keystore_error(softhsm_token) -> None:
    from channels_app.keys.keystore import pkcs11_reset

    pkcs11_reset()
    wrong = Pkcs11Keystore(module=softhsm_token.module, token_label=softhsm_token.label, pin="0000")
    try:
        with pytest.raises(KeystoreUnavailable) as caught:
            wrong.generate(key_id="nope", algorithm=Algorithm.ED25519, aad=AAD)
        assert "0000" not in caught.value.message
    finally:
        pkcs11_reset()


# --- The same transactions validate on the sandbox, whichever keystore signed ----------------


def _sign_with(
    store: Keystore, key_id: str, algorithm, sealed: bytes, public_key: str, tx: Transaction
) -> str:
    tx_json = tx.to_xrpl()
    tx_json["SigningPubKey"] = public_key
    message = bytes.fromhex(encode_for_signing(tx_json))
    signature = store.sign(
        key_id=key_id, algorithm=algorithm, sealed=sealed, aad=AAD, message=message
    )
    tx_json["TxnSignature"] = signature.hex().upper()
    return encode(tx_json)


@pytest.mark.integration
@pytest.mark.parametrize("algorithm", list(Algorithm))
def test_payment_and_claim_validate_on_the_sandbox(
    any_keystore: Keystore, algorithm, sandbox_url
) -> None:
    client = JsonRpcClient(sandbox_url)
    key_id = secrets.token_hex(8)
    made = any_keystore.generate(key_id=key_id, algorithm=algorithm, aad=AAD)
    address = derive_classic_address(made.public_key)
    fund_account(sandbox_url, address, 40_000_000)

    payment = autofill(
        Payment(
            account=address, destination="rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", amount="1000000"
        ),
        client,
    )
    blob = _sign_with(any_keystore, key_id, algorithm, made.sealed, made.public_key, payment)
    assert submit_validated(sandbox_url, blob) == "tesSUCCESS"

    reader = open_channel(sandbox_url, address)
    claim = autofill(
        PaymentChannelClaim(
            account=address,
            channel=reader.channel_id,
            balance="250000",
            amount="250000",
            signature=reader.key.sign(reader.channel_id, 250_000),
            public_key=reader.key.public_key,
        ),
        client,
    )
    blob = _sign_with(any_keystore, key_id, algorithm, made.sealed, made.public_key, claim)
    assert submit_validated(sandbox_url, blob) == "tesSUCCESS"
    node = sandbox_rpc(sandbox_url, "ledger_entry", payment_channel=reader.channel_id)["node"]
    assert node["Balance"] == "250000"


@pytest.mark.django_db
def test_settlement_keys_made_before_the_keystores_still_sign() -> None:
    from xrpl.constants import CryptoAlgorithm
    from xrpl.core.keypairs import generate_seed
    from xrpl.transaction import sign
    from xrpl.wallet import Wallet

    from channels_app.keys import services as keys
    from channels_app.keys.keystore import keystore
    from channels_app.models import KeyRecord

    # Given a settlement key row as the first release stored it (a sealed family seed),
    seed = generate_seed(algorithm=CryptoAlgorithm.ED25519)
    wallet = Wallet.from_seed(seed, algorithm=CryptoAlgorithm.ED25519)
    record = KeyRecord(
        purpose="settlement",
        key_id="legacy0000000001",
        algorithm="ed25519-xrpl",
        public_key=wallet.public_key,
        address=wallet.classic_address,
    )
    record.sealed = keystore("software").seal(seed.encode(), aad=b"settlement:legacy0000000001")
    record.save()
    tx = Payment(
        account=wallet.classic_address,
        destination="rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh",
        amount="1",
        sequence=1,
        fee="10",
    )
    # it signs exactly as xrpl-py does with the same wallet.
    assert keys.platform_address() == wallet.classic_address
    assert keys.settlement_sign(transaction=tx).txn_signature == sign(tx, wallet).txn_signature
