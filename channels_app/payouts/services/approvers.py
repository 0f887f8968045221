"""Offline approvers: the vault's SignerList names keys that never touch the server.

The trust model is in docs/vault-custody.md. In short:

- An approver is a registered *public* key (`VaultApprover`); its SignerList account is the
  key's own address. Registration needs a proof of possession (the key's signature over
  `approver_proof_message`), so a mistyped or foreign key is never installed.
- `vault_custody_migrate` moves a vault from server-held signer keys to the approvers: one
  SignerListSet, multisigned by a quorum of the *current* (server) signers, naming the
  approvers' accounts. Once it validates, the server's signer keys are retired: the ledger no
  longer accepts them for the vault, whatever the server still holds.
- From then on every vault transaction is a *signing request*: the server fixes every field
  (Sequence, Fee, LastLedgerSequence) and offers the unsigned blob (admin page, management
  command); each approver signs it offline with clients/approver and uploads the signature
  file; `vault_signature_submit` checks it against the registered key and the exact stored
  blob, keeps one per approver, and at the quorum assembles the Signers (sorted by account,
  as rippled requires), submits and journals, as the platform's own payouts always did.
- Replacing an approver (`vault_approver_replace`) is itself such a request: a SignerListSet
  the current approvers must sign, so the server cannot swap in a key of its own.
- Requests expire with their LastLedgerSequence: a payout's is prepared again, a SignerList
  change is dropped (the old list stays).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from xrpl.core.addresscodec import is_valid_classic_address
from xrpl.core.binarycodec import decode, encode, encode_for_multisigning
from xrpl.core.keypairs import derive_classic_address
from xrpl.models.transactions import SignerEntry, SignerListSet
from xrpl.models.transactions.transaction import Transaction
from xrpl.transaction import multisign

from channels_app import clock, ledger
from channels_app.keys import services as keys
from channels_app.keys.exceptions import KeyOperationPending
from channels_app.models import KeyRecord
from channels_app.payouts.conf import setting
from channels_app.payouts.exceptions import (
    ApprovalRefused,
    ApproverRejected,
    PayoutsPaused,
    SignatureDocumentMalformed,
    VaultBusy,
    VaultCustodyMismatch,
    VaultNotReady,
    VaultQuorumUnavailable,
    VaultRequestClosed,
    VaultRequestExpired,
    VaultRequestNotFound,
    VaultRotationFailed,
)
from channels_app.payouts.lock_objects import payouts_lock
from channels_app.payouts.models import (
    Lane,
    Payout,
    SignerListChange,
    SignerListSignature,
    TxState,
    VaultAccount,
    VaultApprover,
)
from channels_app.payouts.services.payouts import (
    payout_approval_add,
    payouts_resolve,
    vault_payouts_hold_for_rotation,
    vault_payouts_in_flight,
    vault_payouts_resume,
)
from channels_app.payouts.services.transfers import (
    account_state,
    current_ledger_index,
    network_fees,
)
from channels_app.payouts.services.vault import signer_list_read, vault_current
from channels_app.payouts.signers import payouts_paused
from channels_app.payouts.types import SIGNATURE_FORMAT, SignatureOutcome, SigningRequest
from channels_app.services.journal import credit, debit, journal_post
from channels_app.signatures import is_valid_signature

logger = logging.getLogger(__name__)

PROOF_DOMAIN = b"dropgate-vault-approver/1\x00"
_HEX = re.compile(r"^[0-9A-Fa-f]+$")
_NEVER_APPLIED = ("tem", "tef", "tel")
_MAYBE_APPLIED = {"tefPAST_SEQ", "tefALREADY"}
_OPEN_CHANGES = (SignerListChange.Status.COLLECTING, SignerListChange.Status.SUBMITTED)


def _actor(by: Any) -> str:
    if by is None:
        return "system"
    return str(getattr(by, "get_username", lambda: by)())[:64]


def _is_hex(value: Any, *, length: int | None = None, max_length: int | None = None) -> bool:
    if not isinstance(value, str) or not value or not _HEX.match(value):
        return False
    if length is not None and len(value) != length:
        return False
    return max_length is None or len(value) <= max_length


def _is_public_key(value: Any) -> bool:
    return _is_hex(value, length=66) and value[:2].upper() in {"ED", "02", "03"}


# --- Registration ----------------------------------------------------------------------------


def approver_proof_message(*, account: str, public_key: str) -> bytes:
    """What an approver's key signs to prove possession at registration (clients/approver
    builds the same bytes). Domain-separated: it can never be a transaction's signing data."""
    return PROOF_DOMAIN + account.encode() + b"\x00" + public_key.upper().encode()


