"""Value objects that cross the app boundary. Money is integer drops, never a float."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NewType

Drops = NewType("Drops", int)


@dataclass(frozen=True)
class ChannelSnapshot:
    channel_id: str
    owner_ref: str
    source_address: str
    public_key: str
    amount_drops: int
    accepted_drops: int
    ledger_balance_drops: int
    remaining_drops: int
    settle_delay: int
    expiration: datetime | None
    cancel_after: datetime | None
    status: str


@dataclass(frozen=True)
class TaxShare:
    """The VAT/GST inside a claim's tax-inclusive increment, owed to a tax authority.

    Journaled as a `tax` entry from `publisher_payable` to `vat_payable` [`subaccount`, the
    country of consumption]; the platform fee is then taken on the rest (the net).
    """

    subaccount: str
    drops: int


@dataclass(frozen=True)
class AcceptedClaim:
    claim_id: int
    channel_id: str
    amount_drops: int
    increment_drops: int
    fee_drops: int
    tax_drops: int = 0


@dataclass(frozen=True)
class LedgerChannel:
    """A PayChannel ledger entry as read from a validated ledger."""

    channel_id: str
    source_address: str
    destination_address: str
    amount_drops: int
    balance_drops: int
    public_key: str
    settle_delay: int
    expiration: int | None  # Ripple-epoch seconds
    cancel_after: int | None
    destination_tag: int | None
    ledger_index: int


@dataclass(frozen=True)
class LedgerInfo:
    ledger_index: int
    close_time: int  # Ripple-epoch seconds


@dataclass(frozen=True)
class SubmitResult:
    engine_result: str
    tx_hash: str
    accepted: bool


@dataclass(frozen=True)
class TxStatus:
    tx_hash: str
    validated: bool
    result: str | None
    ledger_index: int | None
    fee_drops: int
    # From the metadata: the PayChannel's Balance after this transaction, and whether the
    # transaction deleted the channel. None when the transaction touched no channel.
    channel_balance_after: int | None = None
    channel_deleted: bool = False
