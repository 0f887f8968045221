"""Reconciling payouts, sweeps, refunds and credits with the journal and the ledger."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Sum

from channels_app import ledger
from channels_app.keys.services import platform_address
from channels_app.models import JournalLine
from channels_app.payouts.models import (
    Payout,
    ReaderCredit,
    Refund,
    RefundMode,
    Sweep,
    TxState,
)
from channels_app.payouts.services.transfers import account_state, ledger_outcomes
from channels_app.payouts.services.vault import vault_current
from channels_app.selectors import journal_balance
from channels_app.services.platform import ReconciliationReport


def _journal_amount(kind: str, reference: str, account: str) -> int:
    total = JournalLine.objects.filter(
        entry__kind=kind, entry__reference=reference, account=account
    ).aggregate(d=Sum("debit_drops"))["d"]
    return int(total or 0)


def _ledger_differences(rows: list[tuple[str, str, int | None]]) -> list[str]:
    """Each (label, hash, ledger index) must be tesSUCCESS in that validated ledger. One
    request per ledger; a hash not found there is looked up on its own."""
    by_ledger: dict[int | None, list[tuple[str, str]]] = defaultdict(list)
    for label, tx_hash, index in rows:
        by_ledger[index].append((label, tx_hash))
    differences = []
    for index, items in by_ledger.items():
        found = ledger_outcomes(index, {h for _, h in items}) if index is not None else {}
        for label, tx_hash in items:
            status = found.get(tx_hash) or ledger.transaction_status(tx_hash)
            if status is None or not status.validated or status.result != "tesSUCCESS":
                differences.append(f"{label}: {tx_hash} is not tesSUCCESS in a validated ledger")
    return differences


def payouts_reconcile(*, check_ledger_transactions: bool = True) -> ReconciliationReport:
    """List every difference between rows, journal and ledger; correct none.

    - the hot and vault accounts' journal balances equal their validated ledger balances;
    - each validated payout, sweep and ledger refund has its journal entry for its amount,
      and (with `check_ledger_transactions`) its hash is tesSUCCESS in a validated ledger;
    - no failed or cancelled payout has a payout entry;
    - per publisher, journaled payouts equal validated payout rows;
    - per reader, the reader_credit account equals the stored credit balance.
    """
    report = ReconciliationReport()
    hot = platform_address()
    accounts = [("settlement_account", hot)]
    vault = vault_current()
    if vault is not None:
        accounts.append(("vault_account", vault.address))
    for account, address in accounts:
        state = account_state(address)
        on_ledger = state.balance_drops if state else 0
        in_journal = journal_balance(account, address)
        if on_ledger != in_journal:
            report.differences.append(
                f"{account} {address}: journal {in_journal} != ledger {on_ledger}"
            )

    checks: list[tuple[str, str, str, str, int]] = []
    for payout in Payout.objects.filter(status=TxState.VALIDATED).only(
        "pk", "tx_hash", "amount_drops"
    ):
        checks.append(
            (
                f"payout {payout.pk}",
                "payout",
                str(payout.tx_hash),
                "publisher_payable",
                payout.amount_drops,
            )
        )
    for sweep in Sweep.objects.filter(status=TxState.VALIDATED):
        checks.append(
            (f"sweep {sweep.pk}", "sweep", str(sweep.tx_hash), "vault_account", sweep.amount_drops)
        )
    ledger_refunds = Refund.objects.filter(mode=RefundMode.LEDGER, status=TxState.VALIDATED)
    for refund in ledger_refunds:
        account = "publisher_payable" if refund.publisher_ref else "refunds_expense"
        checks.append(
            (f"refund {refund.reference}", "refund", refund.reference, account, refund.amount_drops)
        )
    for label, kind, reference, account, amount in checks:
        booked = _journal_amount(kind, reference, account)
        if booked != amount:
            report.differences.append(f"{label}: journal {booked} != row {amount}")
    if check_ledger_transactions:
        hashes: list[tuple[str, str, int | None]] = [
            (f"payout {p.pk}", str(p.tx_hash), p.ledger_index)
            for p in Payout.objects.filter(status=TxState.VALIDATED).only(
                "pk", "tx_hash", "ledger_index"
            )
        ]
        hashes += [
            (f"sweep {s.pk}", str(s.tx_hash), s.ledger_index)
            for s in Sweep.objects.filter(status=TxState.VALIDATED)
        ]
        hashes += [
            (f"refund {r.reference}", str(r.tx_hash), r.ledger_index) for r in ledger_refunds
        ]
        report.differences.extend(_ledger_differences(hashes))

    not_paid = Payout.objects.exclude(status=TxState.VALIDATED).exclude(tx_hash=None)
    for payout in not_paid.only("pk", "tx_hash"):
        if _journal_amount("payout", str(payout.tx_hash), "publisher_payable"):
            report.differences.append(f"payout {payout.pk}: journaled but {payout.status}")

    journaled: dict[str, int] = defaultdict(int)
    for line in (
        JournalLine.objects.filter(account="publisher_payable", entry__kind="payout")
        .values("subaccount")
        .annotate(d=Sum("debit_drops"))
    ):
        journaled[line["subaccount"]] = int(line["d"] or 0)
    validated: dict[str, int] = defaultdict(int)
    for total in (
        Payout.objects.filter(status=TxState.VALIDATED)
        .values("publisher_ref")
        .annotate(s=Sum("amount_drops"))
    ):
        validated[total["publisher_ref"]] = int(total["s"] or 0)
    for ref in sorted(set(journaled) | set(validated)):
        if journaled[ref] != validated[ref]:
            report.differences.append(
                f"publisher {ref}: journaled payouts {journaled[ref]} "
                f"!= validated payouts {validated[ref]}"
            )

    credits = {
        row["subaccount"]: -(int(row["d"] or 0) - int(row["c"] or 0))
        for row in JournalLine.objects.filter(account="reader_credit")
        .values("subaccount")
        .annotate(d=Sum("debit_drops"), c=Sum("credit_drops"))
    }
    stored = dict(ReaderCredit.objects.values_list("reader_ref", "balance_drops"))
    for ref in sorted(set(credits) | set(stored)):
        if credits.get(ref, 0) != stored.get(ref, 0):
            report.differences.append(
                f"reader {ref}: journal credit {credits.get(ref, 0)} != stored {stored.get(ref, 0)}"
            )
    return report
