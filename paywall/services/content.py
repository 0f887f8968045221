"""Paid article bodies: sanitised with nh3 on the way in and again on the way out.

The body is stored sanitised, so the admin and the publisher API can never plant script in
a reader's page; it is cleaned again when served, so a row written around the service (a
shell, a data migration) is still safe to insert into the publisher's page.

Every attempt to serve a paid body for a valid grant is recorded as a `ContentDelivery` of
the unlock behind the grant (the evidence a dispute links to): what was served (size and
SHA-256 of the body) or how it failed.
"""

from __future__ import annotations

import hashlib
import logging

import nh3
from django.db import DatabaseError, transaction

from channels_app import clock
from channels_app.crashpoints import fault_point
from channels_app.exceptions import DropgateError
from fraud.selectors import decision_article_dwell_ms
from paywall import selectors
from paywall.models import Article, ArticleContent, ContentDelivery, Unlock
from paywall.services.exceptions import (
    ContentNotFound,
    GrantArticleMismatch,
    GrantRevoked,
    InvalidInput,
)
from paywall.services.grants import grant_verify
from paywall.types import PaidContent

__all__ = ["article_content_set", "content_delivery_record", "content_for_grant", "html_sanitize"]

logger = logging.getLogger(__name__)

MAX_BODY_CHARS = 2_000_000
# Tags whose *content* is dropped too, not just the tag.
_DROP_WITH_CONTENT = frozenset({"script", "style", "noscript", "template", "iframe", "object"})
_URL_SCHEMES = frozenset({"http", "https", "mailto"})


def html_sanitize(html: str) -> str:
    """An HTML fragment safe to insert into a page: no script, handlers, styles or js: URLs."""
    return nh3.clean(
        html,
        tags=set(nh3.ALLOWED_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        url_schemes=set(_URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


@transaction.atomic
def article_content_set(*, article: Article, body_html: str) -> ArticleContent:
    """Store the article's paid body, sanitised. Replaces any previous body."""
    if not isinstance(body_html, str):
        raise InvalidInput("body_html must be a string.")
    if len(body_html) > MAX_BODY_CHARS:
        raise InvalidInput(f"body_html is longer than {MAX_BODY_CHARS} characters.")
    content, _ = ArticleContent.objects.update_or_create(
        article=article, defaults={"body_html": html_sanitize(body_html)}
    )
    return content


def content_delivery_record(
    *, unlock: Unlock, status: int, grant_id: str = "", body: str = "", error_code: str = ""
) -> ContentDelivery | None:
    """Record one attempt to serve `unlock`'s body: `body` as served (status 200), or the
    failure's status and code. Never raises: evidence that cannot be written is logged, and
    the reader is still answered (a missing record only ever counts for the reader)."""
    dwell_ms: int | None = None
    encoded = body.encode("utf-8")
    try:
        if status == 200 and unlock.risk_decision_id is not None:
            dwell_ms = decision_article_dwell_ms(decision_id=unlock.risk_decision_id)
        return ContentDelivery.objects.create(
            unlock=unlock,
            at=clock.now(),
            status=status,
            bytes=len(encoded),
            sha256=hashlib.sha256(encoded).hexdigest() if status == 200 else "",
            error_code=error_code[:48],
            grant_id=grant_id[:64],
            dwell_ms_at=dwell_ms,
        )
    except DatabaseError:
        logger.exception("could not record the delivery of unlock %s", unlock.pk)
        return None


def content_for_grant(*, publisher_key: str, article_slug: str, grant_token: str) -> PaidContent:
    """The paid body of `article_slug`, if `grant_token` is a valid grant for exactly it.

    The grant is checked before anything about the article is looked up, so a caller without
    a grant learns nothing. Raises grant_invalid / grant_expired (bad or stale token, or one
    for another publisher), GrantArticleMismatch, GrantRevoked (no paid unlock behind it any
    more), ArticleNotFound, ContentNotFound.

    Once the unlock behind the grant is known, the outcome is recorded as a ContentDelivery:
    the body served, or the error (ContentNotFound, or a server error, which is re-raised).
    """
    claims = grant_verify(token=grant_token, publisher_key=publisher_key)
    if claims.article_slug != article_slug:
        raise GrantArticleMismatch()
    publisher = selectors.publisher_get(key=publisher_key)
    article = selectors.article_get(publisher=publisher, slug=article_slug)
    unlock = selectors.unlock_of_reader_ref(reader_id=claims.reader_id, article=article)
    if unlock is None:
        raise GrantRevoked()
    try:
        fault_point("content_serve")
        content = ArticleContent.objects.filter(article=article).first()
        if content is None:
            raise ContentNotFound()
        paid = PaidContent(
            article_slug=article.slug, title=article.title, html=html_sanitize(content.body_html)
        )
    except DropgateError as exc:
        content_delivery_record(
            unlock=unlock, status=exc.http_status, grant_id=claims.grant_id, error_code=exc.code
        )
        raise
    except Exception:
        content_delivery_record(
            unlock=unlock, status=500, grant_id=claims.grant_id, error_code="server_error"
        )
        raise
    content_delivery_record(unlock=unlock, status=200, grant_id=claims.grant_id, body=paid.html)
    return paid
