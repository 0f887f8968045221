"""`manage.py disputes_replay SCENARIO.json`, run as the contract says: from the repository root,
with the project's virtualenv and no environment variables; it prints one JSON object and
leaves the default database alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from disputes.replay.scenario import ScenarioError, parse, parse_duration

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).resolve().parent / "scenarios"


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any setting the project reads."""
    settings_names = (
        "DATABASE_URL",
        "REDIS_URL",
        "CELERY_BROKER_URL",
        "XRPL_URL",
        "XRPL_LEDGER_KIND",
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DROPGATE_", "DJANGO_")) and k not in settings_names
    }
    env.update(extra)
    return env


def replay(scenario: Path, **env: str) -> tuple[int, dict[str, Any] | None, str]:
    done = subprocess.run(
        [sys.executable, "manage.py", "disputes_replay", str(scenario)],
        cwd=REPO,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    try:
        output = json.loads(done.stdout) if done.returncode == 0 else None
    except ValueError:
        output = None
    return done.returncode, output, done.stderr


def test_the_issues_example(tmp_path: Path) -> None:
    default_db = REPO / "var" / "dropgate.sqlite3"
    before = default_db.stat().st_mtime_ns if default_db.exists() else None

    code, output, stderr = replay(SCENARIOS / "issue.json")

    assert code == 0, stderr
    # Delivery was recorded (the scenario says "ok"), so not_delivered is the publisher's at
    # tier 1; the later response, decision and the winner's appeal are refused and reported.
    assert output == {
        "disputes": [
            {
                "ref": "d1",
                "class": "technical",
                "status": "won_by_publisher",
                "tier": 1,
                "decided_by": "auto",
                "reasons": ["delivery_recorded"],
                "refund_drops": 0,
                "refund_mode": None,
                "appeals": 0,
            }
        ],
        "errors": [
            {"ref": "d1", "error": "dispute_decided"},
            {"ref": "d1", "error": "dispute_decided"},
            {"ref": "d1", "error": "appeal_not_needed"},
        ],
        "journal_balanced": True,
    }
    after = default_db.stat().st_mtime_ns if default_db.exists() else None
    assert after == before


def d(
    ref: str,
    cls: str,
    status: str,
    tier: int,
    by: str | None,
    reasons: list[str],
    refund: int = 0,
    mode: str | None = None,
    appeals: int = 0,
) -> dict[str, Any]:
    return {
        "ref": ref,
        "class": cls,
        "status": status,
        "tier": tier,
        "decided_by": by,
        "reasons": reasons,
        "refund_drops": refund,
        "refund_mode": mode,
        "appeals": appeals,
    }


def test_every_path_in_one_scenario(tmp_path: Path) -> None:
    code, output, stderr = replay(SCENARIOS / "many.json", DROPGATE_DATA_DIR=str(tmp_path))

    assert code == 0, stderr
    assert output is not None
    assert output["disputes"] == [
        d("d1", "technical", "won_by_reader", 1, "auto", ["delivery_missing"], 200_000, "credit"),
        d("d2", "technical", "won_by_reader", 1, "auto", ["delivery_missing"], 300_000, "credit"),
        d("d3", "content", "won_by_reader", 1, "auto", ["bounce"], 200_000, "credit"),
        # contested, decided for the publisher, appealed, alice refused, bob decides;
        # r2 closed its channel meanwhile, so the refund is paid on the ledger
        d(
            "d4",
            "content",
            "won_by_reader",
            2,
            "reviewer:bob",
            ["reviewer_decision"],
            300_000,
            "ledger",
            1,
        ),
        # over DROPGATE_DISPUTE_AUTO_LIMIT_DROPS: the queue's 14 days passed
        d("d5", "technical", "escalated", 3, None, ["review_overdue"]),
        d(
            "d6",
            "fraud",
            "won_by_publisher",
            1,
            "auto",
            ["registered_key", "fraud_allow", "known_fingerprint"],
        ),
        d("d7", "technical", "won_by_publisher", 1, "auto", ["single_charge"]),
        d(
            "d8",
            "fraud",
            "won_by_reader",
            1,
            "auto",
            ["key_compromise_reported"],
            150_000,
            "credit",
        ),
        d("d9", "content", "won_by_reader", 1, "sla", ["response_overdue"], 100_000, "credit"),
    ]
    assert output["errors"] == [
        {"ref": "dx", "error": "unlock_not_found"},  # another reader's unlock
        {"ref": "d1b", "error": "dispute_exists"},
        {"ref": "d4", "error": "reviewer_conflict"},  # the appeal goes to someone else
        {"ref": "d10", "error": "dispute_window_closed"},
    ]
    assert output["journal_balanced"] is True
    assert not (tmp_path / "dropgate.sqlite3").exists()  # the default database, untouched


def test_a_malformed_scenario_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"start": "2026-03-02T09:00:00Z", "events": [{"do": "fly"}]}))
    code, _output, stderr = replay(path)
    assert code == 2 and "malformed scenario" in stderr


def test_scenarios_are_checked_before_anything_runs() -> None:
    assert parse_duration("90s").total_seconds() == 90
    assert parse_duration("1d12h").total_seconds() == 36 * 3600
    for bad in ("", "2", "2w", "m2", "1d 2h", 5):
        with pytest.raises(ScenarioError):
            parse_duration(bad)
    with pytest.raises(ScenarioError):
        parse({"start": "yesterday", "events": []})
    with pytest.raises(ScenarioError):
        parse({"start": "2026-03-02T09:00:00Z", "events": [{"do": "unlock", "delivery": "maybe"}]})
    scenario = parse(json.loads((SCENARIOS / "issue.json").read_text()))
    assert [e.do for e in scenario.events][:2] == ["unlock", "dispute"]
    assert scenario.events[2].label == "d1"
