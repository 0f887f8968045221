"""Articles: the publisher API's upsert, with price validation and the sanitised body."""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction

from paywall.models import CURRENCY_RE, Article, Publisher
from paywall.services.content import article_content_set
from paywall.services.exceptions import InvalidInput
from paywall.types import ArticleUpsert, Price

__all__ = ["article_upsert", "price_validate"]

MAX_PRICE_DROPS = 2**63 - 1  # PositiveBigIntegerField's ceiling on every backend
_FIAT_MAX_DIGITS = 12
_FIAT_PLACES = 4


def price_validate(price: Price) -> Price:
    """Exactly one of drops (1..2^63-1) or a positive fiat amount (<= 4 decimals) with currency."""
    has_drops = price.drops is not None
    has_fiat = price.fiat is not None or bool(price.currency)
    if has_drops == has_fiat:
        raise InvalidInput("Give either price_drops, or price_fiat with price_currency.")
    if has_drops:
        drops = price.drops
        if isinstance(drops, bool) or not isinstance(drops, int):
            raise InvalidInput("price_drops must be an integer.")
        if not 1 <= drops <= MAX_PRICE_DROPS:
            raise InvalidInput("price_drops must be at least 1.")
        return Price(drops=drops)
    fiat, currency = price.fiat, price.currency
    if not isinstance(fiat, Decimal) or not fiat.is_finite() or fiat <= 0:
        raise InvalidInput("price_fiat must be a positive decimal amount.")
    exponent = fiat.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -_FIAT_PLACES:
        raise InvalidInput(f"price_fiat may have at most {_FIAT_PLACES} decimal places.")
    if fiat.adjusted() >= _FIAT_MAX_DIGITS - _FIAT_PLACES:
        raise InvalidInput("price_fiat is too large.")
    if not isinstance(currency, str) or re.fullmatch(CURRENCY_RE, currency) is None:
        raise InvalidInput("price_currency must be a three-letter upper-case code, e.g. USD.")
    return Price(fiat=fiat, currency=currency)


def _validate_slug_and_title(slug: str, title: str) -> None:
    try:
        validate_slug(slug)
    except ValidationError as exc:
        raise InvalidInput("The slug may hold only letters, digits, - and _.") from exc
    if len(slug) > 200:
        raise InvalidInput("The slug is longer than 200 characters.")
    if not title.strip() or len(title) > 300:
        raise InvalidInput("title is required (at most 300 characters).")


@transaction.atomic
def article_upsert(
    *,
    publisher: Publisher,
    slug: str,
    title: str,
    price: Price,
    body_html: str | None = None,
) -> ArticleUpsert:
    """Create or replace the article `slug` of `publisher` (title and price), and its body if given.

    A price change applies to unlocks from now on; past unlocks keep what they were charged.
    """
    _validate_slug_and_title(slug, title)
    valid = price_validate(price)
    article, created = Article.objects.update_or_create(
        publisher=publisher,
        slug=slug,
        defaults={
            "title": title.strip(),
            "price_drops": valid.drops,
            "price_fiat": valid.fiat,
            "price_currency": valid.currency,
        },
    )
    if body_html is not None:
        article_content_set(article=article, body_html=body_html)
    return ArticleUpsert(article=article, created=created)
