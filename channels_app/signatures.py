"""Strict XRPL signature verification: accept exactly what rippled accepts.

A claim that rippled would reject with `temBAD_SIGNATURE` can never be redeemed, so it is
worth nothing; xrpl-py's `is_valid_message` is more lenient (high-S ECDSA, loose DER) and
slow. The rules here follow rippled's `PublicKey.cpp` (`verify`, `ecdsaCanonicality`,
`ed25519Canonical`) with `mustBeFullyCanonical` always on, as for payment-channel claims and,
since the RequireFullyCanonicalSig amendment, for transactions:

- **Ed25519** (key `0xED` + 32 bytes): the raw message is signed; the signature is 64 bytes
  with S < L. Then ed25519-donna's `ed25519_sign_open`: the key must decode to a curve point
  (non-canonical y and x = 0 with the sign bit set are accepted, small-order keys too) and the
  cofactorless equation must hold byte for byte.
- **secp256k1** (key `0x02`/`0x03` + 32 bytes): ECDSA over SHA-512Half(message) in strict DER
  (short lengths only, INTEGER tags, no negative or zero-padded numbers, no trailing bytes),
  1 <= R, S < n, and fully canonical (S <= n - S). The key must be a point on the curve.

The curve arithmetic is done in C: libsecp256k1 (through `coincurve`), as in rippled, for
secp256k1, and OpenSSL (through `cryptography`) for Ed25519. The encoding rules, which are
where libraries differ, are checked here first, so the reasons do not depend on the library.
No Django: the sandbox ledger uses `verify_signature` for transaction signatures as well.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from coincurve import PublicKey as Secp256k1PublicKey
from cryptography.exceptions import InvalidSignature as _OpenSSLInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

__all__ = [
    "CLAIM_PREFIX",
    "MAX_DROPS",
    "ClaimPayload",
    "InvalidSignature",
    "MalformedInput",
    "claim_message",
    "is_valid_signature",
    "parse_channel_id",
    "parse_claim",
    "parse_drops",
    "parse_hex",
    "parse_public_key",
    "sha512_half",
    "verify_claim",
    "verify_signature",
]

CLAIM_PREFIX = b"CLM\x00"  # rippled's HashPrefix::paymentChannelClaim
MAX_DROPS = 2**64 - 1
PUBLIC_KEY_BYTES = 33
ED25519_PREFIX = 0xED
SECP256K1_PREFIXES = (0x02, 0x03)

# secp256k1 group order n and field prime p.
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
SECP256K1_HALF_N = SECP256K1_N // 2  # S is fully canonical iff S <= n - S, i.e. S <= n // 2
# Ed25519 group order L, field prime p and curve constant d.
ED25519_L = 2**252 + 27742317777372353535851937790883648493
ED25519_P = 2**255 - 19
ED25519_D = -121665 * pow(121666, -1, ED25519_P) % ED25519_P

_HEX = re.compile(r"[0-9A-Fa-f]*")
_DECIMAL = re.compile(r"[0-9]+")
_KEY_CACHE_SIZE = 8192


class MalformedInput(ValueError):
    """The input does not parse. `reason` is short, human readable and holds no secret."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidSignature(Exception):
    """The input parses, but rippled would reject the signature. `reason` is a stable string."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- Parsing ---------------------------------------------------------------------------------


def parse_hex(value: str, *, field: str, length: int | None = None) -> bytes:
    """Decode hex in either case, with no whitespace or prefix; `length` is in bytes."""
    if not isinstance(value, str):
        raise MalformedInput(f"{field} is not a hex string")
    if length is not None and len(value) != 2 * length:
        raise MalformedInput(f"{field} is not {2 * length} hex digits")
    if not value:
        raise MalformedInput(f"{field} is empty")
    if _HEX.fullmatch(value) is None:
        raise MalformedInput(f"{field} is not hex")
    if len(value) % 2:
        raise MalformedInput(f"{field} has an odd number of hex digits")
    return bytes.fromhex(value)


def parse_public_key(value: str) -> bytes:
    """66 hex digits starting ED (Ed25519), 02 or 03 (secp256k1) -> 33 bytes."""
    key = parse_hex(value, field="public key", length=PUBLIC_KEY_BYTES)
    if key[0] != ED25519_PREFIX and key[0] not in SECP256K1_PREFIXES:
        raise MalformedInput("public key does not start with ED, 02 or 03")
    return key


def parse_channel_id(value: str) -> bytes:
    """64 hex digits -> the 32-byte channel id."""
    return parse_hex(value, field="channel", length=32)


def parse_drops(value: str | int) -> int:
    """A decimal integer of drops from 1 to 2**64 - 1: ASCII digits only, no sign or spaces."""
    if isinstance(value, bool):
        raise MalformedInput("amount is not a decimal integer")
    if isinstance(value, int):
        drops = value
    elif isinstance(value, str) and _DECIMAL.fullmatch(value):
        digits = value.lstrip("0")
        if len(digits) > len(str(MAX_DROPS)):  # also keeps int() away from huge strings
            raise MalformedInput("amount is not from 1 to 2^64-1 drops")
        drops = int(digits or "0")
    else:
        raise MalformedInput("amount is not a decimal integer")
    if not 1 <= drops <= MAX_DROPS:
        raise MalformedInput("amount is not from 1 to 2^64-1 drops")
    return drops


# --- Messages --------------------------------------------------------------------------------


def claim_message(channel_id: bytes, amount_drops: int) -> bytes:
    """The 44 bytes a claim signs: `CLM\\0` + channel id + amount as uint64 big-endian."""
    if len(channel_id) != 32:
        raise MalformedInput("channel is not 32 bytes")
    if isinstance(amount_drops, bool) or not 0 <= amount_drops <= MAX_DROPS:
        raise MalformedInput("amount is not a uint64")
    return CLAIM_PREFIX + bytes(channel_id) + amount_drops.to_bytes(8, "big")


def sha512_half(data: bytes) -> bytes:
    """The first 32 bytes of SHA-512, the XRPL's hash for signing and ids."""
    return hashlib.sha512(data).digest()[:32]


