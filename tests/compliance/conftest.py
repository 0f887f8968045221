"""Fixtures of the compliance suite: a clean cache, the API client, recorded exchange rates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from compliance.selectors import eur_rate_cache_clear
from compliance.services.rulebook import rulebook_versions_forget
from tests.channels_app.payouts.conftest import (  # noqa: F401 - fixtures shared with payouts
    after_holdback,
    earner,
    platform,
)
from tests.paywall.helpers import Api


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()
    eur_rate_cache_clear()
    rulebook_versions_forget()
    yield
    cache.clear()
    eur_rate_cache_clear()


@pytest.fixture
def api(client: Client) -> Api:
    return Api(client)


@pytest.fixture
def xrp_eur(db: Any) -> Decimal:
    """An XRP/EUR market rate recorded for long ago, so every test date has one."""
    from compliance.services.fx import fx_rate_record

    rate = Decimal("0.50")
    fx_rate_record(base="XRP", quote="EUR", rate=rate, as_of=date(2020, 1, 1), source="test market")
    return rate
