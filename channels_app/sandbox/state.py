"""The sandbox's ledger model and its on-disk store.

`LedgerState` holds the last closed (= validated, as in standalone mode) ledger's entries,
the open ledger's entries, the closed ledger headers and every transaction record.
Entries are rippled JSON objects (PascalCase, amounts as drop strings) keyed by their
uppercase hex index. They are treated as immutable: a transactor copies an entry before it
changes it, so a shallow copy of the entry map is a consistent snapshot.

`SqliteStore` persists it: closed entries, headers and transaction records, written in one
SQLite transaction per ledger close (and per submitted transaction), so the sandbox
survives a restart. Open-ledger transactions are re-applied on load, as rippled re-applies
held transactions.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xrpl.core.addresscodec import decode_classic_address

GENESIS_ADDRESS = "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"
GENESIS_SEED = "snoPBrXtMeMyMHUVTgbuqAfg1SUTb"
TOTAL_DROPS = 100_000_000_000 * 1_000_000
# rippled standalone starts with ledger 1 (genesis) and 2 closed; 3 is the first open one.
FIRST_CLOSED_SEQ = 2
HISTORY_DEPTH = 256

Entry = dict[str, Any]


@dataclass(frozen=True)
class Fees:
    base_fee: int = 10
    reserve_base: int = 1_000_000
    reserve_inc: int = 200_000

    def account_reserve(self, owner_count: int) -> int:
        return self.reserve_base + self.reserve_inc * owner_count


def sha512_half(data: bytes) -> bytes:
    return hashlib.sha512(data).digest()[:32]


def account_id(address: str) -> bytes:
    return decode_classic_address(address)


def keylet_account(address: str) -> str:
    return sha512_half(b"\x00a" + account_id(address)).hex().upper()


def keylet_paychan(source: str, destination: str, sequence: int) -> str:
    data = b"\x00x" + account_id(source) + account_id(destination) + sequence.to_bytes(4, "big")
    return sha512_half(data).hex().upper()


def keylet_signer_list(address: str) -> str:
    return sha512_half(b"\x00S" + account_id(address) + (0).to_bytes(4, "big")).hex().upper()


def transaction_hash(blob: bytes) -> str:
    return sha512_half(b"TXN\x00" + blob).hex().upper()


def _digest_json(value: Any) -> str:
    return sha512_half(json.dumps(value, sort_keys=True).encode()).hex().upper()


def ledger_hash(header: dict[str, Any]) -> str:
    """A deterministic SHA-512Half over the header fields, prefixed like rippled's LWR\\0."""
    fields = [
        header["ledger_index"],
        header["total_coins"],
        header["parent_hash"],
        header["transaction_hash"],
        header["account_hash"],
        header["parent_close_time"],
        header["close_time"],
    ]
    return sha512_half(b"LWR\x00" + json.dumps(fields).encode()).hex().upper()


def genesis_entries() -> dict[str, Entry]:
    index = keylet_account(GENESIS_ADDRESS)
    return {
        index: {
            "Account": GENESIS_ADDRESS,
            "Balance": str(TOTAL_DROPS),
            "Flags": 0,
            "LedgerEntryType": "AccountRoot",
            "OwnerCount": 0,
            "PreviousTxnID": "0" * 64,
            "PreviousTxnLgrSeq": 0,
            "Sequence": 1,
        }
    }


