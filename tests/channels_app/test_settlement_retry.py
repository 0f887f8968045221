"""The settlement sweep tries a failed settlement again (found by the faults harness: a
settlement refused with tefPAST_SEQ below the threshold was left until the next threshold, and
a close never came)."""

from __future__ import annotations

import secrets

import pytest

from channels_app.models import Channel, ChannelStatus, Settlement, SettlementStatus
from channels_app.selectors import channels_with_failed_settlement
from tests.channels_app.factories import claim_key, make_channel

pytestmark = pytest.mark.django_db


def channel_owed(drops: int = 5_000, **fields: object) -> Channel:
    """A channel with `drops` accepted beyond what the ledger has paid."""
    return make_channel(key=claim_key(), accepted_drops=drops, **fields)


def settle(channel: Channel, status: str, result: str = "", *, close: bool = False) -> None:
    Settlement.objects.create(
        channel=channel,
        balance_drops=channel.accepted_drops,
        close=close,
        reason="threshold",
        tx_hash=secrets.token_hex(32).upper(),
        tx_blob="00",
        sequence=1,
        last_ledger_sequence=10,
        fee_drops=12,
        status=status,
        engine_result=result,
    )


def test_a_failed_settlement_is_tried_again_as_what_it_was() -> None:
    refused = channel_owed()
    settle(refused, SettlementStatus.FAILED, "tefPAST_SEQ")
    closing = channel_owed()
    settle(closing, SettlementStatus.FAILED, "expired", close=True)

    assert sorted(channels_with_failed_settlement()) == sorted(
        [(refused.pk, False), (closing.pk, True)]
    )


def test_what_is_not_tried_again() -> None:
    # a tec result spent its fee and names a lasting problem
    spent = channel_owed()
    settle(spent, SettlementStatus.FAILED, "tecNO_PERMISSION")
    # a later settlement succeeded
    healed = channel_owed()
    settle(healed, SettlementStatus.FAILED, "tefPAST_SEQ")
    settle(healed, SettlementStatus.VALIDATED, "tesSUCCESS")
    # nothing is owed any more
    paid = channel_owed(ledger_balance_drops=5_000)
    settle(paid, SettlementStatus.FAILED, "tefPAST_SEQ")
    # the channel is closed
    closed = channel_owed(status=ChannelStatus.CLOSED)
    settle(closed, SettlementStatus.FAILED, "tefPAST_SEQ")
    # never settled at all (the threshold sweep's business)
    channel_owed()

    assert channels_with_failed_settlement() == []


def test_the_sweep_queues_the_retry(monkeypatch) -> None:
    from channels_app import tasks

    closing = channel_owed()
    settle(closing, SettlementStatus.FAILED, "tefPAST_SEQ", close=True)
    queued: list[tuple[int, str, bool]] = []
    monkeypatch.setattr(tasks, "watchtower_resolve_in_flight", lambda: None)
    monkeypatch.setattr(
        tasks,
        "settle_channel_queue",
        lambda pk, reason, close=False: queued.append((pk, reason, close)) or True,
    )

    assert tasks.settle_due_channels.apply().get() == 1
    assert queued == [(closing.pk, "retry", True)]
