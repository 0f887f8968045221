"""Small factories for paywall tests. Each goes through the service a real caller would use."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from xrpl.core import keypairs

from paywall.models import Article, ExchangeRate, Publisher, Reader
from paywall.services.articles import article_upsert
from paywall.services.pricing import exchange_rate_set
from paywall.services.publishers import api_key_create, publisher_create
from paywall.services.readers import (
    reader_create,
    reader_registration_challenge,
    reader_registration_message,
)
from paywall.types import Price
from tests.channels_app.factories import ClaimKey, claim_key

ORIGIN = "http://127.0.0.1:8001"
OTHER_ORIGIN = "http://127.0.0.1:9999"
PAYOUT_ADDRESS = "rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe"


def make_publisher(
    *, name: str = "Daily Drop", origins: tuple[str, ...] = (ORIGIN,), **overrides: object
) -> Publisher:
    return publisher_create(
        name=name,
        allowed_origins=origins,
        payout_address=PAYOUT_ADDRESS,
        **overrides,  # type: ignore[arg-type]
    )


def make_api_key(publisher: Publisher) -> str:
    return api_key_create(publisher=publisher, label="test").token


def make_article(
    publisher: Publisher,
    *,
    slug: str = "first-story",
    title: str = "The first story",
    price_drops: int | None = 250_000,
    price_fiat: Decimal | None = None,
    currency: str = "",
    body_html: str | None = "<p>The paid body.</p>",
) -> Article:
    price = (
        Price(drops=price_drops)
        if price_fiat is None
        else Price(fiat=price_fiat, currency=currency)
    )
    return article_upsert(
        publisher=publisher, slug=slug, title=title, price=price, body_html=body_html
    ).article


def make_rate(
    *,
    currency: str = "USD",
    rate: str = "0.50",
    source: str = "test-feed",
    as_of: datetime | None = None,
    publisher: Publisher | None = None,
) -> ExchangeRate:
    return exchange_rate_set(
        currency=currency, rate=Decimal(rate), source=source, as_of=as_of, publisher=publisher
    )


def registration_proof(publisher: Publisher, key: ClaimKey) -> tuple[str, str]:
    """(challenge, proof): what the signer frame sends to register a reader with `key`."""
    challenge = reader_registration_challenge(publisher=publisher).challenge
    message = reader_registration_message(
        publisher_key=publisher.key, challenge=challenge, public_key=bytes.fromhex(key.public_key)
    )
    return challenge, str(keypairs.sign(message, key.private_key))


def registration_body(publisher: Publisher, key: ClaimKey | None = None) -> dict[str, str]:
    """The body of POST /api/v1/readers for `key` (a fresh one by default), proof included."""
    key = key or claim_key()
    challenge, proof = registration_proof(publisher, key)
    return {"claim_public_key": key.public_key, "challenge": challenge, "proof": proof}


def make_reader(publisher: Publisher, key: ClaimKey | None = None) -> tuple[Reader, str, ClaimKey]:
    """A reader with a fresh claim key, registered with its proof; returns (reader, reader
    token, claim key)."""
    key = key or claim_key()
    challenge, proof = registration_proof(publisher, key)
    issued = reader_create(
        publisher=publisher,
        claim_public_key=key.public_key,
        challenge=challenge,
        proof_signature=proof,
    )
    return issued.reader, issued.token, key
