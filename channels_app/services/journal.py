"""The append-only double-entry journal. Every movement of value is posted here.

Accounts (sub-account in brackets):
- `claims_receivable` [channel id]: accepted claims not yet redeemed on the ledger (asset).
- `publisher_payable` [publisher ref]: what the platform owes a publisher (liability).
- `platform_fee_revenue`: the platform's fee (income).
- `settlement_account` [address]: XRP the platform holds on the ledger (asset).
- `network_fees`: XRP burnt as transaction fees (expense).
- `platform_equity`: the operator's funding of the settlement account.
- `claims_written_off` [channel id]: accepted claims that could not be redeemed (expense).
- `vat_payable` [country]: VAT/GST included in readers' payments, owed to the tax authority
  of the country of consumption (liability; a claim's `tax` entry moves it out of
  `publisher_payable`, and the platform fee is taken on what remains).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from channels_app.models import JournalEntry, JournalLine


@dataclass(frozen=True)
class Posting:
    account: str
    subaccount: str = ""
    debit_drops: int = 0
    credit_drops: int = 0


def debit(account: str, drops: int, subaccount: str = "") -> Posting:
    return Posting(account=account, subaccount=subaccount, debit_drops=drops)


def credit(account: str, drops: int, subaccount: str = "") -> Posting:
    return Posting(account=account, subaccount=subaccount, credit_drops=drops)


class UnbalancedEntry(ValueError):
    pass


@transaction.atomic
def journal_post(
    *, kind: str, reference: str, postings: list[Posting], memo: str = "", fresh: bool = False
) -> JournalEntry | None:
    """Post a balanced entry once. Returns None if (kind, reference) was already posted.

    Zero-amount postings are dropped; an entry whose postings all vanish is not posted.
    `fresh=True` is for callers whose reference was just created in the same transaction (a
    new claim's id): a duplicate is impossible, so no savepoint is spent guarding against it.
    """
    lines = [p for p in postings if p.debit_drops or p.credit_drops]
    if not lines:
        return None
    debits = sum(p.debit_drops for p in lines)
    credits = sum(p.credit_drops for p in lines)
    if debits != credits:
        raise UnbalancedEntry(f"{kind} {reference}: debits {debits} != credits {credits}")
    if fresh:
        entry = JournalEntry.objects.create(kind=kind, reference=reference, memo=memo[:255])
    else:
        try:
            with transaction.atomic():
                entry = JournalEntry.objects.create(kind=kind, reference=reference, memo=memo[:255])
        except IntegrityError:
            return None
    JournalLine.objects.bulk_create(
        [
            JournalLine(
                entry=entry,
                account=p.account,
                subaccount=p.subaccount,
                debit_drops=p.debit_drops,
                credit_drops=p.credit_drops,
            )
            for p in lines
        ]
    )
    return entry
