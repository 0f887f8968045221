"""`manage.py fraud_eval --humans DIR --bots DIR` (one JSON object on stdout, no database)."""

from __future__ import annotations

import json
import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from fraud.botgen.python_bots import bots_write
from fraud.model import bot_model
from tests.fixtures.human_traces import sapimouse_dir

HELDOUT = Path(__file__).resolve().parents[2] / "fraud" / "training_data" / "bots_heldout"


def run_eval(humans: Path, bots: Path) -> dict:
    out = StringIO()
    call_command("fraud_eval", humans=str(humans), bots=str(bots), stdout=out)
    text = out.getvalue().strip()
    assert text.count("\n") == 0  # exactly one JSON object
    return json.loads(text)


@pytest.fixture
def human_dir(tmp_path: Path) -> Path:
    source = sapimouse_dir()
    out = tmp_path / "humans"
    for user in sorted(p for p in source.iterdir() if p.is_dir())[:6]:
        for f in sorted(user.glob("*.csv")):
            (out / user.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(f, out / user.name / f.name)
    # A human file with too little data: reported, but never counted as a bot.
    (out / "tiny.csv").write_text("client timestamp,button,state,x,y\n1,NoButton,Move,1,1\n")
    (out / "garbage.csv").write_text("not,a,trace\n")
    return out


@pytest.fixture
def bot_dir(tmp_path: Path) -> Path:
    out = tmp_path / "bots"
    for kind in ("minjerk", "bezier", "humanised"):
        bots_write(out / kind / "deep", kind=kind, count=3, seed=4242, profile="heldout")
    for kind in ("ghost_cursor", "playwright"):
        for f in sorted((HELDOUT / kind).glob("*.csv"))[:3]:
            (out / kind).mkdir(parents=True, exist_ok=True)
            shutil.copy(f, out / kind / f.name)
    return out


def test_fraud_eval_scores_every_file_with_the_models_threshold(human_dir: Path, bot_dir: Path):
    result = run_eval(human_dir, bot_dir)
    model = bot_model()
    assert result["threshold"] == model.threshold
    assert result["model_version"] == model.version
    files = result["files"]
    assert (
        len(files) == len(list(human_dir.rglob("*.csv"))) + len(list(bot_dir.rglob("*.csv"))) == 29
    )
    assert {f["label"] for f in files} == {"human", "bot"}
    for f in files:
        assert set(f) >= {"path", "label", "score", "verdict", "moves"}
        assert f["verdict"] in {"human", "bot"}
        if f["score"] is not None:
            assert 0 <= f["score"] <= 1
            assert (f["verdict"] == "bot") == (f["score"] >= model.threshold)
    unusable = [f for f in files if "error" in f]
    assert sorted(Path(f["path"]).name for f in unusable) == ["garbage.csv", "tiny.csv"]
    assert all(f["verdict"] == "human" and f["score"] is None for f in unusable)
    assert result["counts"] == {
        "human": 14,
        "bot": 15,
        "human_flagged": result["counts"]["human_flagged"],
        "bot_flagged": result["counts"]["bot_flagged"],
        "human_unscored": 2,
        "bot_unscored": 0,
    }
    assert result["tpr"] >= 0.9
    assert result["fpr"] <= 1 / 14
    assert result["auc"] >= 0.95


def test_fraud_eval_counts_a_bot_that_cannot_be_scored_as_missed(human_dir: Path, tmp_path: Path):
    bots = tmp_path / "few"
    bots.mkdir()
    (bots / "short.csv").write_text(
        "client timestamp,button,state,x,y\n1,NoButton,Move,1,1\n2,NoButton,Move,9,9\n"
    )
    result = run_eval(human_dir, bots)
    assert result["tpr"] == 0.0
    assert result["counts"]["bot_unscored"] == 1


def test_fraud_eval_missing_directory_is_a_json_error(tmp_path: Path):
    out = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("fraud_eval", humans=str(tmp_path / "nope"), bots=str(tmp_path), stdout=out)
    assert exc.value.code != 0
    assert json.loads(out.getvalue())["error"]["code"] == "missing_directory"
