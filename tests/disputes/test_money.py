"""Outcomes move money correctly on the sandbox ledger and in the journal: a reader's win is a
credit refund, or XRP back on the ledger once the channel is closed; the publisher's payable
is debited, a balance already paid out goes negative and later payouts recover it; the journal
and the payouts reconcile with the ledger throughout."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from xrpl.wallet import Wallet

from channels_app import clock
from channels_app.models import Channel, ChannelStatus, JournalEntry
from channels_app.payouts.models import Payout, TxState
from channels_app.payouts.selectors import credit_available, publisher_balance
from channels_app.payouts.services.payouts import payout_batch_run
from channels_app.payouts.services.reconcile import payouts_reconcile
from channels_app.payouts.services.transfers import account_state
from channels_app.selectors import journal_balance
from channels_app.services.platform import journal_reconcile
from channels_app.services.settlement import settlement_run
from disputes.services.filing import dispute_file
from tests.disputes.helpers import PRICE, pay, unlock_of
from tests.paywall.factories import make_article

pytestmark = pytest.mark.integration

DAY = timedelta(days=1)


def reconciled() -> None:
    journal = journal_reconcile()
    assert journal.ok, journal.differences
    payouts = payouts_reconcile()
    assert payouts.ok, payouts.differences
    out = io.StringIO()
    call_command("reconcile_journal", stdout=out)
    call_command("payouts_reconcile", stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1])["ok"] is True


def settle(seat, *, close: bool = False) -> None:
    channel = Channel.objects.get(channel_id=seat.channel_id)
    outcome = settlement_run(channel_pk=channel.pk, reason="test", close=close, wait_seconds=20)
    assert outcome.state in ("validated", "closed"), outcome


def test_a_readers_win_is_credit_while_the_channel_is_open(ledger_world) -> None:
    seat = ledger_world.seat()
    pay(seat, ledger_world.articles[0])  # never fetched
    before = journal_balance("publisher_payable", ledger_world.publisher.key)

    dispute = dispute_file(reader=seat.reader, unlock="first-story", reason="not_delivered")

    assert dispute.status == "won_by_reader"
    assert dispute.refund is not None and dispute.refund.mode == "credit"
    assert dispute.refund.status == TxState.CREDITED
    assert credit_available(seat.reader.public_id) == PRICE
    # The publisher bears the whole unlock (its fee share included), as with a card chargeback.
    assert journal_balance("publisher_payable", ledger_world.publisher.key) == before + PRICE
    assert JournalEntry.objects.filter(kind="refund", reference=f"dispute:{dispute.pk}").exists()
    reconciled()


def test_a_readers_win_is_paid_on_the_ledger_once_the_channel_is_closed(ledger_world) -> None:
    seat = ledger_world.seat()
    pay(seat, ledger_world.articles[0])
    settle(seat, close=True)
    assert Channel.objects.get(channel_id=seat.channel_id).status == ChannelStatus.CLOSED
    source_before = account_state(seat.wallet.address)
    assert source_before is not None

    dispute = dispute_file(reader=seat.reader, unlock="first-story", reason="not_delivered")

    assert dispute.refund is not None and dispute.refund.mode == "ledger"
    assert dispute.refund.status == TxState.VALIDATED, dispute.refund.engine_result
    source_after = account_state(seat.wallet.address)
    assert source_after is not None
    assert source_after.balance_drops == source_before.balance_drops + PRICE
    assert credit_available(seat.reader.public_id) == 0
    reconciled()


def test_a_refund_after_a_payout_is_recovered_from_later_payouts(ledger_world, settings) -> None:
    settings.DROPGATE_PAYOUT_MIN_DROPS = 1_000_000
    settings.DROPGATE_PAYOUT_MULTISIGN_THRESHOLD_DROPS = 10**12  # all from the hot account
    publisher = ledger_world.publisher
    big = [
        make_article(publisher, slug="long-read", price_drops=3_000_000),
        make_article(publisher, slug="longer-read", price_drops=3_000_000),
    ]
    payee = Wallet.create().address
    reader = ledger_world.seat(funded_drops=20_000_000)
    pay(reader, big[0])
    pay(reader, big[1])
    settle(reader)
    net = 2 * (3_000_000 - 300_000)

    with clock.override(8 * DAY):
        first = payout_batch_run(destinations={publisher.key: payee}, key="b1", wait_seconds=20)
        assert first.validated == 1 and first.total_drops == net
        # the reader disputes one of them after the publisher was paid: refunded as credit
        dispute = dispute_file(reader=reader.reader, unlock="long-read", reason="not_delivered")
        assert dispute.status == "won_by_reader"
        balance = publisher_balance(publisher.key)
        assert balance.matured_drops == -3_000_000 and balance.available_drops == 0
        nothing = payout_batch_run(destinations={publisher.key: payee}, key="b2", wait_seconds=20)
        assert nothing.planned == 0
        reconciled()

    later = ledger_world.seat(funded_drops=20_000_000)
    with clock.override(8 * DAY):
        pay(later, big[0])
        pay(later, big[1])
    settle(later)
    with clock.override(16 * DAY):
        second = payout_batch_run(destinations={publisher.key: payee}, key="b3", wait_seconds=20)
        assert second.validated == 1
        assert second.total_drops == net - 3_000_000  # the deficit came off first
        assert publisher_balance(publisher.key).matured_drops == 0
        reconciled()
    payee_state = account_state(payee)
    assert payee_state is not None and payee_state.balance_drops == 2 * net - 3_000_000
    assert Payout.objects.filter(status=TxState.VALIDATED).count() == 2
    assert unlock_of(reader, big[0]).amount_drops == 3_000_000
