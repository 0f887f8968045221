"""The platform's settlement account on the ledger: bootstrap, the sandbox faucet, reconciliation."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from xrpl.models.transactions import Payment
from xrpl.transaction import submit_and_wait
from xrpl.wallet import Wallet

from channels_app import ledger
from channels_app.exceptions import DropgateError, LedgerUnavailable
from channels_app.keys.services import platform_address
from channels_app.models import Channel, ChannelStatus, JournalLine
from channels_app.selectors import journal_balance
from channels_app.services.journal import credit, debit, journal_post
from channels_app.services.settlement import journal_redeemed_drops

logger = logging.getLogger(__name__)


class FaucetDisabled(DropgateError):
    code = "faucet_disabled"
    http_status = 403
    default_message = "The faucet is only available on the sandbox ledger."


def faucet_fund(*, address: str, drops: int) -> str:
    """Pay `drops` from the sandbox's genesis account. Only when DROPGATE_FAUCET_ENABLED."""
    if not settings.DROPGATE_FAUCET_ENABLED:
        raise FaucetDisabled()
    genesis = Wallet.from_seed(settings.DROPGATE_FAUCET_SEED)
    payment = Payment(account=genesis.classic_address, destination=address, amount=str(drops))
    try:
        response = submit_and_wait(payment, ledger.client(), genesis)
    except Exception as exc:  # xrpl-py raises several transport and submission types here
        logger.warning("faucet payment failed: %s", type(exc).__name__)
        raise LedgerUnavailable() from exc
    result = response.result.get("meta", {}).get("TransactionResult")
    if result != "tesSUCCESS":
        raise DropgateError(f"The faucet payment failed ({result}).", code="faucet_failed")
    return str(response.result.get("hash", ""))


def platform_bootstrap(
    *, faucet_drops: int = 1_000_000_000, harden: bool | None = None
) -> dict[str, object]:
    """Make sure the settlement account exists, its opening balance is in the journal and
    (unless `harden` is False; default DROPGATE_HARDEN_SETTLEMENT_ACCOUNT) it signs only with a
    regular key, its master key disabled.

    On the sandbox the faucet funds it; on a real network the operator funds it first.
    """
    address = platform_address()
    balance = ledger.account_balance(address)
    funding_tx = ""
    if balance is None:
        funding_tx = faucet_fund(address=address, drops=faucet_drops)
        balance = ledger.account_balance(address) or 0
    with transaction.atomic():
        if journal_balance("settlement_account", address) == 0 and balance:
            journal_post(
                kind="platform_funding",
                reference=f"opening:{address}",
                postings=[
                    debit("settlement_account", balance, address),
                    credit("platform_equity", balance),
                ],
                memo=f"opening balance {funding_tx}".strip(),
            )
    if settings.DROPGATE_HARDEN_SETTLEMENT_ACCOUNT if harden is None else harden:
        from channels_app.keys.services import settlement_account_harden

        settlement_account_harden(actor="platform_bootstrap")
    return {"address": address, "balance_drops": balance, "funding_tx": funding_tx}


@dataclass
class ReconciliationReport:
    checked_channels: int = 0
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def journal_accepted_drops(channel_id: str) -> int:
    total = JournalLine.objects.filter(
        account="claims_receivable", subaccount=channel_id, entry__kind="claim_accepted"
    ).aggregate(d=Sum("debit_drops"))["d"]
    return int(total or 0)


def journal_reconcile() -> ReconciliationReport:
    """Compare the journal with the ledger; every difference is listed, none is corrected.

    Checks: each open channel's redeemed amount equals its ledger Balance; the journal's
    accepted amount per channel equals the channel's accepted high-water mark; the settlement
    account's journal balance equals its balance on the ledger.
    """
    report = ReconciliationReport()
    for channel in Channel.objects.order_by("pk"):
        report.checked_channels += 1
        accepted = journal_accepted_drops(channel.channel_id)
        if accepted != channel.accepted_drops:
            report.differences.append(
                f"{channel.channel_id}: journal accepted {accepted} != channel high-water mark "
                f"{channel.accepted_drops}"
            )
        if channel.status == ChannelStatus.CLOSED:
            continue
        entry = ledger.channel_entry(channel.channel_id)
        if entry is None:
            report.differences.append(
                f"{channel.channel_id}: tracked as open but not on the ledger"
            )
            continue
        redeemed = journal_redeemed_drops(channel.channel_id)
        if redeemed != entry.balance_drops:
            report.differences.append(
                f"{channel.channel_id}: journal redeemed {redeemed} != ledger Balance {entry.balance_drops}"
            )
    address = platform_address()
    on_ledger = ledger.account_balance(address) or 0
    in_journal = journal_balance("settlement_account", address)
    if on_ledger != in_journal:
        report.differences.append(
            f"settlement account {address}: journal {in_journal} != ledger {on_ledger}"
        )
    return report
