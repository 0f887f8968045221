"""Bots recorded now, in a real Chromium, with seeds the model never saw, are flagged.

The training and held-out bot traces in fraud/training_data/ were recorded once; these tests
record new ones through the same tools (ghost-cursor via puppeteer-core, and Playwright's
scripted moves), so the recorders themselves are exercised and the model is checked on data
that did not exist when it was trained.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.fixtures.sandbox import REPO_ROOT

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
GHOST_CURSOR_TOOL = REPO_ROOT / "static" / "js" / "tools" / "ghost_cursor_traces.mjs"
SEED = 4242  # not a seed used for the stored traces (1 and 2)


def _flagged(bots: Path, humans: Path) -> dict:
    out = io.StringIO()
    call_command("fraud_eval", "--humans", str(humans), "--bots", str(bots), stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def one_human(tmp_path: Path) -> Path:
    """An empty human folder: these tests are about bots (fpr is fraud_eval's own test)."""
    folder = tmp_path / "humans"
    folder.mkdir()
    return folder


def test_a_fresh_ghost_cursor_bot_is_flagged(tmp_path: Path, one_human: Path) -> None:
    if not CHROMIUM.exists() or shutil.which("node") is None:
        pytest.skip("needs /usr/bin/chromium and node (make system-deps js)")
    if not (REPO_ROOT / "static" / "js" / "node_modules" / "ghost-cursor").exists():
        pytest.skip("ghost-cursor is not installed (make js)")
    bots = tmp_path / "ghost_cursor"
    arguments = ["--out", str(bots), "--count", "1", "--seed", str(SEED), "--profile", "heldout"]
    subprocess.run(
        ["node", str(GHOST_CURSOR_TOOL), *arguments, "--parallel", "1"],
        check=True,
        timeout=240,
        capture_output=True,
    )
    result = _flagged(bots, one_human)
    assert result["counts"]["bot"] == 1
    (scored,) = result["files"]
    assert scored["verdict"] == "bot", scored
    assert scored["score"] >= result["threshold"]


def test_a_fresh_playwright_bot_is_flagged(tmp_path: Path, one_human: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("needs /usr/bin/chromium (make system-deps)")
    bots = tmp_path / "bots"
    call_command(
        "fraud_bot_traces",
        *("--out", str(bots), "--kind", "playwright", "--count", "1"),
        *("--seed", str(SEED), "--profile", "heldout"),
        stdout=io.StringIO(),
    )
    result = _flagged(bots, one_human)
    assert result["counts"]["bot"] == 1
    (scored,) = result["files"]
    assert scored["verdict"] == "bot", scored