def vault_approver_register(
    *, name: str, public_key: str, proof: str, user: Any = None, by: Any = None
) -> VaultApprover:
    """Register an approver's public key (not yet in the SignerList: see
    `vault_custody_migrate` and `vault_approver_replace`).

    Refused (ApproverRejected, nothing stored): a malformed key (`approver_key_malformed`), a
    proof that is not the key's signature over its proof message (`approver_proof_invalid`),
    a key the platform itself holds (`approver_key_is_platform`: that would put a server key
    back in the vault's list), or one already registered (`approver_exists`).
    """
    name = (name or "").strip()
    if not name:
        raise ApproverRejected("Give the approver a name.", code="approver_name_missing")
    account = approver_key_check(public_key=public_key, proof=proof)
    public_key = public_key.upper()
    try:
        with transaction.atomic():
            approver = VaultApprover.objects.create(
                name=name[:100],
                user=user,
                account=account,
                public_key=public_key,
                proof=proof.upper(),
                registered_by=_actor(by),
            )
    except IntegrityError as exc:
        raise ApproverRejected("That key is already registered.", code="approver_exists") from exc
    logger.info("vault approver %s registered (%s) by %s", approver.pk, account, _actor(by))
    return approver


def approver_key_check(*, public_key: str, proof: str) -> str:
    """The account of an approver key fit to register (see `vault_approver_register` for the
    refusals); reads only, changes nothing."""
    if not _is_public_key(public_key):
        raise ApproverRejected(
            "The public key must be 66 hex digits starting ED, 02 or 03.",
            code="approver_key_malformed",
        )
    public_key = public_key.upper()
    account = derive_classic_address(public_key)
    if not _is_hex(proof, max_length=144) or not is_valid_signature(
        message=approver_proof_message(account=account, public_key=public_key),
        signature=bytes.fromhex(proof),
        public_key=bytes.fromhex(public_key),
    ):
        raise ApproverRejected(
            "The proof is not this key's signature over its registration message "
            "(make it with clients/approver: `dropgate_approver.py register`).",
            code="approver_proof_invalid",
        )
    if KeyRecord.objects.filter(public_key__iexact=public_key).exists() or (
        KeyRecord.objects.filter(address=account).exists()
    ):
        raise ApproverRejected(
            "That key is one the platform holds; an approver's key must never touch the server.",
            code="approver_key_is_platform",
        )
    vault = vault_current()
    if vault is not None and account == vault.address:
        raise ApproverRejected("That is the vault's own key.", code="approver_key_is_platform")
    if VaultApprover.objects.filter(public_key=public_key).exists():
        raise ApproverRejected("That key is already registered.", code="approver_exists")
    return account


# --- Signing requests ------------------------------------------------------------------------


def _blob(tx_json: Mapping[str, Any]) -> tuple[str, str]:
    blob = encode(dict(tx_json))
    return blob, hashlib.sha256(bytes.fromhex(blob)).hexdigest()


def _payout_ref(payout: Payout) -> str:
    return f"payout-{payout.pk}-{payout.sequence}-{payout.last_ledger_sequence}"


def _change_ref(change: SignerListChange) -> str:
    return f"signerlist-{change.pk}"


def _payout_request(payout: Payout) -> SigningRequest:
    vault = payout.vault
    assert vault is not None and isinstance(payout.tx_json, dict)
    blob, digest = _blob(payout.tx_json)
    signed_by = tuple(
        payout.approvals.filter(voided_at__isnull=True)
        .order_by("signer_index")
        .values_list("signer_address", flat=True)
    )
    return SigningRequest(
        ref=_payout_ref(payout),
        kind="payout",
        vault=vault.address,
        tx_json=dict(payout.tx_json),
        tx_blob=blob,
        blob_sha256=digest,
        last_ledger_sequence=int(payout.last_ledger_sequence or 0),
        quorum=vault.quorum,
        signers=tuple(vault.signer_addresses),
        signed_by=signed_by,
        summary={
            "what": f"vault payout {payout.pk} to publisher {payout.publisher_ref}",
            "destination": payout.destination,
            "amount_drops": str(payout.amount_drops),
        },
    )


