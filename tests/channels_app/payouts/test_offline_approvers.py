"""The vault in the approvers' custody: 2 of 3 approvers sign offline with clients/approver (run
as a subprocess, keys in their own directories); the server holds none of their keys.

Against the sandbox ledger: migration of the SignerList from server keys to the approvers; a
large payout paid with two offline signatures and not with one; forged, foreign and
different-blob signatures refused with stable codes and nothing moved; the server's every key,
as a thief would hold it, cannot move vault funds; requests expire; replacing an approver is a
SignerListSet the current approvers sign.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from xrpl.core.addresscodec import decode_classic_address
from xrpl.core.binarycodec import encode, encode_for_multisigning
from xrpl.core.keypairs import derive_classic_address
from xrpl.models.transactions import Payment

from channels_app import ledger
from channels_app.exceptions import DropgateError
from channels_app.keys.crypto import software_sign
from channels_app.models import JournalEntry, KeyEvent, KeyRecord
from channels_app.payouts.exceptions import ApproverRejected
from channels_app.payouts.models import (
    Payout,
    PayoutApproval,
    SignerListChange,
    SignerListSignature,
    TxState,
    VaultAccount,
    VaultApprover,
)
from channels_app.payouts.services.approvers import (
    approver_proof_message,
    signing_requests_open,
    vault_approver_register,
    vault_approver_replace,
    vault_custody_migrate,
)
from channels_app.payouts.services.payouts import payout_approve, payout_batch_run
from channels_app.payouts.services.reconcile import payouts_reconcile
from channels_app.payouts.services.transfers import account_state
from channels_app.payouts.services.vault import signer_list_read
from channels_app.selectors import journal_balance
from channels_app.services.platform import journal_reconcile
from tests.admin_support import admin_client, staff_user
from tests.channels_app.keys.helpers import steal
from tests.channels_app.payouts.conftest import Earner, net, new_address
from tests.channels_app.payouts.offline import Approver, cli, export, make_desk, register, upload
from tests.fixtures.sandbox import sandbox_rpc

pytestmark = pytest.mark.integration

BIG = 10_000_000  # net 9 XRP, above the 5 XRP multisign threshold of these tests


def ledger_signers(vault: str) -> list[str]:
    found = signer_list_read(vault)
    assert found is not None and int(found["SignerQuorum"]) == 2
    return sorted(e["SignerEntry"]["Account"] for e in found["SignerEntries"])


@pytest.fixture(scope="module")
def desks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Approver]:
    """Each approver's offline desk: a key made by the CLI, never read by the server."""
    root = tmp_path_factory.mktemp("desks")
    names = ("alice", "bob", "carol", "dave", "stranger", "mallory", "other")
    return {name: make_desk(root, name) for name in names}


@pytest.fixture
def approvers(desks: dict[str, Approver], vault: str) -> list[Approver]:
    return [register(desks[name]) for name in ("alice", "bob", "carol")]


@pytest.fixture
def offline_vault(vault: str, approvers: list[Approver]) -> str:
    vault_custody_migrate(by="test")
    return vault


@pytest.fixture
def big_payout(offline_vault: str, earner: Earner, after_holdback: None) -> Payout:
    earner.pay("pub_big", BIG)
    earner.redeem()
    outcome = payout_batch_run(destinations={"pub_big": new_address()}, key="big")
    assert outcome.awaiting_approval == 1, outcome
    return Payout.objects.get(publisher_ref="pub_big")


def payout_ref(payout: Payout) -> str:
    payout.refresh_from_db()
    return f"payout-{payout.pk}-{payout.sequence}-{payout.last_ledger_sequence}"


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


def refused_with(code: str, signature: Path) -> None:
    with pytest.raises(DropgateError) as error:
        upload(signature)
    assert error.value.code == code, error.value.message


# --- Migration -------------------------------------------------------------------------------


