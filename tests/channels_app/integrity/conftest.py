"""Fixtures of the state-integrity suite."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from channels_app.services.platform import platform_bootstrap


@pytest.fixture
def platform(settings, sandbox_url: str, db) -> str:
    """The platform's settlement account on the sandbox; settlement only when a test asks."""
    settings.XRPL_URL = sandbox_url
    settings.DROPGATE_MIN_SETTLE_DELAY_SECONDS = 60
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12
    settings.DROPGATE_WATCHTOWER_ALERT_MARGIN_SECONDS = 20
    cache.clear()
    return str(platform_bootstrap()["address"])