def _change_request(change: SignerListChange) -> SigningRequest:
    vault = change.vault
    blob, digest = _blob(change.tx_json)
    signed_by = tuple(
        sorted(change.signatures.values_list("approver__account", flat=True))  # type: ignore[attr-defined]
    )
    what = "move the vault's SignerList to offline approvers"
    if change.retiring_id is not None and change.joining_id is not None:
        what = f"replace approver {change.retiring.account} by {change.joining.account}"  # type: ignore[union-attr]
    return SigningRequest(
        ref=_change_ref(change),
        kind="signer_list",
        vault=vault.address,
        tx_json=dict(change.tx_json),
        tx_blob=blob,
        blob_sha256=digest,
        last_ledger_sequence=change.last_ledger_sequence,
        quorum=vault.quorum,
        signers=tuple(vault.signer_addresses),
        signed_by=signed_by,
        summary={
            "what": what,
            "new_signers": list(change.signer_addresses),
            "quorum": change.tx_json.get("SignerQuorum"),
        },
    )


def signing_requests_open() -> list[SigningRequest]:
    """Every vault transaction now waiting for approvers' offline signatures (expired ones
    are dropped or prepared again first). Precondition: no open transaction."""
    vault_payouts_resume()  # expires a stale request and prepares the next
    signer_list_changes_resolve()
    found: list[SigningRequest] = []
    for change in SignerListChange.objects.filter(
        status=SignerListChange.Status.COLLECTING
    ).select_related("vault", "retiring", "joining"):
        found.append(_change_request(change))
    for payout in Payout.objects.filter(
        lane=Lane.VAULT,
        status=TxState.AWAITING_APPROVAL,
        vault__custody=VaultAccount.Custody.APPROVERS,
    ).select_related("vault"):
        found.append(_payout_request(payout))
    return found


def _payout_for(ref: str) -> Payout:
    match = re.fullmatch(r"payout-(\d+)-(\d+)-(\d+)", ref)
    if match is None:
        raise VaultRequestNotFound()
    payout = (
        Payout.objects.filter(pk=int(match[1]), lane=Lane.VAULT).select_related("vault").first()
    )
    if payout is None:
        raise VaultRequestNotFound()
    if (
        payout.status != TxState.AWAITING_APPROVAL
        or payout.vault is None
        or payout.vault.custody != VaultAccount.Custody.APPROVERS
        or not isinstance(payout.tx_json, dict)
        or _payout_ref(payout) != ref
    ):
        # Paid, cancelled, or prepared again (a new Sequence or LastLedgerSequence).
        if str(payout.last_ledger_sequence) != match[3] and payout.status in (
            TxState.AWAITING_APPROVAL,
            TxState.QUEUED,
        ):
            raise VaultRequestExpired()
        raise VaultRequestClosed()
    return payout


def _change_for(ref: str) -> SignerListChange:
    match = re.fullmatch(r"signerlist-(\d+)", ref)
    if match is None:
        raise VaultRequestNotFound()
    change = (
        SignerListChange.objects.filter(pk=int(match[1]))
        .select_related("vault", "retiring", "joining")
        .first()
    )
    if change is None:
        raise VaultRequestNotFound()
    if change.status == SignerListChange.Status.EXPIRED:
        raise VaultRequestExpired()
    if change.status != SignerListChange.Status.COLLECTING:
        raise VaultRequestClosed()
    return change


def signing_request(ref: str) -> SigningRequest:
    """The open signing request `ref` (VaultRequestNotFound, VaultRequestClosed,
    VaultRequestExpired otherwise). Precondition: no open transaction."""
    if not isinstance(ref, str) or len(ref) > 80:
        raise VaultRequestNotFound()
    if ref.startswith("payout-"):
        vault_payouts_resume()  # expires a stale request and prepares the next
        payout = _payout_for(ref)
        return _payout_request(payout)
    signer_list_changes_resolve()
    return _change_request(_change_for(ref))


# --- Signatures ------------------------------------------------------------------------------


