"""Prices: fiat to drops at a recorded rate, rounded up to whole drops. Never a float.

A rate is fiat per 1 XRP (1 XRP = 1,000,000 drops). Converting a fiat price rounds *up*
(ROUND_CEILING), so the platform never collects less than the listed price.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext

from django.db import transaction

from channels_app import clock
from paywall import selectors
from paywall.models import CURRENCY_RE, Article, ExchangeRate, Publisher
from paywall.services.exceptions import ExchangeRateUnavailable, InvalidInput
from paywall.types import Drops, Quote

__all__ = ["drops_to_fiat", "exchange_rate_set", "fiat_to_drops", "price_quote"]

DROPS_PER_XRP = 1_000_000
# Enough digits that no intermediate result of these sizes is ever rounded.
_PRECISION = 60
_RATE_PLACES = 8
_RATE_MAX_DIGITS = 20
_FIAT_PLACES = Decimal("0.00000001")
_MAX_CLOCK_SKEW = timedelta(minutes=5)


def fiat_to_drops(*, amount: Decimal, rate: Decimal) -> Drops:
    """Drops for `amount` of fiat at `rate` fiat per XRP, rounded up; at least 1 drop."""
    if not isinstance(amount, Decimal) or not isinstance(rate, Decimal):
        raise TypeError("amount and rate must be Decimal")
    if not amount.is_finite() or not rate.is_finite() or amount <= 0 or rate <= 0:
        raise ValueError("amount and rate must be positive and finite")
    with localcontext() as ctx:
        # Every step rounds towards +infinity, so the result can only be rounded up.
        ctx.prec = _PRECISION
        ctx.rounding = ROUND_CEILING
        drops = (amount * DROPS_PER_XRP / rate).to_integral_value(rounding=ROUND_CEILING)
    return Drops(max(1, int(drops)))


def drops_to_fiat(*, drops: int, rate: Decimal) -> Decimal:
    """The fiat value of `drops` at `rate`, to 8 decimal places (an informational equivalent)."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        value = Decimal(drops) * rate / DROPS_PER_XRP
        return value.quantize(_FIAT_PLACES, rounding=ROUND_HALF_EVEN)


def price_quote(*, article: Article) -> Quote:
    """What unlocking `article` costs now, with the rate that priced it.

    Raises ExchangeRateUnavailable for a fiat price when no rate for its currency is known.
    """
    if article.price_drops is not None:
        rate = selectors.exchange_rate_current(
            currency=article.publisher.display_currency, publisher=article.publisher
        )
        if rate is None:
            return Quote(
                drops=Drops(article.price_drops),
                fiat_amount=None,
                currency=None,
                rate=None,
                rate_source=None,
                rate_as_of=None,
            )
        return Quote(
            drops=Drops(article.price_drops),
            fiat_amount=drops_to_fiat(drops=article.price_drops, rate=rate.rate),
            currency=rate.currency,
            rate=rate.rate,
            rate_source=rate.source,
            rate_as_of=rate.as_of,
        )
    if article.price_fiat is None or not article.price_currency:
        raise ExchangeRateUnavailable("The article has no price.")
    rate = selectors.exchange_rate_current(
        currency=article.price_currency, publisher=article.publisher
    )
    if rate is None:
        raise ExchangeRateUnavailable(
            f"No exchange rate is known for {article.price_currency}; the article cannot be sold."
        )
    return Quote(
        drops=fiat_to_drops(amount=article.price_fiat, rate=rate.rate),
        fiat_amount=article.price_fiat,
        currency=article.price_currency,
        rate=rate.rate,
        rate_source=rate.source,
        rate_as_of=rate.as_of,
    )


def _valid_rate(rate: object) -> Decimal:
    if isinstance(rate, bool) or not isinstance(rate, (Decimal, int, str)):
        raise InvalidInput("rate must be a decimal number.")
    try:
        value = Decimal(rate)
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput("rate must be a decimal number.") from exc
    if not value.is_finite() or value <= 0:
        raise InvalidInput("rate must be a positive number.")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -_RATE_PLACES:
        raise InvalidInput(f"rate may have at most {_RATE_PLACES} decimal places.")
    if value.adjusted() >= _RATE_MAX_DIGITS - _RATE_PLACES:
        raise InvalidInput("rate is too large.")
    return value


@transaction.atomic
def exchange_rate_set(
    *,
    currency: str,
    rate: Decimal | int | str,
    source: str,
    as_of: datetime | None = None,
    publisher: Publisher | None = None,
) -> ExchangeRate:
    """Record a rate (fiat per XRP). Rows are history; the newest `as_of` is the current one.

    With `publisher`, the rate applies to that publisher's articles only (a publisher can
    never reprice another publisher's articles); without, it is the platform's rate.
    """
    if not isinstance(currency, str) or re.fullmatch(CURRENCY_RE, currency) is None:
        raise InvalidInput("currency must be a three-letter upper-case code, e.g. USD.")
    value = _valid_rate(rate)
    source = (source or "").strip()
    if not source or len(source) > 200:
        raise InvalidInput("source is required (at most 200 characters).")
    now = clock.now()
    as_of = as_of or now
    if as_of.tzinfo is None:
        raise InvalidInput("as_of must carry a timezone.")
    if as_of > now + _MAX_CLOCK_SKEW:
        raise InvalidInput("as_of is in the future.")
    return ExchangeRate.objects.create(
        publisher=publisher, currency=currency, rate=value, source=source, as_of=as_of
    )
