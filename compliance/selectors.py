"""Read queries: exchange rates, publishers' policies, receipts, legal holds, and the payout gate.

`payout_gate` is what payout planning calls (through DROPGATE_PAYOUT_GATE, so the payouts
engine imports nothing from compliance): KYC tiers and the TFR rule for self-hosted
addresses. See `compliance.services.kyc` for how tiers are earned.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django.db.models import Q

from channels_app import clock
from compliance.models import (
    ConsentRecord,
    DecisionRecord,
    FxRate,
    KycTier,
    LegalHold,
    PublisherKyc,
    PublisherPolicy,
)
from compliance.rules import rulebook
from compliance.types import EurValue

__all__ = [
    "PayoutGateRequest",
    "consent_given",
    "drops_in_eur",
    "eur_per_xrp",
    "fx_rate_on",
    "legal_hold_active",
    "legal_holds",
    "payout_gate",
    "publisher_policy",
    "receipts_of_reader",
]

logger = logging.getLogger(__name__)

DROPS_PER_XRP = Decimal(1_000_000)
_EUR_CENT = Decimal("0.00000001")


# --- Exchange rates --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    rate: Decimal  # quote per 1 base
    as_of: date
    source: str


def fx_rate_on(base: str, quote: str, on: date) -> Rate | None:
    """The latest recorded `quote` per 1 `base` on or before `on` (inverting a recorded
    `base` per `quote`, e.g. the ECB's EUR-based rates), or None."""
    row = (
        FxRate.objects.filter(base=base, quote=quote, as_of__lte=on)
        .order_by("-as_of", "-pk")
        .values_list("rate", "as_of", "source")
        .first()
    )
    if row is not None:
        return Rate(rate=row[0], as_of=row[1], source=row[2])
    inverse = (
        FxRate.objects.filter(base=quote, quote=base, as_of__lte=on)
        .order_by("-as_of", "-pk")
        .values_list("rate", "as_of", "source")
        .first()
    )
    if inverse is not None:
        return Rate(rate=Decimal(1) / inverse[0], as_of=inverse[1], source=inverse[2])
    return None


def eur_per_xrp(on: date) -> Rate | None:
    """EUR per XRP on `on`: a recorded XRP/EUR rate, else a recorded XRP/<currency> rate
    crossed with the ECB's EUR/<currency> rate of the same day or the latest before it.
    The source names every rate used."""
    direct = fx_rate_on("XRP", "EUR", on)
    if direct is not None:
        return direct
    for quote, rate, as_of, source in (
        FxRate.objects.filter(base="XRP", as_of__lte=on)
        .order_by("-as_of", "-pk")
        .values_list("quote", "rate", "as_of", "source")[:20]
    ):
        ecb = fx_rate_on("EUR", quote, as_of)
        if ecb is not None:
            return Rate(
                rate=rate / ecb.rate,
                as_of=as_of,
                source=f"{source} ({quote}/XRP {rate}, {as_of}) ÷ {ecb.source} ({quote}/EUR {ecb.rate}, {ecb.as_of})",
            )
    return None


_cache_lock = threading.Lock()
_cached_rate: tuple[float, date, Rate | None] | None = None
_RATE_CACHE_SECONDS = 60.0


def _eur_per_xrp_cached(on: date) -> Rate | None:
    """The hot path's XRP→EUR rate: looked up at most once a minute per process and day."""
    global _cached_rate  # noqa: PLW0603 - a small per-process cache
    entry = _cached_rate
    if entry is not None and entry[1] == on and time.monotonic() - entry[0] < _RATE_CACHE_SECONDS:
        return entry[2]
    rate = eur_per_xrp(on)
    with _cache_lock:
        _cached_rate = (time.monotonic(), on, rate)
    return rate


def eur_rate_cache_clear() -> None:
    global _cached_rate  # noqa: PLW0603
    with _cache_lock:
        _cached_rate = None


def drops_in_eur(drops: int, on: date, *, cached: bool = False) -> EurValue | None:
    """`drops` in EUR (8 decimals, half-even) at the XRP→EUR rate of `on`, or None."""
    rate = _eur_per_xrp_cached(on) if cached else eur_per_xrp(on)
    if rate is None:
        return None
    amount = (Decimal(drops) / DROPS_PER_XRP * rate.rate).quantize(
        _EUR_CENT, rounding=ROUND_HALF_EVEN
    )
    return EurValue(amount=amount, rate=rate.rate, source=rate.source, as_of=rate.as_of)


# --- Publishers, readers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    blocked_countries: frozenset[str]
    tax_category: str
    article_tax_categories: Mapping[str, str]

    def category_of(self, article_ref: str) -> str:
        return self.article_tax_categories.get(article_ref, self.tax_category)


_DEFAULT_POLICY = Policy(frozenset(), "standard", {})


def publisher_policy(publisher_ref: str) -> Policy:
    row = (
        PublisherPolicy.objects.filter(publisher_ref=publisher_ref)
        .values_list("blocked_countries", "tax_category", "article_tax_categories")
        .first()
    )
    if row is None:
        return _DEFAULT_POLICY
    return Policy(frozenset(row[0] or ()), row[1], dict(row[2] or {}))


def consent_given(*, reader_ref: str, publisher_ref: str, text_version: str) -> bool:
    return ConsentRecord.objects.filter(
        reader_ref=reader_ref, publisher_ref=publisher_ref, text_version=text_version
    ).exists()


def reader_spent_eur(*, reader_ref: str, funding_address: str, since: datetime) -> Decimal:
    """EUR charged to this reader or from this funding account since `since`."""
    who = Q(reader_ref=reader_ref)
    if funding_address:
        who |= Q(funding_address=funding_address)
    rows = DecisionRecord.objects.filter(who, claim_id__isnull=False, at__gte=since).values_list(
        "eur_amount", flat=True
    )
    return sum((amount for amount in rows if amount is not None), Decimal(0))


def funding_country(funding_address: str) -> str | None:
    """The country last fixed for an unlock funded from this account (its history)."""
    if not funding_address:
        return None
    return (
        DecisionRecord.objects.filter(funding_address=funding_address, claim_id__isnull=False)
        .exclude(country="")
        .order_by("-at", "-pk")
        .values_list("country", flat=True)
        .first()
    )


def receipts_of_reader(
    reader_ref: str, *, limit: int = 50, before_id: int | None = None
) -> list[DecisionRecord]:
    """The reader's charged unlocks, newest first: each record is its receipt."""
    rows = DecisionRecord.objects.filter(reader_ref=reader_ref, claim_id__isnull=False)
    if before_id is not None:
        rows = rows.filter(pk__lt=before_id)
    return list(rows.order_by("-pk")[:limit])


def receipt_of_reader(reader_ref: str, claim_reference_or_id: str) -> DecisionRecord | None:
    rows = DecisionRecord.objects.filter(reader_ref=reader_ref, claim_id__isnull=False)
    if claim_reference_or_id.isascii() and claim_reference_or_id.isdigit():
        # str.isdigit() alone takes "¹" and "٣", which int() refuses; past 18 digits no id fits.
        if len(claim_reference_or_id) > 18:
            return None
        return rows.filter(claim_id=int(claim_reference_or_id)).first()
    return rows.filter(claim_reference=claim_reference_or_id).first()


# --- Legal holds -------------------------------------------------------------------------------


def legal_holds(subject_kind: str, subject: str, *, on: date | None = None) -> list[LegalHold]:
    """Holds in force on `on` (today): until a date not yet passed, or while the case is open."""
    today = on or clock.now().date()
    return list(
        LegalHold.objects.filter(subject_kind=subject_kind, subject=subject).filter(
            Q(until__isnull=True) | Q(until__gte=today)
        )
    )


def legal_hold_active(subject_kind: str, subject: str, *, on: date | None = None) -> bool:
    """Whether records about this subject must be kept (an erasure must skip them)."""
    return bool(legal_holds(subject_kind, subject, on=on))


# --- The payout gate ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PayoutGateRequest:
    destination: str
    amount_drops: int


def payout_gate(
    requests: Mapping[str, PayoutGateRequest] | Mapping[str, tuple[str, int]],
    *,
    now: datetime | None = None,
) -> dict[str, str]:
    """Which planned payouts must wait, and why: publisher ref → reason code.

    - below the rulebook's `payout_min_tier` (tier 0, no KYC): `kyc_tier_insufficient`;
    - to a self-hosted address (the publisher's declared kind) above the TFR threshold in EUR
      (`aml.tfr.self_hosted_threshold`), unless the publisher proved control of exactly this
      address (tier 2): `payout_address_unproven`; when no XRP→EUR rate is recorded the
      amount cannot be shown to be below it, so the proof is required too;
    - a payout address other than the one KYC recorded: `payout_address_unverified`.
    One query for all publishers. Reads only.
    """
    today = (now or clock.now()).date()
    book = rulebook()
    tiers = book.rule("aml.kyc.payout_tiers").value_on(today)
    min_tier = int(tiers.value["payout_min_tier"]) if tiers else 1
    proof_tier = int(tiers.value["self_hosted_proof_tier"]) if tiers else 2
    tfr = book.rule("aml.tfr.self_hosted_threshold").value_on(today)
    threshold = Decimal(tfr.value["amount_eur"]) if tfr else None
    kyc = {
        row.publisher_ref: row
        for row in PublisherKyc.objects.filter(publisher_ref__in=list(requests))
    }
    rate = eur_per_xrp(today) if threshold is not None else None
    refused: dict[str, str] = {}
    for ref, request in requests.items():
        destination, amount = (
            (request.destination, request.amount_drops)
            if isinstance(request, PayoutGateRequest)
            else request
        )
        record = kyc.get(ref)
        tier = record.tier if record else KycTier.NONE
        if tier < min_tier:
            refused[ref] = "kyc_tier_insufficient"
            continue
        assert record is not None  # tier >= 1 implies a record
        if record.payout_address and record.payout_address != destination:
            refused[ref] = "payout_address_unverified"
            continue
        proven = (
            tier >= proof_tier
            and record.address_proven_at is not None
            and record.payout_address == destination
        )
        if record.address_kind != PublisherKyc.AddressKind.SELF_HOSTED or proven:
            continue
        if threshold is None:
            continue
        if rate is None:
            refused[ref] = "payout_address_unproven"
            continue
        eur = Decimal(amount) / DROPS_PER_XRP * rate.rate
        if eur > threshold:
            refused[ref] = "payout_address_unproven"
    return refused


def reader_limit_window(on: datetime) -> tuple[Decimal | None, int, str]:
    """(limit in EUR or None, window days, rule id) of the anonymous reader limit on `on`."""
    from django.conf import settings

    dated = rulebook().rule("aml.reader.rolling_limit").value_on(on.date())
    window = int(dated.value["window_days"]) if dated else 30
    configured = str(settings.DROPGATE_READER_ROLLING_LIMIT_EUR or "").strip()
    if configured:
        return Decimal(configured), window, "aml.reader.rolling_limit"
    if dated is None:
        return None, window, "aml.reader.rolling_limit"
    return Decimal(str(dated.value["limit_eur"])), window, "aml.reader.rolling_limit"


def window_start(on: datetime, days: int) -> datetime:
    return on - timedelta(days=days)