def _parse_signature(document: Any) -> dict[str, str]:
    if not isinstance(document, Mapping) or document.get("format") != SIGNATURE_FORMAT:
        raise SignatureDocumentMalformed()
    fields = {}
    for name in ("ref", "blob_sha256", "account", "signing_pub_key", "txn_signature"):
        value = document.get(name)
        if not isinstance(value, str) or not value or len(value) > 200:
            raise SignatureDocumentMalformed(f"The signature file's `{name}` is missing or bad.")
        fields[name] = value.strip()
    if not _is_hex(fields["blob_sha256"], length=64):
        raise SignatureDocumentMalformed("`blob_sha256` must be 64 hex digits.")
    if not is_valid_classic_address(fields["account"]):
        raise SignatureDocumentMalformed("`account` is not a classic address.")
    if not _is_public_key(fields["signing_pub_key"]):
        raise SignatureDocumentMalformed("`signing_pub_key` is not a public key.")
    if not _is_hex(fields["txn_signature"], max_length=144):
        raise SignatureDocumentMalformed("`txn_signature` is not hex.")
    fields["blob_sha256"] = fields["blob_sha256"].lower()
    fields["signing_pub_key"] = fields["signing_pub_key"].upper()
    fields["txn_signature"] = fields["txn_signature"].upper()
    return fields


def _signature_problem(
    request: SigningRequest, vault: VaultAccount, sig: Mapping[str, str]
) -> VaultApprover:
    """The approver whose valid signature over exactly `request` this is; else ApprovalRefused
    with a stable code (nothing is stored)."""
    if sig["blob_sha256"] != request.blob_sha256:
        raise ApprovalRefused(
            "The signature file names a different transaction than this request "
            f"(blob {sig['blob_sha256'][:12]}…, the request's is {request.blob_sha256[:12]}…).",
            code="approval_blob_mismatch",
        )
    approver = VaultApprover.objects.filter(
        account=sig["account"], status=VaultApprover.Status.ACTIVE
    ).first()
    if approver is None or sig["account"] not in vault.signer_addresses:
        raise ApprovalRefused(
            f"{sig['account']} is not an approver in the vault's SignerList.",
            code="approval_not_a_signer",
        )
    if approver.public_key != sig["signing_pub_key"]:
        raise ApprovalRefused(
            "The signing key is not the approver's registered key.",
            code="approval_not_a_signer",
        )
    message = bytes.fromhex(encode_for_multisigning(dict(request.tx_json), sig["account"]))
    if not is_valid_signature(
        message=message,
        signature=bytes.fromhex(sig["txn_signature"]),
        public_key=bytes.fromhex(sig["signing_pub_key"]),
    ):
        raise ApprovalRefused(
            "The signature is not the approver's signature over this request's transaction.",
            code="approval_signature_invalid",
        )
    return approver


def _refuse_if_expired(request: SigningRequest) -> None:
    if ledger.validated_ledger().ledger_index >= request.last_ledger_sequence:
        if request.kind == "payout":
            vault_payouts_resume()  # expires a stale request and prepares the next
        else:
            signer_list_changes_resolve()
        raise VaultRequestExpired()


def vault_signature_submit(
    *, document: Any, by: Any = None, wait_seconds: float | None = None
) -> SignatureOutcome:
    """Take one approver's offline signature (the CLI's signature file, parsed JSON) for an
    open signing request; at the quorum assemble, submit and wait (up to `wait_seconds`).

    Refused with a stable code, and nothing stored: `signature_document_malformed`,
    `vault_request_not_found`, `vault_request_closed`, `vault_request_expired`,
    `approval_blob_mismatch` (a signature over a different blob), `approval_not_a_signer`
    (not an active approver of the SignerList, or not their registered key),
    `approval_signature_invalid`, `approval_duplicate` (one signature per approver per
    request), `payouts_paused` (payouts only). Precondition: no open transaction.
    """
    sig = _parse_signature(document)
    ref = sig["ref"]
    uploader = _actor(by)
    if ref.startswith("payout-"):
        if payouts_paused():
            raise PayoutsPaused()
        request = signing_request(ref)
        _refuse_if_expired(request)
        payout = _payout_for(ref)
        vault = payout.vault
        assert vault is not None
        approver = _signature_problem(request, vault, sig)
        payout = payout_approval_add(
            payout_id=payout.pk,
            signer_index=list(vault.signer_addresses).index(approver.account),
            signer_address=approver.account,
            signing_pub_key=sig["signing_pub_key"],
            txn_signature=sig["txn_signature"],
            approved_by=approver.user,
            approver=approver,
            uploaded_by=uploader,
            wait_seconds=wait_seconds,
        )
        logger.info("vault payout %s: signature of approver %s taken", payout.pk, approver.pk)
        return SignatureOutcome(
            ref=ref,
            kind="payout",
            account=approver.account,
            signatures=payout.approvals.filter(voided_at__isnull=True).count(),
            quorum=vault.quorum,
            status=payout.status,
            tx_hash=payout.tx_hash or "",
        )
    request = signing_request(ref)
    _refuse_if_expired(request)
    change = _change_for(ref)
    approver = _signature_problem(request, change.vault, sig)
    try:
        with transaction.atomic():
            SignerListSignature.objects.create(
                change=change,
                approver=approver,
                signing_pub_key=sig["signing_pub_key"],
                txn_signature=sig["txn_signature"],
                uploaded_by=uploader,
            )
    except IntegrityError as exc:
        raise ApprovalRefused(
            "This approver already signed this request.", code="approval_duplicate"
        ) from exc
    logger.info("signer list change %s: signature of approver %s taken", change.pk, approver.pk)
    _change_resolve(change, wait_seconds=_wait(wait_seconds))
    change.refresh_from_db()
    return SignatureOutcome(
        ref=ref,
        kind="signer_list",
        account=approver.account,
        signatures=change.signatures.count(),
        quorum=change.vault.quorum,
        status=change.status,
        tx_hash=change.tx_hash,
    )


