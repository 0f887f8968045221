"""The vault (cold) account and the hot float sweep.

The settlement account is *hot*: it redeems claims and pays small payouts and refunds, so it
keeps only a float of DROPGATE_HOT_FLOAT_CAP_DROPS. Above that, `hot_float_sweep` moves the
excess to the vault. The vault's master key is disabled and a SignerList of the 3 payout
signers with quorum 2 is its only authority, so no single key can spend from it.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet, Sum
from xrpl.models.transactions import (
    Payment,
)

from channels_app import clock, ledger
from channels_app.exceptions import DropgateError, LedgerUnavailable
from channels_app.keys.services import platform_address, settlement_sign
from channels_app.payouts import signers
from channels_app.payouts.conf import setting
from channels_app.payouts.exceptions import VaultNotReady, VaultSetupFailed
from channels_app.payouts.lock_objects import payouts_lock
from channels_app.payouts.models import (
    IN_FLIGHT_STATES,
    OPEN_STATES,
    Lane,
    Payout,
    Refund,
    RefundMode,
    Sweep,
    TxState,
    VaultAccount,
)
from channels_app.payouts.services.transfers import (
    AccountState,
    NetworkFees,
    account_state,
    signed_fields,
    transfer_submit,
    transfers_await,
)
from channels_app.payouts.types import SweepOutcome
from channels_app.selectors import journal_balance
from channels_app.services.journal import credit, debit, journal_post
from channels_app.services.platform import faucet_fund

logger = logging.getLogger(__name__)

LSF_DISABLE_MASTER = signers.LSF_DISABLE_MASTER
VAULT_FAUCET_DROPS = 100_000_000


def vault_current() -> VaultAccount | None:
    return VaultAccount.objects.exclude(status=VaultAccount.Status.RETIRED).first()


def vault_ready() -> VaultAccount:
    vault = vault_current()
    if vault is None or vault.status != VaultAccount.Status.READY:
        raise VaultNotReady()
    return vault


def signer_list_read(address: str) -> dict[str, Any] | None:
    """The account's SignerList as the validated ledger holds it (None: no list or no account)."""
    try:
        result = ledger.ledger_request(
            "account_info", account=address, ledger_index="validated", signer_lists=True
        )
    except ledger.LedgerRequestError as exc:
        if exc.error == "actNotFound":
            return None
        raise
    lists = result.get("signer_lists", result["account_data"].get("signer_lists", []))
    return dict(lists[0]) if lists else None


def _journal_setup_fee(vault: VaultAccount, tx: signers.SetupTx) -> None:
    journal_post(
        kind="network_fee",
        reference=tx.tx_hash,
        postings=[
            debit("network_fees", tx.fee_drops),
            credit("vault_account", tx.fee_drops, vault.address),
        ],
        memo=f"vault set-up: {tx.tx_type}",
    )


def vault_ensure() -> VaultAccount:
    """The current vault row, created (not yet funded or locked down) if there is none.

    Its address is the one to fund on a network without a faucet.
    """
    vault = vault_current()
    if vault is not None:
        return vault
    nonce = secrets.token_hex(16)
    try:
        with transaction.atomic():
            return VaultAccount.objects.create(
                address=signers.vault_address(nonce=nonce),
                nonce=nonce,
                signer_addresses=signers.payout_signer_addresses(),
                quorum=signers.SIGNER_QUORUM,
            )
    except IntegrityError:
        vault = vault_current()
        assert vault is not None
        return vault