def test_migration_hands_the_signer_list_to_the_approvers_and_retires_the_server_keys(
    vault: str, approvers: list[Approver]
) -> None:
    # given the vault under the server's 3 signer keys
    server_signers = ledger_signers(vault)
    assert all(
        VaultApprover.objects.get(account=a.account).status == "registered" for a in approvers
    )

    # when its custody moves to the approvers
    result = vault_custody_migrate(by="test")

    # then the ledger's list names exactly the approvers' own accounts, quorum 2, master disabled
    accounts = sorted(a.account for a in approvers)
    assert ledger_signers(vault) == accounts == sorted(result["signers"])
    assert not set(server_signers) & set(accounts)
    row = VaultAccount.objects.get(address=vault)
    assert (row.custody, row.status) == ("approvers", "ready")
    assert row.setup_txs[-1] == result["tx_hash"]
    state = account_state(vault)
    assert state is not None and state.flags & 0x00100000
    assert all(a.row().status == "active" for a in approvers)
    # the server's signer keys are retired, audited, and sign nothing any more
    signer_keys = KeyRecord.objects.filter(purpose="payout_signer")
    assert signer_keys.exists() and not signer_keys.filter(retired_at__isnull=True).exists()
    assert KeyEvent.objects.filter(detail__step="retired_custody_moved_to_approvers").count() == 3
    # the SignerListSet's fee is journaled: books and ledger agree
    assert journal_balance("vault_account", vault) == state.balance_drops
    assert JournalEntry.objects.filter(kind="network_fee", reference=result["tx_hash"]).exists()
    assert journal_reconcile().ok
    assert payouts_reconcile().ok


def test_registration_needs_proof_of_possession_and_never_takes_a_platform_key(
    desks: dict[str, Approver], platform: str
) -> None:
    mallory, other = desks["mallory"], desks["other"]
    proof = other.registration["proof"]

    # another key's proof, a garbage key, and a key the platform holds are all refused
    for public_key, given, code in (
        (mallory.public_key, proof, "approver_proof_invalid"),
        ("ED" + "00" * 31, proof, "approver_key_malformed"),
        (KeyRecord.objects.get(purpose="settlement").public_key, proof, "approver_proof_invalid"),
    ):
        with pytest.raises(ApproverRejected) as error:
            vault_approver_register(name="x", public_key=public_key, proof=given)
        assert error.value.code == code
    assert not VaultApprover.objects.exists()

    # a platform key, even with its own valid proof (a thief with the server could make one)
    settlement = KeyRecord.objects.filter(purpose="settlement").first()
    assert settlement is not None
    thief = steal(settlement)
    account = derive_classic_address(settlement.public_key)
    message = approver_proof_message(account=account, public_key=settlement.public_key)
    platform_proof = software_sign(thief.secret, thief.algorithm, message).hex()
    with pytest.raises(ApproverRejected) as error:
        vault_approver_register(name="x", public_key=settlement.public_key, proof=platform_proof)
    assert error.value.code == "approver_key_is_platform"
    assert not VaultApprover.objects.exists()

    # the key's own proof registers it, once
    registration = other.registration
    vault_approver_register(name="o", public_key=other.public_key, proof=registration["proof"])
    with pytest.raises(ApproverRejected) as error:
        vault_approver_register(name="o", public_key=other.public_key, proof=registration["proof"])
    assert error.value.code == "approver_exists"
    assert VaultApprover.objects.get().account == derive_classic_address(other.public_key)


# --- Payouts ---------------------------------------------------------------------------------


