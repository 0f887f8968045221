"""Value objects of payouts and refunds. Money is integer drops."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class PublisherBalance:
    """Where a publisher's money stands (see selectors.publisher_balances for the rule).

    owed = pending + lost + in_flight + held + available, except that a negative matured
    amount (refunds beyond matured revenue) shows as available 0 and is carried forward.
    """

    publisher_ref: str
    owed_drops: int  # the journal's publisher_payable balance (credit side positive)
    pending_drops: int  # revenue still in holdback, or not yet redeemed on the ledger
    lost_drops: int  # revenue on claims whose channel closed unredeemed: never payable
    in_flight_drops: int  # payouts and publisher-charged ledger refunds not yet final
    held_drops: int  # matured revenue an admin holds
    available_drops: int  # what the next batch pays
    paid_drops: int  # validated payouts, all time
    matured_drops: int  # owed - pending - lost - in_flight (may be negative)
    cutoff: datetime


@dataclass(frozen=True)
class PlannedPayout:
    publisher_ref: str
    destination: str
    amount_drops: int
    lane: str


@dataclass(frozen=True)
class PayoutPlan:
    cutoff: datetime
    payouts: list[PlannedPayout] = field(default_factory=list)
    deferred: list[dict[str, str]] = field(default_factory=list)

    @property
    def total_drops(self) -> int:
        return sum(p.amount_drops for p in self.payouts)


@dataclass(frozen=True)
class BatchOutcome:
    batch_id: int
    key: str
    created: bool
    planned: int
    validated: int
    failed: int
    awaiting_approval: int
    pending: int
    total_drops: int
    deferred: list[dict[str, str]]


@dataclass(frozen=True)
class SweepOutcome:
    state: str  # "validated", "pending", "failed", "nothing_to_do", "no_vault"
    amount_drops: int = 0
    tx_hash: str = ""


@dataclass(frozen=True)
class RefundOutcome:
    refund_id: int
    reference: str
    mode: str
    status: str
    amount_drops: int
    tx_hash: str = ""


@dataclass(frozen=True)
class CreditUse:
    reader_ref: str
    reference: str
    amount_drops: int
    fee_drops: int
    remaining_drops: int


@dataclass(frozen=True)
class SignerRotationOutcome:
    """A vault signer replaced: the new key, the SignerListSet, the list read back from the ledger."""

    vault: str
    slot: int
    new_key_id: str
    new_address: str
    tx_hash: str
    ledger_signers: tuple[str, ...]
    quorum: int
    at: datetime
