"""Suite-wide configuration: fixture plugins and generic fixtures only.

Domain fixtures (factories, publishers, channels) belong in the suite that uses them.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

# Fixture plugins. A plugin that is still being written (absent) is skipped rather than
# breaking collection of the whole suite.
_FIXTURE_PLUGINS = ("tests.fixtures.worker", "tests.fixtures.sandbox")

pytest_plugins = [name for name in _FIXTURE_PLUGINS if importlib.util.find_spec(name) is not None]


@pytest.fixture(autouse=True)
def _unhardened_platform_by_default(settings: Any) -> None:
    """Most tests bootstrap a fresh platform account; hardening it (two more ledger
    transactions) is covered by the key tests and the browser suite, which turn it back on."""
    settings.DROPGATE_HARDEN_SETTLEMENT_ACCOUNT = False


@pytest.fixture(autouse=True)
def _no_payout_gate_by_default(settings: Any) -> None:
    """Payout tests exercise the payouts engine with publishers that have no KYC; the
    compliance gate (KYC tiers, the TFR rule) is tested in tests/compliance, which turns it
    back on."""
    settings.DROPGATE_PAYOUT_GATE = ""
