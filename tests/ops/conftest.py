"""Fixtures of the console's suite: a busy platform of two publishers, its rows made through
the services a real caller uses (unlocks through `unlock_article` with signed claims on
tracked channels, fraud cases, holds, disputes, SAR cases, keys), all at a fixed moment.

The app clock is moved to NOW while the rows are made and while a test reads them
(`at_now`), so the day, the month and the last 24 hours do not depend on when the suite runs.
Unlock rows take their time from the database's clock (auto_now_add): each is placed at its
moment explicitly, as if it had been made then.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

from channels_app import clock
from channels_app.keys.services import key_ensure
from channels_app.models import KeyRecord, WatchtowerAlert
from channels_app.payouts.models import Lane, Payout, PayoutBatch, TxState
from channels_app.payouts.services.holds import hold_place
from compliance.services.sar import sar_open_or_extend
from disputes.services.filing import dispute_file
from fraud.services.cases import case_open
from paywall.models import Publisher, Unlock
from tests.channels_app.factories import claim_key, make_channel
from tests.disputes.helpers import PRICE, World, pay

# Tuesday 15 December 2026, half past noon (the site's time zone is UTC).
NOW = datetime(2026, 12, 15, 12, 30, tzinfo=UTC)


@contextmanager
def at_now() -> Iterator[None]:
    """The app clock reads NOW (and runs on from it)."""
    with clock.override(NOW - datetime.now(UTC)):
        yield


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@dataclass(frozen=True)
class Busy:
    mine: Publisher
    theirs: Publisher


def _unlock_at(world: World, at: datetime, *, article: int = 0, decision: str = "allow") -> Unlock:
    """A reader of `world` unlocks an article, at `at`."""
    seat = world.seat()
    pay(seat, world.articles[article], decision=decision)
    unlock = Unlock.objects.get(reader=seat.reader, article=world.articles[article])
    assert unlock.amount_drops == PRICE
    Unlock.objects.filter(pk=unlock.pk).update(created_at=at)
    return unlock


@pytest.fixture
def busy(db) -> Busy:
    """Two publishers. Mine: unlocks at 12:20 and 09:30 today, on 13 December and on
    25 November; a fraud case holding 1,000 drops (its hold); a vault payout of 5 XRP awaiting
    approval. Theirs: unlocks at 11:30 today and 40 days ago (disputed as unauthorised: in the
    review queue, due in 14 days, its amount held); an open fraud case without a hold; a hold on all their
    revenue; a queued hot payout. The platform: a channel whose CancelAfter is two days away,
    an open critical watchtower alert, an open SAR case, the access-token key 29 days old (due
    tomorrow) and the settlement regular key 91 days old (overdue)."""
    with at_now():
        mine_world, their_world = World.create(), World.create()
        mine, theirs = mine_world.publisher, their_world.publisher
        _unlock_at(mine_world, NOW - timedelta(minutes=10))
        _unlock_at(mine_world, NOW - timedelta(hours=3))
        _unlock_at(mine_world, NOW - timedelta(days=2))
        _unlock_at(mine_world, NOW - timedelta(days=20))
        _unlock_at(their_world, NOW - timedelta(hours=1))
        disputed = _unlock_at(their_world, NOW - timedelta(days=40), article=1, decision="hold")
        dispute_file(reader=disputed.reader, unlock=disputed.pk, reason="unauthorized")

        case_open(
            kind="account_farming",
            publisher_ref=mine.key,
            subject="cluster:1",
            evidence={"source": "test"},
            hold_drops=1_000,
        )
        case_open(
            kind="velocity",
            publisher_ref=theirs.key,
            subject="reader:x",
            evidence={"source": "test"},
        )
        hold_place(publisher_ref=theirs.key, reason="chargeback review")
        batch = PayoutBatch.objects.create(key="b1", cutoff=NOW, holdback_seconds=0)
        Payout.objects.create(
            batch=batch,
            publisher_ref=mine.key,
            lane=Lane.VAULT,
            destination="rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe",
            amount_drops=5_000_000,
            status=TxState.AWAITING_APPROVAL,
        )
        Payout.objects.create(
            batch=batch,
            publisher_ref=theirs.key,
            destination="rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe",
            amount_drops=7_000_000,
            status=TxState.QUEUED,
        )

        closing = make_channel(
            key=claim_key(), cancel_after=clock.to_ripple_time(NOW + timedelta(days=2))
        )
        WatchtowerAlert.objects.create(
            channel=closing, level="critical", code="late", message="settlement is late"
        )
        sar_open_or_extend(
            rule_id="monitoring.shared_funding",
            subject_kind="funding",
            subject="rFunding",
            summary="readers funded from one account",
            evidence={"source": "test"},
        )
        token = key_ensure(purpose=KeyRecord.Purpose.ACCESS_TOKEN)
        regular = key_ensure(purpose=KeyRecord.Purpose.SETTLEMENT_REGULAR)
    KeyRecord.objects.filter(pk=token.pk).update(activated_at=NOW - timedelta(days=29))
    KeyRecord.objects.filter(pk=regular.pk).update(activated_at=NOW - timedelta(days=91))
    return Busy(mine=mine, theirs=theirs)
