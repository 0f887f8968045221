"""Publisher payouts: plan a batch, pay small ones from the hot account, large ones from the vault.

- **Plan** (`payout_plan`): each publisher's *available* amount (see `selectors`: redeemed
  revenue older than the holdback, net of the fee already split off at claim time, minus
  holds and anything in flight) becomes one payout, if it reaches DROPGATE_PAYOUT_MIN_DROPS
  and the caller gave a valid destination. At or below DROPGATE_PAYOUT_MULTISIGN_THRESHOLD_DROPS
  it is paid from the hot account, above it from the vault. Payouts the hot float or the vault
  cannot cover now are deferred (listed on the batch, paid by a later one).
- **Hot lane**: queued payouts are signed in chunks by the settlement key with consecutive
  Sequences and a LastLedgerSequence, stored, then submitted in order.
- **Vault lane**: one payout at a time gets an autofilled transaction (no LastLedgerSequence:
  approvals take human time); each signer's approval is a multisign signature over exactly
  that transaction; at the quorum the signatures are combined and submitted with
  `submit_multisigned`. A signature by anyone but the vault's signer for that index, or over
  any other transaction, is refused and nothing is stored or submitted.
- **Gate**: the function named by DROPGATE_PAYOUT_GATE (compliance's KYC tiers and the TFR
  rule for self-hosted addresses) says which publishers must wait; they are deferred with its
  reason. The payouts engine imports nothing from it.
- Every payout is resolved by its hash; its `payout` journal entry is posted with the
  status change, so it is paid and booked exactly once. `payouts_paused()` stops planning,
  signing, approving and submitting.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string
from xrpl.core.addresscodec import is_valid_classic_address
from xrpl.core.binarycodec import encode_for_multisigning
from xrpl.core.keypairs import derive_classic_address
from xrpl.models.transactions import Payment
from xrpl.models.transactions.transaction import Transaction
from xrpl.transaction import multisign

from channels_app import clock, ledger
from channels_app.keys.services import platform_address, settlement_sign
from channels_app.payouts import signers
from channels_app.payouts.conf import setting
from channels_app.payouts.exceptions import (
    ApprovalRefused,
    PayoutNotApprovable,
    PayoutNotCancellable,
    PayoutNotFound,
    PayoutsPaused,
    VaultCustodyMismatch,
)
from channels_app.payouts.lock_objects import payouts_lock
from channels_app.payouts.models import (
    IN_FLIGHT_STATES,
    OPEN_STATES,
    Lane,
    Payout,
    PayoutApproval,
    PayoutBatch,
    TxState,
    VaultAccount,
    VaultApprover,
)
from channels_app.payouts.selectors import payout_cutoff, publisher_balances
from channels_app.payouts.services.transfers import (
    LANE_ACCOUNT,
    account_state,
    current_ledger_index,
    network_fees,
    signed_fields,
    transfer_submit,
    transfers_await,
    transfers_submit,
)
from channels_app.payouts.services.vault import (
    committed_drops,
    hot_spendable_drops,
    vault_current,
)
from channels_app.payouts.types import BatchOutcome, PayoutPlan, PlannedPayout
from channels_app.services.journal import credit, debit, journal_post
from channels_app.signatures import is_valid_signature

logger = logging.getLogger(__name__)

_VAULT_BUSY = (TxState.AWAITING_APPROVAL, TxState.PREPARED, TxState.SUBMITTED)


# --- Plan ------------------------------------------------------------------------------------


def _gate_refusals(candidates: dict[str, tuple[str, int]]) -> Mapping[str, str]:
    """Publisher ref → reason, from the DROPGATE_PAYOUT_GATE function (empty: no gate)."""
    path = getattr(settings, "DROPGATE_PAYOUT_GATE", "")
    if not path or not candidates:
        return {}
    gate = import_string(path)
    return dict(gate(candidates))


def payout_plan(
    *,
    destinations: Mapping[str, str],
    hot_budget_drops: int,
    vault_budget_drops: int | None,
    fee_drops: int,
    vault_fee_drops: int,
    excluded_destinations: frozenset[str] = frozenset(),
    now: datetime | None = None,
) -> PayoutPlan:
    """Decide who is paid how much from which account. Reads only; changes nothing.

    `destinations` maps publisher refs to payout addresses (the caller, which knows
    publishers, supplies them). `vault_budget_drops` None means there is no ready vault.
    Budgets include each payment's fee. Publishers are taken in ref order.
    """
    cutoff = payout_cutoff(now)
    balances = publisher_balances(destinations.keys(), now=now)
    minimum = setting("DROPGATE_PAYOUT_MIN_DROPS")
    threshold = setting("DROPGATE_PAYOUT_MULTISIGN_THRESHOLD_DROPS")
    payouts: list[PlannedPayout] = []
    deferred: list[dict[str, str]] = []
    gated = _gate_refusals(
        {
            ref: (destinations[ref], balances[ref].available_drops)
            for ref in destinations
            if balances[ref].available_drops >= minimum
        }
    )

    def defer(ref: str, reason: str, amount: int) -> None:
        deferred.append({"publisher_ref": ref, "reason": reason, "amount_drops": str(amount)})

    for ref in sorted(destinations):
        balance = balances[ref]
        amount = balance.available_drops
        destination = destinations[ref]
        if amount <= 0:
            if balance.held_drops:
                defer(ref, "held", balance.held_drops)
            continue
        if amount < minimum:
            defer(ref, "below_minimum", amount)
            continue
        if not destination or not is_valid_classic_address(destination):
            defer(ref, "invalid_destination", amount)
            continue
        if destination in excluded_destinations:
            defer(ref, "destination_is_platform", amount)
            continue
        if ref in gated:
            defer(ref, gated[ref], amount)
            continue
        if amount <= threshold:
            if amount + fee_drops > hot_budget_drops:
                defer(ref, "hot_float_insufficient", amount)
                continue
            hot_budget_drops -= amount + fee_drops
            payouts.append(PlannedPayout(ref, destination, amount, Lane.HOT))
        else:
            if vault_budget_drops is None:
                defer(ref, "vault_not_ready", amount)
                continue
            if amount + vault_fee_drops > vault_budget_drops:
                defer(ref, "vault_float_insufficient", amount)
                continue
            vault_budget_drops -= amount + vault_fee_drops
            payouts.append(PlannedPayout(ref, destination, amount, Lane.VAULT))
    return PayoutPlan(cutoff=cutoff, payouts=payouts, deferred=deferred)


def _vault_committed_drops() -> int:
    return committed_drops(Payout.objects.filter(lane=Lane.VAULT, status__in=OPEN_STATES))


def payout_batch_run(
    *,
    destinations: Mapping[str, str],
    key: str | None = None,
    wait_seconds: float | None = None,
) -> BatchOutcome:
    """Plan a batch (once per `key`), then sign, submit and resolve what it can now.

    Idempotent: a batch key is planned once; re-running it only resumes its payouts. A new
    key finds nothing twice, because open payouts reserve their amounts and each publisher
    has at most one open payout (a unique constraint).
    Precondition: no open transaction. Raises PayoutsPaused, LedgerUnavailable.
    """
    if signers.payouts_paused():
        raise PayoutsPaused()
    payouts_resolve()
    key = key or f"run:{clock.now():%Y%m%dT%H%M%S}:{secrets.token_hex(4)}"
    batch = PayoutBatch.objects.filter(key=key).first()
    created = False
    if batch is None:
        hot = platform_address()
        fees = network_fees()
        hot_state = account_state(hot)
        vault = vault_current()
        vault_ready = vault is not None and vault.status == VaultAccount.Status.READY
        vault_state = account_state(vault.address) if vault is not None and vault_ready else None
        quorum = vault.quorum if vault is not None else signers.SIGNER_QUORUM
        excluded = frozenset(a for a in (hot, vault.address if vault else "") if a)
        with transaction.atomic():
            payouts_lock()
            batch = PayoutBatch.objects.filter(key=key).first()
            if batch is None:
                vault_budget = None
                if vault_ready and vault_state is not None:
                    vault_budget = (
                        vault_state.balance_drops
                        - fees.reserve_drops(vault_state.owner_count)
                        - _vault_committed_drops()
                    )
                plan = payout_plan(
                    destinations=destinations,
                    hot_budget_drops=hot_spendable_drops(hot_state, fees),
                    vault_budget_drops=vault_budget,
                    fee_drops=fees.fee_drops,
                    vault_fee_drops=fees.fee_drops * (1 + quorum),
                    excluded_destinations=excluded,
                )
                batch = _batch_create(
                    key=key, plan=plan, hot=hot, vault=vault, considered=len(destinations)
                )
                created = True
    payouts_dispatch(wait_seconds=wait_seconds)
    return batch_outcome(batch, created=created)


def _batch_create(
    *, key: str, plan: PayoutPlan, hot: str, vault: VaultAccount | None, considered: int
) -> PayoutBatch:
    batch = PayoutBatch.objects.create(
        key=key,
        cutoff=plan.cutoff,
        holdback_seconds=setting("DROPGATE_PAYOUT_HOLDBACK_SECONDS"),
        publishers_considered=considered,
        payout_count=len(plan.payouts),
        total_drops=plan.total_drops,
        deferred=plan.deferred,
    )
    Payout.objects.bulk_create(
        [
            Payout(
                batch=batch,
                publisher_ref=p.publisher_ref,
                destination=p.destination,
                amount_drops=p.amount_drops,
                lane=p.lane,
                vault=vault if p.lane == Lane.VAULT else None,
                source_address=hot if p.lane == Lane.HOT else (vault.address if vault else ""),
                status=TxState.QUEUED,
            )
            for p in plan.payouts
        ],
        batch_size=500,
    )
    return batch


def batch_outcome(batch: PayoutBatch, *, created: bool = False) -> BatchOutcome:
    counts: dict[str, int] = {}
    for status in batch.payouts.values_list("status", flat=True):
        counts[status] = counts.get(status, 0) + 1
    return BatchOutcome(
        batch_id=batch.pk,
        key=batch.key,
        created=created,
        planned=batch.payout_count,
        validated=counts.get(TxState.VALIDATED, 0),
        failed=counts.get(TxState.FAILED, 0),
        awaiting_approval=counts.get(TxState.AWAITING_APPROVAL, 0),
        pending=sum(counts.get(s, 0) for s in (TxState.QUEUED, *IN_FLIGHT_STATES)),
        total_drops=batch.total_drops,
        deferred=list(batch.deferred),
    )


# --- Hot lane --------------------------------------------------------------------------------


def _hot_sign_chunk(chunk: list[Payout]) -> list[tuple[Payout, dict[str, Any]]]:
    """Sign a chunk with consecutive Sequences from the hot account's next one."""
    hot = platform_address()
    fees = network_fees()
    state = account_state(hot, ledger_index="current")
    if state is None:
        return []
    last_ledger = current_ledger_index() + setting("DROPGATE_PAYOUT_LEDGER_MARGIN")
    signed: list[tuple[Payout, dict[str, Any]]] = []
    for offset, payout in enumerate(chunk):
        tx = Payment(
            account=hot,
            destination=payout.destination,
            amount=str(payout.amount_drops),
            sequence=state.sequence + offset,
            fee=str(fees.fee_drops),
            last_ledger_sequence=last_ledger,
        )
        signed.append((payout, signed_fields(settlement_sign(transaction=tx))))
    return signed