class LedgerState:
    """In-memory ledger: closed entries, open entries, headers, transaction records.

    Not thread-safe by itself; the RPC layer holds one lock around every use.
    """

    def __init__(self) -> None:
        self.closed_entries: dict[str, Entry] = {}
        self.open_entries: dict[str, Entry] = {}
        self.headers: dict[int, dict[str, Any]] = {}
        self.txs: dict[str, dict[str, Any]] = {}
        self.open_tx_hashes: list[str] = []
        self.history: OrderedDict[int, dict[str, Entry]] = OrderedDict()
        self.time_offset = 0
        self.dirty: set[str] = set()

    @property
    def last_closed_seq(self) -> int:
        return max(self.headers)

    @property
    def open_seq(self) -> int:
        return self.last_closed_seq + 1

    @property
    def last_closed(self) -> dict[str, Any]:
        return self.headers[self.last_closed_seq]

    @property
    def parent_close_time(self) -> int:
        """The close time of the open ledger's parent: what payment-channel rules read."""
        return int(self.last_closed["close_time"])

    def entries_at(self, seq: int) -> dict[str, Entry] | None:
        if seq == self.open_seq:
            return self.open_entries
        if seq == self.last_closed_seq:
            return self.closed_entries
        return self.history.get(seq)

    def genesis(self, close_time: int) -> None:
        entries = genesis_entries()
        self.closed_entries = dict(entries)
        self.open_entries = dict(entries)
        header = {
            "ledger_index": FIRST_CLOSED_SEQ,
            "total_coins": str(TOTAL_DROPS),
            "parent_hash": "0" * 64,
            "transaction_hash": "0" * 64,
            "account_hash": _digest_json(entries),
            "parent_close_time": close_time - 1,
            "close_time": close_time,
            "transactions": [],
        }
        header["ledger_hash"] = ledger_hash(header)
        self.headers[FIRST_CLOSED_SEQ] = header
        self.history[FIRST_CLOSED_SEQ] = self.closed_entries
        self.dirty = set(entries)

    def commit_open(self, changes: dict[str, Entry | None]) -> None:
        """Write a transaction's changes into the open ledger."""
        for index, entry in changes.items():
            if entry is None:
                self.open_entries.pop(index, None)
            else:
                self.open_entries[index] = entry
            self.dirty.add(index)

    def close(self, close_time: int) -> dict[str, Any]:
        """Close the open ledger: it becomes the new closed (and validated) ledger."""
        seq = self.open_seq
        parent = self.last_closed
        burned = sum(
            int(self.txs[h]["tx"].get("Fee", "0"))
            for h in self.open_tx_hashes
            if self.txs[h].get("applied")
        )
        header = {
            "ledger_index": seq,
            "total_coins": str(int(parent["total_coins"]) - burned),
            "parent_hash": parent["ledger_hash"],
            "transaction_hash": _digest_json(self.open_tx_hashes)
            if self.open_tx_hashes
            else "0" * 64,
            "account_hash": _digest_json(sorted(self.dirty))
            if self.dirty
            else parent["account_hash"],
            "parent_close_time": parent["close_time"],
            "close_time": close_time,
            "transactions": list(self.open_tx_hashes),
        }
        header["ledger_hash"] = ledger_hash(header)
        self.headers[seq] = header
        self.closed_entries = dict(self.open_entries)
        self.history[seq] = self.closed_entries
        while len(self.history) > HISTORY_DEPTH:
            self.history.popitem(last=False)
        for tx_hash in self.open_tx_hashes:
            record = self.txs[tx_hash]
            record["validated"] = True
            record["ledger_index"] = seq
            record["ledger_hash"] = header["ledger_hash"]
            record["close_time"] = close_time
        self.open_tx_hashes = []
        return header


class SqliteStore:
    """Durable copy of a `LedgerState` in one SQLite file under the data dir."""

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS ledgers (seq INTEGER PRIMARY KEY, header TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS entries (idx TEXT PRIMARY KEY, data TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS txs (hash TEXT PRIMARY KEY, seq INTEGER NOT NULL,
                                    record TEXT NOT NULL);
    """

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "ledger.sqlite3"
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(self.SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def load(self, state: LedgerState) -> bool:
        """Fill `state` from disk. Returns False when the store is empty."""
        headers = self.conn.execute("SELECT seq, header FROM ledgers").fetchall()
        if not headers:
            return False
        state.headers = {int(seq): json.loads(text) for seq, text in headers}
        state.closed_entries = {
            idx: json.loads(text)
            for idx, text in self.conn.execute("SELECT idx, data FROM entries")
        }
        state.open_entries = dict(state.closed_entries)
        state.history = OrderedDict({state.last_closed_seq: state.closed_entries})
        state.txs = {
            tx_hash: json.loads(text)
            for tx_hash, text in self.conn.execute("SELECT hash, record FROM txs ORDER BY rowid")
        }
        row = self.conn.execute("SELECT value FROM kv WHERE key = 'time_offset'").fetchone()
        state.time_offset = int(row[0]) if row else 0
        state.dirty = set()
        return True

    def save_tx(self, record: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO txs (hash, seq, record) VALUES (?, ?, ?)",
            (record["hash"], record["ledger_index"], json.dumps(record)),
        )

    def delete_tx(self, tx_hash: str) -> None:
        self.conn.execute("DELETE FROM txs WHERE hash = ?", (tx_hash,))

    def save_close(self, state: LedgerState, header: dict[str, Any]) -> None:
        """Persist a ledger close atomically: header, changed entries, its transactions."""
        with self._transaction():
            self.conn.execute(
                "INSERT OR REPLACE INTO ledgers (seq, header) VALUES (?, ?)",
                (header["ledger_index"], json.dumps(header)),
            )
            for index in state.dirty:
                entry = state.closed_entries.get(index)
                if entry is None:
                    self.conn.execute("DELETE FROM entries WHERE idx = ?", (index,))
                else:
                    self.conn.execute(
                        "INSERT OR REPLACE INTO entries (idx, data) VALUES (?, ?)",
                        (index, json.dumps(entry)),
                    )
            for tx_hash in header["transactions"]:
                self.save_tx(state.txs[tx_hash])
            self.conn.execute(
                "INSERT OR REPLACE INTO kv (key, value) VALUES ('time_offset', ?)",
                (str(state.time_offset),),
            )
        state.dirty = set()

    def _transaction(self) -> _SqliteTransaction:
        return _SqliteTransaction(self.conn)


class _SqliteTransaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