def test_two_approvers_signing_offline_pay_a_large_payout_and_one_does_not(
    big_payout: Payout, offline_vault: str, approvers: list[Approver], tmp_path: Path
) -> None:
    alice, _bob, carol = approvers
    ref = payout_ref(big_payout)
    assert [r.ref for r in signing_requests_open()] == [ref]
    # the request is fixed: Sequence, Fee and LastLedgerSequence, unsigned
    tx = big_payout.tx_json
    assert tx["SigningPubKey"] == "" and tx["LastLedgerSequence"] > tx["Sequence"] > 0
    # downloaded through the management command
    request_file = tmp_path / "request.json"
    call_command("vault_request_export", ref, "--out", str(request_file), stdout=io.StringIO())
    shown = cli("show", str(request_file), "--expect-vault", offline_vault).stdout
    assert big_payout.destination in shown and str(big_payout.amount_drops) in shown
    vault_before = account_state(offline_vault)
    before = frozen(big_payout, offline_vault)

    # when one approver signs offline and uploads: nothing is submitted
    out = io.StringIO()
    call_command("vault_signature_submit", str(alice.sign(request_file)), stdout=out)
    first = json.loads(out.getvalue())
    assert (first["signatures"], first["quorum"], first["status"]) == (1, 2, "awaiting_approval")
    assert frozen(big_payout, offline_vault) == before
    # the same approver again is refused (one signature per approver per request)
    refused_with("approval_duplicate", alice.sign(request_file))

    # when a second approver signs: assembled, submitted, validated, journaled
    outcome = upload(carol.sign(request_file), wait_seconds=10)
    assert outcome.status == TxState.VALIDATED, outcome
    big_payout.refresh_from_db()
    paid = account_state(big_payout.destination)
    assert paid is not None and paid.balance_drops == net(BIG)
    vault_after = account_state(offline_vault)
    assert vault_before is not None and vault_after is not None
    assert vault_after.balance_drops == (
        vault_before.balance_drops - net(BIG) - big_payout.fee_drops
    )
    # the ledger holds the signatures in account order, from the approvers' own keys
    found = sandbox_rpc(ledger.client().url, "tx", transaction=big_payout.tx_hash)
    on_ledger = found.get("tx_json", found)
    signers = [s["Signer"]["Account"] for s in on_ledger["Signers"]]
    assert sorted(signers) == sorted([alice.account, carol.account])
    assert {s["Signer"]["SigningPubKey"] for s in on_ledger["Signers"]} == {
        alice.public_key,
        carol.public_key,
    }
    approvals = PayoutApproval.objects.filter(payout=big_payout)
    assert {a.approver_id for a in approvals} == {alice.row().pk, carol.row().pk}
    assert journal_balance("publisher_payable", "pub_big") == 0
    assert journal_balance("vault_account", offline_vault) == vault_after.balance_drops
    assert journal_reconcile().ok
    report = payouts_reconcile()
    assert report.ok, report.differences


def test_signatures_over_another_blob_foreign_keys_and_garbage_are_refused(
    desks: dict[str, Approver],
    big_payout: Payout,
    offline_vault: str,
    approvers: list[Approver],
    tmp_path: Path,
) -> None:
    alice, bob, _carol = approvers
    ref = payout_ref(big_payout)
    request_file = export(ref, tmp_path)
    request = json.loads(request_file.read_text())
    before = frozen(big_payout, offline_vault)

    # a tampered request (another destination) whose digest was not fixed: the CLI refuses
    tampered_tx = {**big_payout.tx_json, "Destination": new_address()}
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps({**request, "tx_blob": encode(tampered_tx)}))
    assert bob.sign(tampered, check=False) == Path("")
    # the same with its digest fixed: the CLI signs what it shows, the server refuses it
    blob = encode(tampered_tx)
    tampered.write_text(
        json.dumps(
            {
                **request,
                "tx_blob": blob,
                "blob_sha256": hashlib.sha256(bytes.fromhex(blob)).hexdigest(),
            }
        )
    )
    other_blob = bob.sign(tampered)
    refused_with("approval_blob_mismatch", other_blob)
    # and with the digest in the signature file edited to the request's: the signature fails
    edited = json.loads(other_blob.read_text())
    edited["blob_sha256"] = request["blob_sha256"]
    other_blob.write_text(json.dumps(edited))
    refused_with("approval_signature_invalid", other_blob)

    # a key outside the SignerList (even a registered one): its own CLI will not sign; with the
    # request's list of signers edited (it is outside the blob), the server refuses it
    stranger = register(desks["stranger"])
    assert stranger.sign(request_file, check=False) == Path("")
    widened = tmp_path / "widened.json"
    widened.write_text(json.dumps({**request, "signers": [*request["signers"], stranger.account]}))
    refused_with("approval_not_a_signer", stranger.sign(widened))
    borrowed = json.loads(stranger.sign(widened).read_text())
    borrowed["account"] = alice.account
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(borrowed))
    refused_with("approval_not_a_signer", forged)
    # garbage and an unknown request
    genuine = json.loads(alice.sign(request_file).read_text())
    forged.write_text(json.dumps({**genuine, "txn_signature": "00" * 70}))
    refused_with("approval_signature_invalid", forged)
    forged.write_text(json.dumps({**genuine, "txn_signature": "not hex"}))
    refused_with("signature_document_malformed", forged)
    forged.write_text(json.dumps({**genuine, "ref": f"payout-{big_payout.pk + 99}-1-1"}))
    refused_with("vault_request_not_found", forged)

    # nothing was stored or moved
    assert not PayoutApproval.objects.exists()
    assert frozen(big_payout, offline_vault) == before


