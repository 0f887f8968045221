"""Access grants: short-lived EdDSA JWTs that let one reader read one article of one publisher.

Signing and verification go through the key-management service (channels_app.keys), the
only code that touches key material. Claims: iss (set by the key service), aud = publisher
key, sub = reader id, art = article slug, iat, exp, jti. A publisher's server can verify a
grant itself against the JWKS at /.well-known/jwks.json.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from django.conf import settings

from channels_app import clock
from channels_app.keys.services import GrantInvalid, token_issue, token_verify
from paywall.models import Article, Reader
from paywall.types import GrantClaims, IssuedGrant

__all__ = ["grant_issue", "grant_verify"]


def grant_issue(*, reader: Reader, article: Article) -> IssuedGrant:
    """A fresh grant for `reader` to read `article`, valid DROPGATE_GRANT_TTL_SECONDS.

    Precondition: the reader has paid for the article (an Unlock exists or was just made).
    """
    expires = int(clock.now().timestamp()) + settings.DROPGATE_GRANT_TTL_SECONDS
    token = token_issue(
        claims={
            "aud": article.publisher.key,
            "sub": reader.public_id,
            "art": article.slug,
            "exp": expires,
            "jti": secrets.token_urlsafe(16),
        }
    )
    return IssuedGrant(token=token, expires_at=datetime.fromtimestamp(expires, UTC))


def grant_verify(*, token: str, publisher_key: str) -> GrantClaims:
    """The grant's claims if it is valid for `publisher_key`; raises grant_invalid / grant_expired."""
    claims = token_verify(token=token, audience=publisher_key)
    reader_id, slug, grant_id = claims.get("sub"), claims.get("art"), claims.get("jti", "")
    if not isinstance(reader_id, str) or not isinstance(slug, str):
        raise GrantInvalid()
    return GrantClaims(
        publisher_key=publisher_key,
        reader_id=reader_id,
        article_slug=slug,
        issued_at=datetime.fromtimestamp(int(claims["iat"]), UTC),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        grant_id=str(grant_id),
    )
