"""Least privilege on the ledger: the settlement account under a regular key with its master
key disabled, rotation of that key, and the compromise drill — all on the real sandbox."""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from xrpl.clients import JsonRpcClient
from xrpl.models.transactions import Payment, SetRegularKey
from xrpl.transaction import autofill
from xrpl.wallet import Wallet

from channels_app import clock
from channels_app.keys import services as keys
from channels_app.keys.exceptions import (
    KeyOperationFailed,
    KeyOperationPending,
    LedgerKeyMismatch,
    PayoutsPaused,
)
from channels_app.models import KeyEvent, KeyRecord, KeySignature, SettlementStatus
from channels_app.services.platform import journal_reconcile
from tests.channels_app.keys.helpers import (
    account_root,
    drain_attempt,
    paid_channel,
    settle,
    signing_key_of,
    steal,
    submit_validated,
)
from tests.fixtures.sandbox import GENESIS_ADDRESS

pytestmark = pytest.mark.integration

LSF_DISABLE_MASTER = 0x00100000


def _regular() -> KeyRecord:
    return KeyRecord.objects.get(purpose="settlement_regular", active=True)


def test_hardening_disables_the_master_key_and_settlement_still_works(
    sandbox_url: str, platform: str, caplog
) -> None:
    caplog.set_level(logging.INFO)
    master = KeyRecord.objects.get(purpose="settlement", active=True)
    stolen_master = steal(master)  # as a thief who copied the database and the KEK would

    outcome = keys.settlement_account_harden(actor="test")

    root = account_root(sandbox_url, platform)["account_data"]
    assert root["RegularKey"] == outcome.regular_key_address == _regular().address
    assert int(root["Flags"]) & LSF_DISABLE_MASTER
    assert [t.tx_type for t in outcome.transactions] == ["SetRegularKey", "AccountSet"]
    master.refresh_from_db()
    assert master.destroyed_at is not None and bytes(master.sealed) == b""
    assert keys.platform_address() == platform  # the account (every channel's destination) stays

    # The master key can no longer sign for the account, and nothing moved.
    balance = int(root["Balance"])
    assert drain_attempt(sandbox_url, stolen_master, platform) == "tefMASTER_DISABLED"
    assert int(account_root(sandbox_url, platform)["account_data"]["Balance"]) == balance

    # Settlement goes on, signed by the regular key.
    _, channel = paid_channel(sandbox_url, platform)
    settlement = settle(channel)
    assert settlement.status == SettlementStatus.VALIDATED
    assert signing_key_of(settlement) == _regular().public_key
    assert KeySignature.objects.filter(
        tx_hash=settlement.tx_hash, key_id=_regular().key_id
    ).exists()

    # Idempotent; fees journaled, books still match the ledger; nothing secret was logged.
    again = keys.settlement_account_harden(actor="test")
    assert again.transactions == () and again.regular_key_id == outcome.regular_key_id
    report = journal_reconcile()
    assert report.ok, report.differences
    assert KeyEvent.objects.filter(action="hardened", purpose="settlement").count() == 1
    logged = caplog.text.lower()
    assert stolen_master.secret.hex() not in logged


