"""Value objects of key management. None of them holds key material."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class KeyInfo:
    """The public face of a key: safe to log, show and return from an API."""

    key_id: str
    purpose: str
    slot: int
    keystore: str
    algorithm: str
    public_key: str
    address: str
    state: str
    derivation_path: str
    created_at: datetime | None
    activated_at: datetime | None
    retired_at: datetime | None
    revoked_at: datetime | None
    published_at: datetime | None = None  # access-token keys: in the JWKS since


@dataclass(frozen=True)
class LedgerTx:
    """A key-management transaction and how the ledger took it."""

    tx_type: str
    tx_hash: str
    result: str
    fee_drops: int


@dataclass(frozen=True)
class HardeningOutcome:
    account: str
    regular_key_id: str
    regular_key_address: str
    master_disabled: bool
    master_destroyed: bool
    transactions: tuple[LedgerTx, ...] = ()


@dataclass(frozen=True)
class VaultOutcome:
    account: str
    signers: tuple[str, ...]
    quorum: int
    master_disabled: bool
    transactions: tuple[LedgerTx, ...] = ()


@dataclass(frozen=True)
class RotationOutcome:
    purpose: str
    old_key_id: str
    new_key_id: str
    new_public_key: str
    new_address: str  # the classic address of a ledger key, "" for a token key
    transactions: tuple[LedgerTx, ...] = ()


@dataclass(frozen=True)
class SignedItem:
    """One thing a key signed, as found by a compromise report."""

    kind: str  # "settlement", "ledger_tx", "multisign"
    tx_type: str
    tx_hash: str
    account: str
    sequence: int | None
    status: str  # the Settlement status when known, else "signed"
    balance_drops: int | None = None


@dataclass(frozen=True)
class DrillReport:
    purpose: str
    revoked_key_id: str
    new_key_id: str
    payouts_paused: bool
    ledger_rejects_old_key: bool | None  # settlement: the ledger no longer authorises it
    signed: tuple[SignedItem, ...] = ()
    grants_issued: int | None = None  # not tracked per key; see `grants_note`
    grants_note: str = ""
    active_from: datetime | None = None
    active_until: datetime | None = None
    transactions: tuple[LedgerTx, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SettlementKeyStatus:
    account: str
    master_disabled: bool | None  # None: the account is not on the ledger
    ledger_regular_key: str | None
    our_regular_key_id: str | None
    in_sync: bool


@dataclass(frozen=True)
class EvidenceSignature:
    """A signature by the dispute-evidence key: its id, algorithm, public key and the
    signature (hex, upper case). Public: safe to publish beside what it signs."""

    key_id: str
    algorithm: str
    public_key: str
    signature: str