class _ChunkTaken(Exception):
    pass


def _hot_dispatch() -> int:
    """Sign, store and submit every queued hot payout, chunk by chunk. Returns how many."""
    submitted = 0
    size = max(1, setting("DROPGATE_PAYOUT_CHUNK_SIZE"))
    while not signers.payouts_paused():
        chunk = list(
            Payout.objects.filter(lane=Lane.HOT, status=TxState.QUEUED).order_by("pk")[:size]
        )
        if not chunk:
            break
        signed = _hot_sign_chunk(chunk)
        if not signed:
            break
        hot = platform_address()
        try:
            with transaction.atomic():
                for payout, tx_fields in signed:
                    fields = {**tx_fields, "status": TxState.PREPARED, "source_address": hot}
                    claimed = Payout.objects.filter(pk=payout.pk, status=TxState.QUEUED).update(
                        updated_at=clock.now(), **fields
                    )
                    if claimed != 1:
                        raise _ChunkTaken()
                    for name, value in fields.items():
                        setattr(payout, name, value)
        except _ChunkTaken:
            logger.info("another dispatcher took this chunk of payouts")
            break
        transfers_submit([payout for payout, _ in signed], crash_name="payout")
        submitted += len(signed)
    return submitted


# --- Vault lane ------------------------------------------------------------------------------