def vault_bootstrap(*, faucet_drops: int = VAULT_FAUCET_DROPS) -> dict[str, Any]:
    """Create, fund and lock down the vault; idempotent, and resumable after a crash.

    1. a vault row naming the address the key service gives the vault;
    2. funding: on the sandbox from the faucet; elsewhere the operator pays the address
       (VaultSetupFailed says which) and runs this again; the opening balance is journaled;
    3. hardening by the key service: SignerListSet (the 3 payout signers, quorum 2), then
       AccountSet asfDisableMaster; their fees are journaled against the vault;
    4. the ledger is checked: master disabled, the recorded signers, the quorum.
    Precondition: no open transaction. Raises VaultSetupFailed, LedgerUnavailable.
    """
    vault = vault_ensure()
    if vault.status == VaultAccount.Status.READY:
        return vault_status(vault)

    state = account_state(vault.address)
    if state is None:
        try:
            vault.funding_tx = faucet_fund(address=vault.address, drops=faucet_drops)
        except LedgerUnavailable:
            raise
        except DropgateError as exc:
            raise VaultSetupFailed(
                f"Fund the vault address {vault.address} (at least 2 XRP), then run this again."
            ) from exc
        vault.save(update_fields=["funding_tx"])
        state = account_state(vault.address)
        if state is None:
            raise VaultSetupFailed("The vault funding did not reach a validated ledger.")
    with transaction.atomic():
        if journal_balance("vault_account", vault.address) == 0 and not vault.setup_txs:
            journal_post(
                kind="platform_funding",
                reference=f"opening:{vault.address}",
                postings=[
                    debit("vault_account", state.balance_drops, vault.address),
                    credit("platform_equity", state.balance_drops),
                ],
                memo=f"vault opening balance {vault.funding_tx}".strip(),
            )

    sent = signers.vault_harden(
        address=vault.address,
        nonce=vault.nonce,
        signer_addresses=list(vault.signer_addresses),
        quorum=vault.quorum,
    )
    with transaction.atomic():
        for tx in sent:
            _journal_setup_fee(vault, tx)
        vault.setup_txs = [*vault.setup_txs, *[tx.tx_hash for tx in sent]]
        vault.save(update_fields=["setup_txs"])

    state = account_state(vault.address)
    signer_list = signer_list_read(vault.address)
    have = sorted(e["SignerEntry"]["Account"] for e in (signer_list or {}).get("SignerEntries", []))
    if (
        state is None
        or not state.flags & LSF_DISABLE_MASTER
        or signer_list is None
        or int(signer_list["SignerQuorum"]) != vault.quorum
        or have != sorted(vault.signer_addresses)
    ):
        raise VaultSetupFailed("The vault on the ledger is not locked down as expected.")
    VaultAccount.objects.filter(pk=vault.pk).update(
        status=VaultAccount.Status.READY, ready_at=clock.now()
    )
    vault.refresh_from_db()
    logger.info("vault %s ready (2 of 3 signers, master key disabled)", vault.address)
    return vault_status(vault)


def vault_status(vault: VaultAccount | None = None) -> dict[str, Any]:
    """The vault as the ledger sees it: balance, master key, signer list."""
    vault = vault or vault_current()
    if vault is None:
        return {"address": None, "status": "absent"}
    state = account_state(vault.address)
    signer_list = signer_list_read(vault.address) if state is not None else None
    return {
        "address": vault.address,
        "status": vault.status,
        "custody": vault.custody,
        "balance_drops": state.balance_drops if state else None,
        "master_disabled": bool(state and state.flags & LSF_DISABLE_MASTER),
        "signer_quorum": signer_list["SignerQuorum"] if signer_list else None,
        "signers": sorted(
            w["SignerEntry"]["Account"] for w in (signer_list or {}).get("SignerEntries", [])
        ),
        "journal_drops": journal_balance("vault_account", vault.address),
    }


# --- Hot float -------------------------------------------------------------------------------


# What an open row not yet signed (so without its fee) is assumed to burn: well above the
# open-ledger fee a payment pays in normal conditions.
FEE_ALLOWANCE_DROPS = 1_000


def committed_drops(queryset: QuerySet[Any]) -> int:
    """Amounts plus fees of open rows (unsigned rows count FEE_ALLOWANCE_DROPS of fee)."""
    sums = queryset.aggregate(
        a=Sum("amount_drops"), f=Sum("fee_drops"), unsigned=Count("pk", filter=Q(fee_drops=0))
    )
    return (
        int(sums["a"] or 0) + int(sums["f"] or 0) + int(sums["unsigned"] or 0) * FEE_ALLOWANCE_DROPS
    )


