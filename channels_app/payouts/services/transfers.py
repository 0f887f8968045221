"""Outgoing XRP payments: sign, store, submit, resolve by hash. Shared by sweeps, payouts, refunds.

The approach is settlement's (channels_app/services/settlement.py): the signed blob and its
hash are committed before the submit; afterwards only the hash decides. A row is *failed* only
when its transaction provably can never apply:

- hot lane (single-signed, with LastLedgerSequence): the validated ledger is past it and the
  hash is not in a validated ledger;
- vault lane (multisigned, no LastLedgerSequence because approvals take human time): the vault's
  validated Sequence has moved past the transaction's and the hash is not in a validated ledger.

The "is it dead" fact is read *before* the hash is looked up, so a transaction validating in
between is always seen as validated, never as dead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from django.db import transaction
from xrpl.core.binarycodec import decode, encode
from xrpl.models.transactions.transaction import Transaction

from channels_app import clock, ledger
from channels_app.crashpoints import crash_point
from channels_app.exceptions import LedgerUnavailable
from channels_app.payouts.lock_objects import payouts_lock
from channels_app.payouts.models import IN_FLIGHT_STATES, Lane, LedgerTransfer, TxState
from channels_app.services.journal import credit, debit, journal_post
from channels_app.types import TxStatus

logger = logging.getLogger(__name__)

_NEVER_APPLIED = ("tem", "tef", "tel")
# May mean that this very blob already applied: only the hash can tell.
_MAYBE_APPLIED = {"tefPAST_SEQ", "tefALREADY"}

T = TypeVar("T", bound=LedgerTransfer)

LANE_ACCOUNT = {Lane.HOT: "settlement_account", Lane.VAULT: "vault_account"}


@dataclass(frozen=True)
class AccountState:
    address: str
    balance_drops: int
    sequence: int
    owner_count: int
    flags: int


@dataclass(frozen=True)
class NetworkFees:
    base_fee_drops: int
    open_ledger_fee_drops: int
    reserve_base_drops: int
    reserve_inc_drops: int

    @property
    def fee_drops(self) -> int:
        """The fee a transaction offers: the open-ledger fee, never above 100x the base fee."""
        return max(self.base_fee_drops, min(self.open_ledger_fee_drops, 100 * self.base_fee_drops))

    def reserve_drops(self, owner_count: int) -> int:
        return self.reserve_base_drops + owner_count * self.reserve_inc_drops


def account_state(address: str, *, ledger_index: str = "validated") -> AccountState | None:
    try:
        result = ledger.ledger_request("account_info", account=address, ledger_index=ledger_index)
    except ledger.LedgerRequestError as exc:
        if exc.error == "actNotFound":
            return None
        raise
    data = result["account_data"]
    return AccountState(
        address=address,
        balance_drops=int(data["Balance"]),
        sequence=int(data["Sequence"]),
        owner_count=int(data.get("OwnerCount", 0)),
        flags=int(data.get("Flags", 0)),
    )


def _xrp_to_drops(value: Any) -> int:
    return int(Decimal(str(value)) * 1_000_000)


def network_fees() -> NetworkFees:
    fee = ledger.ledger_request("fee")["drops"]
    info = ledger.ledger_request("server_info")["info"]
    validated = info.get("validated_ledger") or info.get("closed_ledger") or {}
    return NetworkFees(
        base_fee_drops=int(fee["base_fee"]),
        open_ledger_fee_drops=int(fee.get("open_ledger_fee", fee["base_fee"])),
        reserve_base_drops=_xrp_to_drops(validated.get("reserve_base_xrp", 1)),
        reserve_inc_drops=_xrp_to_drops(validated.get("reserve_inc_xrp", "0.2")),
    )


def current_ledger_index() -> int:
    return int(ledger.ledger_request("ledger_current")["ledger_current_index"])


def signed_fields(signed: Transaction) -> dict[str, Any]:
    """What a row stores of a fully signed transaction before it is submitted."""
    return {
        "tx_hash": signed.get_hash(),
        "tx_blob": encode(signed.to_xrpl()),
        "sequence": signed.sequence,
        "last_ledger_sequence": signed.last_ledger_sequence,
        "fee_drops": int(signed.fee or 0),
    }


_FINALIZE_CHUNK = 200
# How far before its LastLedgerSequence a hot transaction was signed (autofill's 20, or
# DROPGATE_PAYOUT_LEDGER_MARGIN): where the ledger scan starts. A wrong guess only costs
# per-hash lookups.
_LLS_MARGIN_GUESS = 20


def _mark(row: LedgerTransfer, **fields: Any) -> bool:
    """Move an in-flight row on; False if another process already finished it."""
    if fields.get("status") in (TxState.VALIDATED, TxState.FAILED):
        fields.setdefault("finished_at", clock.now())
    fields["updated_at"] = clock.now()
    manager = type(row)._default_manager
    updated = manager.filter(pk=row.pk, status__in=IN_FLIGHT_STATES).update(**fields)
    if updated != 1:
        row.refresh_from_db()
        return False
    for name, value in fields.items():
        setattr(row, name, value)
    return True


def _send(row: LedgerTransfer, *, crash_name: str) -> dict[str, Any]:
    """Submit the stored blob once; return the fields its answer sets on the row."""
    crash_point(f"{crash_name}_before_submit")
    try:
        if row.is_multisigned:
            result = ledger.ledger_request("submit_multisigned", tx_json=decode(row.tx_blob))
        else:
            result = ledger.ledger_request("submit", tx_blob=row.tx_blob)
        engine_result = str(result.get("engine_result", ""))
    except ledger.LedgerRequestError as exc:
        # The server's local checks refused it (e.g. a bad signature): it can never apply.
        logger.error("%s %s refused before apply: %s", crash_name, row.tx_hash, exc)
        return {"status": TxState.FAILED, "engine_result": exc.error[:32]}
    crash_point(f"{crash_name}_after_submit")
    if engine_result.startswith(_NEVER_APPLIED) and engine_result not in _MAYBE_APPLIED:
        logger.warning("%s %s refused: %s", crash_name, row.tx_hash, engine_result)
        return {"status": TxState.FAILED, "engine_result": engine_result}
    if engine_result.startswith("ter"):
        # Not applied yet (e.g. terPRE_SEQ): stays prepared, the next pass submits it again.
        return {"engine_result": engine_result}
    # tefPAST_SEQ may mean this very blob already applied: the hash decides later.
    return {
        "status": TxState.SUBMITTED,
        "engine_result": engine_result,
        "submitted_at": clock.now(),
    }


def transfers_submit(rows: Sequence[LedgerTransfer], *, crash_name: str) -> None:
    """Send stored blobs (again) in order, then record every answer in one transaction.
    Harmless when repeated: each blob is one Sequence. A crash before the record leaves the
    rows prepared, and the next pass resolves them by hash.

    Precondition: no open transaction; the rows are prepared or submitted.
    """
    answers: list[tuple[LedgerTransfer, dict[str, Any]]] = []
    try:
        for row in rows:
            answers.append((row, _send(row, crash_name=crash_name)))
    finally:
        if answers:
            with transaction.atomic():
                for row, fields in answers:
                    _mark(row, **fields)


def transfer_submit(row: LedgerTransfer, *, crash_name: str) -> None:
    transfers_submit([row], crash_name=crash_name)


def _journal_network_fee(row: LedgerTransfer) -> None:
    journal_post(
        kind="network_fee",
        reference=str(row.tx_hash),
        postings=[
            debit("network_fees", row.fee_drops),
            credit(LANE_ACCOUNT[Lane(row.lane)], row.fee_drops, row.source_address),
        ],
    )


def _finalize(outcomes: Sequence[tuple[T, TxStatus]], on_validated: Callable[[T], None]) -> None:
    """Record validated outcomes and their journal entries, once each (under the payouts lock,
    so a balance is never read between a payout's entry and its status)."""
    for start in range(0, len(outcomes), _FINALIZE_CHUNK):
        with transaction.atomic():
            payouts_lock()
            for row, status in outcomes[start : start + _FINALIZE_CHUNK]:
                ok = status.result == "tesSUCCESS"
                if not _mark(
                    row,
                    status=TxState.VALIDATED if ok else TxState.FAILED,
                    engine_result=status.result or "",
                    ledger_index=status.ledger_index,
                ):
                    continue
                _journal_network_fee(row)  # tesSUCCESS and tec both burn the fee
                if ok:
                    on_validated(row)


def transfers_resolve(
    rows: Sequence[T],
    *,
    on_validated: Callable[[T], None],
    crash_name: str,
    allow_submit: bool = True,
    validated_index: int | None = None,
) -> None:
    """Bring in-flight rows up to date with the ledger; (re)submit those it has never seen.

    `validated_index`, when given, must have been read before this call.
    Precondition: no open transaction. Raises LedgerUnavailable when the ledger is down.
    """
    hot_index = validated_index
    vault_sequence: dict[str, int | None] = {}
    validated: list[tuple[T, TxStatus]] = []
    dead: list[tuple[T, str]] = []
    unseen: list[T] = []
    for row in rows:
        if row.status not in IN_FLIGHT_STATES or not row.tx_hash:
            continue
        # First the fact that would make it dead, then the hash (see the module docstring).
        if row.lane == Lane.VAULT:
            if row.source_address not in vault_sequence:
                state = account_state(row.source_address)
                vault_sequence[row.source_address] = state.sequence if state else None
            seq_now = vault_sequence[row.source_address]
            is_dead = seq_now is not None and row.sequence is not None and seq_now > row.sequence
            reason = "superseded"
        else:
            if hot_index is None:
                hot_index = ledger.validated_ledger().ledger_index
            last = row.last_ledger_sequence
            is_dead = last is not None and hot_index > last
            reason = "expired"
        status = ledger.transaction_status(row.tx_hash)
        if status is not None and status.validated:
            validated.append((row, status))
        elif is_dead:
            dead.append((row, reason))
        elif status is None:
            unseen.append(row)
    if validated:
        _finalize(validated, on_validated)
    if dead:
        with transaction.atomic():
            for row, reason in dead:
                _mark(row, status=TxState.FAILED, engine_result=row.engine_result or reason)
                logger.warning("%s %s can no longer apply (%s)", crash_name, row.tx_hash, reason)
    if unseen and allow_submit:
        transfers_submit(unseen, crash_name=crash_name)


def ledger_outcomes(ledger_index: int, wanted: set[str]) -> dict[str, TxStatus]:
    """The outcomes of the `wanted` hashes applied in one validated ledger (one request)."""
    result = ledger.ledger_request(
        "ledger", ledger_index=ledger_index, transactions=True, expand=True
    )
    found: dict[str, TxStatus] = {}
    for item in result.get("ledger", {}).get("transactions", []):
        if not isinstance(item, dict):
            continue
        tx_hash = str(item.get("hash", "")).upper()
        if tx_hash not in wanted:
            continue
        meta = item.get("meta") or item.get("metaData") or {}
        tx_json = item.get("tx_json", item)
        found[tx_hash] = TxStatus(
            tx_hash=tx_hash,
            validated=True,
            result=meta.get("TransactionResult") if isinstance(meta, dict) else None,
            ledger_index=ledger_index,
            fee_drops=int(tx_json.get("Fee", "0")),
        )
    return found


_SCAN_MAX_LEDGERS = 1000
_FULL_PASS_SECONDS = 2.0


def transfers_await(
    rows: Sequence[T],
    *,
    on_validated: Callable[[T], None],
    crash_name: str,
    wait_seconds: float,
    allow_submit: bool = True,
) -> None:
    """Resolve until every row is final or `wait_seconds` pass; the rest waits for a later pass.

    Fresh hot-lane rows are found by reading each newly validated ledger once (one request per
    ledger, not one per transaction); anything not found that way gets the per-hash
    `transfers_resolve` every couple of seconds, which also decides expiry and resubmits.
    """
    deadline = time.monotonic() + wait_seconds
    pending = [row for row in rows if row.status in IN_FLIGHT_STATES]
    windows = [
        row.last_ledger_sequence - _LLS_MARGIN_GUESS
        for row in pending
        if row.lane == Lane.HOT and row.last_ledger_sequence
    ]
    scanned: int | None = min(windows) - 1 if windows else None
    last_full = time.monotonic() if scanned is not None else 0.0
    last_index: int | None = None
    while pending:
        try:
            index = ledger.validated_ledger().ledger_index
            if scanned is not None and index > scanned:
                if index - scanned <= _SCAN_MAX_LEDGERS:
                    wanted = {str(row.tx_hash) for row in pending}
                    found: dict[str, TxStatus] = {}
                    for number in range(scanned + 1, index + 1):
                        found.update(ledger_outcomes(number, wanted))
                    _finalize(
                        [(row, found[str(row.tx_hash)]) for row in pending if row.tx_hash in found],
                        on_validated,
                    )
                    scanned = index
                else:
                    scanned = None  # too far behind: per-hash lookups only
            pending = [row for row in pending if row.status in IN_FLIGHT_STATES]
            full_due = time.monotonic() - last_full >= _FULL_PASS_SECONDS
            if pending and index != last_index and (scanned is None or full_due):
                transfers_resolve(
                    pending,
                    on_validated=on_validated,
                    crash_name=crash_name,
                    allow_submit=allow_submit,
                    validated_index=index,
                )
                last_index, last_full = index, time.monotonic()
        except LedgerUnavailable:
            if time.monotonic() >= deadline:
                raise
        pending = [row for row in pending if row.status in IN_FLIGHT_STATES]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
