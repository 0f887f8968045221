"""Value objects of the fraud app: parsed telemetry, scores and decisions (frozen dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "ArticleDwell",
    "BatchLimits",
    "Category",
    "ChallengeResult",
    "DecisionAction",
    "MouseSamples",
    "RiskDecision",
    "RiskScore",
    "StoredScore",
    "TelemetryBatch",
]

Category = Literal["human", "bot", "agent", "unknown"]
DecisionAction = Literal["allow", "challenge", "refuse", "hold"]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class BatchLimits:
    """What one batch may hold, announced to the page in the `hello` frame."""

    max_batch_bytes: int
    max_events: int
    min_interval_ms: int
    burst: int


@dataclass(frozen=True)
class MouseSamples:
    """Decoded mouse samples: absolute page time (ms) and CSS px positions, equal lengths."""

    t: IntArray
    x: IntArray
    y: IntArray

    def __len__(self) -> int:
        return int(self.t.shape[0])


@dataclass(frozen=True)
class ArticleDwell:
    article: str
    visible_ms: int
    words: int


@dataclass(frozen=True)
class TelemetryBatch:
    """One validated batch. Arrays are numpy; nothing here is ever stored or logged."""

    seq: int
    mouse: MouseSamples
    clicks: IntArray  # shape (n, 5): t, x, y, button, kind
    scroll: IntArray  # shape (n, 2): t, scrollY
    keys: IntArray  # shape (n,): key-down intervals in ms
    focus: IntArray  # shape (n, 2): t, state
    dwell: tuple[ArticleDwell, ...]
    fingerprint: dict[str, Any] | None
    integrity_replaced: tuple[str, ...]
    events: int
    # The last absolute mouse position and time after this batch (the next batch's origin).
    mouse_end: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class RiskScore:
    """A session's risk: `score` in [0, 1] (1 = surely automated), stable reason codes."""

    score: float
    reasons: tuple[str, ...]
    category: Category
    model_score: float | None = None
    model_version: str | None = None


@dataclass(frozen=True)
class StoredScore:
    """What the unlock path reads about a telemetry session (cache first, then the database)."""

    pk: int
    session_id: str
    publisher_ref: str
    reader_ref: str
    score: float
    reasons: tuple[str, ...]
    category: Category
    events_count: int
    fingerprint_hash: str
    network_prefix: str
    challenge_passed: bool


@dataclass(frozen=True)
class RiskDecision:
    """What `risk_decide` decided for one unlock.

    `velocity_limit`/`retry_after_seconds` are set (with action "refuse") when a velocity
    limit said no; the unlock path answers those with 429 instead of 403.
    """

    action: DecisionAction
    score: float
    reasons: tuple[str, ...]
    category: Category
    challenge: dict[str, Any] | None = None
    velocity_limit: str | None = None
    retry_after_seconds: int = 0
    fingerprint_hash: str = ""
    record_id: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ChallengeResult:
    challenge_id: str
    passed: bool
    reason: str = ""
