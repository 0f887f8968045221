"""Read queries of the paywall. Nothing here writes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db.models import Q, QuerySet

from channels_app.selectors import channel_snapshot
from channels_app.signatures import MalformedInput, parse_channel_id
from channels_app.types import ChannelSnapshot
from paywall.models import Article, ExchangeRate, Publisher, Reader, Unlock
from paywall.services.exceptions import (
    ArticleNotFound,
    ChannelNotFound,
    PublisherInactive,
    PublisherNotFound,
)

__all__ = [
    "admin_publisher_scope",
    "article_get",
    "article_list",
    "article_list_by_slugs",
    "exchange_rate_current",
    "origin_is_registered",
    "publisher_allowed_origins",
    "publisher_get",
    "reader_channel_get",
    "unlock_exists",
    "unlock_find",
    "unlock_find_by_idempotency_key",
    "unlock_of_reader_ref",
    "unlocked_articles",
]


def admin_publisher_scope(user: Any) -> frozenset[str] | None:
    """Whose rows `user` sees in the admin (settings.DROPGATE_ADMIN_PUBLISHER_SCOPE).

    None for site admins and platform staff (`paywall.view_all_publishers`): every row. Anyone
    else sees the rows of the publishers that list them in `Publisher.users`, possibly none.
    """
    if user.is_superuser or user.has_perm("paywall.view_all_publishers"):
        return None
    return frozenset(Publisher.objects.filter(users__pk=user.pk).values_list("key", flat=True))


def publisher_get(*, key: str, active_only: bool = True) -> Publisher:
    """The publisher with this public key; PublisherNotFound, or PublisherInactive if disabled."""
    publisher = Publisher.objects.filter(key=key).first() if isinstance(key, str) else None
    if publisher is None:
        raise PublisherNotFound()
    if active_only and not publisher.is_active:
        raise PublisherInactive()
    return publisher


def publisher_allowed_origins(*, key: str) -> frozenset[str]:
    """Allowed origins of an active publisher, or none."""
    row = Publisher.objects.filter(key=key, is_active=True).values_list(
        "allowed_origins", flat=True
    )
    origins = next(iter(row), None)
    return frozenset(origins or ())


def origin_is_registered(origin: str) -> bool:
    """True if some active publisher allows `origin` (used only to answer CORS preflights).

    JSON `contains` is not available on SQLite, so the JSON text narrows the rows and the
    exact list membership decides.
    """
    candidates = Publisher.objects.filter(
        is_active=True, allowed_origins__icontains=json.dumps(origin)
    ).values_list("allowed_origins", flat=True)
    return any(isinstance(origins, list) and origin in origins for origins in candidates)


def article_get(*, publisher: Publisher, slug: str) -> Article:
    article = (
        Article.objects.select_related("publisher").filter(publisher=publisher, slug=slug).first()
    )
    if article is None:
        raise ArticleNotFound()
    return article


def article_list(*, publisher: Publisher) -> QuerySet[Article]:
    return (
        Article.objects.filter(publisher=publisher)
        .select_related("publisher", "content")
        .order_by("slug")
    )


def article_list_by_slugs(*, publisher: Publisher, slugs: Sequence[str]) -> list[Article]:
    """The publisher's articles among `slugs`, in the order of `slugs`; unknown ones left out."""
    found = {
        article.slug: article
        for article in Article.objects.select_related("publisher").filter(
            publisher=publisher, slug__in=list(slugs)
        )
    }
    return [found[slug] for slug in dict.fromkeys(slugs) if slug in found]


def exchange_rate_current(*, currency: str, publisher: Publisher | None) -> ExchangeRate | None:
    """The newest rate for `currency`: the publisher's own if it set one, else the platform's."""
    rates = ExchangeRate.objects.filter(currency=currency)
    if publisher is not None:
        own = rates.filter(publisher=publisher).order_by("-as_of", "-pk").first()
        if own is not None:
            return own
    return rates.filter(publisher__isnull=True).order_by("-as_of", "-pk").first()


def unlock_find(*, reader: Reader, article: Article) -> Unlock | None:
    return Unlock.objects.filter(reader=reader, article=article).first()


def unlock_find_by_idempotency_key(*, reader: Reader, key: str) -> Unlock | None:
    if not key:
        return None
    return Unlock.objects.filter(reader=reader, idempotency_key=key).first()


def unlock_of_reader_ref(*, reader_id: str, article: Article) -> Unlock | None:
    """The unlock of `article` by the reader with public id `reader_id` (of its publisher)."""
    return Unlock.objects.filter(
        reader__public_id=reader_id, reader__publisher_id=article.publisher_id, article=article
    ).first()


def unlock_exists(*, reader_id: str, article: Article) -> bool:
    return Unlock.objects.filter(
        Q(reader__public_id=reader_id) & Q(reader__publisher_id=article.publisher_id),
        article=article,
    ).exists()


def unlocked_articles(*, reader: Reader, slugs: Sequence[str]) -> list[Article]:
    """The articles among `slugs` that `reader` itself has paid for, in the order of `slugs`.

    Only the reader's own Unlock rows count, and only articles of the reader's publisher.
    """
    found = {
        article.slug: article
        for article in Article.objects.select_related("publisher").filter(
            publisher_id=reader.publisher_id, slug__in=list(slugs), unlocks__reader=reader
        )
    }
    return [found[slug] for slug in dict.fromkeys(slugs) if slug in found]


def reader_channel_get(*, reader: Reader, channel_id: str) -> ChannelSnapshot:
    """The reader's own channel; ChannelNotFound for a malformed id or anyone else's channel."""
    try:
        parse_channel_id(channel_id)
    except MalformedInput as exc:
        raise ChannelNotFound() from exc
    snapshot = channel_snapshot(channel_id)
    if snapshot is None or snapshot.owner_ref != reader.public_id:
        raise ChannelNotFound()
    return snapshot