def test_the_server_alone_cannot_move_vault_funds(
    big_payout: Payout, offline_vault: str, sandbox_url: str
) -> None:
    # the platform's own approve door is shut: its keys are not the vault's signers
    for index in range(3):
        with pytest.raises(DropgateError) as error:
            payout_approve(payout_id=big_payout.pk, signer_index=index)
        assert error.value.code == "vault_offline_custody"
    assert not PayoutApproval.objects.exists()

    # a thief with the whole server (database, KEK, HD seed) holds every key the platform has
    # ever made, retired ones included; multisigning the vault's payment with all of them
    stolen = [
        steal(record)
        for record in KeyRecord.objects.exclude(purpose__in=("access_token", "dispute_evidence"))
        if record.address and (record.keystore == "hd" or bytes(record.sealed))
    ]
    assert any(
        s.public_key in {r.public_key for r in KeyRecord.objects.filter(purpose="payout_signer")}
        for s in stolen
    )
    tx_json = {**big_payout.tx_json, "Fee": str(10 * (1 + len(stolen)))}
    entries = []
    for key in stolen:
        account = derive_classic_address(key.public_key)
        message = bytes.fromhex(encode_for_multisigning(tx_json, account))
        entries.append(
            {
                "Signer": {
                    "Account": account,
                    "SigningPubKey": key.public_key,
                    "TxnSignature": software_sign(key.secret, key.algorithm, message).hex().upper(),
                }
            }
        )
    entries.sort(key=lambda e: decode_classic_address(e["Signer"]["Account"]))
    vault_before = account_state(offline_vault)
    answer = sandbox_rpc(sandbox_url, "submit_multisigned", tx_json={**tx_json, "Signers": entries})
    assert answer.get("engine_result") == "tefBAD_SIGNATURE", answer
    # and each of them single-signing a payment from the vault: refused too
    for key in stolen:
        single = Payment.from_xrpl({**tx_json, "Fee": "12"})
        result = sandbox_rpc(sandbox_url, "submit", tx_blob=key.sign(single))["engine_result"]
        assert result in ("tefBAD_AUTH", "tefMASTER_DISABLED"), result
    assert account_state(offline_vault) == vault_before
    assert account_state(big_payout.destination) is None


def test_a_request_expires_with_its_last_ledger_and_is_prepared_again(
    settings,
    offline_vault: str,
    approvers: list[Approver],
    earner: Earner,
    tmp_path: Path,
    after_holdback: None,
) -> None:
    settings.DROPGATE_VAULT_REQUEST_LEDGERS = 3
    earner.pay("pub_big", BIG)
    earner.redeem()
    payout_batch_run(destinations={"pub_big": new_address()}, key="big")
    payout = Payout.objects.get(publisher_ref="pub_big")
    old_ref = payout_ref(payout)
    request_file = export(old_ref, tmp_path)
    alice, bob, _ = approvers
    signed = alice.sign(request_file)
    deadline = time.monotonic() + 10
    while ledger.validated_ledger().ledger_index < int(payout.last_ledger_sequence or 0):
        assert time.monotonic() < deadline
        time.sleep(0.1)

    # then the signature of the expired request is refused, and a fresh request waits
    refused_with("vault_request_expired", signed)
    payout.refresh_from_db()
    assert payout.status == TxState.AWAITING_APPROVAL and payout_ref(payout) != old_ref
    assert not PayoutApproval.objects.filter(voided_at__isnull=True).exists()
    # the fresh request pays with two signatures
    settings.DROPGATE_VAULT_REQUEST_LEDGERS = 200
    fresh = payout_ref(payout)
    if ledger.validated_ledger().ledger_index >= int(payout.last_ledger_sequence or 0):
        pytest.skip("the sandbox closed ledgers faster than the test could sign")
    request_file = export(fresh, tmp_path)
    try:
        upload(alice.sign(request_file))
        done = upload(bob.sign(request_file), wait_seconds=10)
    except DropgateError as exc:  # the 3-ledger window closed while signing: expected rarely
        assert exc.code == "vault_request_expired"
        return
    assert done.status in (TxState.VALIDATED, TxState.FAILED, TxState.AWAITING_APPROVAL)


