"""In-process sandbox for fast rule tests: the same `Sandbox` the server runs, with a
movable wall clock, driven through its RPC handlers (no HTTP, no Django database)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from xrpl import CryptoAlgorithm
from xrpl.core.binarycodec import encode
from xrpl.models.transactions import Payment
from xrpl.models.transactions.transaction import Transaction
from xrpl.transaction import sign
from xrpl.wallet import Wallet

from channels_app.sandbox.rpc import Sandbox
from channels_app.sandbox.state import keylet_account
from channels_app.sandbox.timekeeping import LedgerClock

GENESIS_SEED = "snoPBrXtMeMyMHUVTgbuqAfg1SUTb"
START_UNIX = 1_750_000_000.0


@dataclass
class FakeWall:
    now: float = START_UNIX

    def __call__(self) -> float:
        return self.now


@dataclass
class LocalLedger:
    """Test driver: build, sign and submit transactions to an in-process sandbox."""

    sandbox: Sandbox
    wall: FakeWall
    genesis: Wallet = field(default_factory=lambda: Wallet.from_seed(GENESIS_SEED))

    def rpc(self, method: str, **params: Any) -> dict[str, Any]:
        return self.sandbox.handle(method, params)

    def accept(self) -> None:
        result = self.rpc("ledger_accept")
        assert result["status"] == "success", result

    def account(self, address: str, ledger_index: str = "current") -> dict[str, Any] | None:
        result = self.rpc("account_info", account=address, ledger_index=ledger_index)
        if result["status"] != "success":
            assert result["error"] == "actNotFound", result
            return None
        return result["account_data"]

    def balance(self, address: str) -> int:
        root = self.account(address)
        assert root is not None
        return int(root["Balance"])

    def sequence(self, address: str) -> int:
        root = self.account(address)
        assert root is not None
        return int(root["Sequence"])

    def channel(self, channel_id: str) -> dict[str, Any] | None:
        result = self.rpc("ledger_entry", payment_channel=channel_id, ledger_index="current")
        if result["status"] != "success":
            assert result["error"] == "entryNotFound", result
            return None
        return result["node"]

    def snapshot(self) -> dict[str, Any]:
        """Every entry of the open ledger: for asserting that nothing changed."""
        return {k: dict(v) for k, v in self.sandbox.state.open_entries.items()}

    def prepare(self, tx: Transaction, *, signers: int = 0, **overrides: Any) -> Transaction:
        values = tx.to_dict()
        if "sequence" not in values:
            root = self.account(tx.account)
            values["sequence"] = int(root["Sequence"]) if root else 1
        values.setdefault("fee", str(10 * (1 + signers)))
        values.setdefault("last_ledger_sequence", self.sandbox.state.open_seq + 20)
        values.update(overrides)
        return Transaction.from_dict(values)

    def submit(
        self, tx: Transaction, wallet: Wallet, *, multisign: bool = False, **overrides: Any
    ) -> dict[str, Any]:
        signed = sign(self.prepare(tx, **overrides), wallet, multisign=multisign)
        return self.submit_signed(signed)

    def submit_signed(self, signed: Transaction) -> dict[str, Any]:
        return self.rpc("submit", tx_blob=encode(signed.to_xrpl()))

    def result(self, tx: Transaction, wallet: Wallet, **overrides: Any) -> str:
        response = self.submit(tx, wallet, **overrides)
        assert response["status"] == "success", response
        return str(response["engine_result"])

    def fund(self, address: str, drops: int) -> None:
        tx = Payment(account=self.genesis.address, destination=address, amount=str(drops))
        assert self.result(tx, self.genesis) == "tesSUCCESS"

    def new_wallet(self, drops: int = 100_000_000, *, ed25519: bool = False) -> Wallet:
        algorithm = CryptoAlgorithm.ED25519 if ed25519 else CryptoAlgorithm.SECP256K1
        wallet = Wallet.create(algorithm=algorithm)
        if drops:
            self.fund(wallet.address, drops)
        return wallet

    def advance(self, seconds: int) -> None:
        """Move the wall clock and close a ledger, so parent close time moves too."""
        self.wall.now += seconds
        self.accept()

    @property
    def parent_close_time(self) -> int:
        return self.sandbox.state.parent_close_time


@pytest.fixture
def local_ledger(tmp_path: Path) -> Iterator[LocalLedger]:
    wall = FakeWall()
    sandbox = Sandbox(tmp_path / "sandbox", clock=LedgerClock(wall=wall), allow_time_travel=True)
    ledger = LocalLedger(sandbox=sandbox, wall=wall)
    yield ledger
    sandbox.shutdown()


def account_index(address: str) -> str:
    return keylet_account(address)


def sign_claim(wallet: Wallet, channel_id: str, drops: int) -> str:
    """A claim signature as the reader's claim key makes it (CLM\\0 ‖ id ‖ uint64)."""
    from xrpl.core.binarycodec import encode_for_signing_claim
    from xrpl.core.keypairs import sign as keypairs_sign

    message = encode_for_signing_claim({"channel": channel_id, "amount": str(drops)})
    return keypairs_sign(message, wallet.private_key)