def test_rotation_replaces_the_regular_key_and_in_flight_work_resolves(
    sandbox_url: str, platform: str
) -> None:
    keys.settlement_account_harden(actor="test")
    old = _regular()
    stolen_old = steal(old)
    assert old.keystore == "hd" and old.derivation_path == "m/44'/144'/1'/0/0"

    # A settlement signed by the old key is still in flight when the rotation starts,
    _, channel = paid_channel(sandbox_url, platform)
    in_flight = settle(channel, wait_seconds=0)
    assert signing_key_of(in_flight) == old.public_key

    out = io.StringIO()
    call_command("keys_rotate", "--purpose", "settlement", "--actor", "ops:alice", stdout=out)
    rotated = json.loads(out.getvalue())

    # and it resolved: the rotation let it validate before the key changed.
    in_flight.refresh_from_db()
    assert in_flight.status == SettlementStatus.VALIDATED
    new = _regular()
    assert rotated["old_key_id"] == old.key_id and rotated["new_key_id"] == new.key_id
    assert new.derivation_path == "m/44'/144'/1'/0/1"
    assert account_root(sandbox_url, platform)["account_data"]["RegularKey"] == new.address
    old.refresh_from_db()
    assert old.state == "retired"

    # The old key is refused by the ledger; the new one settles.
    assert drain_attempt(sandbox_url, stolen_old, platform) == "tefBAD_AUTH"
    _, second = paid_channel(sandbox_url, platform)
    assert settle(second).status == SettlementStatus.VALIDATED
    event = KeyEvent.objects.get(action="rotated", purpose="settlement_regular")
    assert (event.key_id, event.new_key_id, event.actor) == (old.key_id, new.key_id, "ops:alice")
    report = journal_reconcile()
    assert report.ok, report.differences


def test_compromise_drill_revokes_rekeys_pauses_payouts_and_reports(
    sandbox_url: str, platform: str
) -> None:
    keys.settlement_account_harden(actor="test")
    suspect = _regular()
    stolen = steal(suspect)
    _, channel = paid_channel(sandbox_url, platform)
    settled = settle(channel)

    out = io.StringIO()
    call_command(
        "keys_compromise_drill", "--purpose", "settlement", "--actor", "ops:bob", stdout=out
    )
    report = json.loads(out.getvalue())

    assert report["revoked_key_id"] == suspect.key_id
    assert report["new_key_id"] == _regular().key_id != suspect.key_id
    assert report["payouts_paused"] is True
    assert report["ledger_rejects_old_key"] is True
    listed = {item["tx_hash"]: item for item in report["signed"]}
    assert listed[settled.tx_hash]["status"] == "validated"
    assert listed[settled.tx_hash]["balance_drops"] == settled.balance_drops
    suspect.refresh_from_db()
    assert suspect.state == "revoked"

    # The stolen regular key can no longer sign for the account.
    assert drain_attempt(sandbox_url, stolen, platform) == "tefBAD_AUTH"
    # Payouts are paused: no payout signature is given out until an admin resumes.
    assert keys.payouts_paused()
    with pytest.raises(PayoutsPaused):
        keys.payout_signer_sign(
            signer_index=0,
            transaction=Payment(
                account=platform, destination=GENESIS_ADDRESS, amount="1", sequence=1, fee="10"
            ),
        )
    keys.payouts_resume(actor="ops:bob")
    assert not keys.payouts_paused()
    actions = set(KeyEvent.objects.values_list("action", flat=True))
    assert {"compromise_drill", "revoked", "payouts_paused", "payouts_resumed"} <= actions
    # Re-keyed: settlement works with the new key.
    _, again = paid_channel(sandbox_url, platform)
    assert signing_key_of(settle(again)) == _regular().public_key


def test_a_refused_rotation_changes_nothing(sandbox_url: str, platform: str, monkeypatch) -> None:
    keys.settlement_account_harden(actor="test")
    before = _regular()
    # Given a ledger that refuses the SetRegularKey (a zero fee is below the minimum),
    from channels_app import ledger as ledger_module

    real_autofill = ledger_module.transaction_autofill

    def cheap(tx):
        filled = real_autofill(tx)
        return type(filled).from_dict({**filled.to_dict(), "fee": "0"})

    with monkeypatch.context() as patch:
        patch.setattr(ledger_module, "transaction_autofill", cheap)
        with pytest.raises(KeyOperationFailed):
            keys.settlement_key_rotate(actor="test")
    # then the old key stays active, on the ledger and here, and the failed key is recorded.
    assert _regular().key_id == before.key_id
    assert account_root(sandbox_url, platform)["account_data"]["RegularKey"] == before.address
    assert KeyEvent.objects.filter(action="rotation_failed").count() == 1
    assert not KeyRecord.objects.filter(
        purpose="settlement_regular", active=False, retired_at__isnull=True
    ).exists()