def _wait(wait_seconds: float | None) -> float:
    return float(setting("DROPGATE_PAYOUT_WAIT_SECONDS") if wait_seconds is None else wait_seconds)


# --- SignerList changes ----------------------------------------------------------------------


def _vault_hold(vault: VaultAccount, *, reason: str, wait_seconds: float) -> None:
    """Take the vault lane for a SignerList change: in-flight payouts resolved (else
    VaultBusy), the vault `rotating`, payouts collecting approvals back to the queue."""
    if vault_payouts_in_flight():
        payouts_resolve(wait_seconds=wait_seconds)
        if vault_payouts_in_flight():
            raise VaultBusy()
    with transaction.atomic():
        payouts_lock()
        claimed = VaultAccount.objects.filter(pk=vault.pk, status=VaultAccount.Status.READY).update(
            status=VaultAccount.Status.ROTATING
        )
        if claimed != 1:
            raise VaultNotReady("Another change of the vault's SignerList is in progress.")
        vault_payouts_hold_for_rotation(reason=reason)
    vault.refresh_from_db()


def _vault_release(vault: VaultAccount) -> None:
    VaultAccount.objects.filter(pk=vault.pk, status=VaultAccount.Status.ROTATING).update(
        status=VaultAccount.Status.READY
    )
    vault.refresh_from_db()
    vault_payouts_resume()


def _unsigned_signer_list_set(
    vault: VaultAccount, entries: list[str], signer_count: int
) -> dict[str, Any]:
    state = account_state(vault.address, ledger_index="current")
    if state is None:
        raise VaultNotReady("The vault account is not on the ledger.")
    fees = network_fees()
    tx = SignerListSet(
        account=vault.address,
        signer_quorum=vault.quorum,
        signer_entries=[SignerEntry(account=a, signer_weight=1) for a in entries],
        sequence=state.sequence,
        fee=str(fees.fee_drops * (1 + signer_count)),
        last_ledger_sequence=current_ledger_index() + setting("DROPGATE_VAULT_REQUEST_LEDGERS"),
        signing_pub_key="",
    )
    return tx.to_xrpl()


