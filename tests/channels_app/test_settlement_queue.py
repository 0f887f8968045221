"""At most one settlement of a channel waits in the queue.

Found by benchmarks/faults.py: every claim past the threshold, every watchtower scan and every
sweep queued another `settle_channel` for the same channel, and each retry during a ledger
outage let another one in. Behind a slow worker or an outage
453 tasks were queued for 40 settlements (most ended `nothing_to_do`), and the settlements
that mattered waited minutes behind them.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

import channels_app.tasks as tasks
from channels_app.exceptions import LedgerUnavailable
from channels_app.services.claims import claim_accept
from channels_app.services.settlement import SettlementOutcome
from tests.channels_app.factories import claim_key, make_channel

pytestmark = pytest.mark.django_db

PRICE = 1_000


@pytest.fixture
def queued(monkeypatch, settings) -> list[tuple[Any, ...]]:
    """What reaches the broker (recorded instead of sent), with a low threshold."""
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 2 * PRICE
    cache.clear()
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        tasks.settle_channel, "apply_async", lambda args, kwargs: sent.append(tuple(args))
    )
    return sent


def pay(channel: Any, key: Any, n: int) -> None:
    amount = n * PRICE
    claim_accept(
        channel_id=channel.channel_id,
        amount_drops=amount,
        signature=key.sign(channel.channel_id, amount),
        min_increment_drops=PRICE,
        payee_ref="pub_test",
        fee_bps=1000,
        reference=f"unlock:{n}",
    )


def test_claims_past_the_threshold_queue_one_settlement_until_it_starts(
    queued, django_capture_on_commit_callbacks
) -> None:
    key = claim_key()
    channel = make_channel(key=key)
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(1, 7):  # claims 2..6 are all past the threshold
            pay(channel, key, n)
    assert queued == [(channel.pk, "threshold")]
    # the sweep and the watchtower find it queued already
    assert tasks.settle_channel_queue(channel.pk, "threshold") is False
    assert queued == [(channel.pk, "threshold")]
    # once the task is done, the next claim may queue the next settlement
    tasks.release_once(tasks.settle_once_key(channel.pk))
    with django_capture_on_commit_callbacks(execute=True):
        pay(channel, key, 7)
    assert queued == [(channel.pk, "threshold"), (channel.pk, "threshold")]


def test_a_close_is_queued_apart_from_a_threshold_settlement(queued) -> None:
    key = claim_key()
    channel = make_channel(key=key)
    assert tasks.settle_channel_queue(channel.pk, "threshold") is True
    assert tasks.settle_channel_queue(channel.pk, "close_requested", True) is True
    assert tasks.settle_channel_queue(channel.pk, "close_requested", True) is False
    assert queued == [(channel.pk, "threshold", False), (channel.pk, "close_requested", True)]


def test_the_task_holds_its_key_while_it_retries_and_releases_it_when_done(
    queued, monkeypatch
) -> None:
    # A ledger outage: each retry of the queued settlement would otherwise let the next claim
    # queue another one, and retry chains multiplied.
    key = claim_key()
    channel = make_channel(key=key)
    assert tasks.settle_channel_queue(channel.pk, "threshold") is True
    held: list[bool] = []

    def settlement_run(**kwargs: Any) -> Any:
        held.append(cache.get(tasks.settle_once_key(channel.pk)) is not None)
        if len(held) == 1:
            raise LedgerUnavailable()
        return SettlementOutcome(channel.channel_id, "validated", 1_000, "AB" * 32)

    monkeypatch.setattr(tasks, "settlement_run", settlement_run)
    tasks.settle_channel.apply(args=(channel.pk, "threshold"))
    assert held == [True, True]  # held through the first run and its retry
    assert cache.get(tasks.settle_once_key(channel.pk)) is None  # released when done
    assert tasks.settle_channel_queue(channel.pk, "threshold") is True
