"""Readers: pseudonymous per-site identities holding a claim key and a bearer token."""

from __future__ import annotations

import secrets

from django.db import transaction
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
    ClaimKeyRetired,
    ClaimKeyUnchanged,
    InvalidPublicKey,
    PublisherInactive,
    ReaderTokenInvalid,
)
from paywall.types import ClaimKeyRotation, IssuedReader

__all__ = [
    "CLAIM_KEY_ROTATION_CLOSE_REASON",
    "claim_key_rotation_message",
    "reader_authenticate",
    "reader_claim_key_rotate",
    "reader_create",
]

READER_ID_KIND = "rdr"
READER_TOKEN_KIND = "rdt"

# Domain separation: a rotation proof can never be mistaken for a claim (`CLM\0`) or a
# transaction (`STX\0`), nor be replayed for another reader.
CLAIM_KEY_ROTATION_PREFIX = b"DGROT\x00"
CLAIM_KEY_ROTATION_CLOSE_REASON = "key_rotation"
MAX_PROOF_HEX_CHARS = 512


@transaction.atomic
def reader_create(*, publisher: Publisher, claim_public_key: str) -> IssuedReader:
    """A new reader of `publisher`'s site with its claim key (66 hex: ED…, 02… or 03…).

    The returned token `rdt_<id>_<secret>` is the only copy of the secret: show it once.
    Nothing personal is stored: an id, the public key, a hash.
    """
    if not publisher.is_active:
        raise PublisherInactive()
    try:
        parse_public_key(claim_public_key)
    except MalformedInput as exc:
        raise InvalidPublicKey(f"claim_public_key: {exc.reason}.") from exc
    lookup, secret = secrets.token_hex(12), new_secret()
    reader = Reader.objects.create(
        public_id=f"{READER_ID_KIND}_{lookup}",
        publisher=publisher,
        claim_public_key=claim_public_key.upper(),
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
    try:
        if len(proof_signature) > MAX_PROOF_HEX_CHARS:
            raise MalformedInput("too long")
        proof = parse_hex(proof_signature, field="proof")
        verify_signature(
            message=claim_key_rotation_message(reader_id=reader.public_id, public_key=key),
            signature=proof,
            public_key=key,
        )
    except MalformedInput as exc:
        raise ClaimKeyProofInvalid(f"The proof is malformed: {exc.reason}.") from exc
    except InvalidSignature as exc:
        raise ClaimKeyProofInvalid(f"The proof does not verify ({exc.reason}).") from exc
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
    locked.save(update_fields=["claim_public_key"])
    reader.claim_public_key = new_key
    for channel in retired:
        settlement_close_request(
            channel_id=channel.channel_id, reason=CLAIM_KEY_ROTATION_CLOSE_REASON
        )
    return ClaimKeyRotation(rotation=rotation, created=True)
