"""VAT in the journal on the real ledger path: claims with tax are redeemed on the sandbox and
the publisher is paid; `reconcile_journal` and `payouts_reconcile` stay clean, the tax office is
owed exactly the VAT, and the publisher is paid the net after the fee on the net."""

from __future__ import annotations

import pytest
from xrpl.wallet import Wallet

from channels_app.payouts.selectors import publisher_balance
from channels_app.payouts.services.payouts import payout_batch_run
from channels_app.payouts.services.reconcile import payouts_reconcile
from channels_app.selectors import journal_balance
from channels_app.services.claims import claim_accept
from channels_app.services.platform import journal_reconcile
from channels_app.types import TaxShare

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def test_vat_is_journaled_redeemed_and_reconciles(
    earner, platform, after_holdback, settings
) -> None:
    settings.DROPGATE_PAYOUT_MULTISIGN_THRESHOLD_DROPS = 10**9  # a hot-account payout
    prices = [
        (1_190_000, TaxShare("DE", 190_000)),
        (1_200_000, TaxShare("FR", 200_000)),
        (5_000_000, None),
    ]
    total = 0
    for n, (price, tax) in enumerate(prices):
        total += price
        accepted = claim_accept(
            channel_id=earner.reader.channel_id,
            amount_drops=total,
            signature=earner.reader.key.sign(earner.reader.channel_id, total),
            min_increment_drops=price,
            max_increment_drops=price,
            payee_ref="pub_vat",
            fee_bps=1000,
            reference=f"unlock:{n}",
            tax=tax,
        )
        assert accepted.tax_drops == (tax.drops if tax else 0)
        assert accepted.fee_drops == (price - accepted.tax_drops) // 10
    earner.cumulative = total
    earner.redeem()

    assert journal_balance("vat_payable", "DE") == -190_000
    assert journal_balance("vat_payable", "FR") == -200_000
    net = 1_000_000 + 1_000_000 + 5_000_000
    owed = net - net // 10
    assert publisher_balance("pub_vat").owed_drops == owed

    outcome = payout_batch_run(destinations={"pub_vat": Wallet.create().classic_address}, key="vat")
    assert outcome.validated == 1 and outcome.total_drops == owed
    assert journal_reconcile().ok, journal_reconcile().differences
    report = payouts_reconcile()
    assert report.ok, report.differences
