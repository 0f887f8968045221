"""Bot trace generators (fraud.botgen) and `manage.py fraud_bot_traces`."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from fraud.botgen.kinds import BOT_KINDS
from fraud.botgen.python_bots import bot_rows
from fraud.botgen.session import rows_to_csv
from fraud.features.traces import trace_parse

TRAINING_DATA = Path(__file__).resolve().parents[2] / "fraud" / "training_data"


@pytest.mark.parametrize("kind", sorted(BOT_KINDS))
def test_python_kinds_are_deterministic_and_parseable(kind: str):
    a = bot_rows(kind, seed=3, index=0, profile="train")
    assert a == bot_rows(kind, seed=3, index=0, profile="train")
    assert a != bot_rows(kind, seed=3, index=1, profile="train")
    assert a != bot_rows(kind, seed=3, index=0, profile="heldout")
    trace = trace_parse(rows_to_csv(a))
    assert trace.skipped == 0
    assert trace.n_moves > 200
    assert np.all(np.diff(trace.t) >= 0)
    assert trace.duration_ms > 10_000


def test_fraud_bot_traces_writes_csv_files(tmp_path: Path):
    out = StringIO()
    call_command(
        "fraud_bot_traces", "--out", str(tmp_path), "--kind", "minjerk", "--kind", "bezier",
        "--count", "2", "--seed", "9", stdout=out,
    )  # fmt: skip
    assert "minjerk: 2 files" in out.getvalue()
    files = sorted(tmp_path.rglob("*.csv"))
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "bezier/train-s9-000.csv", "bezier/train-s9-001.csv",
        "minjerk/train-s9-000.csv", "minjerk/train-s9-001.csv",
    ]  # fmt: skip
    assert files[0].read_text().startswith("client timestamp,button,state,x,y\n")


def test_committed_bot_sets_exist_and_stay_small():
    total = sum(p.stat().st_size for p in TRAINING_DATA.rglob("*.csv"))
    assert total < 3_000_000
    for kind in ("ghost_cursor", "playwright"):
        assert list((TRAINING_DATA / "bots" / kind).glob("*.csv")), kind
    for kind in ("ghost_cursor", "playwright", *BOT_KINDS):
        assert list((TRAINING_DATA / "bots_heldout" / kind).glob("*.csv")), kind
