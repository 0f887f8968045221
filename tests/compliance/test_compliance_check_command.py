"""`manage.py compliance_check`: the contract (DESIGN.md "Compliance check"), run as a process
with no database at all."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command


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


def test_germany_as_in_the_issue_with_no_database(tmp_path: Path) -> None:
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


def call(*args: str) -> dict:
    out = io.StringIO()
    call_command("compliance_check", *args, stdout=out)
    return json.loads(out.getvalue())


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
def test_decisions(args: list[str], decision: str, rule: str) -> None:
    body = call(*args)
    assert body["decision"] == decision and rule in body["rules"]
    if decision != "allow":
        assert body["vat"] is None


def test_no_tax_is_null_and_syria_after_its_program() -> None:
    body = call("--country", "SY", "--date", "2025-07-01")
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
def test_malformed_input_is_refused_with_returncode_2(args: list[str]) -> None:
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("compliance_check", *args, stdout=out)
    assert raised.value.returncode == 2 and str(raised.value).startswith("malformed: ")
    assert out.getvalue() == ""


def test_malformed_input_exits_2_from_the_command_line(tmp_path: Path) -> None:
    for args in (["--country", "XX"], ["--country", "DE", "--bogus"], []):
        done = run(*args, tmp_path=tmp_path)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr.startswith("malformed: ") and done.stdout == ""
