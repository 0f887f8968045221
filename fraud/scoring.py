"""A session's risk score: rules over what the session showed, plus the offline mouse model.

Each fired rule has a stable reason code and a weight (the probability it alone means
automation); rules combine as a noisy-OR, then with the model's verdict. The model only
counts once the session has `min_moves` mouse samples: less is "insufficient data"
(`mouse_insufficient`, informational), never "bot".

Score bands (settings DROPGATE_RISK_*) are decided in fraud.services.decisions; the model's
own score is mapped so that its threshold lands in the challenge band, and a session that
only the model suspects is challenged rather than refused (a person passes a challenge).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Protocol

from django.conf import settings

from fraud.types import Category, RiskScore

__all__ = [
    "HARD_REASONS",
    "RULE_WEIGHTS",
    "ScoringModel",
    "mouse_model",
    "risk_score",
]

logger = logging.getLogger(__name__)

# Reason code -> weight in [0, 1). Codes are stable: they are stored and shown to reviewers.
RULE_WEIGHTS: dict[str, float] = {
    # Automation the browser admits to, or a page whose built-ins were replaced.
    "webdriver": 0.97,
    "automation_flags": 0.97,
    "headless_ua": 0.97,
    "bot_ua": 0.95,
    "integrity_replaced": 0.92,
    # Fingerprint inconsistencies (fraud.features.fingerprint.DETECTORS).
    # Weak alone: people on VMs, remote desktops and GPU-blocklisted machines render in
    # software too. It only counts together with other signals.
    "software_renderer": 0.3,
    "ua_platform_mismatch": 0.6,
    "ua_renderer_mismatch": 0.6,
    "worker_mismatch": 0.7,
    "impossible_screen": 0.6,
    "languages_empty": 0.5,
    "languages_mismatch": 0.15,
    # Behaviour (fraud.features.session.SIGNALS).
    "click_without_movement": 0.75,
    "click_teleport": 0.75,
    "click_while_hidden": 0.6,
    "uniform_timing": 0.75,
    "inhuman_speed": 0.75,
    "inhuman_keys": 0.6,
    "scroll_jumps": 0.3,
    "reading_too_fast": 0.4,
    # A session that had sent nothing by the time it paid: no evidence a person is there.
    "no_interaction": 0.75,
    # The SDK paid with no telemetry session at all (its socket never opened: blocked by a
    # proxy, or by a bot). Nothing can be challenged without the socket: the hold band, so
    # the reader reads and the revenue waits for review.
    "no_telemetry": 0.6,
    # Frames the socket had to refuse (fraud.exceptions.BatchRejected reasons).
    "rejected_malformed": 0.5,
    "rejected_oversize": 0.4,
    "rejected_too_fast": 0.4,
    "rejected_origin": 0.3,
}
# Reasons a passed challenge does not excuse: the browser says it is automated.
HARD_REASONS = frozenset(
    {"webdriver", "automation_flags", "headless_ua", "bot_ua", "integrity_replaced"}
)
MODEL_REASON = "mouse_model"
NO_INTERACTION_REASON = "no_interaction"
NO_TELEMETRY_REASON = "no_telemetry"
INSUFFICIENT_REASON = "mouse_insufficient"
UNAVAILABLE_REASON = "mouse_model_unavailable"


class ScoringModel(Protocol):
    """What scoring needs of fraud.model.BotModel."""

    @property
    def version(self) -> str: ...
    @property
    def threshold(self) -> float: ...
    @property
    def min_moves(self) -> int: ...

    def score(self, vector: Any) -> float: ...


@lru_cache(maxsize=1)
def _load_model() -> ScoringModel | None:
    """The model once per process. A missing or unverifiable artifact turns mouse scoring off
    (reason `mouse_model_unavailable` on every score) rather than failing every socket."""
    try:
        from fraud.model import BotModelError, bot_model
    except ImportError:
        logger.error("fraud: no bot model package; mouse scoring is off")
        return None
    try:
        model: ScoringModel = bot_model()
    except BotModelError as exc:
        logger.error("fraud: bot model unavailable (%s); mouse scoring is off", exc)
        return None
    return model


def mouse_model() -> ScoringModel | None:
    """The bot model (fraud.model.bot_model(), loaded once), or None if none is installed."""
    return _load_model()


def _model_part(model_score: float, threshold: float) -> float:
    """The model's score on the risk scale: its threshold lands at the challenge band's
    floor, below it stays under the hold band."""
    challenge_at = float(settings.DROPGATE_RISK_CHALLENGE_AT)
    hold_at = float(settings.DROPGATE_RISK_HOLD_AT)
    threshold = min(max(threshold, 1e-6), 1 - 1e-6)
    if model_score < threshold:
        return 0.9 * hold_at * model_score / threshold
    return challenge_at + (1 - challenge_at) * (model_score - threshold) / (1 - threshold)


def risk_score(
    *,
    reasons: Iterable[str],
    rejected: Mapping[str, int] | None = None,
    model: ScoringModel | None = None,
    model_score: float | None = None,
    n_moves: int = 0,
) -> RiskScore:
    """Combine fired rule codes, refused frames and the model's score into a RiskScore.

    `reasons` are rule codes (RULE_WEIGHTS; unknown codes weigh 0 but are kept);
    `rejected` counts refused frames per BatchRejected reason. `model_score` is `model`'s
    score of the session's mouse vector; it is used only when `n_moves` reaches
    `model.min_moves` (fewer: `mouse_insufficient`). No model: `mouse_model_unavailable`.
    """
    codes: dict[str, None] = dict.fromkeys(reasons)
    for reason, count in (rejected or {}).items():
        if count > 0:
            codes[f"rejected_{reason}"] = None
    keep = 1.0
    for code in codes:
        keep *= 1.0 - RULE_WEIGHTS.get(code, 0.0)
    model_part = 0.0
    used_model = False
    if model is None:
        codes[UNAVAILABLE_REASON] = None
    elif n_moves < model.min_moves or model_score is None:
        codes[INSUFFICIENT_REASON] = None
    else:
        used_model = True
        model_part = _model_part(float(model_score), float(model.threshold))
        if model_score >= model.threshold:
            codes[MODEL_REASON] = None
    score = min(max(1.0 - keep * (1.0 - model_part), 0.0), 1.0)
    return RiskScore(
        score=round(score, 4),
        reasons=tuple(codes),
        category=_category(score, codes, used_model),
        model_score=float(model_score) if used_model and model_score is not None else None,
        model_version=str(model.version) if model is not None else None,
    )


def _category(score: float, codes: Mapping[str, None], enough_moves: bool) -> Category:
    if score >= float(settings.DROPGATE_RISK_CHALLENGE_AT) or HARD_REASONS & codes.keys():
        return "bot"
    if enough_moves and score < float(settings.DROPGATE_RISK_HOLD_AT):
        return "human"
    return "unknown"
