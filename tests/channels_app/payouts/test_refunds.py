"""Refunds to readers: XRP back on the ledger, or credit that later unlocks consume."""

from __future__ import annotations

import pytest

from channels_app.models import JournalEntry
from channels_app.payouts.exceptions import (
    CreditInsufficient,
    PayoutsPaused,
    RefundReferenceConflict,
    RefundRejected,
)
from channels_app.payouts.models import ReaderCredit, Refund, TxState
from channels_app.payouts.selectors import credit_available, publisher_balance
from channels_app.payouts.services.reconcile import payouts_reconcile
from channels_app.payouts.services.refunds import credit_consume, refund_issue
from channels_app.payouts.services.transfers import account_state
from channels_app.selectors import journal_balance
from channels_app.services.platform import journal_reconcile
from tests.channels_app.payouts.conftest import Earner, net

pytestmark = pytest.mark.integration


def reader_ref(earner: Earner) -> str:
    return earner.channel.owner_ref


def unchanged(earner: Earner, platform: str) -> tuple[object, ...]:
    return (
        Refund.objects.count(),
        JournalEntry.objects.count(),
        account_state(platform),
        account_state(earner.reader.wallet.address),
        list(ReaderCredit.objects.values_list("reader_ref", "balance_drops")),
    )


def test_a_ledger_refund_pays_the_channel_source_once(platform: str, earner: Earner) -> None:
    earner.pay("pub_r", 3_000_000)
    earner.redeem()
    source_before = account_state(earner.reader.wallet.address)
    assert source_before is not None

    outcome = refund_issue(
        reader_ref=reader_ref(earner),
        channel_id=earner.reader.channel_id,
        amount_drops=1_000_000,
        mode="ledger",
        reason="article never loaded",
        reference="dispute:1",
        wait_seconds=10,
    )

    assert outcome.status == TxState.VALIDATED, outcome
    source_after = account_state(earner.reader.wallet.address)
    assert source_after is not None
    assert source_after.balance_drops == source_before.balance_drops + 1_000_000
    assert journal_balance("publisher_payable", "pub_r") == -(net(3_000_000) - 1_000_000)
    assert journal_reconcile().ok
    report = payouts_reconcile()
    assert report.ok, report.differences

    # the same reference again: the same refund, nothing paid twice
    before = unchanged(earner, platform)
    again = refund_issue(
        reader_ref=reader_ref(earner),
        channel_id=earner.reader.channel_id,
        amount_drops=1_000_000,
        mode="ledger",
        reason="article never loaded",
        reference="dispute:1",
    )
    assert again == outcome
    assert unchanged(earner, platform) == before


def test_refunds_that_must_not_happen_change_nothing(
    settings, platform: str, earner: Earner
) -> None:
    earner.pay("pub_r", 2_000_000)
    refund_issue(
        reader_ref=reader_ref(earner),
        channel_id=earner.reader.channel_id,
        amount_drops=500_000,
        mode="credit",
        reason="duplicate charge",
        reference="dispute:2",
    )
    before = unchanged(earner, platform)
    base = {
        "reader_ref": reader_ref(earner),
        "channel_id": earner.reader.channel_id,
        "reason": "x",
    }
    cases = [
        (
            {**base, "amount_drops": 1_600_000, "mode": "ledger", "reference": "r:over"},
            "refund_exceeds_paid",
        ),
        (
            {
                **base,
                "reader_ref": "rdr_other",
                "amount_drops": 1,
                "mode": "credit",
                "reference": "r:who",
            },
            "refund_channel_not_readers",
        ),
        (
            {
                **base,
                "channel_id": "AB" * 32,
                "amount_drops": 1,
                "mode": "credit",
                "reference": "r:ch",
            },
            "refund_channel_unknown",
        ),
        (
            {**base, "amount_drops": 0, "mode": "credit", "reference": "r:zero"},
            "refund_amount_invalid",
        ),
        ({**base, "amount_drops": 1, "mode": "cash", "reference": "r:mode"}, "refund_mode_invalid"),
    ]
    for kwargs, code in cases:
        with pytest.raises(RefundRejected) as error:
            refund_issue(**kwargs)  # type: ignore[arg-type]
        assert error.value.code == code
        assert unchanged(earner, platform) == before
    with pytest.raises(RefundReferenceConflict):
        refund_issue(**{**base, "amount_drops": 7, "mode": "credit", "reference": "dispute:2"})  # type: ignore[arg-type]
    settings.DROPGATE_PAYOUTS_PAUSED = True
    with pytest.raises(PayoutsPaused):
        refund_issue(**{**base, "amount_drops": 1, "mode": "ledger", "reference": "r:paused"})  # type: ignore[arg-type]
    assert unchanged(earner, platform) == before


def test_a_credit_refund_is_consumed_by_later_unlocks(platform: str, earner: Earner) -> None:
    earner.pay("pub_r", 2_000_000)
    reader = reader_ref(earner)

    outcome = refund_issue(
        reader_ref=reader,
        channel_id=earner.reader.channel_id,
        amount_drops=800_000,
        mode="credit",
        reason="paywall error",
        reference="dispute:3",
    )

    assert outcome.status == TxState.CREDITED
    assert credit_available(reader) == 800_000
    assert journal_balance("reader_credit", reader) == -800_000
    assert journal_balance("publisher_payable", "pub_r") == -(net(2_000_000) - 800_000)

    # an unlock on another publisher's site spends part of it; that publisher earns it, net
    use = credit_consume(
        reader_ref=reader, amount_drops=300_000, payee_ref="pub_s", fee_bps=1000, reference="u:1"
    )
    assert (use.amount_drops, use.fee_drops, use.remaining_drops) == (300_000, 30_000, 500_000)
    assert journal_balance("publisher_payable", "pub_s") == -270_000
    assert publisher_balance("pub_s").pending_drops == 270_000  # holdback applies to it too
    # idempotent by reference
    assert (
        credit_consume(
            reader_ref=reader,
            amount_drops=300_000,
            payee_ref="pub_s",
            fee_bps=1000,
            reference="u:1",
        )
        == use
    )
    # more than is left: refused, nothing changes
    entries = JournalEntry.objects.count()
    with pytest.raises(CreditInsufficient):
        credit_consume(
            reader_ref=reader,
            amount_drops=500_001,
            payee_ref="pub_s",
            fee_bps=1000,
            reference="u:2",
        )
    assert credit_available(reader) == 500_000
    assert JournalEntry.objects.count() == entries
    report = payouts_reconcile(check_ledger_transactions=False)
    assert report.ok, report.differences