def _vault_prepare_next() -> Payout | None:
    """Give the next queued vault payout its transaction, unless one is already in progress.

    The transaction has every field fixed, LastLedgerSequence included
    (DROPGATE_VAULT_REQUEST_LEDGERS ahead): approvals take human time, and a request nobody
    signed in time expires instead of staying valid for ever (`vault_payouts_expire`).
    """
    if signers.payouts_paused():
        return None
    vault_payouts_expire()
    if Payout.objects.filter(lane=Lane.VAULT, status__in=_VAULT_BUSY).exists():
        return None
    payout = Payout.objects.filter(lane=Lane.VAULT, status=TxState.QUEUED).order_by("pk").first()
    if payout is None or payout.vault is None:
        return None
    vault = payout.vault
    vault.refresh_from_db()
    if vault.status != VaultAccount.Status.READY:
        return None  # a signer is being rotated: the next transaction waits for the new list
    state = account_state(vault.address, ledger_index="current")
    if state is None:
        return None
    fees = network_fees()
    last_ledger = current_ledger_index() + setting("DROPGATE_VAULT_REQUEST_LEDGERS")
    tx = Payment(
        account=vault.address,
        destination=payout.destination,
        amount=str(payout.amount_drops),
        sequence=state.sequence,
        fee=str(fees.fee_drops * (1 + vault.quorum)),
        last_ledger_sequence=last_ledger,
        signing_pub_key="",
    )
    try:
        with transaction.atomic():
            claimed = Payout.objects.filter(pk=payout.pk, status=TxState.QUEUED).update(
                status=TxState.AWAITING_APPROVAL,
                tx_json=tx.to_xrpl(),
                sequence=state.sequence,
                last_ledger_sequence=last_ledger,
                fee_drops=fees.fee_drops * (1 + vault.quorum),
                source_address=vault.address,
                updated_at=clock.now(),
            )
    except IntegrityError:
        return None  # another process put one in progress first
    if claimed != 1:
        return None
    payout.refresh_from_db()
    logger.info("vault payout %s awaits %s approvals", payout.pk, vault.quorum)
    return payout


