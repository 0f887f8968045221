"""Payout batches against the real sandbox: hot lane, holdback, holds, idempotency, pause."""

from __future__ import annotations

import pytest

from channels_app.models import JournalEntry, JournalLine
from channels_app.payouts.exceptions import PayoutsPaused
from channels_app.payouts.models import Lane, Payout, PayoutBatch, TxState
from channels_app.payouts.selectors import publisher_balance
from channels_app.payouts.services.holds import hold_place, hold_release
from channels_app.payouts.services.payouts import payout_batch_run
from channels_app.payouts.services.reconcile import payouts_reconcile
from channels_app.payouts.services.transfers import account_state
from channels_app.selectors import journal_balance
from channels_app.services.platform import journal_reconcile
from tests.channels_app.payouts.conftest import Earner, net, new_address

pytestmark = pytest.mark.integration


def balance_of(address: str) -> int:
    state = account_state(address)
    return state.balance_drops if state else 0


def snapshot(platform: str, *addresses: str) -> tuple[object, ...]:
    """Everything a refused or idempotent call must leave as it was."""
    return (
        Payout.objects.count(),
        JournalEntry.objects.count(),
        account_state(platform),
        tuple(balance_of(a) for a in addresses),
    )


def test_a_batch_of_small_payouts_lands_and_reconciles(
    platform: str, earner: Earner, after_holdback: None
) -> None:
    # given three publishers with redeemed revenue older than the holdback
    earned = {"pub_a": 2_000_000, "pub_b": 3_000_000, "pub_c": 1_500_000}
    for ref, drops in earned.items():
        earner.pay(ref, drops)
    earner.redeem()
    destinations = {ref: new_address() for ref in earned}

    # when a batch runs
    outcome = payout_batch_run(destinations=destinations, key="nightly-1")

    # then each is paid its revenue net of the fee, from the hot account, and booked once
    assert outcome.planned == 3 and outcome.validated == 3, outcome
    for ref, drops in earned.items():
        payout = Payout.objects.get(publisher_ref=ref)
        assert payout.lane == Lane.HOT and payout.status == TxState.VALIDATED
        assert payout.amount_drops == net(drops)
        assert balance_of(destinations[ref]) == net(drops)
        assert journal_balance("publisher_payable", ref) == 0
        balance = publisher_balance(ref)
        assert (balance.available_drops, balance.paid_drops) == (0, net(drops))
    assert journal_reconcile().ok
    report = payouts_reconcile()
    assert report.ok, report.differences


def test_rerunning_a_batch_never_pays_twice(
    platform: str, earner: Earner, after_holdback: None
) -> None:
    earner.pay("pub_once", 4_000_000)
    earner.redeem()
    destinations = {"pub_once": new_address()}
    first = payout_batch_run(destinations=destinations, key="k1")
    assert first.validated == 1
    before = snapshot(platform, destinations["pub_once"])

    # when the same batch is run again, and then a new batch
    again = payout_batch_run(destinations=destinations, key="k1")
    other = payout_batch_run(destinations=destinations, key="k2")

    # then nothing more is paid, signed or booked
    assert (again.batch_id, again.created, again.validated) == (first.batch_id, False, 1)
    assert other.created and other.planned == 0
    assert snapshot(platform, destinations["pub_once"]) == before
    assert balance_of(destinations["pub_once"]) == net(4_000_000)


def test_holdback_and_redemption_are_respected(platform: str, earner: Earner, settings) -> None:
    # given revenue redeemed just now, and revenue accepted but not yet redeemed
    earner.pay("pub_hb", 2_000_000)
    earner.redeem()
    destinations = {"pub_hb": new_address()}

    # when a batch runs inside the holdback window
    before = snapshot(platform, destinations["pub_hb"])
    outcome = payout_batch_run(destinations=destinations, key="early")

    # then nothing is paid; the revenue is pending
    assert outcome.planned == 0
    assert snapshot(platform, destinations["pub_hb"])[1:] == before[1:]
    balance = publisher_balance("pub_hb")
    assert (balance.pending_drops, balance.available_drops) == (net(2_000_000), 0)

    # when the window has passed, unredeemed revenue is still not payable
    from datetime import timedelta

    from channels_app import clock

    earner.pay("pub_hb", 3_000_000)
    with clock.override(timedelta(days=8)):
        balance = publisher_balance("pub_hb")
        assert balance.pending_drops == net(3_000_000)
        assert balance.available_drops == net(2_000_000)
        outcome = payout_batch_run(destinations=destinations, key="later")
    assert outcome.validated == 1
    assert balance_of(destinations["pub_hb"]) == net(2_000_000)


def test_holds_take_revenue_off_until_released(
    platform: str, earner: Earner, after_holdback: None
) -> None:
    earner.pay("pub_h", 5_000_000)
    earner.redeem()
    destinations = {"pub_h": new_address()}
    full = net(5_000_000)

    # a hold on everything: nothing is paid, and the batch says why
    hold = hold_place(publisher_ref="pub_h", reason="fraud review")
    before = snapshot(platform, destinations["pub_h"])
    outcome = payout_batch_run(destinations=destinations, key="held")
    assert outcome.planned == 0
    assert outcome.deferred == [
        {"publisher_ref": "pub_h", "reason": "held", "amount_drops": str(full)}
    ]
    assert snapshot(platform, destinations["pub_h"])[1:] == before[1:]
    assert publisher_balance("pub_h").held_drops == full

    # a partial hold instead: everything but the held amount is paid
    hold_release(hold_id=hold.pk, note="cleared")
    hold_place(publisher_ref="pub_h", reason="disputed article", amount_drops=1_500_000)
    outcome = payout_batch_run(destinations=destinations, key="partial")
    assert outcome.validated == 1
    assert balance_of(destinations["pub_h"]) == full - 1_500_000
    balance = publisher_balance("pub_h")
    assert (balance.held_drops, balance.available_drops) == (1_500_000, 0)


def test_paused_payouts_sign_and_submit_nothing(
    settings, platform: str, earner: Earner, after_holdback: None
) -> None:
    earner.pay("pub_p", 2_000_000)
    earner.redeem()
    destinations = {"pub_p": new_address()}
    settings.DROPGATE_PAYOUTS_PAUSED = True
    before = snapshot(platform, destinations["pub_p"])
    lines = JournalLine.objects.count()

    with pytest.raises(PayoutsPaused):
        payout_batch_run(destinations=destinations, key="paused")

    assert not PayoutBatch.objects.exists()
    assert snapshot(platform, destinations["pub_p"]) == before
    assert JournalLine.objects.count() == lines