def test_the_hsm_holds_the_regular_key_and_rotation_destroys_the_old_one(
    hsm, sandbox_url: str, platform: str, settings
) -> None:
    outcome = keys.settlement_account_harden(actor="test")
    regular = _regular()
    assert regular.keystore == "pkcs11" and regular.algorithm == "secp256k1"
    assert outcome.regular_key_address == regular.address
    assert hsm.key_attributes(key_id=regular.key_id)["extractable"] is False

    _, channel = paid_channel(sandbox_url, platform)
    settlement = settle(channel)
    assert settlement.status == SettlementStatus.VALIDATED
    assert signing_key_of(settlement) == regular.public_key

    # The master was made in the HSM too, and is gone from it after hardening.
    master = KeyRecord.objects.get(purpose="settlement")
    assert master.keystore == "pkcs11" and master.destroyed_at is not None

    # The scheduled rotation replaces the key once it is past its age.
    settings.DROPGATE_SETTLEMENT_KEY_MAX_AGE_DAYS = 90
    assert keys.keys_rotate_due() == []
    with clock.override(timedelta(days=91)):
        assert [o.old_key_id for o in keys.keys_rotate_due()] == [regular.key_id]
    from channels_app.keys.exceptions import KeystoreUnavailable

    with pytest.raises(KeystoreUnavailable):
        hsm.key_attributes(key_id=regular.key_id)  # gone from the token
    _, second = paid_channel(sandbox_url, platform)
    assert settle(second).status == SettlementStatus.VALIDATED


def test_a_rotation_the_ledger_has_not_decided_is_adopted_later(
    sandbox_url: str, platform: str, settings, monkeypatch
) -> None:
    keys.settlement_account_harden(actor="test")
    before = _regular()
    # Given an outage right after submitting (no answer about the transaction in time),
    from channels_app import ledger as ledger_module

    settings.DROPGATE_KEY_LEDGER_WAIT_SECONDS = 0
    with monkeypatch.context() as patch:
        patch.setattr(ledger_module, "transaction_status", lambda tx_hash: None)
        with pytest.raises(KeyOperationPending):
            keys.settlement_key_rotate(actor="test")
    pending = KeyRecord.objects.get(purpose="settlement_regular", active=False, retired_at=None)
    assert _regular().key_id == before.key_id  # still signing with the old key meanwhile

    # when the ledger has taken it, the next sync adopts the new key and retires the old.
    settings.DROPGATE_KEY_LEDGER_WAIT_SECONDS = 15
    deadline = time.monotonic() + 10
    while account_root(sandbox_url, platform)["account_data"].get("RegularKey") != pending.address:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    status = keys.settlement_regular_key_sync(actor="test")
    assert status.in_sync and status.our_regular_key_id == pending.key_id
    before.refresh_from_db()
    assert before.state == "retired"
    # and a second rotation is possible again.
    assert keys.settlement_key_rotate(actor="test").old_key_id == pending.key_id


def test_drill_after_the_thief_moved_the_regular_key_pauses_payouts_and_escalates(
    sandbox_url: str, platform: str
) -> None:
    keys.settlement_account_harden(actor="test")
    stolen = steal(_regular())
    # Given a thief who used the stolen regular key to install their own,
    thief = Wallet.create()
    tx = autofill(
        SetRegularKey(account=platform, regular_key=thief.classic_address),
        JsonRpcClient(sandbox_url),
    )
    assert submit_validated(sandbox_url, stolen.sign(tx)) == "tesSUCCESS"

    # the drill still pauses payouts first, then refuses to pretend it re-keyed.
    with pytest.raises(LedgerKeyMismatch):
        keys.key_compromise_drill(purpose="settlement", actor="ops:dave")
    assert keys.payouts_paused()
    assert not keys.settlement_key_status().in_sync