def _approval_problem(
    payout: Payout,
    *,
    signer_index: int,
    signer_address: str,
    signing_pub_key: str,
    txn_signature: str,
) -> str | None:
    """Why this approval must not count, or None when it is a vault signer's valid signature
    over exactly this payout's transaction."""
    vault = payout.vault
    tx_json = payout.tx_json
    if vault is None or not isinstance(tx_json, dict):
        return "the payout has no vault transaction"
    if vault.status != VaultAccount.Status.READY:
        return "the vault is replacing a signer"
    # The stored transaction must still say what the payout row says.
    if (
        tx_json.get("TransactionType") != "Payment"
        or tx_json.get("Account") != vault.address
        or tx_json.get("Destination") != payout.destination
        or tx_json.get("Amount") != str(payout.amount_drops)
        or tx_json.get("Sequence") != payout.sequence
        or "Signers" in tx_json
    ):
        return "the stored transaction does not match the payout"
    if not 0 <= signer_index < len(vault.signer_addresses):
        return f"there is no signer {signer_index + 1}"
    if signer_address != vault.signer_addresses[signer_index]:
        return f"{signer_address} is not the vault's signer {signer_index + 1}"
    try:
        key_account = derive_classic_address(signing_pub_key.upper())
        message = bytes.fromhex(encode_for_multisigning(dict(tx_json), signer_address))
        signature = bytes.fromhex(txn_signature)
        public_key = bytes.fromhex(signing_pub_key)
    except Exception:
        return "the signature or key does not parse"
    if key_account != signer_address:
        return "the key is not the signer's"
    if (
        vault.custody == VaultAccount.Custody.APPROVERS
        and not VaultApprover.objects.filter(
            account=signer_address,
            public_key=signing_pub_key.upper(),
            status=VaultApprover.Status.ACTIVE,
        ).exists()
    ):
        return "the key is not a registered, active approver's"
    if not is_valid_signature(message=message, signature=signature, public_key=public_key):
        return "the signature is not over this payout's transaction"
    return None


