"""`manage.py compliance_check`: the contract (DESIGN.md "Compliance check"), run as a process
with no database at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "DROPGATE_", "REDIS_URL", "CELERY_"))
    }
    # A database that cannot exist: the command must never connect to one.
    env["DATABASE_URL"] = "postgres://nobody@127.0.0.1:9/no_such_database"
    env["DROPGATE_DATA_DIR"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "manage.py", "compliance_check", *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_germany_as_in_the_issue(tmp_path: Path) -> None:
    done = run("--country", "DE", "--amount-drops", "1000000", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["decision"] == "allow" and body["country"] == "DE"
    assert body["vat"] == {
        "country": "DE",
        "category": "standard",
        "rate_percent": 19.0,
        "net_drops": 840336,
        "tax_drops": 159664,
        "scheme": "EU-OSS",
    }
    assert body["rules"] == ["vat.de.standard"]
    assert isinstance(body["rulebook_version"], str) and body["rulebook_version"]
    assert done.stdout.count("\n") <= 1


@pytest.mark.parametrize(
    ("args", "decision", "rule"),
    [
        (["--country", "CU"], "block", "sanctions.ofac.cu"),
        (["--country", "UA", "--region", "UA-43"], "block", "sanctions.ofac.crimea"),
        (["--country", "DE", "--ip", "2.176.0.1"], "block", "sanctions.ofac.ir"),
        (["--country", "SY", "--date", "2025-06-30"], "block", "sanctions.ofac.sy"),
        (["--country", "DE", "--ip", "81.2.69.160"], "confirm_country", "location.eu.two_evidence"),
        (["--country", "FR", "--category", "e_publication"], "allow", "vat.fr.e_publication"),
    ],
)
def test_decisions_exit_0(tmp_path: Path, args: list[str], decision: str, rule: str) -> None:
    done = run(*args, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["decision"] == decision and rule in body["rules"]
    if decision != "allow":
        assert body["vat"] is None


def test_no_tax_is_null_and_syria_after_its_program(tmp_path: Path) -> None:
    body = json.loads(run("--country", "SY", "--date", "2025-07-01", tmp_path=tmp_path).stdout)
    assert body["decision"] == "allow" and body["vat"] is None


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--country", "XX"],
        ["--country", "DEU"],
        ["--country", "DE", "--region", "FR-75"],
        ["--country", "DE", "--region", "DE"],
        ["--country", "DE", "--ip", "300.1.1.1"],
        ["--country", "DE", "--timezone", "Mars/Olympus"],
        ["--country", "DE", "--amount-drops", "0"],
        ["--country", "DE", "--amount-drops", "-5"],
        ["--country", "DE", "--amount-drops", "1.5"],
        ["--country", "DE", "--amount-drops", str(2**64)],
        ["--country", "DE", "--category", "books"],
        ["--country", "DE", "--date", "2026-13-01"],
        ["--country", "DE", "--date", "20260101"],
        ["--country", "DE", "--unknown"],
    ],
)
def test_malformed_input_exits_2(tmp_path: Path, args: list[str]) -> None:
    done = run(*args, tmp_path=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "malformed: " in done.stderr
    assert done.stdout == ""
