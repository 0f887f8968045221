"""Value objects of the disputes app: the evidence the resolvers read, their votes, the policy
(thresholds from settings) and the consensus. Frozen dataclasses; no Django here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

__all__ = [
    "Consensus",
    "DeliveryFact",
    "Evidence",
    "Policy",
    "Standing",
    "Vote",
    "VoteSide",
]

VoteSide = Literal["reader", "publisher", "abstain"]


@dataclass(frozen=True)
class DeliveryFact:
    """One recorded attempt to serve the unlock's body (paywall's ContentDelivery)."""

    at: datetime
    status: int
    bytes: int
    sha256: str
    dwell_ms_at: int | None  # the article's visible ms in the unlocking session when served

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.bytes > 0


@dataclass(frozen=True)
class Evidence:
    """What a dispute's linked records say, read when it is resolved.

    - `deliveries`: every recorded attempt to serve the body, oldest first (none: never fetched).
    - `dwell_ms`: the article's visible time in the telemetry session that made the unlock's
      fraud decision, as last recorded; None without such a session (an agent, no telemetry).
    - `earlier_charges_at`: when this reader was charged for this article before (accepted
      claims under the same unlock reference, other than this unlock's own).
    - `claim_signed_by_registered_key`: the accepted claim's signature verifies under the
      channel's key, and that key was the reader's registered claim key at the unlock.
    - `fraud_decision`: the action of the fraud decision the charge was made under.
    - `fingerprint_seen_before`: that decision's device fingerprint was also the one of an
      earlier unlock of this reader.
    - `reader_disputes_recent`: the reader's disputes filed in the repeat window, this one
      included; `reader_disputes_before`: all the reader's disputes filed before this one.
    """

    reason: str
    dispute_class: str
    amount_drops: int
    unlocked_at: datetime
    filed_at: datetime
    deliveries: tuple[DeliveryFact, ...]
    dwell_ms: int | None
    earlier_charges_at: tuple[datetime, ...]
    grant_ttl_seconds: int
    claim_signed_by_registered_key: bool
    fraud_decision: str | None
    fingerprint_seen_before: bool
    key_compromise_reported_before: bool
    reader_disputes_recent: int
    reader_disputes_before: int

    @property
    def first_successful_delivery(self) -> DeliveryFact | None:
        return next((d for d in self.deliveries if d.ok), None)

    @property
    def delivered(self) -> bool:
        return self.first_successful_delivery is not None

    @property
    def dwell_after_delivery_ms(self) -> int | None:
        """Visible time on the article since its body was first served; None if it never
        was or there is no telemetry for it."""
        first = self.first_successful_delivery
        if first is None or self.dwell_ms is None:
            return None
        return max(0, self.dwell_ms - (first.dwell_ms_at or 0))


@dataclass(frozen=True)
class Policy:
    """The thresholds the rules use (DROPGATE_DISPUTE_* settings)."""

    bounce_seconds: int
    repeat_filer: int
    auto_limit_drops: int


@dataclass(frozen=True)
class Vote:
    resolver: str
    side: VoteSide
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Standing:
    """The Reputation resolver's say: it never votes, it blocks or breaks a tie."""

    repeat_filer: bool
    first_dispute: bool


@dataclass(frozen=True)
class Consensus:
    """The tier-1 result: a winner with the deciding reason codes, or none with the reasons
    it could not be decided automatically (`escalations`)."""

    winner: Literal["reader", "publisher"] | None
    reasons: tuple[str, ...]
    votes: tuple[Vote, ...]
    standing: Standing
