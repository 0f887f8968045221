"""Readers: pseudonymous per-site identities holding a claim key and a bearer token."""

from __future__ import annotations

import secrets

from django.db import transaction

from channels_app.signatures import MalformedInput, parse_public_key
from paywall.models import Publisher, Reader
from paywall.services.credentials import (
    credential_matches,
    hash_secret,
    new_secret,
    parse_credential,
)
from paywall.services.exceptions import InvalidPublicKey, PublisherInactive, ReaderTokenInvalid
from paywall.types import IssuedReader

__all__ = ["reader_authenticate", "reader_create"]

READER_ID_KIND = "rdr"
READER_TOKEN_KIND = "rdt"


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