# --- Rotation --------------------------------------------------------------------------------


def test_replacing_an_approver_needs_the_current_quorum_and_the_new_list_pays(
    desks: dict[str, Approver],
    big_payout: Payout,
    offline_vault: str,
    approvers: list[Approver],
    tmp_path: Path,
) -> None:
    alice, bob, carol = approvers
    dave = register(desks["dave"])
    old_request = export(payout_ref(big_payout), tmp_path)
    before = ledger_signers(offline_vault)

    # when alice's replacement by dave is prepared
    request = vault_approver_replace(retiring=alice.account, joining=dave.account, by="test")
    request_file = export(request.ref, tmp_path)
    assert request.kind == "signer_list" and dave.account in cli("show", str(request_file)).stdout
    # the vault lane is held: the payout collecting approvals went back to the queue
    big_payout.refresh_from_db()
    assert big_payout.status == TxState.QUEUED
    assert VaultAccount.objects.get(address=offline_vault).status == "rotating"

    # the joining key cannot sign for the current list; one current approver is not enough
    assert dave.sign(request_file, check=False) == Path("")
    listed = json.loads(request_file.read_text())
    widened = tmp_path / "widened.json"
    widened.write_text(json.dumps({**listed, "signers": [*listed["signers"], dave.account]}))
    refused_with("approval_not_a_signer", dave.sign(widened))
    # (bob's comes in through the admin's signing page, as an approver with a second factor)
    client = admin_client(
        staff_user("bob", perms=["payouts.approve_payout", "paywall.view_all_publishers"])
    )
    page = client.get(reverse("admin:payouts_vaultaccount_signing"))
    assert page.status_code == 200 and request.ref.encode() in page.content
    downloaded = client.get(
        reverse("admin:payouts_vaultaccount_signing_download", args=[request.ref])
    )
    assert downloaded.status_code == 200 and downloaded.json()["blob_sha256"] == request.blob_sha256
    via_admin = tmp_path / f"{request.ref}-admin.json"
    via_admin.write_bytes(downloaded.content)
    with bob.sign(via_admin).open("rb") as handle:
        answer = client.post(
            reverse("admin:payouts_vaultaccount_signing"), {"signature": handle}, follow=True
        )
    assert b"1 of 2; now collecting" in answer.content, answer.content[-2000:]
    change = SignerListChange.objects.get(pk=int(request.ref.split("-")[1]))
    assert change.status == SignerListChange.Status.COLLECTING
    assert [s.uploaded_by for s in change.signatures.all()] == ["bob"]
    assert ledger_signers(offline_vault) == before

    # a second current approver: the SignerListSet is submitted and validated
    done = upload(carol.sign(request_file), wait_seconds=10)
    assert done.status == SignerListChange.Status.VALIDATED, done
    after = ledger_signers(offline_vault)
    assert after == sorted([bob.account, carol.account, dave.account])
    assert (alice.row().status, dave.row().status) == ("retired", "active")
    row = VaultAccount.objects.get(address=offline_vault)
    assert row.status == "ready" and sorted(row.signer_addresses) == after
    assert (
        SignerListSignature.objects.filter(change__pk=int(request.ref.split("-")[1])).count() == 2
    )
    state = account_state(offline_vault)
    assert (
        state is not None and journal_balance("vault_account", offline_vault) == state.balance_drops
    )

    # the payout got a fresh request; the old one and alice are refused
    refused_with("vault_request_expired", alice.sign(old_request))
    big_payout.refresh_from_db()
    assert big_payout.status == TxState.AWAITING_APPROVAL
    fresh = export(payout_ref(big_payout), tmp_path)
    assert alice.account not in json.loads(fresh.read_text())["signers"]
    assert alice.sign(fresh, check=False) == Path("")
    fresh_request = json.loads(fresh.read_text())
    widened.write_text(
        json.dumps({**fresh_request, "signers": [*fresh_request["signers"], alice.account]})
    )
    refused_with("approval_not_a_signer", alice.sign(widened))
    # dave and bob pay it
    upload(dave.sign(fresh))
    paid = upload(bob.sign(fresh), wait_seconds=10)
    assert paid.status == TxState.VALIDATED, paid
    assert journal_reconcile().ok
    report = payouts_reconcile()
    assert report.ok, report.differences