def vault_custody_migrate(
    *, accounts: list[str] | None = None, by: Any = None, wait_seconds: float | None = None
) -> dict[str, Any]:
    """Move the vault from server-held signer keys to offline approvers.

    One SignerListSet naming the approvers' accounts (`accounts`, default: every registered
    approver; exactly as many as the vault has signers), same quorum, multisigned by a quorum
    of the current (server) signers, submitted and awaited; on tesSUCCESS the list is read
    back, the approvers become active, the vault's custody becomes `approvers` and the
    server's signer keys are retired (`keys.payout_signers_retire`). Idempotent: a change left
    open by a crash is resolved first. Raises VaultCustodyMismatch, VaultNotReady, VaultBusy,
    ApproverRejected, VaultQuorumUnavailable, VaultRotationFailed, LedgerUnavailable.
    Precondition: no open transaction.
    """
    actor = _actor(by)
    wait = _wait(wait_seconds)
    signer_list_changes_resolve(wait_seconds=wait)
    vault = vault_current()
    if vault is None or vault.status not in (VaultAccount.Status.READY,):
        raise VaultNotReady()
    if vault.custody == VaultAccount.Custody.APPROVERS:
        raise VaultCustodyMismatch(
            "The vault is already in the approvers' custody.", code="vault_offline_custody"
        )
    wanted = VaultApprover.objects.filter(status=VaultApprover.Status.REGISTERED)
    if accounts:
        wanted = wanted.filter(account__in=accounts)
    approvers = list(wanted.order_by("pk"))
    if len(approvers) != len(vault.signer_addresses) or (
        accounts and len(set(accounts)) != len(approvers)
    ):
        raise ApproverRejected(
            f"Name exactly {len(vault.signer_addresses)} registered approvers "
            f"(found {len(approvers)}).",
            code="approvers_count",
        )
    new_list = [a.account for a in approvers]
    found = signer_list_read(vault.address) or {}
    have = sorted(e["SignerEntry"]["Account"] for e in found.get("SignerEntries", []))
    if have != sorted(vault.signer_addresses):
        raise VaultRotationFailed(
            "The ledger's SignerList differs from the vault's record; investigate first."
        )
    usable = keys.payout_signers_usable()
    cosigners = [
        i
        for i, address in enumerate(vault.signer_addresses)
        if i in usable and usable[i].address == address
    ][: vault.quorum]
    if len(cosigners) < vault.quorum:
        raise VaultQuorumUnavailable(
            f"Only {len(cosigners)} of the vault's server signers can sign; {vault.quorum} are "
            "needed to change its SignerList. Nothing was changed."
        )
    _vault_hold(vault, reason="vault custody moving to offline approvers", wait_seconds=wait)
    try:
        tx_json = _unsigned_signer_list_set(vault, new_list, len(cosigners))
        unsigned = Transaction.from_xrpl(tx_json)
        singles = [
            keys.vault_signer_list_sign(signer_index=i, transaction=unsigned) for i in cosigners
        ]
        signed = multisign(unsigned, singles)
        change = SignerListChange.objects.create(
            vault=vault,
            signer_addresses=new_list,
            tx_json=tx_json,
            sequence=int(tx_json["Sequence"]),
            last_ledger_sequence=int(tx_json["LastLedgerSequence"]),
            status=SignerListChange.Status.SUBMITTED,
            tx_hash=signed.get_hash(),
            tx_blob=encode(signed.to_xrpl()),
            fee_drops=int(tx_json["Fee"]),
            requested_by=actor,
        )
    except Exception:
        _vault_release(vault)
        raise
    logger.info("vault %s: custody moving to approvers (%s)", vault.address, change.tx_hash)
    _change_submit(change)
    _change_resolve(change, wait_seconds=wait)
    change.refresh_from_db()
    if change.status != SignerListChange.Status.VALIDATED:
        if change.status in _OPEN_CHANGES:
            raise KeyOperationPending()
        raise VaultRotationFailed(
            f"The SignerListSet did not apply ({change.engine_result or change.status}); "
            "the server signers stay."
        )
    vault.refresh_from_db()
    return {
        "vault": vault.address,
        "custody": vault.custody,
        "signers": list(vault.signer_addresses),
        "quorum": vault.quorum,
        "tx_hash": change.tx_hash,
    }


def vault_approver_replace(
    *, retiring: str, joining: str, by: Any = None, wait_seconds: float | None = None
) -> SigningRequest:
    """Prepare the SignerListSet that replaces approver account `retiring` by the registered
    approver `joining` (same quorum). The server cannot sign it: it waits, as a signing
    request, for a quorum of the *current* approvers. Until it validates or expires the vault
    lane is held (payouts collecting approvals go back to the queue). Raises VaultNotReady,
    VaultCustodyMismatch, ApproverRejected, VaultBusy. Precondition: no open transaction.
    """
    actor = _actor(by)
    signer_list_changes_resolve()
    vault = vault_current()
    if vault is None or vault.status != VaultAccount.Status.READY:
        raise VaultNotReady()
    if vault.custody != VaultAccount.Custody.APPROVERS:
        raise VaultCustodyMismatch(
            "The vault still has server signers: run vault_custody_migrate first.",
            code="vault_server_custody",
        )
    old = VaultApprover.objects.filter(account=retiring, status=VaultApprover.Status.ACTIVE).first()
    if old is None or retiring not in vault.signer_addresses:
        raise ApproverRejected(
            f"{retiring} is not an active approver of the vault.", code="approver_not_active"
        )
    new = VaultApprover.objects.filter(
        account=joining, status=VaultApprover.Status.REGISTERED
    ).first()
    if new is None:
        raise ApproverRejected(
            f"{joining} is not a registered approver outside the SignerList.",
            code="approver_not_registered",
        )
    entries = [joining if a == retiring else a for a in vault.signer_addresses]
    _vault_hold(vault, reason=f"replacing approver {retiring}", wait_seconds=_wait(wait_seconds))
    try:
        tx_json = _unsigned_signer_list_set(vault, entries, vault.quorum)
        change = SignerListChange.objects.create(
            vault=vault,
            retiring=old,
            joining=new,
            signer_addresses=entries,
            tx_json=tx_json,
            sequence=int(tx_json["Sequence"]),
            last_ledger_sequence=int(tx_json["LastLedgerSequence"]),
            fee_drops=int(tx_json["Fee"]),
            requested_by=actor,
        )
    except Exception:
        _vault_release(vault)
        raise
    logger.info("vault %s: approver replacement %s awaits signatures", vault.address, change.pk)
    return _change_request(change)


