"""Fixtures of the disputes suite: publishers, articles and readers made through the paywall's
services, channels tracked in the database (fast) or opened on the sandbox ledger (when money
must reconcile with the ledger), and unlocks made through the real unlock service."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client

from tests.disputes.helpers import World
from tests.paywall.helpers import Api


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(client: Client) -> Api:
    return Api(client)


@pytest.fixture
def world(db) -> World:
    """One publisher with two articles; readers with tracked channels (no ledger)."""
    return World.create()


@pytest.fixture
def ledger_world(settings, sandbox_url: str, db) -> World:
    """Like `world`, but the platform account and the readers' channels are on the sandbox."""
    settings.XRPL_URL = sandbox_url
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12  # settle only when a test asks
    settings.DROPGATE_HOT_FLOAT_CAP_DROPS = 10**15
    settings.DROPGATE_PAYOUT_WAIT_SECONDS = 10
    settings.DROPGATE_PAYOUTS_PAUSED = False
    return World.create(sandbox_url=sandbox_url)
