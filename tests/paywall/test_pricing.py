"""Prices in drops and in fiat: exact Decimal conversion, rounded up, with rate and source."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels_app import clock
from paywall.services.exceptions import ExchangeRateUnavailable
from paywall.services.pricing import drops_to_fiat, fiat_to_drops, price_quote
from tests.paywall.factories import make_article, make_publisher, make_rate

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("amount", "rate", "drops"),
    [
        ("0.05", "0.50", 100_000),  # exact
        ("0.10", "0.30", 333_334),  # 333333.33… rounds up
        ("1", "3", 333_334),
        ("0.0001", "100000", 1),  # a thousandth of a drop still costs one drop
        ("0.01", "0.00000001", 1_000_000_000_000),
        ("12345678.9999", "0.00000001", 1_234_567_899_990_000_000_000),
    ],
)
def test_fiat_to_drops_rounds_up(amount: str, rate: str, drops: int) -> None:
    assert fiat_to_drops(amount=Decimal(amount), rate=Decimal(rate)) == drops


@given(
    amount=st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999999"), places=4),
    rate=st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal("999999"), places=8),
)
def test_fiat_to_drops_is_the_exact_ceiling(amount: Decimal, rate: Decimal) -> None:
    drops = fiat_to_drops(amount=amount, rate=rate)
    # Exact integer arithmetic: amount and rate as integers of 10^-4 and 10^-8.
    numerator = int(amount.scaleb(4)) * 1_000_000 * 10**8
    denominator = int(rate.scaleb(8)) * 10**4
    assert drops == max(1, -(-numerator // denominator))


def test_floats_are_refused() -> None:
    with pytest.raises(TypeError):
        fiat_to_drops(amount=0.05, rate=Decimal("0.5"))  # type: ignore[arg-type]


def test_drops_to_fiat() -> None:
    assert drops_to_fiat(drops=250_000, rate=Decimal("0.52")) == Decimal("0.13000000")


def test_quote_of_a_drops_price_needs_no_rate() -> None:
    article = make_article(make_publisher(), price_drops=250_000)
    quote = price_quote(article=article)
    assert quote.drops == 250_000
    assert quote.fiat_amount is None and quote.rate is None


def test_quote_of_a_drops_price_carries_the_display_currency_equivalent() -> None:
    publisher = make_publisher(display_currency="EUR")
    make_rate(currency="EUR", rate="0.40", source="platform-feed")
    quote = price_quote(article=make_article(publisher, price_drops=250_000))
    assert quote.drops == 250_000
    assert quote.fiat_amount == Decimal("0.1") and quote.currency == "EUR"
    assert quote.rate == Decimal("0.40") and quote.rate_source == "platform-feed"


def test_quote_of_a_fiat_price_converts_at_the_newest_rate_and_records_it() -> None:
    publisher = make_publisher()
    make_rate(rate="0.25", source="old", as_of=clock.now() - timedelta(hours=2))
    newest = make_rate(rate="0.30", source="feed-x", as_of=clock.now() - timedelta(minutes=1))
    article = make_article(publisher, price_drops=None, price_fiat=Decimal("0.10"), currency="USD")
    quote = price_quote(article=article)
    assert quote.drops == 333_334
    assert quote.fiat_amount == Decimal("0.10") and quote.currency == "USD"
    assert quote.rate == Decimal("0.30") and quote.rate_source == "feed-x"
    assert quote.rate_as_of == newest.as_of


def test_a_publishers_own_rate_applies_to_its_articles_only() -> None:
    publisher, other = make_publisher(), make_publisher(name="Other")
    make_rate(rate="0.50", source="platform")
    make_rate(rate="0.25", source="publisher", publisher=publisher)
    mine = make_article(publisher, price_drops=None, price_fiat=Decimal("0.05"), currency="USD")
    theirs = make_article(other, price_drops=None, price_fiat=Decimal("0.05"), currency="USD")
    assert price_quote(article=mine).drops == 200_000
    assert price_quote(article=mine).rate_source == "publisher"
    assert price_quote(article=theirs).drops == 100_000


def test_no_rate_no_sale() -> None:
    article = make_article(
        make_publisher(), price_drops=None, price_fiat=Decimal("1"), currency="JPY"
    )
    with pytest.raises(ExchangeRateUnavailable) as caught:
        price_quote(article=article)
    assert caught.value.code == "exchange_rate_unavailable"
    assert caught.value.http_status == 503


def test_teaser_shows_drops_and_display_prices(api) -> None:
    publisher = make_publisher()
    make_article(publisher, slug="in-drops", price_drops=1_500_000)
    make_article(
        publisher, slug="in-fiat", price_drops=None, price_fiat=Decimal("0.10"), currency="USD"
    )
    make_article(
        publisher, slug="no-rate", price_drops=None, price_fiat=Decimal("1"), currency="GBP"
    )

    drops = api.get(f"publishers/{publisher.key}/articles/in-drops").json()
    assert drops["price_drops"] == "1500000" and drops["price_xrp"] == "1.5"
    assert drops["display_price"]["currency"] == "XRP" and drops["display_price"]["amount"] == "1.5"

    make_rate(rate="0.30", source="feed-x")
    fiat = api.get(f"publishers/{publisher.key}/articles/in-fiat").json()
    assert fiat["title"] == "The first story"
    assert fiat["price_drops"] == "333334"
    assert fiat["display_price"] == {
        "amount": "0.1",
        "currency": "USD",
        "approximate": False,
        "rate": "0.3",
        "rate_source": "feed-x",
        "rate_as_of": fiat["display_price"]["rate_as_of"],
    }
    # With a USD rate known, the drops-priced article shows an approximate dollar price.
    approx = api.get(f"publishers/{publisher.key}/articles/in-drops").json()["display_price"]
    assert approx["approximate"] is True and approx["amount"] == "0.45"

    unpriced = api.get(f"publishers/{publisher.key}/articles/no-rate")
    assert unpriced.status_code == 200
    assert unpriced.json()["price_drops"] is None
