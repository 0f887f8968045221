"""The faults-under-load harness (benchmarks/faults.py) in its quick mode finds nothing.

It starts its own PostgreSQL, Redis, sandbox ledger, web process, worker and beat, drives
readers' unlocks and telemetry, and meanwhile kills and restarts each of them (see
benchmarks/README.md). `ok` is true only if no acknowledged claim was lost, nothing was
settled twice, the journal reconciles with the ledger, every error was a documented 4xx or
503 and every fault recovered. A few minutes: marked slow.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(900)]


def test_the_quick_fault_run_loses_nothing_and_recovers_from_every_fault(tmp_path: Path) -> None:
    if not shutil.which("redis-server") or not list(
        Path("/usr/lib/postgresql").glob("*/bin/initdb")
    ):
        pytest.skip("needs redis-server and PostgreSQL's server binaries (initdb, pg_ctl)")
    done = subprocess.run(
        [sys.executable, "benchmarks/faults.py", "--quick", "--logs", str(tmp_path / "logs")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    result = json.loads(done.stdout)
    summary = {key: result.get(key) for key in ("checks", "claims", "errors", "faults", "error")}
    assert result["ok"] is True, json.dumps(summary, indent=2)[-6000:]
    assert done.returncode == 0
    assert result["claims"]["acknowledged"] > 0
    assert result["claims"]["lost"] == 0
    assert result["settlements"]["double"] == 0
    assert result["reconcile"]["journal"]["ok"] and result["reconcile"]["payouts"]["ok"]
    assert result["errors"]["undocumented"] == {}
    faults = {fault["fault"] for fault in result["faults"]}
    assert faults == {
        "web_sigkill",
        "worker_sigkill",
        "beat_sigkill",
        "redis_restart",
        "postgres_restart",
        "ledger_outage",
    }
    assert all(fault["recovered"] for fault in result["faults"])
