"""The compliance decision: where the reader is, whether the charge is allowed, and its tax.

`decide` is pure: it reads the rulebook (parsed once per process) and its arguments, and
never the database, so the unlock path and `manage.py compliance_check` share it and it runs
thousands of times per second (benchmarks/compliance.py).

1. **Blocks.** Every piece of evidence that can contradict (declared or confirmed country or
   region, IP country, time zone, the funding account's history) is checked against the block
   rules in force on the day and the publisher's own blocked countries. Any match refuses the
   charge (`block`, code `jurisdiction_blocked`), naming the rules. Sanctions screening is
   conservative: one such piece is enough.
2. **The country** (EU rule for e-services, `location.eu.two_evidence`): a reader's confirmed
   answer decides; otherwise, when the pieces agree, that country (one piece is taken when it
   is the only evidence); when they conflict, a country backed by at least two pieces (a
   language that agrees counts) and by more than any other wins; else `confirm_country` with
   the candidates. With no evidence at all the country is unknown (the unlock path may ask).
3. **VAT/GST**: the rate rule for the country (and ISO 3166-2 region) and the article's
   category in force on the day, splitting the tax-inclusive price (compliance.tax). A
   category rule with no value on the day falls back to its `fallback` rule. No rule for the
   country: nothing is collected (`vat` None).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date

from compliance.geo import ip_country, language_country, timezone_country
from compliance.rules import Rule, Rulebook
from compliance.tax import split_inclusive
from compliance.types import (
    BLOCKING_KINDS,
    CONTRADICTING_KINDS,
    Evidence,
    EvidencePiece,
    LocationDecision,
    VatSplit,
)

__all__ = ["PUBLISHER_BLOCK_RULE", "decide", "evidence_build"]

PUBLISHER_BLOCK_RULE = "publisher.blocked_countries"
LOCATION_RULE = "location.eu.two_evidence"


def evidence_build(
    *,
    declared_country: str | None = None,
    declared_region: str | None = None,
    ip: str | None = None,
    timezone: str | None = None,
    languages: Iterable[str] = (),
    funding_country: str | None = None,
    confirmed_country: str | None = None,
    confirmed_region: str | None = None,
) -> Evidence:
    """The evidence pieces from raw inputs (all validated by the caller or ignored here).

    The IP is turned into a country and dropped; only the country and the kind remain.
    """
    pieces: list[EvidencePiece] = []
    if confirmed_country:
        pieces.append(EvidencePiece("confirmed", confirmed_country, confirmed_region or None))
    if declared_country or declared_region:
        declared = declared_country or (declared_region or "")[:2]
        pieces.append(EvidencePiece("declared", declared, declared_region or None))
    from_ip = ip_country(ip)
    if from_ip:
        pieces.append(EvidencePiece("ip", from_ip))
    if timezone:
        pieces.append(EvidencePiece("timezone", timezone_country(timezone), detail=timezone))
    for tag in list(languages)[:5]:
        from_language = language_country(tag)
        if from_language:
            pieces.append(EvidencePiece("language", from_language))
            break
    if funding_country:
        pieces.append(EvidencePiece("funding", funding_country))
    return Evidence(tuple(pieces))


def _blocks(
    book: Rulebook, evidence: Evidence, on: date, publisher_blocked: frozenset[str]
) -> tuple[list[str], EvidencePiece | None]:
    matched: list[str] = []
    first: EvidencePiece | None = None
    for piece in evidence.pieces:
        if piece.kind not in BLOCKING_KINDS:
            continue
        candidates: list[Rule] = []
        if piece.country:
            candidates += book.blocks_by_country.get(piece.country, ())
        if piece.region:
            candidates += book.blocks_by_region.get(piece.region, ())
        if piece.detail:
            candidates += book.blocks_by_timezone.get(piece.detail, ())
        hits = [rule.id for rule in candidates if rule.in_force(on)]
        if piece.country and piece.country in publisher_blocked:
            hits.append(PUBLISHER_BLOCK_RULE)
        for rule_id in hits:
            if rule_id not in matched:
                matched.append(rule_id)
        if hits and first is None:
            first = piece
    return sorted(matched), first


def _country(
    evidence: Evidence, min_pieces: int
) -> tuple[str | None, str | None, tuple[str, ...], bool]:
    """(country, region, candidates, used_the_evidence_rule); country None with candidates
    means a conflict to confirm; None without candidates means no evidence."""
    confirmed = next((p for p in evidence.pieces if p.kind == "confirmed"), None)
    if confirmed is not None:
        return confirmed.country, confirmed.region, (), True
    strong = [p.country for p in evidence.pieces if p.kind in CONTRADICTING_KINDS and p.country]
    named: set[str] = set(strong)
    support: Counter[str] = Counter(strong)
    for piece in evidence.pieces:
        if piece.kind == "language" and piece.country and piece.country in named:
            support[piece.country] += 1
    if not named:
        return None, None, (), False
    if len(named) == 1:
        country = next(iter(named))
        return country, _region(evidence, country), (), support[country] >= min_pieces
    ranked = support.most_common()
    best, count = ranked[0]
    if count >= min_pieces and count > ranked[1][1]:
        return best, _region(evidence, best), (), True
    candidates = tuple(sorted(named, key=lambda c: (-support[c], c)))
    return None, None, candidates, True


def _region(evidence: Evidence, country: str | None) -> str | None:
    for piece in evidence.pieces:
        if piece.kind in ("confirmed", "declared") and piece.country == country and piece.region:
            return piece.region
    return None


def _vat(
    book: Rulebook, *, country: str, region: str | None, category: str, on: date, gross: int
) -> tuple[VatSplit | None, list[str]]:
    rule = book.vat_rule(country, region, category)
    if rule is None:
        return None, []
    used = [rule.id]
    dated = rule.value_on(on)
    if dated is None and rule.fallback:
        fallback = book.rule(rule.fallback)
        dated = fallback.value_on(on)
        used.append(fallback.id)
    if dated is None:
        return None, used
    net, tax = split_inclusive(gross, dated.value)
    split = VatSplit(
        country=country,
        region=rule.applies_to["region"] or None,
        category=category,
        rate_percent=dated.value,
        gross_drops=gross,
        net_drops=net,
        tax_drops=tax,
        scheme=book.scheme_of(country),
        rule_id=rule.id,
    )
    return split, used


def decide(
    book: Rulebook,
    evidence: Evidence,
    *,
    amount_drops: int,
    category: str,
    on: date,
    publisher_blocked: frozenset[str] = frozenset(),
) -> LocationDecision:
    """Decide one charge of `amount_drops` (tax-inclusive) for an article of `category`."""
    kinds = evidence.kinds
    blocked, piece = _blocks(book, evidence, on, publisher_blocked)
    if blocked:
        return LocationDecision(
            decision="block",
            country=piece.country if piece else None,
            region=piece.region if piece else None,
            vat=None,
            rules=tuple(blocked),
            rulebook_version=book.version,
            on=on,
            category=category,
            evidence_kinds=kinds,
            code="jurisdiction_blocked",
        )
    location_rule = book.rule(LOCATION_RULE).value_on(on)
    min_pieces = int(location_rule.value["min_pieces"]) if location_rule else 2
    country, region, candidates, used_location = _country(evidence, min_pieces)
    rules: list[str] = [LOCATION_RULE] if used_location and location_rule else []
    if country is None and candidates:
        return LocationDecision(
            decision="confirm_country",
            country=None,
            region=None,
            vat=None,
            rules=tuple(rules),
            rulebook_version=book.version,
            on=on,
            category=category,
            evidence_kinds=kinds,
            candidates=candidates,
            code="country_confirmation_required",
        )
    vat = None
    if country is not None:
        vat, used = _vat(
            book, country=country, region=region, category=category, on=on, gross=amount_drops
        )
        rules += used
    return LocationDecision(
        decision="allow",
        country=country,
        region=region,
        vat=vat,
        rules=tuple(rules),
        rulebook_version=book.version,
        on=on,
        category=category,
        evidence_kinds=kinds,
    )
