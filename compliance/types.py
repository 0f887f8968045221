"""Value objects of the compliance app: frozen dataclasses. Money is integer drops; fiat is
Decimal with its rate and source; rates are Decimal percent. Nothing here holds a float."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

__all__ = [
    "DecisionKind",
    "EurValue",
    "Evidence",
    "EvidencePiece",
    "LocationDecision",
    "SubmittedEvidence",
    "UnlockCompliance",
    "VatSplit",
]

DecisionKind = Literal["allow", "block", "confirm_country"]

# Evidence kinds. "Strong" ones can contradict each other and trigger a block; a language
# only corroborates (en-US is many readers' browser default wherever they are).
EVIDENCE_KINDS = ("confirmed", "declared", "ip", "timezone", "funding", "language")
CONTRADICTING_KINDS = frozenset({"confirmed", "declared", "ip", "timezone", "funding"})
BLOCKING_KINDS = CONTRADICTING_KINDS


@dataclass(frozen=True)
class EvidencePiece:
    """One piece of evidence of where the reader is. `detail` is a time zone name, never an IP."""

    kind: str
    country: str | None
    region: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class Evidence:
    pieces: tuple[EvidencePiece, ...] = ()

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted({p.kind for p in self.pieces}))


@dataclass(frozen=True)
class SubmittedEvidence:
    """What the SDK reports (docs/sdk-protocol.md, "Compliance"): all optional."""

    country: str | None = None
    region: str | None = None
    timezone: str | None = None
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class VatSplit:
    """The tax inside a gross (tax-inclusive) price: net + tax == gross, in drops."""

    country: str
    region: str | None
    category: str
    rate_percent: Decimal
    gross_drops: int
    net_drops: int
    tax_drops: int
    scheme: str
    rule_id: str

    def as_json(self) -> dict[str, Any]:
        return {
            "country": self.country,
            "category": self.category,
            # A rate (not money) rendered as a JSON number, e.g. 19.0; exact for 3 decimals.
            "rate_percent": float(self.rate_percent),
            "net_drops": self.net_drops,
            "tax_drops": self.tax_drops,
            "scheme": self.scheme,
        }


@dataclass(frozen=True)
class LocationDecision:
    """The compliance decision for one charge: allow, block or confirm_country."""

    decision: DecisionKind
    country: str | None
    region: str | None
    vat: VatSplit | None
    rules: tuple[str, ...]
    rulebook_version: str
    on: date
    category: str
    evidence_kinds: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    code: str = ""  # the refusal's stable code, "" when allowed

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "decision": self.decision,
            "country": self.country,
            "vat": self.vat.as_json() if self.vat else None,
            "rules": list(self.rules),
            "rulebook_version": self.rulebook_version,
        }
        if self.region:
            body["region"] = self.region
        if self.decision == "confirm_country":
            body["candidates"] = list(self.candidates)
        return body


@dataclass(frozen=True)
class EurValue:
    """A drops amount in EUR, with the rate (EUR per XRP) and where the rate came from."""

    amount: Decimal
    rate: Decimal
    source: str
    as_of: date


@dataclass(frozen=True)
class UnlockCompliance:
    """What the unlock path needs after an allowed decision: the tax to journal and what to
    record with the charge."""

    decision: LocationDecision
    publisher_ref: str
    reader_ref: str
    article_ref: str
    funding_address: str
    eur: EurValue | None
    decided_at: datetime
    extra_rules: tuple[str, ...] = field(default=())

    @property
    def tax_drops(self) -> int:
        return self.decision.vat.tax_drops if self.decision.vat else 0
