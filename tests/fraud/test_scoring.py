"""The risk score: rules combine as a noisy-OR with stable reason codes, the model counts
only with enough mouse data, and the category follows the bands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from fraud.scoring import HARD_REASONS, RULE_WEIGHTS, mouse_model, risk_score


@dataclass
class FixedModel:
    """A model whose score is given: exercises the combination, not A's classifier."""

    fixed: float
    version: str = "test-1"
    threshold: float = 0.6
    min_moves: int = 100

    def score(self, vector: Any) -> float:
        return self.fixed


def test_no_reason_and_a_human_model_score_is_a_low_score_and_human() -> None:
    model = FixedModel(0.1)
    result = risk_score(reasons=(), model=model, model_score=0.1, n_moves=500)
    assert result.score < 0.5 and result.category == "human"
    assert result.reasons == ()
    assert (result.model_score, result.model_version) == (0.1, "test-1")


def test_too_little_mouse_data_is_insufficient_not_bot() -> None:
    model = FixedModel(0.99)
    result = risk_score(reasons=(), model=model, model_score=0.99, n_moves=20)
    assert result.reasons == ("mouse_insufficient",)
    assert result.score == 0.0 and result.category == "unknown"
    assert result.model_score is None


def test_no_model_installed_is_named_but_weighs_nothing() -> None:
    result = risk_score(reasons=(), model=None, n_moves=500)
    assert result.reasons == ("mouse_model_unavailable",) and result.score == 0.0


def test_the_model_alone_at_its_threshold_lands_in_the_challenge_band(settings) -> None:
    model = FixedModel(0.6)
    at = risk_score(reasons=(), model=model, model_score=0.6, n_moves=500)
    assert at.score == pytest.approx(settings.DROPGATE_RISK_CHALLENGE_AT)
    assert "mouse_model" in at.reasons and at.category == "bot"
    below = risk_score(reasons=(), model=model, model_score=0.59, n_moves=500)
    assert below.score < settings.DROPGATE_RISK_HOLD_AT and "mouse_model" not in below.reasons
    sure = risk_score(reasons=(), model=model, model_score=1.0, n_moves=500)
    assert sure.score == 1.0


@pytest.mark.parametrize("code", sorted(HARD_REASONS))
def test_automation_the_browser_admits_is_refuse_level_alone(settings, code) -> None:
    result = risk_score(reasons=(code,), model=FixedModel(0.0), model_score=0.0, n_moves=500)
    assert result.score >= settings.DROPGATE_RISK_REFUSE_AT
    assert result.category == "bot" and code in result.reasons


def test_rules_combine_as_a_noisy_or_and_keep_their_order() -> None:
    one = risk_score(reasons=("click_teleport",))
    two = risk_score(reasons=("click_teleport", "reading_too_fast"))
    expected = 1 - (1 - RULE_WEIGHTS["click_teleport"]) * (1 - RULE_WEIGHTS["reading_too_fast"])
    assert two.score == pytest.approx(expected, abs=1e-4)
    assert one.score < two.score <= 1.0
    assert two.reasons[:2] == ("click_teleport", "reading_too_fast")


def test_repeated_and_unknown_codes_do_not_inflate_the_score() -> None:
    once = risk_score(reasons=("click_teleport",))
    assert risk_score(reasons=("click_teleport", "click_teleport")).score == once.score
    assert risk_score(reasons=("click_teleport", "something_new")).score == once.score


def test_refused_frames_become_reasons() -> None:
    result = risk_score(reasons=(), rejected={"malformed": 2, "too_fast": 0})
    assert "rejected_malformed" in result.reasons and "rejected_too_fast" not in result.reasons
    assert result.score == pytest.approx(RULE_WEIGHTS["rejected_malformed"])


def test_synthetic_traffic_rules_with_a_human_looking_model_still_score_high(settings) -> None:
    result = risk_score(
        reasons=("uniform_timing", "inhuman_speed"),
        model=FixedModel(0.05),
        model_score=0.05,
        n_moves=500,
    )
    assert result.score >= settings.DROPGATE_RISK_CHALLENGE_AT and result.category == "bot"


def test_the_shipped_model_has_the_contracts_shape() -> None:
    model = mouse_model()
    assert model is not None, "the model artifact in fraud/model/ must load"
    assert 0.0 < model.threshold < 1.0 and model.min_moves > 0 and model.version
