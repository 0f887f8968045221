"""The strict verifier accepts exactly what rippled accepts (PublicKey.cpp), nothing more.

xrpl-py's keypairs sign the claims and serve as the reference for canonical signatures;
OpenSSL (through `cryptography`) shows that each rejected high-S signature is otherwise
mathematically valid, so those tests fail against a lenient verifier. The secp256k1 maths runs
in libsecp256k1 (coincurve); OpenSSL's verdicts, the previous implementation, cross-check it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import random

import pytest
from cryptography.exceptions import InvalidSignature as OpenSSLInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xrpl.constants import CryptoAlgorithm
from xrpl.core import keypairs
from xrpl.core.binarycodec import encode_for_signing_claim

from channels_app import signatures
from channels_app.signatures import (
    ClaimPayload,
    InvalidSignature,
    MalformedInput,
    claim_message,
    is_valid_signature,
    parse_channel_id,
    parse_claim,
    parse_drops,
    parse_hex,
    parse_public_key,
    sha512_half,
    verify_claim,
    verify_signature,
)

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # secp256k1 order
SECP_P = 2**256 - 2**32 - 977
L = 2**252 + 27742317777372353535851937790883648493  # Ed25519 order
ED_P = 2**255 - 19
ED_D = -121665 * pow(121666, -1, ED_P) % ED_P

VECTOR_CHANNEL = "5DB01B7FFED6B67E6B0414DED11E051D2EE2B7619CE0EAA6286D67A3A4D5BDB3"
VECTOR_KEY = "023693F15967AE357D0327974AD46FE3C127113B1110D6044FD41E723689F81CC6"
VECTOR_SIGNATURE = (
    "304402204EF0AFB78AC23ED1C472E74F4299C0C21F1B21D07EFC0A3838A420F76D783A40"
    "0220154FB11B6F54320666E4C36CA7F686C16A3A0456800BBC43746F34AF50290064"
)
CHANNEL = bytes.fromhex("C7F634794B79DB40E87179A9D1BF05D05797AE7E92DF8E93FD6656E8C4BE3AE7")

DER_REASONS = {"bad DER", "R out of range", "S out of range"}


# --- helpers ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Keypair:
    public_hex: str
    private_hex: str

    @property
    def public(self) -> bytes:
        return bytes.fromhex(self.public_hex)

    def sign(self, message: bytes) -> bytes:
        return bytes.fromhex(keypairs.sign(message, self.private_hex))


def make_keypair(algorithm: CryptoAlgorithm, entropy_byte: int) -> Keypair:
    seed = keypairs.generate_seed(entropy=f"{entropy_byte:02x}" * 16, algorithm=algorithm)
    public, private = keypairs.derive_keypair(seed)
    return Keypair(public, private)


@pytest.fixture(scope="module")
def ed_key() -> Keypair:
    return make_keypair(CryptoAlgorithm.ED25519, 1)


@pytest.fixture(scope="module")
def secp_key() -> Keypair:
    return make_keypair(CryptoAlgorithm.SECP256K1, 2)


@pytest.fixture(scope="module", params=["ed25519", "secp256k1"])
def any_key(request: pytest.FixtureRequest) -> Keypair:
    algorithm = {"ed25519": CryptoAlgorithm.ED25519, "secp256k1": CryptoAlgorithm.SECP256K1}
    return make_keypair(algorithm[request.param], 3)


def xrpl_claim_message(channel: bytes, amount: int) -> bytes:
    return bytes.fromhex(
        encode_for_signing_claim({"channel": channel.hex(), "amount": str(amount)})
    )


def reason_of(*, message: bytes, signature: bytes, public_key: bytes) -> str | None:
    try:
        verify_signature(message=message, signature=signature, public_key=public_key)
    except InvalidSignature as exc:
        return exc.reason
    return None


def der_int(value: int) -> bytes:
    """Minimal DER content bytes of a positive integer."""
    raw = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    return b"\x00" + raw if raw[0] & 0x80 else raw


def der(r: bytes, s: bytes) -> bytes:
    """A DER sequence of two INTEGERs with the given content bytes, lengths left honest."""
    body = b"\x02" + bytes([len(r)]) + r + b"\x02" + bytes([len(s)]) + s
    return b"\x30" + bytes([len(body)]) + body


def split_der(sig: bytes) -> tuple[int, int]:
    return utils.decode_dss_signature(sig)


def openssl_accepts_ecdsa(public_key: bytes, message: bytes, sig: bytes) -> bool:
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), public_key)
    try:
        key.verify(sig, sha512_half(message), ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    except OpenSSLInvalidSignature:
        return False
    return True


def strict_der_oracle(sig: bytes) -> bool:
    """Independent of our parser: canonical DER round trip plus the range rule."""
    try:
        r, s = utils.decode_dss_signature(sig)
        if not (1 <= r < N and 1 <= s < N):
            return False
        return utils.encode_dss_signature(r, s) == sig
    except ValueError:
        return False


def ref10_decodes(raw: bytes) -> bool:
    """ed25519 point decoding as ref10/donna compute it: candidate root, then vx^2 == +-u."""
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    u = (y * y - 1) % ED_P
    v = (ED_D * y * y + 1) % ED_P
    x = u * pow(v, 3, ED_P) * pow(u * pow(v, 7, ED_P), (ED_P - 5) // 8, ED_P) % ED_P
    vxx = v * x * x % ED_P
    return vxx in (u, (-u) % ED_P)


def off_curve_secp_x() -> int:
    return next(
        x for x in range(1, 100) if pow((x**3 + 7) % SECP_P, (SECP_P - 1) // 2, SECP_P) != 1
    )


def on_curve_secp_x() -> int:
    return next(
        x for x in range(1, 100) if pow((x**3 + 7) % SECP_P, (SECP_P - 1) // 2, SECP_P) == 1
    )


def ed25519_weak_signature(raw_key: bytes) -> bytes:
    """A signature valid for any message under a key that decodes to the identity point.

    With A = identity, S*B == R for R = a*B and S = a mod L (a: a clamped secret scalar).
    """
    seed = bytes(range(32))
    a = int.from_bytes(hashlib.sha512(seed).digest()[:32], "little")
    a = (a & ((1 << 254) - 8)) | (1 << 254)
    r_point = (
        Ed25519PrivateKey.from_private_bytes(seed)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )
    return r_point + (a % L).to_bytes(32, "little")


# --- parsing ---------------------------------------------------------------------------------


def test_parse_hex_accepts_either_case():
    assert parse_hex("00aBcDeF", field="x") == b"\x00\xab\xcd\xef"
    assert parse_hex("ABCDEF", field="x", length=3) == b"\xab\xcd\xef"


@pytest.mark.parametrize(
    "value",
    ["", "0", "abc", "0x00", "00 11", " 0011", "0011\n", "gg", "00\u0661\u0662", "+0", "00-0"],
)
def test_parse_hex_rejects_non_hex(value):
    with pytest.raises(MalformedInput) as info:
        parse_hex(value, field="thing")
    assert info.value.reason.startswith("thing ")


def test_parse_hex_checks_length():
    with pytest.raises(MalformedInput, match="thing is not 4 hex digits"):
        parse_hex("001122", field="thing", length=2)


def test_parse_public_key_accepts_three_prefixes_in_either_case(ed_key, secp_key):
    assert parse_public_key(ed_key.public_hex.lower()) == ed_key.public
    assert parse_public_key(VECTOR_KEY.lower()) == bytes.fromhex(VECTOR_KEY)
    assert parse_public_key("03" + VECTOR_KEY[2:]) == bytes.fromhex("03" + VECTOR_KEY[2:])


@pytest.mark.parametrize(
    "value",
    ["04" + VECTOR_KEY[2:], "00" + VECTOR_KEY[2:], VECTOR_KEY[:-2], VECTOR_KEY + "00", "", "ED"],
)
def test_parse_public_key_rejects(value):
    with pytest.raises(MalformedInput):
        parse_public_key(value)


def test_parse_channel_id():
    assert parse_channel_id(VECTOR_CHANNEL.lower()) == bytes.fromhex(VECTOR_CHANNEL)
    for bad in (VECTOR_CHANNEL[:-1], VECTOR_CHANNEL + "0", VECTOR_CHANNEL[:-1] + "G", ""):
        with pytest.raises(MalformedInput, match=r"^channel "):
            parse_channel_id(bad)


@pytest.mark.parametrize(
    ("value", "drops"),
    [("1", 1), ("1000000", 1_000_000), ("0001", 1), (str(2**64 - 1), 2**64 - 1), (7, 7)],
)
def test_parse_drops_accepts(value, drops):
    assert parse_drops(value) == drops


@pytest.mark.parametrize(
    "value",
    [
        "0",
        "000",
        str(2**64),
        "9" * 5000,
        "-1",
        "+1",
        " 1",
        "1 ",
        "1 0",
        "1_000",
        "1e6",
        "1.0",
        "0x10",
        "",
        "\u0661",  # ARABIC-INDIC DIGIT ONE: int() would take it
        0,
        -1,
        2**64,
        True,
        1.0,
        None,
    ],
)
def test_parse_drops_rejects(value):
    with pytest.raises(MalformedInput):
        parse_drops(value)


@given(st.integers(min_value=1, max_value=2**64 - 1), st.integers(min_value=0, max_value=5))
@FUZZ
def test_parse_drops_round_trips(drops, zeros):
    assert parse_drops("0" * zeros + str(drops)) == drops


@given(st.text())
@FUZZ
def test_parse_functions_raise_only_malformed_input(text):
    for parse in (parse_public_key, parse_channel_id, parse_drops):
        try:
            parse(text)
        except MalformedInput as exc:
            assert exc.reason
    try:
        parse_hex(text, field="signature")
    except MalformedInput as exc:
        assert exc.reason


@given(st.binary(min_size=1, max_size=40), st.lists(st.booleans(), min_size=80, max_size=80))
@FUZZ
def test_parse_hex_round_trips_in_mixed_case(data, upper):
    text = "".join(c.upper() if u else c.lower() for c, u in zip(data.hex(), upper, strict=False))
    assert parse_hex(text, field="x") == data


# --- message and hash ------------------------------------------------------------------------


def test_claim_message_layout_matches_xrpl_py():
    message = claim_message(CHANNEL, 1_000_000)
    assert len(message) == 44
    assert message == b"CLM\x00" + CHANNEL + (1_000_000).to_bytes(8, "big")
    assert message == xrpl_claim_message(CHANNEL, 1_000_000)
    assert claim_message(CHANNEL, 2**64 - 1) == xrpl_claim_message(CHANNEL, 2**64 - 1)


def test_claim_message_rejects_bad_shapes():
    with pytest.raises(MalformedInput):
        claim_message(CHANNEL[:31], 1)
    with pytest.raises(MalformedInput):
        claim_message(CHANNEL, 2**64)


def test_sha512_half_known_answer():
    assert sha512_half(b"").hex() == (
        "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
    )


# --- the public check vector -----------------------------------------------------------------


def test_public_vector_is_valid():
    claim = parse_claim(
        channel=VECTOR_CHANNEL, amount="1000000", signature=VECTOR_SIGNATURE, public_key=VECTOR_KEY
    )
    verify_claim(claim)


def test_public_vector_in_lower_case_is_valid():
    claim = parse_claim(
        channel=VECTOR_CHANNEL.lower(),
        amount=1000000,
        signature=VECTOR_SIGNATURE.lower(),
        public_key=VECTOR_KEY.lower(),
    )
    verify_claim(claim)


@pytest.mark.parametrize(
    ("channel", "amount"),
    [
        (VECTOR_CHANNEL, "1000001"),
        (VECTOR_CHANNEL, "999999"),
        (VECTOR_CHANNEL[:-1] + "4", "1000000"),
    ],
)
def test_public_vector_with_other_amount_or_channel_is_invalid(channel, amount):
    claim = parse_claim(
        channel=channel, amount=amount, signature=VECTOR_SIGNATURE, public_key=VECTOR_KEY
    )
    with pytest.raises(InvalidSignature) as info:
        verify_claim(claim)
    assert info.value.reason == "signature mismatch"


# --- generated keys, cross-checked with xrpl-py ----------------------------------------------


@pytest.mark.parametrize("amount", [1, 1_000_000, 2**63, 2**64 - 1])
def test_generated_claims_agree_with_xrpl_py(any_key, amount):
    message = xrpl_claim_message(CHANNEL, amount)
    signature = any_key.sign(message)
    assert keypairs.is_valid_message(message, signature, any_key.public_hex)

    verify_claim(
        ClaimPayload(
            channel_id=CHANNEL, amount_drops=amount, signature=signature, public_key=any_key.public
        )
    )
    assert is_valid_signature(message=message, signature=signature, public_key=any_key.public)


def test_generated_claim_with_wrong_amount_channel_or_key_is_invalid(any_key, secp_key, ed_key):
    signature = any_key.sign(xrpl_claim_message(CHANNEL, 5000))
    other_channel = bytes(31) + b"\x01"
    cases = [
        (CHANNEL, 5001, any_key.public),
        (CHANNEL, 4999, any_key.public),
        (other_channel, 5000, any_key.public),
        (CHANNEL, 5000, (ed_key if any_key.public[0] == 0xED else secp_key).public),
    ]
    for channel, amount, public_key in cases:
        message = claim_message(channel, amount)
        assert not keypairs.is_valid_message(message, signature, public_key.hex().upper())
        assert reason_of(message=message, signature=signature, public_key=public_key) == (
            "signature mismatch"
        )


@given(message=st.binary(max_size=300))
@FUZZ
def test_any_message_signed_by_xrpl_py_verifies(any_key, message):
    # The sandbox checks transaction signatures with the same function.
    signature = any_key.sign(message)
    verify_signature(message=message, signature=signature, public_key=any_key.public)


def test_repeat_verification_reuses_the_parsed_key(secp_key):
    message = claim_message(CHANNEL, 77)
    signature = secp_key.sign(message)
    verify_signature(message=message, signature=signature, public_key=secp_key.public)
    hits = signatures._secp256k1_key.cache_info().hits
    verify_signature(message=message, signature=signature, public_key=secp_key.public)
    assert signatures._secp256k1_key.cache_info().hits == hits + 1


# --- secp256k1: what rippled rejects ---------------------------------------------------------


@pytest.fixture(scope="module")
def secp_claim(secp_key) -> tuple[bytes, bytes, bytes]:
    message = claim_message(CHANNEL, 123_456)
    return message, secp_key.sign(message), secp_key.public


def test_high_s_is_rejected_although_mathematically_valid(secp_claim):
    message, signature, public_key = secp_claim
    r, s = split_der(signature)
    assert s <= N // 2, "xrpl-py signs fully canonical"
    high = utils.encode_dss_signature(r, N - s)
    assert openssl_accepts_ecdsa(public_key, message, high)  # a lenient verifier says yes

    assert reason_of(message=message, signature=high, public_key=public_key) == (
        "non-canonical signature (high S)"
    )


def test_s_at_half_order_boundary(secp_claim):
    message, signature, public_key = secp_claim
    r, _ = split_der(signature)
    # n // 2 is the largest fully canonical S: it passes the canonicality test, then fails the
    # maths; n // 2 + 1 is the smallest high S.
    at = utils.encode_dss_signature(r, N // 2)
    above = utils.encode_dss_signature(r, N // 2 + 1)
    assert reason_of(message=message, signature=at, public_key=public_key) == "signature mismatch"
    assert reason_of(message=message, signature=above, public_key=public_key) == (
        "non-canonical signature (high S)"
    )


def _der_variants(signature: bytes) -> dict[str, bytes]:
    r, s = split_der(signature)
    r_raw, s_raw = der_int(r), der_int(s)
    body = signature[2:]
    return {
        "extra leading zero on R": der(b"\x00" + r_raw, s_raw),
        "extra leading zero on S": der(r_raw, b"\x00" + s_raw),
        "sequence length too long": b"\x30" + bytes([signature[1] + 1]) + body,
        "sequence length too short": b"\x30" + bytes([signature[1] - 1]) + body,
        "trailing byte": signature + b"\x00",
        "trailing byte inside the sequence": b"\x30" + bytes([signature[1] + 1]) + body + b"\x00",
        "R length too long": signature[:3] + bytes([signature[3] + 1]) + signature[4:],
        "R length too short": signature[:3] + bytes([signature[3] - 1]) + signature[4:],
        "S length too long": signature[: -len(s_raw) - 1] + bytes([len(s_raw) + 1]) + s_raw,
        "wrong sequence tag": b"\x31" + signature[1:],
        "wrong R tag": signature[:2] + b"\x03" + signature[3:],
        "wrong S tag": der(r_raw, s_raw)[: 4 + len(r_raw)]
        + b"\x03"
        + der(r_raw, s_raw)[5 + len(r_raw) :],
        "long-form sequence length": b"\x30\x81" + bytes([signature[1]]) + body,
        "truncated": signature[:-1],
        "empty": b"",
        "R zero": der(b"\x00", s_raw),
        "S zero": der(r_raw, b"\x00"),
        "R zero padded": der(b"\x00\x00", s_raw),
        "R empty": der(b"", s_raw),
    }


@pytest.mark.parametrize("variant", list(_der_variants(bytes.fromhex(VECTOR_SIGNATURE))))
def test_non_strict_der_is_rejected(secp_claim, variant):
    message, signature, public_key = secp_claim
    bad = _der_variants(signature)[variant]
    assert bad != signature
    assert reason_of(message=message, signature=bad, public_key=public_key) == "bad DER"


def test_negative_r_is_rejected(secp_key):
    # Find a claim whose R has its top bit set, so DER needs a 00 pad, then drop the pad:
    # read as two's complement that R is negative; read as unsigned, it is the right number.
    for amount in range(1, 200):
        message = claim_message(CHANNEL, amount)
        signature = secp_key.sign(message)
        r, s = split_der(signature)
        if r >> 255:
            break
    else:
        pytest.fail("no R >= 2**255 in 200 signatures")
    negative = der(r.to_bytes(32, "big"), der_int(s))
    assert reason_of(message=message, signature=negative, public_key=secp_key.public) == "bad DER"
    verify_signature(message=message, signature=signature, public_key=secp_key.public)


@pytest.mark.parametrize(
    ("r", "s", "reason"),
    [
        (N, 1, "R out of range"),
        (N + 1, 1, "R out of range"),
        (2**256 - 1, 1, "R out of range"),
        (1, N, "S out of range"),
        (1, 2**256 - 1, "S out of range"),
        (1, N - 1, "non-canonical signature (high S)"),
    ],
)
def test_r_and_s_must_be_below_the_order(secp_claim, r, s, reason):
    message, _, public_key = secp_claim
    signature = der(der_int(r), der_int(s))
    assert reason_of(message=message, signature=signature, public_key=public_key) == reason


@given(r=st.integers(1, N - 1), s=st.integers(1, N // 2))
@FUZZ
def test_every_strict_der_in_range_passes_the_encoding_rules(secp_claim, r, s):
    # Short numbers (leading zero bytes dropped), 33-byte padded ones: all parse.
    message, _, public_key = secp_claim
    signature = utils.encode_dss_signature(r, s)
    assert reason_of(message=message, signature=signature, public_key=public_key) == (
        "signature mismatch"
    )


def _near_der():
    integer = st.one_of(
        st.binary(min_size=0, max_size=34),
        st.integers(0, 2**257).map(lambda v: v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big")),
        st.integers(0, 2**256).map(der_int),
    )

    @st.composite
    def build(draw):
        r, s = draw(integer), draw(integer)
        parts = []
        for value in (r, s):
            tag = draw(st.sampled_from([0x02, 0x02, 0x02, 0x03]))
            length = len(value) + draw(st.sampled_from([0, 0, 0, 0, 1, -1]))
            parts.append(bytes([tag, length % 256]) + value)
        body = b"".join(parts) + draw(st.sampled_from([b"", b"", b"", b"\x00"]))
        head = draw(st.sampled_from([0x30, 0x30, 0x30, 0x31]))
        length = len(body) + draw(st.sampled_from([0, 0, 0, 1, -1]))
        return bytes([head, length % 256]) + body

    return build()


@given(signature=_near_der())
@FUZZ
def test_der_rules_match_an_independent_strict_der_oracle(secp_claim, signature):
    message, _, public_key = secp_claim
    reason = reason_of(message=message, signature=signature, public_key=public_key)
    assert reason is not None
    assert (reason in DER_REASONS) == (not strict_der_oracle(signature)), reason


def test_key_not_on_curve_is_rejected(secp_claim):
    message, signature, _ = secp_claim
    off = off_curve_secp_x()
    for key in (b"\x02" + off.to_bytes(32, "big"), b"\x03" + off.to_bytes(32, "big")):
        assert reason_of(message=message, signature=signature, public_key=key) == (
            "point not on curve"
        )


def test_key_with_x_at_or_above_the_field_prime_is_rejected(secp_claim):
    # x + p reduces to a valid x; libsecp256k1 refuses the unreduced encoding, and so do we.
    message, signature, _ = secp_claim
    x = on_curve_secp_x()
    reason_valid_x = reason_of(
        message=message, signature=signature, public_key=b"\x02" + x.to_bytes(32, "big")
    )
    assert reason_valid_x == "signature mismatch"
    unreduced = b"\x02" + (x + SECP_P).to_bytes(32, "big")
    assert reason_of(message=message, signature=signature, public_key=unreduced) == (
        "point not on curve"
    )


def openssl_reason(message: bytes, signature: bytes, public_key: bytes) -> str | None:
    """The secp256k1 path as it was before libsecp256k1: our encoding rules, OpenSSL's maths."""
    try:
        s = signatures._strict_der_s(signature)
    except InvalidSignature as exc:
        return exc.reason
    if s > N // 2:
        return "non-canonical signature (high S)"
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), public_key)
    except ValueError:
        return "point not on curve"
    return None if openssl_accepts_ecdsa(public_key, message, signature) else "signature mismatch"


