"""XRPL signature formats, shared by every keystore. No Django, no key storage.

- **Ed25519**: the public key is `ED` + 32 bytes; the signature is the plain 64-byte Ed25519
  signature over the message itself.
- **secp256k1**: the public key is the 33-byte compressed point; the signature is ECDSA over
  SHA-512Half(message), DER-encoded with the low S (rippled refuses a high S as
  non-canonical). A keystore that returns raw `r || s` (PKCS#11 CKM_ECDSA does) goes
  through `ecdsa_to_xrpl_der`, so every backend produces the same encoding.
"""

from __future__ import annotations

import enum

from coincurve import PrivateKey as Secp256k1PrivateKey
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from channels_app.signatures import SECP256K1_N, sha512_half

__all__ = [
    "Algorithm",
    "der_encode_signature",
    "ec_point_to_xrpl_public_key",
    "ecdsa_to_xrpl_der",
    "software_public_key",
    "software_sign",
]

SECP256K1_HALF_N = SECP256K1_N // 2


class Algorithm(enum.StrEnum):
    ED25519 = "ed25519"
    SECP256K1 = "secp256k1"


def _der_int(value: int) -> bytes:
    body = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    if body[0] & 0x80:
        body = b"\x00" + body  # DER integers are signed: keep it positive
    return b"\x02" + bytes([len(body)]) + body


def der_encode_signature(r: int, s: int) -> bytes:
    """Strict DER `30 len 02 lenR R 02 lenS S`, minimally encoded (what rippled parses)."""
    if not (1 <= r < SECP256K1_N and 1 <= s < SECP256K1_N):
        raise ValueError("ECDSA signature component out of range")
    body = _der_int(r) + _der_int(s)
    return b"\x30" + bytes([len(body)]) + body


def ecdsa_to_xrpl_der(raw: bytes) -> bytes:
    """Raw `r || s` (64 bytes) to the canonical XRPL form: S normalised to n - S if high, DER."""
    if len(raw) != 64:
        raise ValueError("raw ECDSA signature must be 64 bytes")
    r = int.from_bytes(raw[:32], "big")
    s = int.from_bytes(raw[32:], "big")
    if s > SECP256K1_HALF_N:
        s = SECP256K1_N - s
    return der_encode_signature(r, s)


def ec_point_to_xrpl_public_key(point: bytes, algorithm: Algorithm) -> str:
    """A PKCS#11 CKA_EC_POINT (DER OCTET STRING, or the bare point) to the XRPL hex form."""
    if len(point) >= 2 and point[0] == 0x04 and point[1] == len(point) - 2:
        point = point[2:]  # unwrap the OCTET STRING (short form covers both curves)
    if algorithm is Algorithm.ED25519:
        if len(point) != 32:
            raise ValueError("Ed25519 public key must be 32 bytes")
        return "ED" + point.hex().upper()
    if len(point) == 65 and point[0] == 0x04:
        x, y = point[1:33], point[33:]
        return (bytes([0x02 | (y[-1] & 1)]) + x).hex().upper()
    if len(point) == 33 and point[0] in (0x02, 0x03):
        return point.hex().upper()
    raise ValueError("unrecognised secp256k1 public point")


def software_public_key(secret: bytes, algorithm: Algorithm) -> str:
    """The XRPL public key (hex, upper case) of a raw 32-byte private key."""
    if algorithm is Algorithm.ED25519:
        raw = (
            Ed25519PrivateKey.from_private_bytes(secret)
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        return "ED" + raw.hex().upper()
    return Secp256k1PrivateKey(secret).public_key.format(compressed=True).hex().upper()


def software_sign(secret: bytes, algorithm: Algorithm, message: bytes) -> bytes:
    """Sign `message` the XRPL way with a raw 32-byte private key held in memory."""
    if algorithm is Algorithm.ED25519:
        return Ed25519PrivateKey.from_private_bytes(secret).sign(message)
    recoverable = Secp256k1PrivateKey(secret).sign_recoverable(sha512_half(message), hasher=None)
    return ecdsa_to_xrpl_der(recoverable[:64])