def test_a_replacement_nobody_signs_expires_and_the_old_list_stays(
    desks: dict[str, Approver],
    settings,
    offline_vault: str,
    approvers: list[Approver],
    tmp_path: Path,
) -> None:
    settings.DROPGATE_VAULT_REQUEST_LEDGERS = 3
    alice, bob, _carol = approvers
    dave = register(desks["dave"])
    before = ledger_signers(offline_vault)
    request = vault_approver_replace(retiring=alice.account, joining=dave.account, by="test")
    request_file = export(request.ref, tmp_path)
    signed = bob.sign(request_file)
    deadline = time.monotonic() + 10
    while ledger.validated_ledger().ledger_index < request.last_ledger_sequence:
        assert time.monotonic() < deadline
        time.sleep(0.1)

    refused_with("vault_request_expired", signed)
    assert SignerListChange.objects.get(pk=int(request.ref.split("-")[1])).status == "expired"
    assert VaultAccount.objects.get(address=offline_vault).status == "ready"
    assert ledger_signers(offline_vault) == before
    assert (alice.row().status, dave.row().status) == ("active", "registered")


def test_a_signer_list_change_interrupted_before_submit_is_finished_by_the_resolve_pass(
    vault: str, approvers: list[Approver], monkeypatch: pytest.MonkeyPatch
) -> None:
    from channels_app.payouts.services import approvers as service

    # given the process dies after storing the multisigned SignerListSet, before submitting it
    real_submit = service._change_submit

    def crash(change: SignerListChange) -> None:
        raise RuntimeError("process killed before submit")

    monkeypatch.setattr(service, "_change_submit", crash)
    with pytest.raises(RuntimeError):
        vault_custody_migrate(by="test")
    change = SignerListChange.objects.get()
    assert change.status == "submitted" and change.tx_blob
    assert VaultAccount.objects.get(address=vault).status == "rotating"
    assert ledger_signers(vault) != sorted(a.account for a in approvers)

    # when the resolve pass (the beat's resolve_payouts) runs after the restart
    monkeypatch.setattr(service, "_change_submit", real_submit)
    service.signer_list_changes_resolve(wait_seconds=10)

    # then the stored transaction was sent, validated and adopted, exactly once
    change.refresh_from_db()
    assert change.status == "validated"
    assert ledger_signers(vault) == sorted(a.account for a in approvers)
    row = VaultAccount.objects.get(address=vault)
    assert (row.custody, row.status) == ("approvers", "ready")
    assert JournalEntry.objects.filter(kind="network_fee", reference=change.tx_hash).count() == 1
    state = account_state(vault)
    assert state is not None and journal_balance("vault_account", vault) == state.balance_drops
    # and running it again changes nothing
    service.signer_list_changes_resolve(wait_seconds=1)
    assert JournalEntry.objects.filter(kind="network_fee", reference=change.tx_hash).count() == 1