def hot_committed_drops() -> int:
    """What the hot account has promised and not yet paid: open hot payouts, ledger refunds
    and sweeps, with their fees. Read under the payouts lock when it gates a new payment."""
    return (
        committed_drops(Payout.objects.filter(lane=Lane.HOT, status__in=OPEN_STATES))
        + committed_drops(Refund.objects.filter(mode=RefundMode.LEDGER, status__in=OPEN_STATES))
        + committed_drops(Sweep.objects.filter(status__in=OPEN_STATES))
    )


def hot_spendable_drops(state: AccountState | None, fees: NetworkFees) -> int:
    """Hot balance above its reserve and above everything already committed."""
    if state is None:
        return 0
    return state.balance_drops - fees.reserve_drops(state.owner_count) - hot_committed_drops()


def _on_sweep_validated(sweep: Sweep) -> None:
    journal_post(
        kind="sweep",
        reference=str(sweep.tx_hash),
        postings=[
            debit("vault_account", sweep.amount_drops, sweep.destination),
            credit("settlement_account", sweep.amount_drops, sweep.source_address),
        ],
        memo=f"sweep {sweep.pk}",
    )


def sweeps_resolve(*, wait_seconds: float = 0.0) -> None:
    rows = list(Sweep.objects.filter(status__in=IN_FLIGHT_STATES).order_by("pk"))
    if rows:
        transfers_await(
            rows, on_validated=_on_sweep_validated, crash_name="sweep", wait_seconds=wait_seconds
        )


def hot_float_sweep(*, wait_seconds: float | None = None) -> SweepOutcome:
    """Move the hot float above DROPGATE_HOT_FLOAT_CAP_DROPS to the vault.

    Idempotent: at most one sweep is open; a re-run first resolves it by its hash. Only moves
    what is not already promised to open payouts and refunds.
    Precondition: no open transaction. Raises LedgerUnavailable.
    """
    wait = setting("DROPGATE_PAYOUT_WAIT_SECONDS") if wait_seconds is None else wait_seconds
    vault = vault_current()
    if vault is None or vault.status != VaultAccount.Status.READY:
        return SweepOutcome("no_vault")
    sweeps_resolve()
    open_sweep = Sweep.objects.filter(status__in=OPEN_STATES).first()
    if open_sweep is not None:
        return SweepOutcome("pending", open_sweep.amount_drops, open_sweep.tx_hash or "")

    hot = platform_address()
    state = account_state(hot)
    if state is None:
        return SweepOutcome("nothing_to_do")
    cap = setting("DROPGATE_HOT_FLOAT_CAP_DROPS")
    excess = state.balance_drops - cap - hot_committed_drops()
    if excess < setting("DROPGATE_SWEEP_MIN_DROPS"):
        return SweepOutcome("nothing_to_do")
    signed = settlement_sign(
        transaction=ledger.transaction_autofill(
            Payment(account=hot, destination=vault.address, amount=str(excess))
        )
    )
    with transaction.atomic():
        payouts_lock()
        # Re-checked under the lock: a payout planned meanwhile keeps its float.
        if state.balance_drops - cap - hot_committed_drops() < excess:
            return SweepOutcome("nothing_to_do")
        try:
            with transaction.atomic():
                sweep = Sweep.objects.create(
                    vault=vault,
                    lane=Lane.HOT,
                    source_address=hot,
                    destination=vault.address,
                    amount_drops=excess,
                    status=TxState.PREPARED,
                    **signed_fields(signed),
                )
        except IntegrityError:
            return SweepOutcome("pending")
    transfer_submit(sweep, crash_name="sweep")
    transfers_await(
        [sweep], on_validated=_on_sweep_validated, crash_name="sweep", wait_seconds=wait
    )
    state_name = {TxState.VALIDATED: "validated", TxState.FAILED: "failed"}.get(
        TxState(sweep.status), "pending"
    )
    return SweepOutcome(state_name, sweep.amount_drops, sweep.tx_hash or "")
