"""Value objects of payouts and refunds. Money is integer drops."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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


REQUEST_FORMAT = "dropgate-vault-request/1"
SIGNATURE_FORMAT = "dropgate-vault-signature/1"


@dataclass(frozen=True)
class SigningRequest:
    """A vault transaction the server prepared (every field fixed, unsigned) for the approvers
    to sign offline. `tx_blob` is its canonical binary encoding: what the CLI decodes, shows
    and signs; `blob_sha256` names it in the signature file."""

    ref: str
    kind: str  # "payout" or "signer_list"
    vault: str
    tx_json: dict[str, Any]
    tx_blob: str
    blob_sha256: str
    last_ledger_sequence: int
    quorum: int
    signers: tuple[str, ...]  # the SignerList accounts whose signatures count
    signed_by: tuple[str, ...]  # those that already signed
    summary: dict[str, Any]

    def document(self) -> dict[str, Any]:
        """The file an approver downloads (JSON)."""
        return {
            "format": REQUEST_FORMAT,
            "ref": self.ref,
            "kind": self.kind,
            "vault": self.vault,
            "tx_blob": self.tx_blob,
            "blob_sha256": self.blob_sha256,
            "last_ledger_sequence": self.last_ledger_sequence,
            "quorum": self.quorum,
            "signers": list(self.signers),
            "signed_by": list(self.signed_by),
            "summary": self.summary,
        }


@dataclass(frozen=True)
class SignatureOutcome:
    """An uploaded approver signature, accepted: where its request stands now."""

    ref: str
    kind: str
    account: str
    signatures: int
    quorum: int
    status: str  # the payout's or the signer list change's status afterwards
    tx_hash: str = ""
