"""Value objects of the paywall: frozen dataclasses that services return and doors render.

Money is integer drops (`Drops`); fiat is `Decimal` and always travels with its rate, the
rate's source and the rate's time. Nothing here holds a float.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from channels_app.types import Drops

if TYPE_CHECKING:
    from paywall.models import Article, Publisher, PublisherApiKey, Reader, ReaderKeyRotation

__all__ = [
    "ArticleUpsert",
    "ClaimKeyRotation",
    "Drops",
    "GrantClaims",
    "IssuedApiKey",
    "IssuedGrant",
    "IssuedReader",
    "PaidContent",
    "Price",
    "Quote",
    "SdkConfig",
    "SubmittedClaim",
    "UnlockResult",
]


@dataclass(frozen=True)
class Price:
    """An article's list price: either drops, or a fiat amount in a currency. Never both."""

    drops: int | None = None
    fiat: Decimal | None = None
    currency: str = ""


@dataclass(frozen=True)
class Quote:
    """What an unlock costs now. `drops` is what the claim must add; fiat fields are the basis.

    For a fiat-priced article, `fiat_amount`/`currency` are the list price and `rate` converted
    it (fiat per XRP, rounded up to whole drops). For a drops-priced article they are the fiat
    equivalent in the publisher's display currency when a rate is known, else None.
    """

    drops: Drops
    fiat_amount: Decimal | None
    currency: str | None
    rate: Decimal | None
    rate_source: str | None
    rate_as_of: datetime | None


@dataclass(frozen=True)
class IssuedApiKey:
    """A new publisher API key. `token` is shown once and never stored."""

    api_key: PublisherApiKey
    token: str


@dataclass(frozen=True)
class IssuedReader:
    """A new reader. `token` (the reader's bearer secret) is shown once and never stored."""

    reader: Reader
    token: str


@dataclass(frozen=True)
class IssuedGrant:
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class GrantClaims:
    """A verified access grant: reader `reader_id` may read `article_slug` of `publisher_key`."""

    publisher_key: str
    reader_id: str
    article_slug: str
    issued_at: datetime
    expires_at: datetime
    grant_id: str


@dataclass(frozen=True)
class SubmittedClaim:
    """A claim as the reader sent it. Parsed and verified by channels_app, not here."""

    channel_id: str
    amount_drops: int | str
    signature: str


@dataclass(frozen=True)
class UnlockResult:
    """`amount_drops` is what this call charged: 0 on a paid-before re-entry."""

    article: Article
    amount_drops: Drops
    grant: IssuedGrant
    created: bool


@dataclass(frozen=True)
class ArticleUpsert:
    article: Article
    created: bool


@dataclass(frozen=True)
class PaidContent:
    article_slug: str
    title: str
    html: str


@dataclass(frozen=True)
class SdkConfig:
    """What the snippet needs to open a channel to the platform for one publisher."""

    publisher: Publisher
    platform_address: str
    destination_tag: int
    min_settle_delay_seconds: int
    min_channel_drops: Drops
    grant_ttl_seconds: int
    network: dict[str, object]
    channel_settle_delay_seconds: int = 0
    channel_cancel_after_days: int = 0


@dataclass(frozen=True)
class ClaimKeyRotation:
    """A reader's claim-key rotation: the audit row, and whether this call made it."""

    rotation: ReaderKeyRotation
    created: bool