def payout_approve(
    *,
    payout_id: int,
    signer_index: int,
    approved_by: Any = None,
    wait_seconds: float | None = None,
) -> Payout:
    """Have signer `signer_index` (0-based) sign the payout's transaction, and record it.

    The key service signs; the signature is then checked like any other approval. At the
    quorum the payout is combined and submitted. Precondition: no open transaction.
    """
    if signers.payouts_paused():
        raise PayoutsPaused()
    payout = Payout.objects.filter(pk=payout_id).first()
    if payout is None:
        raise PayoutNotFound()
    if payout.status != TxState.AWAITING_APPROVAL or not isinstance(payout.tx_json, dict):
        raise PayoutNotApprovable()
    vault = payout.vault
    if vault is not None and vault.custody == VaultAccount.Custody.APPROVERS:
        raise VaultCustodyMismatch(
            "The vault's signers are offline approvers: the server holds none of their keys. "
            "Download the signing request, sign it offline and upload the signature.",
            code="vault_offline_custody",
        )
    if not getattr(settings, "DROPGATE_VAULT_SERVER_SIGNERS", False):
        raise VaultCustodyMismatch(
            "Server-held vault signers are disabled (DROPGATE_VAULT_SERVER_SIGNERS): move the "
            "vault to offline approvers (vault_custody_migrate).",
            code="vault_server_signers_disabled",
        )
    signed = signers.payout_signer_sign(
        signer_index=signer_index, transaction=Transaction.from_xrpl(payout.tx_json)
    )
    if not signed.signers:
        raise ApprovalRefused("The signer returned no signature.")
    signer = signed.signers[0]
    return payout_approval_add(
        payout_id=payout_id,
        signer_index=signer_index,
        signer_address=signer.account,
        signing_pub_key=signer.signing_pub_key,
        txn_signature=signer.txn_signature,
        approved_by=approved_by,
        wait_seconds=wait_seconds,
    )


def payout_approval_add(
    *,
    payout_id: int,
    signer_index: int,
    signer_address: str,
    signing_pub_key: str,
    txn_signature: str,
    approved_by: Any = None,
    approver: VaultApprover | None = None,
    uploaded_by: str = "",
    wait_seconds: float | None = None,
) -> Payout:
    """Record one signer's multisign signature over a vault payout; submit at the quorum.

    Refused (ApprovalRefused, nothing stored, nothing submitted) unless it is the vault's
    signer `signer_index`, with that signer's own key, over exactly the stored transaction.
    One approval per signer and per person. Precondition: no open transaction.
    """
    if signers.payouts_paused():
        raise PayoutsPaused()
    with transaction.atomic():
        payouts_lock()
        payout = Payout.objects.filter(pk=payout_id).select_related("vault").first()
        if payout is None:
            raise PayoutNotFound()
        if payout.status != TxState.AWAITING_APPROVAL:
            raise PayoutNotApprovable()
        problem = _approval_problem(
            payout,
            signer_index=signer_index,
            signer_address=signer_address,
            signing_pub_key=signing_pub_key,
            txn_signature=txn_signature,
        )
        if problem is not None:
            logger.warning("approval refused on payout %s: %s", payout.pk, problem)
            raise ApprovalRefused(f"Approval refused: {problem}.")
        try:
            with transaction.atomic():
                PayoutApproval.objects.create(
                    payout=payout,
                    signer_index=signer_index,
                    signer_address=signer_address,
                    signing_pub_key=signing_pub_key.upper(),
                    txn_signature=txn_signature.upper(),
                    approved_by=approved_by,
                    approver=approver,
                    uploaded_by=uploaded_by[:64],
                )
        except IntegrityError as exc:
            raise ApprovalRefused(
                "This signer, or this person, already approved the payout.",
                code="approval_duplicate",
            ) from exc
        quorum_reached = (
            payout.approvals.filter(voided_at__isnull=True).count() >= payout.vault.quorum  # type: ignore[union-attr]
        )
    if quorum_reached:
        _payout_combine_and_submit(payout_id=payout.pk, wait_seconds=wait_seconds)
    payout.refresh_from_db()
    return payout


