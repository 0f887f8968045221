"""Paid article bodies: sanitised with nh3 on the way in and again on the way out.

The body is stored sanitised, so the admin and the publisher API can never plant script in
a reader's page; it is cleaned again when served, so a row written around the service (a
shell, a data migration) is still safe to insert into the publisher's page.
"""

from __future__ import annotations

import nh3
from django.db import transaction

from paywall import selectors
from paywall.models import Article, ArticleContent
from paywall.services.exceptions import (
    ContentNotFound,
    GrantArticleMismatch,
    GrantRevoked,
    InvalidInput,
)
from paywall.services.grants import grant_verify
from paywall.types import PaidContent

__all__ = ["article_content_set", "content_for_grant", "html_sanitize"]

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


def content_for_grant(*, publisher_key: str, article_slug: str, grant_token: str) -> PaidContent:
    """The paid body of `article_slug`, if `grant_token` is a valid grant for exactly it.

    The grant is checked before anything about the article is looked up, so a caller without
    a grant learns nothing. Raises grant_invalid / grant_expired (bad or stale token, or one
    for another publisher), GrantArticleMismatch, GrantRevoked (no paid unlock behind it any
    more), ArticleNotFound, ContentNotFound.
    """
    claims = grant_verify(token=grant_token, publisher_key=publisher_key)
    if claims.article_slug != article_slug:
        raise GrantArticleMismatch()
    publisher = selectors.publisher_get(key=publisher_key)
    article = selectors.article_get(publisher=publisher, slug=article_slug)
    if not selectors.unlock_exists(reader_id=claims.reader_id, article=article):
        raise GrantRevoked()
    content = ArticleContent.objects.filter(article=article).first()
    if content is None:
        raise ContentNotFound()
    return PaidContent(
        article_slug=article.slug, title=article.title, html=html_sanitize(content.body_html)
    )
