"""The store: closed ledgers, entries and transactions survive a restart; transactions
still in the open ledger are re-applied; ledger time never goes back."""

from __future__ import annotations

from xrpl.models.transactions import Payment
from xrpl.wallet import Wallet

from channels_app.sandbox.rpc import Sandbox
from channels_app.sandbox.timekeeping import LedgerClock

from .conftest import FakeWall, LocalLedger


def reopen(ledger: LocalLedger, tmp_path) -> LocalLedger:
    ledger.sandbox.shutdown()
    wall = FakeWall(ledger.wall.now)
    sandbox = Sandbox(tmp_path / "sandbox", clock=LedgerClock(wall=wall), allow_time_travel=True)
    return LocalLedger(sandbox=sandbox, wall=wall)


def test_restart_keeps_closed_state_and_reapplies_open_transactions(local_ledger, tmp_path):
    alice = local_ledger.new_wallet(30_000_000)
    local_ledger.accept()
    closed_hash = local_ledger.rpc("ledger_closed")["ledger_hash"]
    bob = Wallet.create()
    response = local_ledger.submit(
        Payment(account=alice.address, destination=bob.address, amount="2000000"), alice
    )
    pending_hash = response["tx_json"]["hash"]

    again = reopen(local_ledger, tmp_path)
    try:
        assert again.rpc("ledger_closed")["ledger_hash"] == closed_hash
        assert again.account(alice.address, "validated")["Balance"] == "30000000"
        assert again.rpc("tx", transaction=pending_hash)["validated"] is False
        assert again.account(bob.address)["Balance"] == "2000000"
        again.accept()
        assert again.rpc("tx", transaction=pending_hash)["validated"] is True
        assert again.account(bob.address, "validated")["Balance"] == "2000000"
    finally:
        again.sandbox.shutdown()
        local_ledger.sandbox = again.sandbox  # the fixture's shutdown is idempotent-safe


def test_time_offset_survives_restart(local_ledger, tmp_path):
    before = local_ledger.parent_close_time
    assert local_ledger.rpc("sandbox_advance_time", seconds=10_000)["status"] == "success"
    again = reopen(local_ledger, tmp_path)
    try:
        again.accept()
        assert again.parent_close_time >= before + 10_000
    finally:
        again.sandbox.shutdown()
        local_ledger.sandbox = again.sandbox