def _payout_combine_and_submit(*, payout_id: int, wait_seconds: float | None) -> None:
    """Combine the quorum's signatures (each re-verified) and submit. Nothing is submitted if
    any stored approval fails verification (a forged or tampered row)."""
    with transaction.atomic():
        payouts_lock()
        payout = Payout.objects.select_related("vault").get(pk=payout_id)
        if payout.status != TxState.AWAITING_APPROVAL or payout.vault is None:
            return
        approvals = list(payout.approvals.filter(voided_at__isnull=True).order_by("signer_index"))
        # A signer rotated out since it approved: its signature would be refused by the ledger
        # (tefBAD_SIGNATURE). It is voided, and the payout waits for the new signer instead.
        retired = [a for a in approvals if a.signer_address not in payout.vault.signer_addresses]
        if retired:
            _approvals_void(retired, reason="signer rotated out of the vault's SignerList")
            approvals = [a for a in approvals if a not in retired]
        for approval in approvals:
            problem = _approval_problem(
                payout,
                signer_index=approval.signer_index,
                signer_address=approval.signer_address,
                signing_pub_key=approval.signing_pub_key,
                txn_signature=approval.txn_signature,
            )
            if problem is not None:
                logger.error(
                    "stored approval %s on payout %s is invalid: %s",
                    approval.pk,
                    payout.pk,
                    problem,
                )
                raise ApprovalRefused(
                    f"A stored approval is invalid ({problem}); nothing was submitted."
                )
        chosen = approvals[: payout.vault.quorum]
        if len(chosen) < payout.vault.quorum:
            return
        base: dict[str, Any] = dict(payout.tx_json or {})
        single = [
            Transaction.from_xrpl(
                {
                    **base,
                    "Signers": [
                        {
                            "Signer": {
                                "Account": a.signer_address,
                                "SigningPubKey": a.signing_pub_key,
                                "TxnSignature": a.txn_signature,
                            }
                        }
                    ],
                }
            )
            for a in chosen
        ]
        combined = multisign(Transaction.from_xrpl(base), single)
        Payout.objects.filter(pk=payout.pk, status=TxState.AWAITING_APPROVAL).update(
            status=TxState.PREPARED, updated_at=clock.now(), **signed_fields(combined)
        )
    payout.refresh_from_db()
    if signers.payouts_paused():
        return
    transfer_submit(payout, crash_name="payout")
    wait = setting("DROPGATE_PAYOUT_WAIT_SECONDS") if wait_seconds is None else wait_seconds
    transfers_await(
        [payout], on_validated=_on_payout_validated, crash_name="payout", wait_seconds=wait
    )
    vault_payouts_recollect()
    if payout.status not in IN_FLIGHT_STATES:
        _vault_prepare_next()


# --- Resolution ------------------------------------------------------------------------------


def _on_payout_validated(payout: Payout) -> None:
    journal_post(
        kind="payout",
        reference=str(payout.tx_hash),
        postings=[
            debit("publisher_payable", payout.amount_drops, payout.publisher_ref),
            credit(LANE_ACCOUNT[Lane(payout.lane)], payout.amount_drops, payout.source_address),
        ],
        memo=f"payout {payout.pk} batch {payout.batch_id} to {payout.destination}",
    )


def payouts_resolve(*, wait_seconds: float = 0.0) -> int:
    """Resolve every in-flight payout by its hash (after a crash, a restart, or to finish a
    batch); combine vault payouts that reached their quorum. Returns how many were looked at.
    Precondition: no open transaction.
    """
    vault_payouts_expire()
    for payout_id in Payout.objects.filter(status=TxState.AWAITING_APPROVAL).values_list(
        "pk", flat=True
    ):
        payout = Payout.objects.select_related("vault").get(pk=payout_id)
        valid = payout.approvals.filter(voided_at__isnull=True).count()
        if payout.vault is not None and valid >= payout.vault.quorum:
            try:
                _payout_combine_and_submit(payout_id=payout_id, wait_seconds=0)
            except ApprovalRefused:
                logger.exception("payout %s not combined", payout_id)
    rows = list(Payout.objects.filter(status__in=IN_FLIGHT_STATES).order_by("pk"))
    if rows:
        transfers_await(
            rows,
            on_validated=_on_payout_validated,
            crash_name="payout",
            wait_seconds=wait_seconds,
            allow_submit=not signers.payouts_paused(),
        )
    vault_payouts_recollect()
    return len(rows)


