"""Services of the payouts app: the vault and sweeps, payouts, holds, refunds and credits.

Journal accounts these services add to those of `channels_app.services.journal`
(sub-account in brackets):

- `vault_account` [address]: XRP the platform holds in the vault (asset). Funded like the
  settlement account (`platform_funding`, Cr `platform_equity`); filled by sweeps.
- `reader_credit` [reader ref]: credit the platform owes a reader after a credit-mode refund
  (liability); consumed by later unlocks.
- `refunds_expense`: refunds the platform bears itself instead of a publisher (expense).

Journal kinds they post (reference in brackets):

- `platform_funding` [opening:<vault address>]: Dr vault_account / Cr platform_equity.
- `sweep` [tx hash]: Dr vault_account / Cr settlement_account.
- `payout` [tx hash]: Dr publisher_payable / Cr settlement_account (hot lane) or
  vault_account (vault lane).
- `refund` [refund reference]: Dr publisher_payable (or refunds_expense) / Cr
  settlement_account (ledger mode) or reader_credit (credit mode).
- `credit_applied` [use reference]: Dr reader_credit / Cr publisher_payable (net of the fee) and
  Cr platform_fee_revenue (the fee).
- `network_fee` [tx hash]: Dr network_fees / Cr the paying account, for every transaction that
  reached a validated ledger (tesSUCCESS or tec).

Every entry is posted in the same database transaction as the status change it records, and
(kind, reference) is unique, so resolving a transaction twice posts nothing twice.
"""
