"""What readers do: consent to immediate access, confirm their country, preview the tax.

Consent and confirmations are append-only records with the rulebook version; a confirmation
is the reader's answer to `confirm_country`, used as decisive evidence from then on.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction

from channels_app import clock
from compliance import selectors
from compliance.decisions import decide, evidence_build
from compliance.exceptions import ComplianceError, InvalidCountry
from compliance.geo import is_country, is_region
from compliance.models import ConsentRecord, CountryConfirmation, DecisionRecord
from compliance.services.rulebook import rulebook_version_ensure
from compliance.services.unlocks import CONSENT_RULE
from compliance.types import LocationDecision, SubmittedEvidence

__all__ = [
    "consent_give",
    "consent_required",
    "consent_status",
    "country_confirm",
    "tax_preview",
]


def consent_status(*, reader_ref: str, publisher_ref: str) -> tuple[str, bool]:
    """(the consent text version in force, whether this reader gave it for this publisher)."""
    book = rulebook_version_ensure()
    dated = book.rule(CONSENT_RULE).value_on(clock.now().date())
    if dated is None:
        return "", True
    version = str(dated.value["text_version"])
    return version, selectors.consent_given(
        reader_ref=reader_ref, publisher_ref=publisher_ref, text_version=version
    )


def consent_required(*, text_version: str) -> bool:
    """Whether unlocks are refused until the reader consents: DROPGATE_CONSENT_REQUIRED, and a
    consent text in force (`text_version` from consent_status). The frame asks up front then."""
    return bool(settings.DROPGATE_CONSENT_REQUIRED) and bool(text_version)


def consent_give(*, reader_ref: str, publisher_ref: str, text_version: str) -> ConsentRecord:
    """Record the reader's express consent to immediate access (and acknowledgement that the
    right of withdrawal is lost) for `publisher_ref`. The reader must have been shown the
    text version in force (ComplianceError `consent_text_outdated` otherwise). Idempotent."""
    book = rulebook_version_ensure()
    dated = book.rule(CONSENT_RULE).value_on(clock.now().date())
    current = str(dated.value["text_version"]) if dated else ""
    if text_version != current:
        raise ComplianceError(
            f"The consent text shown was version {text_version!r}; the current one is {current!r}.",
            code="consent_text_outdated",
            details={"text_version": current},
        )
    try:
        with transaction.atomic():
            return ConsentRecord.objects.create(
                reader_ref=reader_ref,
                publisher_ref=publisher_ref,
                text_version=current,
                rule_id=CONSENT_RULE,
                rulebook_version=book.version,
                at=clock.now(),
            )
    except IntegrityError:
        return ConsentRecord.objects.get(
            reader_ref=reader_ref, publisher_ref=publisher_ref, text_version=current
        )


def country_confirm(
    *, reader_ref: str, publisher_ref: str, country: str, region: str | None = None
) -> CountryConfirmation:
    """Record the reader's answer to `confirm_country`. Any ISO country may be answered (the
    frame offers the candidates first); the answer is evidence, so a blocked country answered
    is blocked like any other."""
    country = (country or "").strip().upper()
    region = (region or "").strip().upper() or None
    if not is_country(country):
        raise InvalidCountry(f"{country!r} is not an ISO 3166-1 alpha-2 code.")
    if region is not None and (not is_region(region) or region[:2] != country):
        raise InvalidCountry(f"{region!r} is not an ISO 3166-2 region of {country}.")
    book = rulebook_version_ensure()
    last_ask = (
        DecisionRecord.objects.filter(reader_ref=reader_ref, decision="confirm_country")
        .order_by("-pk")
        .values_list("candidates", "evidence_kinds")
        .first()
    )
    return CountryConfirmation.objects.create(
        reader_ref=reader_ref,
        publisher_ref=publisher_ref,
        country=country,
        region=region or "",
        candidates=list(last_ask[0]) if last_ask else [],
        evidence_kinds=list(last_ask[1]) if last_ask else [],
        rulebook_version=book.version,
        at=clock.now(),
    )


def tax_preview(
    *,
    reader_ref: str,
    publisher_ref: str,
    article_ref: str,
    amount_drops: int,
    evidence: SubmittedEvidence | None,
    client_ip: str,
    funding_address: str = "",
) -> LocationDecision:
    """The decision an unlock would get now, for showing the price with its tax. Records and
    charges nothing."""
    book = rulebook_version_ensure()
    submitted = evidence or SubmittedEvidence()
    confirmation = (
        CountryConfirmation.objects.filter(reader_ref=reader_ref)
        .values_list("country", "region")
        .first()
    )
    policy = selectors.publisher_policy(publisher_ref)
    pieces = evidence_build(
        declared_country=submitted.country,
        declared_region=submitted.region,
        ip=client_ip,
        timezone=submitted.timezone,
        languages=submitted.languages,
        funding_country=selectors.funding_country(funding_address),
        confirmed_country=confirmation[0] if confirmation else None,
        confirmed_region=(confirmation[1] or None) if confirmation else None,
    )
    return decide(
        book,
        pieces,
        amount_drops=amount_drops,
        category=policy.category_of(article_ref),
        on=clock.now().date(),
        publisher_blocked=policy.blocked_countries,
    )
