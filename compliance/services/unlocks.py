"""Compliance in the unlock path: decide before a claim is charged, record with the charge.

The paywall calls `compliance_unlock_check` once before it charges (after the claim's channel
is known, before fraud's decision) and `compliance_unlock_record` inside the transaction that
charges. Refusals are recorded and raised here; none of them charges anything:

| refusal | when | code |
|---|---|---|
| JurisdictionBlocked (451) | a block rule, or the publisher's own blocked countries | `jurisdiction_blocked` |
| CountryConfirmationRequired (409) | conflicting evidence; no evidence with DROPGATE_LOCATION_REQUIRED | `country_confirmation_required` |
| ConsentRequired (428) | no consent to immediate access yet, with DROPGATE_CONSENT_REQUIRED | `consent_required` |
| ReaderLimitReached (403) | the reader's (or its funding account's) rolling EUR total would pass the limit | `reader_limit_reached` |

Agents paying over plain HTTP (no telemetry session) are not asked for consent or a country
(no one is there to answer); blocks and the limit apply to them too.

Cost: a handful of indexed reads (the publisher's policy, the reader's latest confirmation,
the funding account's history, consent, the 30-day total) and the pure decision; the
XRP→EUR rate is cached per process for a minute.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from django.conf import settings

from channels_app import clock
from compliance import selectors
from compliance.decisions import decide, evidence_build
from compliance.exceptions import (
    ConsentRequired,
    CountryConfirmationRequired,
    JurisdictionBlocked,
    ReaderLimitReached,
)
from compliance.models import CountryConfirmation, Decision, DecisionRecord
from compliance.services.rulebook import rulebook_version_ensure
from compliance.types import LocationDecision, SubmittedEvidence, UnlockCompliance

__all__ = ["CONSENT_RULE", "compliance_unlock_check", "compliance_unlock_record"]

logger = logging.getLogger(__name__)

CONSENT_RULE = "consumer.eu.crd_immediate_access"
LIMIT_RULE = "aml.reader.rolling_limit"


_last_rate_warning = 0.0


def _warn_no_rate() -> None:
    """Once a minute per process, not once per unlock."""
    global _last_rate_warning  # noqa: PLW0603 - a log throttle
    if time.monotonic() - _last_rate_warning > 60:
        _last_rate_warning = time.monotonic()
        logger.warning("no XRP→EUR rate recorded: the anonymous reader limit cannot be applied")


@dataclass(frozen=True)
class _Charge:
    reader_ref: str
    publisher_ref: str
    article_ref: str
    funding_address: str
    amount_drops: int


def _record_refusal(
    *, decision: LocationDecision, kind: str, code: str, rules: tuple[str, ...], charge: _Charge
) -> None:
    DecisionRecord.objects.create(
        at=clock.now(),
        decision=kind,
        code=code,
        publisher_ref=charge.publisher_ref,
        reader_ref=charge.reader_ref,
        article_ref=charge.article_ref[:200],
        funding_address=charge.funding_address,
        country=decision.country or "",
        region=decision.region or "",
        evidence_kinds=list(decision.evidence_kinds),
        candidates=list(decision.candidates),
        rules=list(rules),
        rulebook_version=decision.rulebook_version,
        category=decision.category,
        gross_drops=charge.amount_drops,
    )


def compliance_unlock_check(
    *,
    reader_ref: str,
    publisher_ref: str,
    article_ref: str,
    funding_address: str,
    amount_drops: int,
    evidence: SubmittedEvidence | None,
    client_ip: str,
    agent: bool,
) -> UnlockCompliance:
    """Decide a charge of `amount_drops` (tax-inclusive) about to be made; raise a refusal.

    `client_ip` is looked up offline for its country and then forgotten. Precondition: not
    inside the charge's transaction (refusals are committed on their own).
    """
    book = rulebook_version_ensure()
    now = clock.now()
    submitted = evidence or SubmittedEvidence()
    policy = selectors.publisher_policy(publisher_ref)
    confirmation = (
        CountryConfirmation.objects.filter(reader_ref=reader_ref)
        .values_list("country", "region")
        .first()
    )
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
    decision = decide(
        book,
        pieces,
        amount_drops=amount_drops,
        category=policy.category_of(article_ref),
        on=now.date(),
        publisher_blocked=policy.blocked_countries,
    )
    refusal = _Charge(
        reader_ref=reader_ref,
        publisher_ref=publisher_ref,
        article_ref=article_ref,
        funding_address=funding_address,
        amount_drops=amount_drops,
    )
    if decision.decision == "block":
        _record_refusal(
            decision=decision,
            kind=Decision.BLOCK,
            code=decision.code,
            rules=decision.rules,
            charge=refusal,
        )
        raise JurisdictionBlocked(
            details={"rules": list(decision.rules), "country": decision.country}
        )
    if decision.decision == "confirm_country" or (
        decision.country is None and settings.DROPGATE_LOCATION_REQUIRED and not agent
    ):
        if decision.decision != "confirm_country":
            decision = replace(
                decision, decision="confirm_country", code="country_confirmation_required"
            )
        _record_refusal(
            decision=decision,
            kind=Decision.CONFIRM_COUNTRY,
            code="country_confirmation_required",
            rules=decision.rules,
            charge=refusal,
        )
        raise CountryConfirmationRequired(
            details={"candidates": list(decision.candidates), "rules": list(decision.rules)}
        )
    extra: list[str] = []
    if settings.DROPGATE_CONSENT_REQUIRED and not agent:
        consent = book.rule(CONSENT_RULE).value_on(now.date())
        if consent is not None:
            extra.append(CONSENT_RULE)
            version = str(consent.value["text_version"])
            if not selectors.consent_given(
                reader_ref=reader_ref, publisher_ref=publisher_ref, text_version=version
            ):
                _record_refusal(
                    decision=decision,
                    kind=Decision.REFUSE,
                    code="consent_required",
                    rules=(*decision.rules, CONSENT_RULE),
                    charge=refusal,
                )
                raise ConsentRequired(details={"text_version": version, "rule": CONSENT_RULE})
    eur = selectors.drops_in_eur(amount_drops, now.date(), cached=True)
    limit, window_days, limit_rule = selectors.reader_limit_window(now)
    if limit is not None and eur is None:
        _warn_no_rate()
    elif limit is not None and eur is not None:
        extra.append(limit_rule)
        spent = selectors.reader_spent_eur(
            reader_ref=reader_ref,
            funding_address=funding_address,
            since=selectors.window_start(now, window_days),
        )
        if spent + eur.amount > limit:
            _record_refusal(
                decision=decision,
                kind=Decision.REFUSE,
                code="reader_limit_reached",
                rules=(*decision.rules, *extra),
                charge=refusal,
            )
            raise ReaderLimitReached(
                details={
                    "limit_eur": str(limit),
                    "window_days": window_days,
                    "rule": limit_rule,
                }
            )
    return UnlockCompliance(
        decision=decision,
        publisher_ref=publisher_ref,
        reader_ref=reader_ref,
        article_ref=article_ref,
        funding_address=funding_address,
        eur=eur,
        decided_at=now,
        extra_rules=tuple(extra),
    )


def compliance_unlock_record(
    *, check: UnlockCompliance, claim_id: int, claim_reference: str, charged_drops: int
) -> DecisionRecord:
    """Record the allowed decision with the charge: its tax split, EUR value and rules.

    Precondition: inside the transaction that accepted claim `claim_id`, so the record and
    the charge commit (or roll back) together.
    """
    decision = check.decision
    vat = decision.vat
    if vat is not None and vat.gross_drops != charged_drops:
        raise ValueError("the claim charged another amount than the one decided")
    return DecisionRecord.objects.create(
        at=check.decided_at,
        decision=Decision.ALLOW,
        publisher_ref=check.publisher_ref,
        reader_ref=check.reader_ref,
        article_ref=check.article_ref[:200],
        funding_address=check.funding_address,
        country=decision.country or "",
        region=decision.region or "",
        evidence_kinds=list(decision.evidence_kinds),
        rules=[*decision.rules, *check.extra_rules],
        rulebook_version=decision.rulebook_version,
        category=decision.category,
        gross_drops=charged_drops,
        net_drops=vat.net_drops if vat else charged_drops,
        tax_drops=vat.tax_drops if vat else 0,
        rate_percent=vat.rate_percent if vat else None,
        scheme=vat.scheme if vat else "",
        eur_amount=check.eur.amount if check.eur else None,
        eur_rate=check.eur.rate if check.eur else None,
        eur_rate_source=check.eur.source[:200] if check.eur else "",
        eur_rate_date=check.eur.as_of if check.eur else None,
        claim_id=claim_id,
        claim_reference=claim_reference[:128],
    )
