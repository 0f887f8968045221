"""Rotation of one vault payout signer: a new key, a new SignerList, the old key retired.

The vault's master key is disabled (see `vault_bootstrap`), so its SignerList can only be
changed by a SignerListSet multisigned by a quorum of the *current* signers. The rotation:

1. checks the ledger's SignerList is the one the vault row records, and that at least a quorum
   of its signers have usable keys (the other signers first: the one being replaced may be the
   compromised one); otherwise it refuses and changes nothing (VaultQuorumUnavailable);
2. lets a vault payout already on its way resolve (VaultBusy if it does not, unless payouts
   are paused: then its transaction is superseded and re-collected later);
3. holds the vault lane: the vault becomes `rotating`, and a payout collecting approvals goes
   back to the queue with its approvals voided (the SignerListSet takes the vault's next
   Sequence, so what they signed could never apply);
4. has the key service make the new (pending) key, multisigns the SignerListSet (the list with
   the slot's address replaced, same quorum), stores its hash on the pending key, submits it
   with `submit_multisigned` and waits for a validated ledger;
5. on tesSUCCESS reads the SignerList back from the ledger, activates the new key and retires
   the old one, records the new list on the vault row, journals the fee, and lets the queued
   vault payout take a fresh transaction to be approved by the new list.

Each step is a KeyEvent. A refused or expired SignerListSet drops the pending key and puts the
vault back to `ready` with the old list; one the ledger has not decided on in time leaves the
vault `rotating`, and running the rotation again resolves it by its hash.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.db import transaction
from xrpl.models.transactions import SignerEntry, SignerListSet
from xrpl.transaction import multisign

from channels_app import clock, ledger
from channels_app.keys import services as keys
from channels_app.keys.exceptions import KeyOperationPending
from channels_app.payouts.conf import setting
from channels_app.payouts.exceptions import (
    VaultBusy,
    VaultCustodyMismatch,
    VaultNotReady,
    VaultQuorumUnavailable,
    VaultRotationFailed,
)
from channels_app.payouts.lock_objects import payouts_lock
from channels_app.payouts.models import VaultAccount
from channels_app.payouts.services.payouts import (
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
from channels_app.payouts.types import SignerRotationOutcome
from channels_app.services.journal import credit, debit, journal_post

logger = logging.getLogger(__name__)

_NEVER_APPLIED = ("tem", "tef", "tel")
_MAYBE_APPLIED = {"tefPAST_SEQ", "tefALREADY"}


def _actor(by: Any) -> str:
    if by is None:
        return "system"
    return str(getattr(by, "get_username", lambda: by)())[:64]


def _ledger_signers(address: str) -> tuple[list[str], int]:
    found = signer_list_read(address)
    if found is None:
        return [], 0
    entries = [e["SignerEntry"]["Account"] for e in found.get("SignerEntries", [])]
    return entries, int(found["SignerQuorum"])


def _set_status(vault: VaultAccount, status: str, **fields: Any) -> None:
    VaultAccount.objects.filter(pk=vault.pk).update(status=status, **fields)
    vault.refresh_from_db()


def _finish(
    vault: VaultAccount,
    *,
    slot: int,
    new_address: str,
    tx_hash: str,
    fee_drops: int,
    actor: str,
    reason: str,
) -> str:
    """The SignerListSet validated with tesSUCCESS: adopt it on our side (idempotent)."""
    have, quorum = _ledger_signers(vault.address)
    expected = list(vault.signer_addresses)
    expected[slot] = new_address
    if sorted(have) != sorted(expected) or quorum != vault.quorum:
        raise VaultRotationFailed("The ledger's SignerList is not the one that was submitted.")
    with transaction.atomic():
        payouts_lock()
        journal_post(
            kind="network_fee",
            reference=tx_hash,
            postings=[
                debit("network_fees", fee_drops),
                credit("vault_account", fee_drops, vault.address),
            ],
            memo=f"vault signer {slot + 1} rotation: SignerListSet",
        )
        new = keys.payout_signer_activate(slot=slot, actor=actor, reason=reason, tx_hash=tx_hash)
        _set_status(
            vault,
            VaultAccount.Status.READY,
            signer_addresses=expected,
            setup_txs=[*vault.setup_txs, tx_hash],
        )
    logger.info("vault signer %s rotated to %s (%s)", slot + 1, new.key_id, tx_hash)
    return str(new.key_id)


def _fail(vault: VaultAccount, *, slot: int, actor: str, why: str) -> None:
    keys.payout_signer_pending_fail(slot=slot, actor=actor, reason=why)
    _set_status(vault, VaultAccount.Status.READY)
    vault_payouts_resume()


def _resume_pending(vault: VaultAccount, *, slot: int, actor: str, reason: str) -> str | None:
    """A rotation of `slot` left pending earlier: finish it, drop it, or raise
    KeyOperationPending while the ledger has not decided. Returns the new key id if finished."""
    pending = keys.payout_signer_pending(slot=slot)
    if pending is None:
        return None
    sent = keys.payout_signer_pending_tx(slot=slot)
    tx_hash = str(sent.get("hash", ""))
    status = ledger.transaction_status(tx_hash) if tx_hash else None
    if status is not None and status.validated:
        if status.result == "tesSUCCESS":
            return _finish(
                vault,
                slot=slot,
                new_address=pending.address,
                tx_hash=tx_hash,
                fee_drops=int(status.fee_drops or 0),
                actor=actor,
                reason=reason,
            )
        _journal_failed_fee(vault, tx_hash=tx_hash, fee_drops=int(status.fee_drops or 0))
        _fail(vault, slot=slot, actor=actor, why=f"SignerListSet failed ({status.result})")
        return None
    last = int(sent.get("last_ledger_sequence", 0))
    if not tx_hash or ledger.validated_ledger().ledger_index > last:
        _fail(vault, slot=slot, actor=actor, why="its SignerListSet never applied")
        return None
    raise KeyOperationPending()


def _journal_failed_fee(vault: VaultAccount, *, tx_hash: str, fee_drops: int) -> None:
    journal_post(
        kind="network_fee",
        reference=tx_hash,
        postings=[
            debit("network_fees", fee_drops),
            credit("vault_account", fee_drops, vault.address),
        ],
        memo="vault signer rotation: failed SignerListSet",
    )


def _cosigners_or_refuse(vault: VaultAccount, *, slot: int, actor: str, reason: str) -> list[int]:
    """The signer slots that will sign the SignerListSet: a quorum of the current signers with
    usable keys, the others before `slot`. Refuses (audited, nothing changed) otherwise."""
    have, quorum = _ledger_signers(vault.address)
    if sorted(have) != sorted(vault.signer_addresses) or quorum != vault.quorum:
        raise VaultRotationFailed(
            "The ledger's SignerList differs from the vault's record; investigate before rotating."
        )
    usable = keys.payout_signers_usable()
    good = [
        i
        for i, address in enumerate(vault.signer_addresses)
        if i in usable and usable[i].address == address
    ]
    # The slot being replaced signs only when the others cannot make the quorum alone.
    cosigners = ([i for i in good if i != slot] + [i for i in good if i == slot])[: vault.quorum]
    if len(cosigners) < vault.quorum:
        keys.payout_signer_rotation_event(
            slot=slot,
            actor=actor,
            step="refused_no_quorum",
            failed=True,
            detail={"reason": reason, "usable_slots": good, "quorum": vault.quorum},
        )
        raise VaultQuorumUnavailable(
            f"Only {len(good)} of the vault's signers can sign; {vault.quorum} are needed to "
            "change its SignerList. Nothing was changed."
        )

    return cosigners


def vault_signer_rotate(
    *, slot: int, reason: str = "on demand", by: Any = None, wait_seconds: float | None = None
) -> SignerRotationOutcome:
    """Replace vault signer `slot` (0-based) with a new key, keeping the quorum (see module doc).

    Raises VaultNotReady, VaultQuorumUnavailable (nothing changed), VaultBusy (a vault payout
    is in flight; nothing changed), VaultRotationFailed (the ledger refused; the old list and
    keys stay), KeyOperationPending (not validated in time; run again to resolve), and
    LedgerUnavailable. Precondition: no open transaction.
    """
    actor = _actor(by)
    vault = vault_current()
    if vault is None or vault.status not in (
        VaultAccount.Status.READY,
        VaultAccount.Status.ROTATING,
    ):
        raise VaultNotReady()
    if vault.custody != VaultAccount.Custody.SERVER:
        raise VaultCustodyMismatch(
            "The vault's signers are offline approvers: replace one with "
            "vault_approver_replace (a SignerListSet the current approvers sign offline).",
            code="vault_offline_custody",
        )
    if not 0 <= slot < len(vault.signer_addresses):
        raise ValueError(f"there is no signer slot {slot}")
    if vault.status == VaultAccount.Status.ROTATING:
        for other in range(len(vault.signer_addresses)):
            done = _resume_pending(vault, slot=other, actor=actor, reason=reason)
            if done is not None and other == slot:
                vault_payouts_resume()
                return _outcome(vault, slot=slot, new_key_id=done, tx_hash=vault.setup_txs[-1])
        vault.refresh_from_db()
        if vault.status == VaultAccount.Status.ROTATING:
            _set_status(vault, VaultAccount.Status.READY)

    cosigners = _cosigners_or_refuse(vault, slot=slot, actor=actor, reason=reason)

    wait = setting("DROPGATE_PAYOUT_WAIT_SECONDS") if wait_seconds is None else wait_seconds
    if vault_payouts_in_flight():
        payouts_resolve(wait_seconds=wait)
        if vault_payouts_in_flight() and not payouts_paused():
            raise VaultBusy()

    with transaction.atomic():
        payouts_lock()
        claimed = VaultAccount.objects.filter(pk=vault.pk, status=VaultAccount.Status.READY).update(
            status=VaultAccount.Status.ROTATING
        )
        if claimed != 1:
            raise VaultNotReady("Another rotation of the vault is in progress.")
        held = vault_payouts_hold_for_rotation(reason=f"vault signer {slot + 1} rotation")
    vault.refresh_from_db()
    keys.payout_signer_rotation_event(
        slot=slot,
        actor=actor,
        step="vault_held",
        detail={"reason": reason, "payouts_requeued": held, "cosigners": cosigners},
    )
    try:
        pending = keys.payout_signer_prepare(slot=slot, actor=actor, reason=reason)
        signed = _signer_list_set(
            vault, slot=slot, new_address=pending.address, cosigners=cosigners
        )
    except Exception:
        _fail(vault, slot=slot, actor=actor, why="the SignerListSet could not be signed")
        raise
    tx_hash = signed.get_hash()
    keys.payout_signer_record_tx(
        slot=slot, tx_hash=tx_hash, last_ledger_sequence=int(signed.last_ledger_sequence or 0)
    )
    keys.payout_signer_rotation_event(
        slot=slot,
        actor=actor,
        step="signer_list_set_submitted",
        detail={"reason": reason, "tx": tx_hash, "new_address": pending.address},
    )
    return _submit_and_wait(vault, slot=slot, signed=signed, actor=actor, reason=reason)


def _submit_and_wait(
    vault: VaultAccount, *, slot: int, signed: Any, actor: str, reason: str
) -> SignerRotationOutcome:
    tx_hash = signed.get_hash()
    try:
        result = ledger.ledger_request("submit_multisigned", tx_json=signed.to_xrpl())
        engine_result = str(result.get("engine_result", ""))
    except ledger.LedgerRequestError as exc:
        _fail(vault, slot=slot, actor=actor, why=f"refused before apply: {exc.error}")
        raise VaultRotationFailed(f"The ledger refused the SignerListSet ({exc.error}).") from exc
    if engine_result.startswith(_NEVER_APPLIED) and engine_result not in _MAYBE_APPLIED:
        _fail(vault, slot=slot, actor=actor, why=f"SignerListSet refused ({engine_result})")
        raise VaultRotationFailed(f"The ledger refused the SignerListSet ({engine_result}).")

    deadline = time.monotonic() + float(settings.DROPGATE_KEY_LEDGER_WAIT_SECONDS)
    while True:
        done = (
            _resume_pending(vault, slot=slot, actor=actor, reason=reason)
            if _decided(tx_hash, int(signed.last_ledger_sequence or 0))
            else None
        )
        vault.refresh_from_db()
        if done is not None:
            vault_payouts_resume()
            return _outcome(vault, slot=slot, new_key_id=done, tx_hash=tx_hash)
        if vault.status == VaultAccount.Status.READY:
            raise VaultRotationFailed("The SignerListSet did not apply; the old signers stay.")
        if time.monotonic() >= deadline:
            raise KeyOperationPending()
        time.sleep(0.1)


def _decided(tx_hash: str, last_ledger_sequence: int) -> bool:
    status = ledger.transaction_status(tx_hash)
    if status is not None and status.validated:
        return True
    return ledger.validated_ledger().ledger_index > last_ledger_sequence


def _signer_list_set(
    vault: VaultAccount, *, slot: int, new_address: str, cosigners: list[int]
) -> Any:
    entries = list(vault.signer_addresses)
    entries[slot] = new_address
    state = account_state(vault.address, ledger_index="current")
    if state is None:
        raise VaultNotReady("The vault account is not on the ledger.")
    fees = network_fees()
    unsigned = SignerListSet(
        account=vault.address,
        signer_quorum=vault.quorum,
        signer_entries=[SignerEntry(account=a, signer_weight=1) for a in entries],
        sequence=state.sequence,
        fee=str(fees.fee_drops * (1 + len(cosigners))),
        last_ledger_sequence=current_ledger_index() + setting("DROPGATE_PAYOUT_LEDGER_MARGIN"),
        signing_pub_key="",
    )
    singles = [
        keys.vault_signer_list_sign(signer_index=index, transaction=unsigned) for index in cosigners
    ]
    return multisign(unsigned, singles)


def _outcome(
    vault: VaultAccount, *, slot: int, new_key_id: str, tx_hash: str
) -> SignerRotationOutcome:
    have, quorum = _ledger_signers(vault.address)
    return SignerRotationOutcome(
        vault=vault.address,
        slot=slot,
        new_key_id=new_key_id,
        new_address=vault.signer_addresses[slot],
        tx_hash=tx_hash,
        ledger_signers=tuple(sorted(have)),
        quorum=quorum,
        at=clock.now(),
    )