def test_libsecp256k1_agrees_with_openssl_on_random_signatures():
    rng = random.Random(20240611)  # fixed: a failure reproduces
    verdicts: dict[str | None, int] = {}
    for _ in range(150):
        private = ec.derive_private_key(rng.randrange(1, N), ec.SECP256K1())
        public_key = private.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
        message = rng.randbytes(rng.randrange(0, 300))
        der_sig = private.sign(sha512_half(message), ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        r, s = utils.decode_dss_signature(der_sig)
        low = utils.encode_dss_signature(r, min(s, N - s))
        flipped = bytearray(low)
        flipped[rng.randrange(len(flipped))] ^= rng.randrange(1, 256)
        other_key = bytes([rng.choice((2, 3))]) + rng.randbytes(32)
        cases = [
            (message, low, public_key),  # valid
            (message, utils.encode_dss_signature(r, N - min(s, N - s)), public_key),  # high S
            (message + b"\x00", low, public_key),  # other message
            (message, bytes(flipped), public_key),  # one byte changed
            (message, utils.encode_dss_signature(r, rng.randrange(1, N // 2 + 1)), public_key),
            (message, utils.encode_dss_signature(rng.randrange(1, N), s), public_key),
            (message, low, other_key),  # a random key: often off the curve
            (message, low, bytes([public_key[0] ^ 1]) + public_key[1:]),  # the negated key
            (message, rng.randbytes(rng.randrange(0, 80)), public_key),
        ]
        for case in cases:
            expected = openssl_reason(*case)
            reason = reason_of(message=case[0], signature=case[1], public_key=case[2])
            assert reason == expected, case
            verdicts[reason] = verdicts.get(reason, 0) + 1
    assert verdicts[None] == 150  # the valid signatures, and only those, were accepted
    assert {
        "non-canonical signature (high S)",
        "signature mismatch",
        "point not on curve",
        "bad DER",
    } <= set(verdicts)


@pytest.mark.parametrize("error", [ValueError, TypeError])
def test_library_errors_in_verify_come_out_as_invalid_signature(secp_claim, monkeypatch, error):
    class Exploding:
        def verify(self, *args, **kwargs):
            raise error("boom")

    message, signature, public_key = secp_claim
    monkeypatch.setattr(signatures, "_secp256k1_key", lambda _key: Exploding())
    assert reason_of(message=message, signature=signature, public_key=public_key) == (
        "signature mismatch"
    )


@given(position=st.integers(0, 200), flip=st.integers(1, 255))
@FUZZ
def test_any_single_byte_change_is_rejected(any_key, position, flip):
    message = claim_message(CHANNEL, 42)
    signature = bytearray(any_key.sign(message))
    signature[position % len(signature)] ^= flip
    assert not is_valid_signature(
        message=message, signature=bytes(signature), public_key=any_key.public
    )


# --- Ed25519: what rippled rejects, and what it (ed25519-donna) accepts ----------------------


@pytest.fixture(scope="module")
def ed_claim(ed_key) -> tuple[bytes, bytes, bytes]:
    message = claim_message(CHANNEL, 654_321)
    return message, ed_key.sign(message), ed_key.public


def test_ed25519_s_plus_l_is_rejected(ed_claim):
    message, signature, public_key = ed_claim
    s = int.from_bytes(signature[32:], "little")
    malleated = signature[:32] + (s + L).to_bytes(32, "little")
    assert reason_of(message=message, signature=malleated, public_key=public_key) == "S >= L"


@pytest.mark.parametrize("s", [L, L + 1, 2**253, 2**256 - 1])
def test_ed25519_s_at_or_above_l_is_rejected(ed_claim, s):
    message, signature, public_key = ed_claim
    forged = signature[:32] + s.to_bytes(32, "little")
    assert reason_of(message=message, signature=forged, public_key=public_key) == "S >= L"


def test_ed25519_s_just_below_l_passes_the_canonicality_test(ed_claim):
    message, signature, public_key = ed_claim
    forged = signature[:32] + (L - 1).to_bytes(32, "little")
    assert reason_of(message=message, signature=forged, public_key=public_key) == (
        "signature mismatch"
    )


@pytest.mark.parametrize("size", [0, 63, 65, 72])
def test_ed25519_signature_must_be_64_bytes(ed_claim, size):
    message, signature, public_key = ed_claim
    resized = (signature * 2)[:size]
    assert reason_of(message=message, signature=resized, public_key=public_key) == (
        "bad signature length"
    )


def test_ed25519_key_that_does_not_decode_is_rejected(ed_claim):
    message, signature, _ = ed_claim
    y = next(y for y in range(2, 100) if not ref10_decodes(y.to_bytes(32, "little")))
    key = b"\xed" + y.to_bytes(32, "little")
    assert reason_of(message=message, signature=signature, public_key=key) == "point not on curve"


@given(raw=st.binary(min_size=32, max_size=32))
@FUZZ
def test_ed25519_key_decoding_matches_ref10(ed_claim, raw):
    message, signature, _ = ed_claim
    reason = reason_of(message=message, signature=signature, public_key=b"\xed" + raw)
    expected = "signature mismatch" if ref10_decodes(raw) else "point not on curve"
    assert reason == expected


@pytest.mark.parametrize(
    "y", [0, 1, 2, ED_P - 1, ED_P, ED_P + 1, 2**255 - 1, 1 | 1 << 255, (ED_P - 1) | 1 << 255]
)
def test_ed25519_key_decoding_edge_cases_match_ref10(ed_claim, y):
    message, signature, _ = ed_claim
    raw = y.to_bytes(32, "little")
    reason = reason_of(message=message, signature=signature, public_key=b"\xed" + raw)
    assert reason == ("signature mismatch" if ref10_decodes(raw) else "point not on curve")


@pytest.mark.parametrize(
    "raw_key",
    [
        (1).to_bytes(32, "little"),  # the identity point
        (ED_P + 1).to_bytes(32, "little"),  # the identity with y not reduced mod p
        (1 | 1 << 255).to_bytes(32, "little"),  # x = 0 with the sign bit set
    ],
    ids=["identity", "non-canonical y", "negative zero x"],
)
def test_ed25519_accepts_what_donna_accepts(raw_key):
    # rippled's ed25519-donna neither rejects small-order keys nor non-canonical encodings of
    # the key; a claim under such a key is redeemable, so it is valid here too.
    signature = ed25519_weak_signature(raw_key)
    for message in (b"", claim_message(CHANNEL, 1)):
        verify_signature(message=message, signature=signature, public_key=b"\xed" + raw_key)


# --- key types and robustness ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("public_key", "reason"),
    [
        (b"", "bad public key length"),
        (bytes.fromhex(VECTOR_KEY)[:32], "bad public key length"),
        (bytes.fromhex(VECTOR_KEY) + b"\x00", "bad public key length"),
        (b"\x04" + bytes.fromhex(VECTOR_KEY)[1:], "unknown key type"),
    ],
)
def test_unknown_key_shapes_are_invalid(public_key, reason):
    message = claim_message(bytes.fromhex(VECTOR_CHANNEL), 1_000_000)
    signature = bytes.fromhex(VECTOR_SIGNATURE)
    assert reason_of(message=message, signature=signature, public_key=public_key) == reason


@given(
    message=st.binary(max_size=100),
    signature=st.binary(max_size=80),
    public_key=st.one_of(
        st.binary(max_size=40),
        st.tuples(
            st.sampled_from([b"\xed", b"\x02", b"\x03"]), st.binary(min_size=32, max_size=32)
        ).map(b"".join),
    ),
)
@FUZZ
def test_verify_signature_only_raises_invalid_signature(message, signature, public_key):
    with pytest.raises(InvalidSignature) as info:
        verify_signature(message=message, signature=signature, public_key=public_key)
    assert info.value.reason
    assert not is_valid_signature(message=message, signature=signature, public_key=public_key)


@pytest.mark.parametrize("junk", [None, "00", 3, ["x"]])
def test_wrong_types_are_invalid_not_crashes(junk, ed_claim):
    message, signature, public_key = ed_claim
    for kwargs in (
        {"message": junk, "signature": signature, "public_key": public_key},
        {"message": message, "signature": junk, "public_key": public_key},
        {"message": message, "signature": signature, "public_key": junk},
    ):
        with pytest.raises(InvalidSignature):
            verify_signature(**kwargs)
        assert is_valid_signature(**kwargs) is False


def test_bytes_like_inputs_are_accepted(ed_claim):
    message, signature, public_key = ed_claim
    verify_signature(
        message=memoryview(message),
        signature=bytearray(signature),
        public_key=bytearray(public_key),
    )


# --- ClaimPayload and parse_claim ------------------------------------------------------------


def test_parse_claim_builds_a_frozen_payload():
    claim = parse_claim(
        channel=VECTOR_CHANNEL, amount="1000000", signature=VECTOR_SIGNATURE, public_key=VECTOR_KEY
    )
    assert claim == ClaimPayload(
        channel_id=bytes.fromhex(VECTOR_CHANNEL),
        amount_drops=1_000_000,
        signature=bytes.fromhex(VECTOR_SIGNATURE),
        public_key=bytes.fromhex(VECTOR_KEY),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        claim.amount_drops = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value", "reason_start"),
    [
        ("channel", VECTOR_CHANNEL[:-2], "channel "),
        ("amount", "0", "amount "),
        ("amount", "1.5", "amount "),
        ("signature", "30zz", "signature "),
        ("signature", "304", "signature "),
        ("public_key", "ED" + "00" * 31, "public key "),
        ("public_key", "05" + VECTOR_KEY[2:], "public key "),
    ],
)
def test_parse_claim_names_the_malformed_field(field, value, reason_start):
    fields = {
        "channel": VECTOR_CHANNEL,
        "amount": "1000000",
        "signature": VECTOR_SIGNATURE,
        "public_key": VECTOR_KEY,
    }
    fields[field] = value
    with pytest.raises(MalformedInput) as info:
        parse_claim(**fields)
    assert info.value.reason.startswith(reason_start)


@pytest.mark.parametrize(
    "changes",
    [
        {"channel_id": bytes(31)},
        {"amount_drops": 0},
        {"amount_drops": 2**64},
        {"amount_drops": True},
        {"signature": b""},
        {"public_key": b"\x04" + bytes(32)},
        {"public_key": bytes(32)},
    ],
)
def test_claim_payload_refuses_bad_shapes(changes):
    fields = {
        "channel_id": CHANNEL,
        "amount_drops": 1,
        "signature": b"\x30",
        "public_key": bytes.fromhex(VECTOR_KEY),
    }
    with pytest.raises(MalformedInput):
        ClaimPayload(**{**fields, **changes})


def test_random_claim_is_invalid_for_both_algorithms(ed_key, secp_key):
    for key in (ed_key, secp_key):
        claim = ClaimPayload(
            channel_id=os.urandom(32),
            amount_drops=1,
            signature=key.sign(os.urandom(44)),
            public_key=key.public,
        )
        with pytest.raises(InvalidSignature, match="signature mismatch"):
            verify_claim(claim)
