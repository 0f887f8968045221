"""Bearer credentials: `<kind>_<lookup>_<secret>` strings of which only SHA-256(secret) is kept.

The lookup part finds the row; the secret is compared by hash in constant time. Secrets are
256 bits from `secrets`, so a plain SHA-256 is enough (no slow hash is needed for
high-entropy values), and rotating SECRET_KEY does not invalidate them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from django.utils.crypto import constant_time_compare

__all__ = [
    "ParsedCredential",
    "credential_matches",
    "hash_secret",
    "new_secret",
    "parse_credential",
]

_SECRET_BYTES = 32


def new_secret() -> str:
    return secrets.token_urlsafe(_SECRET_BYTES)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def credential_matches(secret: str, stored_hash: str) -> bool:
    return constant_time_compare(hash_secret(secret), stored_hash)


@dataclass(frozen=True)
class ParsedCredential:
    lookup: str
    secret: str

    def __repr__(self) -> str:  # never show the secret
        return f"ParsedCredential(lookup={self.lookup!r}, secret=…)"


def parse_credential(token: str, *, kind: str, max_length: int = 200) -> ParsedCredential | None:
    """Split `<kind>_<lookup>_<secret>`; None if it is not that shape. The lookup has no `_`."""
    if not isinstance(token, str) or len(token) > max_length:
        return None
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != kind:
        return None
    lookup, secret = parts[1], parts[2]
    if not lookup.isalnum() or not lookup.isascii() or len(secret) < 16:
        return None
    return ParsedCredential(lookup=lookup, secret=secret)
