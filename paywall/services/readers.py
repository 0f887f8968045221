"""Readers: pseudonymous per-site identities holding a claim key and a bearer token.

A reader is registered with a proof of possession of its claim key (issue 9, finding 2). The
claim key is public — it is the PublicKey of every channel the reader opens — and a channel is
registered to the reader whose claim key it carries, so without the proof anyone could hold
a reader with a victim's key, register the victim's channel first and lock its deposit.

The proof signs a server challenge that names the publisher and works once within
`REGISTRATION_CHALLENGE_TTL_SECONDS`: a captured proof cannot make a second reader, here or
on another site. Challenges are issued without storing anything (a MAC under the secret key
over the publisher, the time and a random nonce); only their use is recorded, in the cache,
until they would have expired anyway.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import cache
from django.db import transaction
from django.utils.crypto import constant_time_compare, salted_hmac
from redis.exceptions import RedisError
from xrpl.core.keypairs import derive_classic_address

from channels_app import clock
from channels_app.selectors import channels_unclosed_of_owner
from channels_app.services.settlement import settlement_close_request
from channels_app.signatures import (
    InvalidSignature,
    MalformedInput,
    parse_hex,
    parse_public_key,
    verify_signature,
)
from paywall.models import Publisher, Reader, ReaderKeyRotation
from paywall.services.credentials import (
    credential_matches,
    hash_secret,
    new_secret,
    parse_credential,
)
from paywall.services.exceptions import (
    ClaimKeyIsFundingKey,
    ClaimKeyProofInvalid,
    ClaimKeyProofRequired,
    ClaimKeyRetired,
    ClaimKeyUnchanged,
    InvalidPublicKey,
    PublisherInactive,
    ReaderTokenInvalid,
    RegistrationChallengeExpired,
    RegistrationChallengeInvalid,
    RegistrationChallengeUnavailable,
    RegistrationChallengeUsed,
)
from paywall.types import ClaimKeyRotation, IssuedReader

__all__ = [
    "CLAIM_KEY_ROTATION_CLOSE_REASON",
    "REGISTRATION_CHALLENGE_TTL_SECONDS",
    "RegistrationChallenge",
    "claim_key_rotation_message",
    "reader_authenticate",
    "reader_claim_key_rotate",
    "reader_create",
    "reader_registration_challenge",
    "reader_registration_message",
]

logger = logging.getLogger(__name__)

READER_ID_KIND = "rdr"
READER_TOKEN_KIND = "rdt"

# Domain separation: a rotation proof can never be mistaken for a claim (`CLM\0`) or a
# transaction (`STX\0`), nor be replayed for another reader.
CLAIM_KEY_ROTATION_PREFIX = b"DGROT\x00"
CLAIM_KEY_ROTATION_CLOSE_REASON = "key_rotation"
MAX_PROOF_HEX_CHARS = 512

# Registration: a proof never verifies as a rotation proof, a claim or a transaction.
READER_REGISTRATION_PREFIX = b"DGREG\x00"
REGISTRATION_CHALLENGE_KIND = "rch"
REGISTRATION_CHALLENGE_TTL_SECONDS = 300
_CHALLENGE_SALT = "dropgate.paywall.reader-registration-challenge"
_CHALLENGE_RE = re.compile(r"^rch_([0-9]{1,12})_([0-9a-f]{32})_([0-9a-f]{32})$")
_CHALLENGE_USED_KEY = "dropgate:readers:challenge-used:{}"


@dataclass(frozen=True)
class RegistrationChallenge:
    """A challenge for registering one reader of `publisher_key`'s site, usable once."""

    publisher_key: str
    challenge: str
    expires_at: datetime


def _challenge_mac(*, publisher_key: str, issued: int, nonce: str) -> str:
    value = f"{publisher_key}\x00{issued}\x00{nonce}"
    return salted_hmac(_CHALLENGE_SALT, value, algorithm="sha256").hexdigest()[:32]


def reader_registration_challenge(*, publisher: Publisher) -> RegistrationChallenge:
    """A fresh challenge `rch_<issued>_<nonce>_<mac>` for registering a reader of `publisher`.

    Nothing is stored: the MAC (under the secret key) binds the publisher, the issue time and
    a random nonce. Raises PublisherInactive.
    """
    if not publisher.is_active:
        raise PublisherInactive()
    issued = int(clock.now().timestamp())
    nonce = secrets.token_hex(16)
    mac = _challenge_mac(publisher_key=publisher.key, issued=issued, nonce=nonce)
    return RegistrationChallenge(
        publisher_key=publisher.key,
        challenge=f"{REGISTRATION_CHALLENGE_KIND}_{issued}_{nonce}_{mac}",
        expires_at=datetime.fromtimestamp(issued + REGISTRATION_CHALLENGE_TTL_SECONDS, UTC),
    )


