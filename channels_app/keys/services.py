"""Platform keys: create, sign with, and publish. Key material never leaves this module.

Purposes: `settlement` (the account that receives channels and redeems claims) and
`access_token` (signs readers' access grants, published as a JWKS).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from django.db import IntegrityError, transaction
from jwt.algorithms import OKPAlgorithm
from xrpl.constants import CryptoAlgorithm
from xrpl.core.keypairs import generate_seed
from xrpl.models.transactions.transaction import Transaction
from xrpl.transaction import sign
from xrpl.wallet import Wallet

from channels_app import clock
from channels_app.exceptions import DropgateError
from channels_app.keys.keystore import default_keystore
from channels_app.models import KeyRecord

TOKEN_ISSUER = "dropgate"


class GrantInvalid(DropgateError):
    code = "grant_invalid"
    http_status = 401
    default_message = "The access grant is not valid."


class GrantExpired(DropgateError):
    code = "grant_expired"
    http_status = 401
    default_message = "The access grant has expired."


def _aad(record: KeyRecord) -> bytes:
    return f"{record.purpose}:{record.key_id}".encode()


@transaction.atomic
def key_ensure(*, purpose: str) -> KeyRecord:
    """Return the active key for `purpose`, creating it on first use."""
    record = KeyRecord.objects.filter(purpose=purpose, active=True).first()
    if record is not None:
        return record
    key_id = secrets.token_hex(8)
    if purpose == KeyRecord.Purpose.SETTLEMENT:
        seed = generate_seed(algorithm=CryptoAlgorithm.ED25519)
        wallet = Wallet.from_seed(seed, algorithm=CryptoAlgorithm.ED25519)
        secret, algorithm = seed.encode(), "ed25519-xrpl"
        public_key, address = wallet.public_key, wallet.classic_address
    elif purpose == KeyRecord.Purpose.ACCESS_TOKEN:
        private = Ed25519PrivateKey.generate()
        secret = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        public_key = (
            private.public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            .hex()
            .upper()
        )
        algorithm, address = "ed25519", ""
    else:
        raise ValueError(f"unknown key purpose {purpose!r}")
    record = KeyRecord(
        purpose=purpose,
        key_id=key_id,
        algorithm=algorithm,
        public_key=public_key,
        address=address,
    )
    record.sealed = default_keystore().seal(secret, aad=_aad(record))
    try:
        with transaction.atomic():
            record.save()
    except IntegrityError:
        # Another process created it first: use theirs.
        return KeyRecord.objects.get(purpose=purpose, active=True)
    return record


def platform_address() -> str:
    """The settlement account's classic address: every channel's destination."""
    return key_ensure(purpose=KeyRecord.Purpose.SETTLEMENT).address


def _settlement_wallet(record: KeyRecord) -> Wallet:
    seed = default_keystore().unseal(bytes(record.sealed), aad=_aad(record)).decode()
    return Wallet.from_seed(seed, algorithm=CryptoAlgorithm.ED25519)


def settlement_sign(*, transaction: Transaction) -> Transaction:
    """Sign an autofilled transaction as the settlement account."""
    record = key_ensure(purpose=KeyRecord.Purpose.SETTLEMENT)
    return sign(transaction, _settlement_wallet(record))


# Unsealed signing keys, per process, by their unique key id: every grant is signed with one,
# and unsealing (KDF + AES-GCM) per request is wasted work. Revocation empties it.
_unsealed_token_keys: dict[str, Ed25519PrivateKey] = {}


def _token_private_key(record: KeyRecord) -> Ed25519PrivateKey:
    key = _unsealed_token_keys.get(record.key_id)
    if key is None:
        raw = default_keystore().unseal(bytes(record.sealed), aad=_aad(record))
        key = _unsealed_token_keys[record.key_id] = Ed25519PrivateKey.from_private_bytes(raw)
    return key


def token_key_cache_clear() -> None:
    """Forget every unsealed token key in this process (after a revocation or rotation)."""
    _unsealed_token_keys.clear()


def _token_public_key(record: KeyRecord) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(bytes.fromhex(record.public_key))


def token_issue(*, claims: dict[str, Any], ttl: timedelta | None = None) -> str:
    """Sign an EdDSA JWT. `claims` must not already hold iss/iat; exp is taken from it or ttl."""
    record = key_ensure(purpose=KeyRecord.Purpose.ACCESS_TOKEN)
    issued = clock.now()
    payload: dict[str, Any] = {"iss": TOKEN_ISSUER, "iat": int(issued.timestamp()), **claims}
    if ttl is not None:
        payload["exp"] = int((issued + ttl).timestamp())
    return jwt.encode(
        payload, _token_private_key(record), algorithm="EdDSA", headers={"kid": record.key_id}
    )


def token_verify(*, token: str, audience: str) -> dict[str, Any]:
    """Verify a grant against every non-revoked access-token key; raise GrantInvalid/GrantExpired."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise GrantInvalid() from exc
    record = KeyRecord.objects.filter(
        purpose=KeyRecord.Purpose.ACCESS_TOKEN, key_id=str(header.get("kid", ""))
    ).first()
    if record is None or header.get("alg") != "EdDSA":
        raise GrantInvalid()
    try:
        return jwt.decode(
            token,
            _token_public_key(record),
            algorithms=["EdDSA"],
            audience=audience,
            issuer=TOKEN_ISSUER,
            options={"require": ["exp", "iat", "sub"]},
            leeway=0,
        )
    except jwt.ExpiredSignatureError as exc:
        raise GrantExpired() from exc
    except jwt.PyJWTError as exc:
        raise GrantInvalid() from exc


def token_jwks() -> dict[str, Any]:
    key_ensure(purpose=KeyRecord.Purpose.ACCESS_TOKEN)
    keys = []
    for record in KeyRecord.objects.filter(purpose=KeyRecord.Purpose.ACCESS_TOKEN):
        if record.retired_at is not None and not record.active:
            continue
        public = _token_public_key(record)
        jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        jwk.update({"kid": record.key_id, "alg": "EdDSA", "use": "sig"})
        keys.append(jwk)
    return {"keys": keys}
