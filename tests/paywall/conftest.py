"""Fixtures of the paywall suite: a clean cache (throttle counters) and the API client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client

from tests.paywall.helpers import Api


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(client: Client) -> Api:
    return Api(client)
