"""The vault: 2-of-3 signer list, master key disabled, funded and journaled; the hot sweep."""

from __future__ import annotations

import pytest
from xrpl.clients import JsonRpcClient
from xrpl.models.transactions import Payment
from xrpl.transaction import autofill_and_sign, submit

from channels_app.models import JournalEntry
from channels_app.payouts import signers
from channels_app.payouts.models import Sweep, TxState, VaultAccount
from channels_app.payouts.services.reconcile import payouts_reconcile
from channels_app.payouts.services.transfers import account_state
from channels_app.payouts.services.vault import hot_float_sweep, vault_bootstrap, vault_status
from channels_app.selectors import journal_balance
from channels_app.services.platform import journal_reconcile
from tests.channels_app.payouts.conftest import new_address

pytestmark = pytest.mark.integration


@pytest.fixture
def interim_vault_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set the vault up with the interim (re-derivable) master key, so the test can try it."""
    real = signers._key_service
    monkeypatch.setattr(
        signers,
        "_key_service",
        lambda name: None if name.startswith("payout_vault") else real(name),
    )


def test_vault_is_two_of_three_with_the_master_key_disabled(
    interim_vault_key: None, platform: str, vault: str, sandbox_url: str
) -> None:
    status = vault_status()
    assert status["status"] == VaultAccount.Status.READY
    assert status["master_disabled"] is True
    assert status["signer_quorum"] == 2
    assert status["signers"] == sorted(signers.payout_signer_addresses())
    assert len(set(status["signers"])) == 3
    # the journal knows what the ledger holds (opening balance minus the two set-up fees)
    assert status["journal_drops"] == status["balance_drops"]
    report = payouts_reconcile()
    assert report.ok, report.differences

    # when the vault's own (set-up) key signs a payment
    row = VaultAccount.objects.get(address=vault)
    before = account_state(vault)
    payment = Payment(account=vault, destination=new_address(), amount="5000000")
    signed = autofill_and_sign(
        payment, JsonRpcClient(sandbox_url), signers.vault_setup_wallet(nonce=row.nonce)
    )
    result = submit(signed, JsonRpcClient(sandbox_url)).result

    # then the ledger refuses it: the master key is disabled, and nothing moved
    assert result["engine_result"] == "tefMASTER_DISABLED"
    assert account_state(vault) == before


def test_bootstrap_is_idempotent(platform: str, vault: str) -> None:
    entries = JournalEntry.objects.count()
    again = vault_bootstrap()
    assert again["address"] == vault
    assert VaultAccount.objects.count() == 1
    assert JournalEntry.objects.count() == entries


def test_sweep_moves_the_float_above_the_cap_to_the_vault(
    settings, platform: str, vault: str
) -> None:
    hot_before = account_state(platform)
    vault_before = account_state(vault)
    assert hot_before is not None and vault_before is not None
    settings.DROPGATE_HOT_FLOAT_CAP_DROPS = hot_before.balance_drops - 40_000_000

    outcome = hot_float_sweep(wait_seconds=10)

    assert outcome.state == "validated", outcome
    assert outcome.amount_drops == 40_000_000
    sweep = Sweep.objects.get()
    hot_after, vault_after = account_state(platform), account_state(vault)
    assert hot_after and vault_after
    assert vault_after.balance_drops == vault_before.balance_drops + 40_000_000
    assert hot_after.balance_drops == hot_before.balance_drops - 40_000_000 - sweep.fee_drops
    assert journal_balance("vault_account", vault) == vault_after.balance_drops
    assert journal_reconcile().ok
    assert payouts_reconcile().ok

    # a second run finds the float at the cap: nothing more is swept
    assert hot_float_sweep(wait_seconds=10).state == "nothing_to_do"
    assert Sweep.objects.count() == 1
    assert sweep.status == TxState.VALIDATED