def reader_registration_message(*, publisher_key: str, challenge: str, public_key: bytes) -> bytes:
    """The bytes a registration proof signs: `DGREG\\0` ‖ ASCII publisher key ‖ `\\0` ‖ ASCII
    challenge ‖ `\\0` ‖ the claim key's 33 bytes. Signed like a claim: Ed25519 over the bytes,
    secp256k1 over their SHA-512Half.
    """
    return (
        READER_REGISTRATION_PREFIX
        + publisher_key.encode("ascii")
        + b"\x00"
        + challenge.encode("ascii")
        + b"\x00"
        + public_key
    )


def _challenge_check(*, publisher: Publisher, challenge: str) -> str:
    """The challenge's nonce, once it is shown to be ours, for this publisher, and not expired.

    Raises RegistrationChallengeInvalid or RegistrationChallengeExpired. Does not consume it.
    """
    match = _CHALLENGE_RE.match(challenge)
    if match is None:
        raise RegistrationChallengeInvalid("The registration challenge is malformed.")
    issued, nonce, mac = int(match[1]), match[2], match[3]
    expected = _challenge_mac(publisher_key=publisher.key, issued=issued, nonce=nonce)
    if not constant_time_compare(mac, expected):
        raise RegistrationChallengeInvalid()
    if int(clock.now().timestamp()) > issued + REGISTRATION_CHALLENGE_TTL_SECONDS:
        raise RegistrationChallengeExpired()
    return nonce


def _challenge_consume(nonce: str) -> None:
    """Mark the challenge used; RegistrationChallengeUsed if it already was.

    The mark outlives the challenge's validity, so it can never be used twice. A cache that
    cannot be reached fails closed (RegistrationChallengeUnavailable): without the mark a
    captured proof could be replayed.
    """
    try:
        fresh = cache.add(
            _CHALLENGE_USED_KEY.format(nonce), 1, timeout=REGISTRATION_CHALLENGE_TTL_SECONDS + 60
        )
    except RedisError as exc:
        logger.error("registration challenges unavailable: %s", type(exc).__name__)
        raise RegistrationChallengeUnavailable() from exc
    if not fresh:
        raise RegistrationChallengeUsed()


def _verify_key_proof(*, key: bytes, message: bytes, proof_signature: str) -> None:
    """Raise ClaimKeyProofInvalid unless `proof_signature` (hex) is `key`'s over `message`."""
    try:
        if len(proof_signature) > MAX_PROOF_HEX_CHARS:
            raise MalformedInput("too long")
        proof = parse_hex(proof_signature, field="proof")
        verify_signature(message=message, signature=proof, public_key=key)
    except MalformedInput as exc:
        raise ClaimKeyProofInvalid(f"The proof is malformed: {exc.reason}.") from exc
    except InvalidSignature as exc:
        raise ClaimKeyProofInvalid(f"The proof does not verify ({exc.reason}).") from exc


@transaction.atomic
def reader_create(
    *, publisher: Publisher, claim_public_key: str, challenge: str, proof_signature: str
) -> IssuedReader:
    """A new reader of `publisher`'s site with its claim key (66 hex: ED…, 02… or 03…).

    `challenge` comes from `reader_registration_challenge` for this publisher, and
    `proof_signature` is the claim key's signature (hex) over `reader_registration_message`:
    only the holder of the key can register a reader with it, and each challenge registers
    one reader at most.

    The returned token `rdt_<id>_<secret>` is the only copy of the secret: show it once.
    Nothing personal is stored: an id, the public key, a hash.

    Raises PublisherInactive, InvalidPublicKey, ClaimKeyProofRequired (no challenge or proof),
    RegistrationChallengeInvalid, RegistrationChallengeExpired, ClaimKeyProofInvalid,
    RegistrationChallengeUsed and RegistrationChallengeUnavailable (the cache is down).
    Checks run in that order, so nothing marks a challenge used until its proof verified.
    """
    if not publisher.is_active:
        raise PublisherInactive()
    try:
        key = parse_public_key(claim_public_key)
    except MalformedInput as exc:
        raise InvalidPublicKey(f"claim_public_key: {exc.reason}.") from exc
    if not challenge or not proof_signature:
        raise ClaimKeyProofRequired()
    nonce = _challenge_check(publisher=publisher, challenge=challenge)
    _verify_key_proof(
        key=key,
        message=reader_registration_message(
            publisher_key=publisher.key, challenge=challenge, public_key=key
        ),
        proof_signature=proof_signature,
    )
    _challenge_consume(nonce)
    lookup, secret = secrets.token_hex(12), new_secret()
    reader = Reader.objects.create(
        public_id=f"{READER_ID_KIND}_{lookup}",
        publisher=publisher,
        claim_public_key=key.hex().upper(),
        claim_key_proven=True,
        token_hash=hash_secret(secret),
    )
    return IssuedReader(reader=reader, token=f"{READER_TOKEN_KIND}_{lookup}_{secret}")