def _change_assemble(change: SignerListChange) -> Transaction | None:
    """The multisigned SignerListSet from a quorum of stored signatures, each checked again
    (a row changed behind the service's back refuses the lot); None below the quorum."""
    vault = change.vault
    request = _change_request(change)
    good = []
    for row in change.signatures.select_related("approver").order_by("pk"):
        approver = _signature_problem(
            request,
            vault,
            {
                "blob_sha256": request.blob_sha256,
                "account": row.approver.account,
                "signing_pub_key": row.signing_pub_key,
                "txn_signature": row.txn_signature,
            },
        )
        good.append((approver, row))
    if len(good) < vault.quorum:
        return None
    base = dict(change.tx_json)
    singles = [
        Transaction.from_xrpl(
            {
                **base,
                "Signers": [
                    {
                        "Signer": {
                            "Account": approver.account,
                            "SigningPubKey": row.signing_pub_key,
                            "TxnSignature": row.txn_signature,
                        }
                    }
                ],
            }
        )
        for approver, row in good[: vault.quorum]
    ]
    # xrpl-py's multisign orders Signers by account ID, as rippled requires.
    return multisign(Transaction.from_xrpl(base), singles)


def _change_submit(change: SignerListChange) -> None:
    try:
        result = ledger.ledger_request("submit_multisigned", tx_json=decode(change.tx_blob))
        engine_result = str(result.get("engine_result", ""))
    except ledger.LedgerRequestError as exc:
        _change_fail(change, result=exc.error[:32], fee_drops=0)
        return
    SignerListChange.objects.filter(pk=change.pk).update(engine_result=engine_result[:32])
    if engine_result.startswith(_NEVER_APPLIED) and engine_result not in _MAYBE_APPLIED:
        _change_fail(change, result=engine_result, fee_drops=0)


def _journal_fee(change: SignerListChange, *, fee_drops: int, memo: str) -> None:
    if fee_drops <= 0:
        return
    journal_post(
        kind="network_fee",
        reference=change.tx_hash,
        postings=[
            debit("network_fees", fee_drops),
            credit("vault_account", fee_drops, change.vault.address),
        ],
        memo=memo,
    )


def _change_fail(
    change: SignerListChange, *, result: str, fee_drops: int, expired: bool = False
) -> None:
    """The change can never apply (or applied with a tec: its fee is journaled): the old list
    stays and the vault lane is released."""
    with transaction.atomic():
        payouts_lock()
        updated = SignerListChange.objects.filter(pk=change.pk, status__in=_OPEN_CHANGES).update(
            status=SignerListChange.Status.EXPIRED if expired else SignerListChange.Status.FAILED,
            engine_result=result[:32],
            finished_at=clock.now(),
        )
        if updated and fee_drops:
            _journal_fee(change, fee_drops=fee_drops, memo="vault SignerListSet failed")
    change.refresh_from_db()
    logger.warning("signer list change %s ended %s (%s)", change.pk, change.status, result)
    _vault_release(change.vault)


