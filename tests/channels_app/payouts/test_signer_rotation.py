"""Rotating a vault signer: a new key, a SignerListSet multisigned by the current quorum, the
old key retired; approvals by the retired signer are voided and re-collected, never looped."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from xrpl.models.transactions.transaction import Transaction
from xrpl.transaction import multisign

from channels_app import clock
from channels_app.keys import services as keys
from channels_app.keys.exceptions import KeyUnavailable
from channels_app.models import JournalEntry, KeyEvent, KeyRecord
from channels_app.payouts import signers
from channels_app.payouts.exceptions import ApprovalRefused, VaultQuorumUnavailable
from channels_app.payouts.models import Payout, PayoutApproval, TxState, VaultAccount
from channels_app.payouts.services.payouts import (
    payout_approval_add,
    payout_approve,
    payout_batch_run,
    payouts_resolve,
)
from channels_app.payouts.services.reconcile import payouts_reconcile
from channels_app.payouts.services.signer_rotation import vault_signer_rotate
from channels_app.payouts.services.transfers import account_state, signed_fields
from channels_app.payouts.services.vault import signer_list_read, vault_status
from channels_app.selectors import journal_balance
from channels_app.services.platform import journal_reconcile
from tests.channels_app.payouts.conftest import Earner, net, new_address
from tests.fixtures.sandbox import sandbox_rpc

pytestmark = pytest.mark.integration

BIG = 10_000_000  # net 9 XRP, above the 5 XRP multisign threshold of these tests
Purpose = KeyRecord.Purpose


def ledger_signers(vault: str) -> list[str]:
    found = signer_list_read(vault)
    assert found is not None
    assert int(found["SignerQuorum"]) == 2
    return sorted(e["SignerEntry"]["Account"] for e in found["SignerEntries"])


def people(n: int) -> list[object]:
    User = get_user_model()
    return [User.objects.create_user(f"approver{i}", password="x", is_staff=True) for i in range(n)]


def signer_key(slot: int) -> KeyRecord:
    return KeyRecord.objects.get(purpose=Purpose.PAYOUT_SIGNER, slot=slot, active=True)


def one_signer(signed: Transaction) -> dict[str, str]:
    signer = signed.signers[0]  # type: ignore[index]
    return {
        "signer_address": signer.account,
        "signing_pub_key": signer.signing_pub_key,
        "txn_signature": signer.txn_signature,
    }


@pytest.fixture
def big_payout(vault: str, earner: Earner, after_holdback: None) -> Payout:
    earner.pay("pub_big", BIG)
    earner.redeem()
    outcome = payout_batch_run(destinations={"pub_big": new_address()}, key="big")
    assert outcome.awaiting_approval == 1, outcome
    return Payout.objects.get(publisher_ref="pub_big")


def test_rotation_replaces_the_signer_on_the_ledger_and_the_new_list_pays(
    big_payout: Payout, vault: str
) -> None:
    # given the vault's 2-of-3 list, master key disabled
    before = ledger_signers(vault)
    old = signer_key(0)
    assert old.address in before
    assert vault_status()["master_disabled"] is True
    last_event = max(KeyEvent.objects.values_list("pk", flat=True), default=0)

    # when signer 1 is rotated
    outcome = vault_signer_rotate(slot=0, reason="scheduled", by="test")

    # then the ledger's SignerList names the new key instead of the old one, quorum kept
    after = ledger_signers(vault)
    assert outcome.new_address in after and old.address not in after
    assert sorted(set(before) - {old.address}) == sorted(set(after) - {outcome.new_address})
    assert tuple(after) == outcome.ledger_signers and outcome.quorum == 2
    assert vault_status()["master_disabled"] is True
    row = VaultAccount.objects.get(address=vault)
    assert row.status == VaultAccount.Status.READY
    assert row.signer_addresses[0] == outcome.new_address
    assert row.setup_txs[-1] == outcome.tx_hash
    # the old key is retired and signs nothing any more
    old.refresh_from_db()
    new = signer_key(0)
    assert old.state == "retired" and new.key_id == outcome.new_key_id
    assert signers.payout_signer_addresses()[0] == new.address
    with pytest.raises(KeyUnavailable):
        keys.transaction_multisign(old, Transaction.from_xrpl(big_payout.tx_json))
    # each step is audited
    steps = [
        (e.action, e.detail.get("step", ""))
        for e in KeyEvent.objects.filter(purpose=Purpose.PAYOUT_SIGNER, pk__gt=last_event).order_by(
            "pk"
        )
    ]
    assert steps == [
        ("rotated", "vault_held"),
        ("created", ""),
        ("rotated", "new_key_pending"),
        ("rotated", "signer_list_set_submitted"),
        ("activated", ""),
        ("rotated", "old_key_retired"),
    ]
    retired = KeyEvent.objects.get(action="rotated", detail__step="old_key_retired")
    assert (retired.key_id, retired.new_key_id) == (old.key_id, new.key_id)
    assert retired.detail["tx"] == outcome.tx_hash
    # the SignerListSet's fee is journaled: the vault's journal still matches the ledger
    state = account_state(vault)
    assert state is not None
    assert journal_balance("vault_account", vault) == state.balance_drops
    assert JournalEntry.objects.filter(kind="network_fee", reference=outcome.tx_hash).exists()
    assert journal_reconcile().ok
    report = payouts_reconcile()
    assert report.ok, report.differences

    # and a payout above the multisign threshold validates with the new signer and another
    big_payout.refresh_from_db()
    assert big_payout.status == TxState.AWAITING_APPROVAL
    assert big_payout.sequence == state.sequence  # a fresh transaction after the SignerListSet
    first, second = people(2)
    payout_approve(payout_id=big_payout.pk, signer_index=0, approved_by=first)
    paid = payout_approve(
        payout_id=big_payout.pk, signer_index=2, approved_by=second, wait_seconds=10
    )
    assert paid.status == TxState.VALIDATED, paid.engine_result
    destination = account_state(paid.destination)
    assert destination is not None and destination.balance_drops == net(BIG)
    assert payouts_reconcile().ok


def test_a_payout_signed_by_the_retired_signer_is_refused_marked_and_re_collected(
    big_payout: Payout, vault: str, sandbox_url: str
) -> None:
    # given signer 1 approved the pending payout, and (say, pre-signing) signers 1 and 2 also
    # signed the same payment at the vault's next Sequence
    first, second, third = people(3)
    payout_approve(payout_id=big_payout.pk, signer_index=0, approved_by=first)
    old = signer_key(0)
    next_tx = {**big_payout.tx_json, "Sequence": big_payout.sequence + 1}
    presigned = [
        signers.payout_signer_sign(signer_index=i, transaction=Transaction.from_xrpl(next_tx))
        for i in (0, 1)
    ]

    # when signer 1 is rotated
    outcome = vault_signer_rotate(slot=0, reason="compromise response", by="test")

    # then the approval collected before is voided, and the payout awaits a fresh quorum over
    # a new transaction (the SignerListSet took the old Sequence)
    voided = PayoutApproval.objects.get(payout=big_payout)
    assert voided.voided_at is not None and "rotation" in voided.voided_reason
    big_payout.refresh_from_db()
    assert big_payout.status == TxState.AWAITING_APPROVAL
    assert big_payout.sequence == next_tx["Sequence"]
    assert presigned[0].signers[0].account == old.address  # type: ignore[index]
    assert old.address not in ledger_signers(vault) and outcome.new_address != old.address
    # the retired signer cannot approve through the platform
    with pytest.raises(ApprovalRefused):
        payout_approval_add(payout_id=big_payout.pk, signer_index=0, **one_signer(presigned[0]))

    # and the ledger itself refuses a multisigned payment carrying the retired signer
    vault_before = account_state(vault)
    combined = multisign(Transaction.from_xrpl(next_tx), presigned)
    answer = sandbox_rpc(sandbox_url, "submit_multisigned", tx_json=combined.to_xrpl())
    assert answer["engine_result"] == "tefBAD_SIGNATURE", answer
    assert account_state(vault) == vault_before

    # when a stale process had combined that very transaction onto the payout
    for index, signed in ((0, presigned[0]), (1, presigned[1])):
        PayoutApproval.objects.create(
            payout=big_payout, signer_index=index, approved_by=None, **one_signer(signed)
        )
    Payout.objects.filter(pk=big_payout.pk).update(
        status=TxState.PREPARED, tx_json=next_tx, **signed_fields(combined)
    )
    refused_hash = combined.get_hash()
    payouts_before = JournalEntry.objects.filter(kind="payout").count()
    fees_before = JournalEntry.objects.filter(kind="network_fee").count()
    payouts_resolve(wait_seconds=5)

    # then the ledger refused it, the platform marked it and re-collects: a new transaction,
    # the stale approvals voided, nothing paid and nothing journaled
    big_payout.refresh_from_db()
    assert big_payout.status == TxState.AWAITING_APPROVAL
    assert [a["tx_hash"] for a in big_payout.failed_attempts] == [refused_hash]
    assert big_payout.failed_attempts[0]["engine_result"] == "tefBAD_SIGNATURE"
    assert big_payout.tx_hash is None and big_payout.sequence == next_tx["Sequence"]
    assert not PayoutApproval.objects.filter(payout=big_payout, voided_at__isnull=True).exists()
    assert account_state(vault) == vault_before
    assert account_state(big_payout.destination) is None
    assert JournalEntry.objects.filter(kind="payout").count() == payouts_before
    assert JournalEntry.objects.filter(kind="network_fee").count() == fees_before
    # a second pass changes nothing: it does not loop on the refused transaction
    payouts_resolve(wait_seconds=1)
    big_payout.refresh_from_db()
    assert big_payout.status == TxState.AWAITING_APPROVAL
    assert len(big_payout.failed_attempts) == 1

    # when the new signer 1 and signer 3 approve, it is paid once
    payout_approve(payout_id=big_payout.pk, signer_index=0, approved_by=second)
    paid = payout_approve(
        payout_id=big_payout.pk, signer_index=2, approved_by=third, wait_seconds=10
    )
    assert paid.status == TxState.VALIDATED, paid.engine_result
    destination = account_state(paid.destination)
    assert destination is not None and destination.balance_drops == net(BIG)
    assert JournalEntry.objects.filter(kind="payout").count() == payouts_before + 1
    assert journal_balance("publisher_payable", "pub_big") == 0
    assert outcome.new_address in paid.approvals.filter(voided_at__isnull=True).values_list(
        "signer_address", flat=True
    )
    assert journal_reconcile().ok
    report = payouts_reconcile()
    assert report.ok, report.differences


def test_rotation_is_refused_without_a_quorum_of_usable_signers(platform: str, vault: str) -> None:
    # given signers 2 and 3 lost (revoked keys): only one current signer can sign
    before = ledger_signers(vault)
    keys_before = KeyRecord.objects.filter(purpose=Purpose.PAYOUT_SIGNER).count()
    KeyRecord.objects.filter(purpose=Purpose.PAYOUT_SIGNER, slot__in=(1, 2)).update(
        revoked_at=clock.now()
    )

    # when signer 1 is rotated, it is refused and nothing changed
    with pytest.raises(VaultQuorumUnavailable):
        vault_signer_rotate(slot=0, reason="scheduled", by="test")
    assert ledger_signers(vault) == before
    assert VaultAccount.objects.get(address=vault).status == VaultAccount.Status.READY
    assert KeyRecord.objects.filter(purpose=Purpose.PAYOUT_SIGNER).count() == keys_before
    refusal = KeyEvent.objects.get(action="rotation_failed", detail__step="refused_no_quorum")
    assert refusal.detail["usable_slots"] == [0]


def test_the_command_rotates_a_compromised_signer_with_the_other_two(
    platform: str, vault: str
) -> None:
    # given signer 3's key is suspected (revoked): signers 1 and 2 still make the quorum
    suspect = signer_key(2)
    KeyRecord.objects.filter(pk=suspect.pk).update(revoked_at=clock.now() - timedelta(seconds=1))
    out = io.StringIO()

    call_command("vault_signer_rotate", "--slot", "3", "--reason", "compromise", stdout=out)

    result = json.loads(out.getvalue())
    after = ledger_signers(vault)
    assert result["slot"] == 3 and result["new_address"] in after
    assert suspect.address not in after
    assert result["ledger_signers"] == after
    assert signer_key(2).address == result["new_address"]
    submitted = KeyEvent.objects.get(detail__step="vault_held")
    assert submitted.detail["cosigners"] == [0, 1]