# --- Verification ----------------------------------------------------------------------------


def verify_signature(*, message: bytes, signature: bytes, public_key: bytes) -> None:
    """Raise InvalidSignature(reason) unless rippled would accept `signature` over `message`.

    Generic over the message: claim bytes, or a transaction's signing bytes. Never raises
    anything else, whatever the input.
    """
    message = _as_bytes(message, "message")
    signature = _as_bytes(signature, "signature")
    public_key = _as_bytes(public_key, "public key")
    if len(public_key) != PUBLIC_KEY_BYTES:
        raise InvalidSignature("bad public key length")
    if public_key[0] == ED25519_PREFIX:
        _verify_ed25519(message, signature, public_key[1:])
    elif public_key[0] in SECP256K1_PREFIXES:
        _verify_secp256k1(message, signature, public_key)
    else:
        raise InvalidSignature("unknown key type")


def is_valid_signature(*, message: bytes, signature: bytes, public_key: bytes) -> bool:
    """`verify_signature` as a boolean. Never raises."""
    try:
        verify_signature(message=message, signature=signature, public_key=public_key)
    except InvalidSignature:
        return False
    return True


def _as_bytes(value: object, field: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise InvalidSignature(f"{field} is not bytes")


def _verify_ed25519(message: bytes, signature: bytes, raw_key: bytes) -> None:
    # rippled's ed25519Canonical: exactly 64 bytes and S (little-endian) below L.
    if len(signature) != 64:
        raise InvalidSignature("bad signature length")
    if int.from_bytes(signature[32:], "little") >= ED25519_L:
        raise InvalidSignature("S >= L")
    try:
        _ed25519_key(raw_key).verify(signature, message)
    except _OpenSSLInvalidSignature:
        # OpenSSL also rejects a key that does not decode; tell the two apart only on failure
        # so that the accepting path stays in C.
        if not _ed25519_point_decodes(raw_key):
            raise InvalidSignature("point not on curve") from None
        raise InvalidSignature("signature mismatch") from None


def _verify_secp256k1(message: bytes, signature: bytes, public_key: bytes) -> None:
    if _strict_der_s(signature) > SECP256K1_HALF_N:
        raise InvalidSignature("non-canonical signature (high S)")
    key = _secp256k1_key(public_key)
    if key is None:
        raise InvalidSignature("point not on curve")
    # The signature is strict DER with 1 <= R, S <= n / 2 by now, which libsecp256k1's parser
    # and its low-S verify both take; a ValueError or TypeError would mean a disagreement, and
    # must still come out as a rejection. hasher=None: the digest is SHA-512Half, not SHA-256.
    try:
        verified = key.verify(signature, sha512_half(message), hasher=None)
    except (ValueError, TypeError):
        verified = False
    if not verified:
        raise InvalidSignature("signature mismatch")


def _strict_der_s(sig: bytes) -> int:
    """rippled's ecdsaCanonicality up to the low-S test: return S of a strict DER signature.

    `30 len 02 lenR R 02 lenS S`, 8 to 72 bytes, with 1 <= R, S < n.
    """
    size = len(sig)
    if size < 8 or size > 72 or sig[0] != 0x30 or sig[1] != size - 2:
        raise InvalidSignature("bad DER")
    r, offset = _der_integer(sig, 2)
    s, offset = _der_integer(sig, offset)
    if offset != size:
        raise InvalidSignature("bad DER")
    # A zero cannot get past _der_integer; the lower bounds are belt and braces.
    if not 1 <= r < SECP256K1_N:
        raise InvalidSignature("R out of range")
    if not 1 <= s < SECP256K1_N:
        raise InvalidSignature("S out of range")
    return s


def _der_integer(sig: bytes, offset: int) -> tuple[int, int]:
    """rippled's sigPart: `02 len number`, 1 <= len <= 33, positive, minimally encoded."""
    if len(sig) - offset < 3 or sig[offset] != 0x02:
        raise InvalidSignature("bad DER")
    length = sig[offset + 1]
    start = offset + 2
    if length < 1 or length > 33 or length > len(sig) - start:
        raise InvalidSignature("bad DER")
    if sig[start] & 0x80:
        raise InvalidSignature("bad DER")  # negative
    if sig[start] == 0 and (length == 1 or not sig[start + 1] & 0x80):
        raise InvalidSignature("bad DER")  # zero, or padded with a needless zero byte
    end = start + length
    return int.from_bytes(sig[start:end], "big"), end


@lru_cache(maxsize=_KEY_CACHE_SIZE)
def _ed25519_key(raw_key: bytes) -> Ed25519PublicKey:
    # OpenSSL only stores the 32 bytes here; decoding happens in verify.
    return Ed25519PublicKey.from_public_bytes(raw_key)


@lru_cache(maxsize=_KEY_CACHE_SIZE)
def _secp256k1_key(public_key: bytes) -> Secp256k1PublicKey | None:
    """The decompressed key, or None if x >= p or x^3 + 7 has no square root.

    `public_key` is 33 bytes starting 02 or 03 (checked by the caller), so libsecp256k1's
    `secp256k1_ec_pubkey_parse` sees a compressed key only, as rippled's does.
    """
    try:
        return Secp256k1PublicKey(public_key)
    except (ValueError, TypeError):
        return None


def _ed25519_point_decodes(raw_key: bytes) -> bool:
    """Whether ed25519-donna's ge25519_unpack_negative_vartime accepts these 32 bytes.

    y is the low 255 bits, taken mod p (so non-canonical y is accepted); the key decodes iff
    x^2 = (y^2 - 1) / (d y^2 + 1) has a square root. The sign bit only picks x, even for x = 0.
    """
    y = int.from_bytes(raw_key, "little") & ((1 << 255) - 1)
    y2 = y * y % ED25519_P
    # d is not a square and -1 is, so d y^2 + 1 is never zero.
    x2 = (y2 - 1) * pow(ED25519_D * y2 + 1, -1, ED25519_P) % ED25519_P
    return x2 == 0 or pow(x2, (ED25519_P - 1) // 2, ED25519_P) == 1


# --- Claims ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimPayload:
    """A parsed payment-channel claim. Construction checks the shapes, not the signature."""

    channel_id: bytes
    amount_drops: int
    signature: bytes
    public_key: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.channel_id, bytes) or len(self.channel_id) != 32:
            raise MalformedInput("channel is not 32 bytes")
        if isinstance(self.amount_drops, bool) or not isinstance(self.amount_drops, int):
            raise MalformedInput("amount is not a decimal integer")
        if not 1 <= self.amount_drops <= MAX_DROPS:
            raise MalformedInput("amount is not from 1 to 2^64-1 drops")
        if not isinstance(self.signature, bytes) or not self.signature:
            raise MalformedInput("signature is empty")
        if (
            not isinstance(self.public_key, bytes)
            or len(self.public_key) != PUBLIC_KEY_BYTES
            or (
                self.public_key[0] != ED25519_PREFIX
                and self.public_key[0] not in SECP256K1_PREFIXES
            )
        ):
            raise MalformedInput("public key is not 33 bytes starting ED, 02 or 03")

    @property
    def message(self) -> bytes:
        return claim_message(self.channel_id, self.amount_drops)


def parse_claim(
    *, channel: str, amount: str | int, signature: str, public_key: str
) -> ClaimPayload:
    """Parse a claim as a client sends it (hex in either case, decimal drops)."""
    return ClaimPayload(
        channel_id=parse_channel_id(channel),
        amount_drops=parse_drops(amount),
        signature=parse_hex(signature, field="signature"),
        public_key=parse_public_key(public_key),
    )


def verify_claim(claim: ClaimPayload) -> None:
    """Raise InvalidSignature(reason) unless rippled would accept the claim's signature.

    Checks the signature only; whether the key is the channel's key and the amount is
    affordable is the claim service's business.
    """
    verify_signature(message=claim.message, signature=claim.signature, public_key=claim.public_key)
