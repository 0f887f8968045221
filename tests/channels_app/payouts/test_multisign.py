"""Large payouts: 2 of 3 signers approve in the admin flow; forged approvals are refused."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from xrpl.models.transactions import Payment
from xrpl.models.transactions.transaction import Transaction
from xrpl.transaction import sign
from xrpl.wallet import Wallet

from channels_app.models import JournalEntry
from channels_app.payouts import signers
from channels_app.payouts.exceptions import ApprovalRefused, PayoutNotApprovable
from channels_app.payouts.models import Lane, Payout, PayoutApproval, TxState
from channels_app.payouts.services.payouts import (
    payout_approval_add,
    payout_approve,
    payout_batch_run,
    payout_cancel,
    payouts_resolve,
)
from channels_app.payouts.services.reconcile import payouts_reconcile
from channels_app.payouts.services.transfers import account_state
from channels_app.selectors import journal_balance
from channels_app.services.platform import journal_reconcile
from tests.channels_app.payouts.conftest import Earner, net, new_address

pytestmark = pytest.mark.integration

BIG = 10_000_000  # net 9 XRP, above the 5 XRP multisign threshold of these tests


def people(n: int) -> list[object]:
    User = get_user_model()
    return [User.objects.create_user(f"signer{i}", password="x", is_staff=True) for i in range(n)]


@pytest.fixture
def big_payout(vault: str, earner: Earner, after_holdback: None) -> Payout:
    earner.pay("pub_big", BIG)
    earner.pay("pub_big2", BIG)
    earner.redeem()
    outcome = payout_batch_run(
        destinations={"pub_big": new_address(), "pub_big2": new_address()}, key="big"
    )
    # the vault pays one at a time: the second waits its turn
    assert (outcome.awaiting_approval, outcome.pending) == (1, 1), outcome
    assert Payout.objects.get(publisher_ref="pub_big2").status == TxState.QUEUED
    payout = Payout.objects.get(publisher_ref="pub_big")
    assert payout.lane == Lane.VAULT and payout.source_address == vault
    return payout


def frozen(payout: Payout, vault: str) -> tuple[object, ...]:
    """What must not move while a payout lacks its quorum."""
    payout.refresh_from_db()
    return (
        payout.status,
        payout.tx_hash,
        account_state(vault),
        account_state(payout.destination),
        JournalEntry.objects.filter(kind="payout").count(),
    )


def test_a_large_payout_needs_two_approvals_and_lands(big_payout: Payout, vault: str) -> None:
    first, second = people(2)
    vault_before = account_state(vault)
    assert vault_before is not None

    # one approval: nothing is submitted
    payout = payout_approve(payout_id=big_payout.pk, signer_index=0, approved_by=first)
    assert payout.status == TxState.AWAITING_APPROVAL
    assert account_state(vault) == vault_before
    assert account_state(payout.destination) is None

    # the second signer's approval reaches the quorum: combined, submitted, validated
    payout = payout_approve(
        payout_id=big_payout.pk, signer_index=2, approved_by=second, wait_seconds=10
    )
    assert payout.status == TxState.VALIDATED, payout.engine_result
    paid = account_state(payout.destination)
    assert paid is not None and paid.balance_drops == net(BIG)
    vault_after = account_state(vault)
    assert vault_after is not None
    assert vault_after.balance_drops == vault_before.balance_drops - net(BIG) - payout.fee_drops
    assert journal_balance("publisher_payable", "pub_big") == 0
    assert journal_balance("vault_account", vault) == vault_after.balance_drops
    assert journal_reconcile().ok
    report = payouts_reconcile()
    assert report.ok, report.differences

    # the next vault payout now has its transaction, on the vault's next sequence
    following = Payout.objects.get(publisher_ref="pub_big2")
    assert following.status == TxState.AWAITING_APPROVAL
    assert following.sequence == vault_after.sequence


def test_forged_approvals_are_refused_and_nothing_is_submitted(
    big_payout: Payout, vault: str
) -> None:
    (approver,) = people(1)
    tx = Transaction.from_xrpl(big_payout.tx_json)
    before = frozen(big_payout, vault)

    def refused(**approval: object) -> None:
        with pytest.raises(ApprovalRefused):
            payout_approval_add(payout_id=big_payout.pk, **approval)  # type: ignore[arg-type]
        assert frozen(big_payout, vault) == before
        assert not PayoutApproval.objects.exists()

    def one_signer(signed: Transaction) -> dict[str, str]:
        signer = signed.signers[0]  # type: ignore[index]
        return {
            "signer_address": signer.account,
            "signing_pub_key": signer.signing_pub_key,
            "txn_signature": signer.txn_signature,
        }

    # a valid multisignature over the right transaction, by someone who is not a signer
    outsider = sign(tx, Wallet.create(), multisign=True)
    refused(signer_index=0, **one_signer(outsider))
    # the same, claiming to be signer 1's address
    refused(
        signer_index=0,
        **{**one_signer(outsider), "signer_address": signers.payout_signer_addresses()[0]},
    )
    # a real signer's signature over a different transaction (another destination)
    other = Payment.from_xrpl({**big_payout.tx_json, "Destination": new_address()})
    refused(
        signer_index=1, **one_signer(signers.payout_signer_sign(signer_index=1, transaction=other))
    )
    # signer 2's genuine signature presented as signer 1's
    genuine = one_signer(signers.payout_signer_sign(signer_index=1, transaction=tx))
    refused(signer_index=0, **genuine)
    # garbage
    refused(signer_index=1, **{**genuine, "txn_signature": "00" * 70})

    # a forged row written straight into the database, beside one genuine approval
    payout_approve(payout_id=big_payout.pk, signer_index=0, approved_by=approver)
    forged = one_signer(sign(tx, Wallet.create(), multisign=True))
    PayoutApproval.objects.create(
        payout=big_payout,
        signer_index=2,
        signer_address=signers.payout_signer_addresses()[2],
        signing_pub_key=forged["signing_pub_key"],
        txn_signature=forged["txn_signature"],
    )
    # the resolve pass that would combine a quorum refuses it: still nothing on the ledger
    payouts_resolve()
    big_payout.refresh_from_db()
    assert frozen(big_payout, vault) == before
    assert big_payout.status == TxState.AWAITING_APPROVAL and big_payout.tx_hash is None


def test_one_person_cannot_approve_twice_and_a_cancelled_payout_cannot_be_approved(
    big_payout: Payout, vault: str
) -> None:
    (approver,) = people(1)
    before = frozen(big_payout, vault)
    payout_approve(payout_id=big_payout.pk, signer_index=0, approved_by=approver)
    with pytest.raises(ApprovalRefused) as error:
        payout_approve(payout_id=big_payout.pk, signer_index=1, approved_by=approver)
    assert error.value.code == "approval_duplicate"
    assert PayoutApproval.objects.count() == 1

    payout_cancel(payout_id=big_payout.pk, reason="test")
    with pytest.raises(PayoutNotApprovable):
        payout_approve(payout_id=big_payout.pk, signer_index=1)
    big_payout.refresh_from_db()
    assert big_payout.status == TxState.CANCELLED
    assert frozen(big_payout, vault)[2:] == before[2:]
