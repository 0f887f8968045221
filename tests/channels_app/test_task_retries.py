"""Settlement and watchtower tasks retry when the database is down for a moment.

Found by benchmarks/faults.py: during a PostgreSQL restart `settle_channel` and
`watchtower_scan` "raised unexpected: OperationalError" and were dropped (acked as failed); a
reader's close request queued then waited for the next scan. Run eagerly, the retry runs at
once, in process.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import InterfaceError, OperationalError

import channels_app.tasks as tasks
from channels_app.services.settlement import SettlementOutcome


@pytest.mark.parametrize(
    "outage",
    [
        OperationalError("terminating connection due to administrator command"),
        InterfaceError("connection already closed"),
    ],
)
def test_settle_channel_retries_a_database_outage(monkeypatch, outage: Exception) -> None:
    calls: list[dict[str, Any]] = []

    def settlement_run(**kwargs: Any) -> SettlementOutcome:
        calls.append(kwargs)
        if len(calls) == 1:
            raise outage
        return SettlementOutcome("AB" * 32, "validated", 1_000, "CD" * 32)

    monkeypatch.setattr(tasks, "settlement_run", settlement_run)
    result = tasks.settle_channel.apply(args=(7, "threshold"))
    assert result.state == "SUCCESS", result.state  # not FAILURE: the work is not dropped
    assert len(calls) == 2  # and the retry ran
    assert calls[1] == {"channel_pk": 7, "reason": "threshold", "close": False}


def test_watchtower_scan_retries_a_database_outage(monkeypatch) -> None:
    calls: list[int] = []

    def scan() -> list[Any]:
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("the database system is starting up")
        return []

    monkeypatch.setattr(tasks, "run_watchtower_scan", scan)
    result = tasks.watchtower_scan.apply()
    assert result.state == "SUCCESS", result.state
    assert len(calls) == 2
