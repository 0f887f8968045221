"""Case holds are real payout holds: against the sandbox ledger, a publisher's matured revenue
is held by a case (and a detector's case), skipped by the payout batch, and payable again once
the case is dismissed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channels_app import clock
from channels_app.payouts.selectors import publisher_balance
from channels_app.payouts.services.payouts import payout_batch_run
from fraud.services.cases import case_dismiss, case_open, case_open_detected, case_release
from tests.channels_app.payouts import conftest as payouts
from tests.channels_app.payouts.conftest import Earner, net, new_address

# The payouts suite's fixtures: its platform on the sandbox, an earning reader, the holdback.
platform = payouts.platform
earner = payouts.earner
after_holdback = payouts.after_holdback

pytestmark = pytest.mark.integration

PUB = "pub_fraud_balance"


def test_case_holds_show_in_balances_and_stop_payouts(earner: Earner, after_holdback) -> None:
    # given matured revenue
    earner.pay(PUB, 3_000_000)
    earner.redeem()
    full = net(3_000_000)
    assert publisher_balance(PUB).available_drops == full
    # when a case holds part of it, and then more
    case = case_open(
        kind="risky_unlock",
        publisher_ref=PUB,
        subject="reader:x",
        evidence={},
        hold_drops=1_000_000,
    )
    balance = publisher_balance(PUB)
    assert (balance.held_drops, balance.available_drops) == (1_000_000, full - 1_000_000)
    case_open(
        kind="risky_unlock", publisher_ref=PUB, subject="reader:x", evidence={}, hold_drops=500_000
    )
    balance = publisher_balance(PUB)
    assert (balance.held_drops, balance.available_drops) == (1_500_000, full - 1_500_000)
    # then releasing it makes everything payable again
    case_release(case_id=case.pk)
    balance = publisher_balance(PUB)
    assert (balance.held_drops, balance.available_drops) == (0, full)


def test_a_detector_case_holds_its_readers_revenue_until_dismissed(
    earner: Earner, after_holdback
) -> None:
    earner.pay(PUB, 2_000_000)
    earner.redeem()
    full = net(2_000_000)
    # a detector finds the reader: the case holds what that reader brought the publisher
    case = case_open_detected(
        kind="account_farming",
        publisher_ref=PUB,
        subject="cluster:test",
        evidence={"source": "farming"},
        score=0.9,
        reader_refs=[earner.channel.owner_ref],
        since=clock.now() - timedelta(days=30),
    )
    assert case is not None and case.held_drops == full
    assert publisher_balance(PUB).available_drops == 0
    destinations = {PUB: new_address()}
    outcome = payout_batch_run(destinations=destinations, key="fraud-held")
    assert outcome.planned == 0
    assert outcome.deferred == [{"publisher_ref": PUB, "reason": "held", "amount_drops": str(full)}]
    # dismissed: payable from the next batch
    case_dismiss(case_id=case.pk, note="legitimate")
    assert publisher_balance(PUB).available_drops == full
    outcome = payout_batch_run(destinations=destinations, key="fraud-released")
    assert outcome.validated == 1