def reader_authenticate(*, token: str) -> Reader:
    """The reader `token` belongs to, with its publisher; raises ReaderTokenInvalid.

    An inactive publisher's readers raise PublisherInactive.
    """
    parsed = parse_credential(token, kind=READER_TOKEN_KIND)
    if parsed is None:
        raise ReaderTokenInvalid()
    reader = (
        Reader.objects.select_related("publisher")
        .filter(public_id=f"{READER_ID_KIND}_{parsed.lookup}")
        .first()
    )
    stored_hash = reader.token_hash if reader is not None else hash_secret("")
    if not credential_matches(parsed.secret, stored_hash) or reader is None:
        raise ReaderTokenInvalid()
    if not reader.publisher.is_active:
        raise PublisherInactive()
    return reader


def claim_key_rotation_message(*, reader_id: str, public_key: bytes) -> bytes:
    """The bytes a rotation proof signs: `DGROT\\0` ‖ ASCII reader id ‖ `\\0` ‖ the new key's
    33 bytes. Signed like a claim: Ed25519 over the bytes, secp256k1 over their SHA-512Half.
    """
    return CLAIM_KEY_ROTATION_PREFIX + reader_id.encode("ascii") + b"\x00" + public_key


def _proven_key(*, reader: Reader, new_public_key: str, proof_signature: str) -> str:
    """The new key, canonical upper-case hex, once its proof of possession verifies."""
    try:
        key = parse_public_key(new_public_key)
    except MalformedInput as exc:
        raise InvalidPublicKey(f"public_key: {exc.reason}.") from exc
    _verify_key_proof(
        key=key,
        message=claim_key_rotation_message(reader_id=reader.public_id, public_key=key),
        proof_signature=proof_signature,
    )
    return key.hex().upper()


@transaction.atomic
def reader_claim_key_rotate(
    *, reader: Reader, new_public_key: str, proof_signature: str
) -> ClaimKeyRotation:
    """Replace the reader's claim key with `new_public_key` and retire its channels.

    `proof_signature` is the new key's signature over `claim_key_rotation_message`: only the
    holder of the new key can make it the reader's. The reader's channels not yet closed are
    asked to be settled and closed (their highest accepted claim redeemed, then tfClose) once
    this commits; from then on claims on them are refused (`channel_retired`) and only
    channels opened with the new key can be registered. One ReaderKeyRotation row is the
    audit record.

    Idempotent: repeating the rotation to the current key returns the same row (created
    False). Raises InvalidPublicKey, ClaimKeyProofInvalid, ClaimKeyUnchanged (the current key,
    never rotated to) and ClaimKeyRetired (a key this reader already rotated out).
    Takes the reader's row lock, which unlock_article also takes before charging a claim.
    """
    new_key = _proven_key(
        reader=reader, new_public_key=new_public_key, proof_signature=proof_signature
    )
    locked = Reader.objects.select_for_update().get(pk=reader.pk)
    rotations = ReaderKeyRotation.objects.filter(reader=locked)
    if locked.claim_public_key.upper() == new_key:
        previous = rotations.filter(new_public_key=new_key).first()
        if previous is None:
            raise ClaimKeyUnchanged()
        return ClaimKeyRotation(rotation=previous, created=False)
    if rotations.filter(old_public_key=new_key).exists():
        raise ClaimKeyRetired()
    retired = channels_unclosed_of_owner(owner_ref=locked.public_id)
    # least privilege: the key that signs claims is never the key that holds the funds
    if derive_classic_address(new_key) in {channel.source_address for channel in retired}:
        raise ClaimKeyIsFundingKey()
    rotation = ReaderKeyRotation.objects.create(
        reader=locked,
        old_public_key=locked.claim_public_key.upper(),
        new_public_key=new_key,
        old_channel_ids=[channel.channel_id for channel in retired],
        at=clock.now(),
    )
    locked.claim_public_key = new_key
    locked.claim_key_proven = True
    locked.save(update_fields=["claim_public_key", "claim_key_proven"])
    reader.claim_public_key = new_key
    reader.claim_key_proven = True
    for channel in retired:
        settlement_close_request(
            channel_id=channel.channel_id, reason=CLAIM_KEY_ROTATION_CLOSE_REASON
        )
    return ClaimKeyRotation(rotation=rotation, created=True)