def payouts_dispatch(*, wait_seconds: float | None = None) -> None:
    """Sign and submit queued hot payouts, wait for them, and start the next vault payout.

    Precondition: no open transaction.
    """
    if signers.payouts_paused():
        return
    _hot_dispatch()
    wait = setting("DROPGATE_PAYOUT_WAIT_SECONDS") if wait_seconds is None else wait_seconds
    # Everything in flight, not only what this call submitted: a resumed batch finishes too.
    payouts_resolve(wait_seconds=wait)
    _vault_prepare_next()


# --- Re-collecting vault payouts --------------------------------------------------------------

# How often one vault payout is re-collected before it is left failed (its amount then goes to
# a later batch), so a transaction the ledger keeps refusing never loops.
RECOLLECT_MAX_ATTEMPTS = 3


def _approvals_void(approvals: list[PayoutApproval], *, reason: str) -> None:
    PayoutApproval.objects.filter(pk__in=[a.pk for a in approvals], voided_at__isnull=True).update(
        voided_at=clock.now(), voided_reason=reason[:255]
    )


def _vault_payout_requeue(payout: Payout, *, reason: str, attempt: dict[str, Any] | None) -> bool:
    """Void the payout's approvals and put it back in the queue for a fresh transaction.

    Precondition: inside `transaction.atomic()` holding the payouts lock.
    """
    attempts = list(payout.failed_attempts)
    if attempt is not None:
        attempts.append(attempt)
    _approvals_void(list(payout.approvals.filter(voided_at__isnull=True)), reason=reason)
    try:
        with transaction.atomic():
            updated = Payout.objects.filter(pk=payout.pk, status=payout.status).update(
                status=TxState.QUEUED,
                failed_attempts=attempts,
                tx_json=None,
                tx_hash=None,
                tx_blob="",
                sequence=None,
                last_ledger_sequence=None,
                fee_drops=0,
                engine_result="",
                ledger_index=None,
                submitted_at=None,
                finished_at=None,
                updated_at=clock.now(),
            )
    except IntegrityError:
        # A later batch already planned this publisher's money again: this one stays final.
        return False
    return updated == 1


def vault_payouts_recollect() -> int:
    """Re-collect vault payouts whose multisigned transaction the ledger refused before it
    applied (e.g. tefBAD_SIGNATURE from a signer rotated out, or its Sequence taken by the
    SignerListSet): nothing was paid and no fee burned (no validated ledger holds it).

    Each is marked (the refused hash and result go to `failed_attempts`), its approvals are
    voided, and it goes back to the queue: it gets a new transaction and new approvals. After
    RECOLLECT_MAX_ATTEMPTS it stays failed and a later batch pays the amount. Returns how many
    were re-queued. Precondition: no open transaction.
    """
    requeued = 0
    candidates = Payout.objects.filter(
        lane=Lane.VAULT, status=TxState.FAILED, ledger_index__isnull=True, tx_hash__isnull=False
    ).values_list("pk", flat=True)
    for payout_id in list(candidates):
        with transaction.atomic():
            payouts_lock()
            payout = Payout.objects.filter(pk=payout_id, status=TxState.FAILED).first()
            if payout is None or payout.ledger_index is not None or not payout.tx_hash:
                continue
            if len(payout.failed_attempts) >= RECOLLECT_MAX_ATTEMPTS:
                continue
            attempt = {
                "tx_hash": payout.tx_hash,
                "engine_result": payout.engine_result,
                "sequence": payout.sequence,
                "signers": list(
                    payout.approvals.filter(voided_at__isnull=True).values_list(
                        "signer_address", flat=True
                    )
                ),
                "at": clock.now().isoformat(),
            }
            if _vault_payout_requeue(
                payout,
                reason=f"transaction refused by the ledger ({payout.engine_result})",
                attempt=attempt,
            ):
                requeued += 1
                logger.warning(
                    "vault payout %s: %s refused (%s), re-collecting approvals",
                    payout.pk,
                    payout.tx_hash,
                    payout.engine_result,
                )
    if requeued:
        _vault_prepare_next()
    return requeued


