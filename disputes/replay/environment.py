"""The replay's outer process: a throwaway world for one scenario.

It makes a temporary directory and runs the scenario in a child process
(`disputes_replay --inner`) whose settings point at a fresh SQLite database and data dir in
that directory, a local-memory cache and an in-memory broker; the child serves its own sandbox
ledger (the project's `xrpl_sandbox`, in a thread, with its state in the same directory). So
nothing of the deployment's database, cache, broker or ledger is touched, whatever the
environment says. Dispute policy (DROPGATE_DISPUTE_*) and other settings still come from the
environment, so an operator can replay past cases under a changed policy. The directory is
removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings

__all__ = ["replay", "replay_cache_dir"]

CHILD_TIMEOUT_SECONDS = 600


def replay_cache_dir() -> Path:
    """Where migrated template databases are kept between runs (keyed by the migrations)."""
    return Path(tempfile.gettempdir()) / "dropgate-replay-cache"


def _isolated_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("REDIS_URL", "DROPGATE_CRASH_POINT", "DROPGATE_FAULT_POINT"):
        env.pop(name, None)
    env.update(
        {
            "DROPGATE_DATA_DIR": str(root / "data"),
            "DATABASE_URL": f"sqlite:///{root / 'replay.sqlite3'}",
            "CELERY_BROKER_URL": "memory://",
            "XRPL_LEDGER_KIND": "sandbox",
            "DROPGATE_FAUCET_ENABLED": "true",
            "DROPGATE_HARDEN_SETTLEMENT_ACCOUNT": "false",
            "DROPGATE_KEYSTORE": "software",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def replay(scenario: Path, *, verbose: bool = False, keep: bool = False) -> tuple[int, str, str]:
    """Run the scenario in a throwaway world; (exit code, stdout, stderr) of the inner run."""
    manage = Path(settings.BASE_DIR) / "manage.py"
    root = Path(tempfile.mkdtemp(prefix="dropgate-replay-"))
    try:
        command = [
            sys.executable,
            str(manage),
            "disputes_replay",
            str(scenario.resolve()),
            "--inner",
            str(root),
        ]
        if verbose:
            command.append("--verbose")
        child = subprocess.run(
            command,
            cwd=manage.parent,
            env=_isolated_env(root),
            capture_output=True,
            timeout=CHILD_TIMEOUT_SECONDS,
            check=False,
        )
        return (
            child.returncode,
            child.stdout.decode("utf-8", "replace"),
            child.stderr.decode("utf-8", "replace"),
        )
    finally:
        if keep:
            sys.stderr.write(f"kept {root}\n")
        else:
            shutil.rmtree(root, ignore_errors=True)