def _change_adopt(change: SignerListChange, *, fee_drops: int) -> None:
    """The SignerListSet validated with tesSUCCESS: adopt the ledger's new list (idempotent)."""
    vault = change.vault
    found = signer_list_read(vault.address) or {}
    have = sorted(e["SignerEntry"]["Account"] for e in found.get("SignerEntries", []))
    if have != sorted(change.signer_addresses) or int(found.get("SignerQuorum", 0)) != vault.quorum:
        raise VaultRotationFailed("The ledger's SignerList is not the one that was submitted.")
    was_server = vault.custody == VaultAccount.Custody.SERVER
    now = clock.now()
    with transaction.atomic():
        payouts_lock()
        updated = SignerListChange.objects.filter(pk=change.pk, status__in=_OPEN_CHANGES).update(
            status=SignerListChange.Status.VALIDATED,
            engine_result="tesSUCCESS",
            fee_drops=fee_drops,
            finished_at=now,
        )
        if not updated:
            return
        _journal_fee(change, fee_drops=fee_drops, memo="vault SignerListSet (approvers)")
        VaultApprover.objects.filter(status=VaultApprover.Status.ACTIVE).exclude(
            account__in=change.signer_addresses
        ).update(status=VaultApprover.Status.RETIRED, retired_at=now)
        VaultApprover.objects.filter(account__in=change.signer_addresses).exclude(
            status=VaultApprover.Status.ACTIVE
        ).update(status=VaultApprover.Status.ACTIVE, activated_at=now)
        VaultAccount.objects.filter(pk=vault.pk).update(
            custody=VaultAccount.Custody.APPROVERS,
            signer_addresses=list(change.signer_addresses),
            setup_txs=[*vault.setup_txs, change.tx_hash],
            status=VaultAccount.Status.READY,
        )
        if was_server:
            keys.payout_signers_retire(
                actor=change.requested_by or "system",
                reason="the vault's SignerList now names offline approvers",
                tx_hash=change.tx_hash,
            )
    vault.refresh_from_db()
    logger.info("vault %s: SignerList is now %s (%s)", vault.address, have, change.tx_hash)
    vault_payouts_resume()


def _change_resolve(change: SignerListChange, *, wait_seconds: float) -> None:
    """Move one open change on: at the quorum assemble and submit; follow a submitted one by
    its hash until validated, or until its LastLedgerSequence has passed (up to
    `wait_seconds`); drop one that expired unsigned. Precondition: no open transaction."""
    deadline = time.monotonic() + wait_seconds
    while True:
        change.refresh_from_db()
        if change.status == SignerListChange.Status.COLLECTING:
            validated = ledger.validated_ledger().ledger_index
            if validated >= change.last_ledger_sequence:
                _change_fail(change, result="expired", fee_drops=0, expired=True)
                return
            signed = _change_assemble(change)
            if signed is None:
                return
            updated = SignerListChange.objects.filter(
                pk=change.pk, status=SignerListChange.Status.COLLECTING
            ).update(
                status=SignerListChange.Status.SUBMITTED,
                tx_hash=signed.get_hash(),
                tx_blob=encode(signed.to_xrpl()),
            )
            if updated:
                change.refresh_from_db()
                _change_submit(change)
            continue
        if change.status != SignerListChange.Status.SUBMITTED:
            return
        status = ledger.transaction_status(change.tx_hash)
        if status is not None and status.validated:
            if status.result == "tesSUCCESS":
                _change_adopt(change, fee_drops=status.fee_drops)
            else:
                _change_fail(change, result=str(status.result), fee_drops=status.fee_drops)
            return
        if ledger.validated_ledger().ledger_index > change.last_ledger_sequence:
            status = ledger.transaction_status(change.tx_hash)
            if status is None or not status.validated:
                _change_fail(change, result="never_applied", fee_drops=0, expired=True)
                return
            continue
        if status is None:
            _change_submit(change)  # never seen (a crash before the submit): send it again
        if time.monotonic() >= deadline:
            return
        time.sleep(0.1)


def signer_list_changes_resolve(*, wait_seconds: float = 0.0) -> int:
    """Resolve every open SignerList change (see `_change_resolve`); returns how many were
    looked at. Precondition: no open transaction."""
    changes = list(
        SignerListChange.objects.filter(status__in=_OPEN_CHANGES).select_related("vault")
    )
    for change in changes:
        _change_resolve(change, wait_seconds=wait_seconds)
    return len(changes)


def vault_custody() -> dict[str, Any]:
    """Who can spend the vault: its custody, the SignerList and the registered approvers."""
    vault = vault_current()
    return {
        "vault": vault.address if vault else None,
        "custody": vault.custody if vault else None,
        "status": vault.status if vault else None,
        "signers": list(vault.signer_addresses) if vault else [],
        "quorum": vault.quorum if vault else None,
        "server_signers_allowed": bool(getattr(settings, "DROPGATE_VAULT_SERVER_SIGNERS", False)),
        "approvers": [
            {"name": a.name, "account": a.account, "status": a.status}
            for a in VaultApprover.objects.order_by("pk")
        ],
    }