def vault_payouts_expire() -> list[int]:
    """Vault payouts whose request expired unsubmitted (the validated ledger reached its
    LastLedgerSequence, so no ledger can include it any more) go back to the queue with their
    approvals voided: the next pass prepares a fresh request. Returns their ids.

    If the vault's Sequence moved past the request's while it waited (something signed by a
    quorum reached the ledger outside the platform, perhaps this very payment), the payout is
    left as it is and the vault lane stops: re-queueing could pay it twice. That needs a
    person (the log says so), never an automatic retry. Precondition: no open transaction.
    """
    waiting = list(
        Payout.objects.filter(
            lane=Lane.VAULT,
            status=TxState.AWAITING_APPROVAL,
            last_ledger_sequence__isnull=False,
        ).select_related("vault")
    )
    if not waiting:
        return []
    validated = ledger.validated_ledger().ledger_index
    expired: list[int] = []
    for payout in waiting:
        if payout.last_ledger_sequence is None or validated < payout.last_ledger_sequence:
            continue
        state = account_state(payout.source_address) if payout.source_address else None
        if state is not None and payout.sequence is not None and state.sequence > payout.sequence:
            logger.critical(
                "vault payout %s: the vault's Sequence %s was used outside the platform while "
                "its request waited; the vault lane stops until someone investigates",
                payout.pk,
                payout.sequence,
            )
            continue
        with transaction.atomic():
            payouts_lock()
            current = Payout.objects.filter(
                pk=payout.pk,
                status=TxState.AWAITING_APPROVAL,
                last_ledger_sequence=payout.last_ledger_sequence,
            ).first()
            if current is None:
                continue
            if _vault_payout_requeue(
                current,
                reason=f"request expired at ledger {payout.last_ledger_sequence}",
                attempt=None,
            ):
                expired.append(payout.pk)
                logger.info("vault payout %s: signing request expired", payout.pk)
    return expired


def vault_payouts_hold_for_rotation(*, reason: str) -> list[int]:
    """Before a signer rotation: every vault payout collecting approvals goes back to the queue
    with its approvals voided (the SignerListSet takes the vault's next Sequence, so the
    transaction they signed could never apply). Returns their ids.

    Precondition: inside `transaction.atomic()` holding the payouts lock.
    """
    held: list[int] = []
    for payout in Payout.objects.filter(lane=Lane.VAULT, status=TxState.AWAITING_APPROVAL):
        if _vault_payout_requeue(payout, reason=reason, attempt=None):
            held.append(payout.pk)
    return held


def vault_payouts_in_flight() -> int:
    return Payout.objects.filter(lane=Lane.VAULT, status__in=IN_FLIGHT_STATES).count()


def vault_payouts_resume() -> None:
    """After a signer rotation: give the next queued vault payout its transaction."""
    _vault_prepare_next()


def payout_cancel(*, payout_id: int, reason: str) -> Payout:
    """Cancel a payout before any transaction of it can reach the ledger: queued, or a vault
    payout still collecting approvals. Its amount becomes available to a later batch."""
    with transaction.atomic():
        payouts_lock()
        updated = Payout.objects.filter(
            pk=payout_id, status__in=(TxState.QUEUED, TxState.AWAITING_APPROVAL)
        ).update(
            status=TxState.CANCELLED,
            cancelled_reason=reason[:255],
            finished_at=clock.now(),
            updated_at=clock.now(),
        )
        payout = Payout.objects.filter(pk=payout_id).first()
        if payout is None:
            raise PayoutNotFound()
        if updated != 1:
            raise PayoutNotCancellable()
    if payout.lane == Lane.VAULT:
        _vault_prepare_next()
    return payout
