"""The shipped bot model: `bot_model.skops` + its manifest `bot_model.json`.

`bot_model()` loads once per process. Loading checks, before anything is deserialised, that
the file's sha256 equals the manifest's and that the manifest's feature names are exactly
`MOUSE_FEATURE_NAMES` (the estimator reads the manifest's `model_features` subset); skops then loads with only the types the manifest lists as trusted
(never pickle). Any mismatch raises `BotModelError`.

Scoring one vector does not go through sklearn's `predict_proba` (input validation makes that
~0.5 ms a row): the fitted trees are flattened once into numpy arrays and all trees are walked
together, level by level. `BotModel.score` equals `predict_proba(...)[0, 1]` (tested).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fraud.features.mouse import MOUSE_FEATURE_NAMES

MODEL_DIR = Path(__file__).resolve().parent
MODEL_FILE = "bot_model.skops"
MANIFEST_FILE = "bot_model.json"


class BotModelError(RuntimeError):
    """The model artifact is missing, tampered with or doesn't match this code."""


@dataclass(frozen=True)
class _Forest:
    """All trees of a fitted HistGradientBoostingClassifier (binary) as flat arrays."""

    roots: npt.NDArray[np.intp]
    feature: npt.NDArray[np.intp]
    threshold: npt.NDArray[np.float64]
    missing_left: npt.NDArray[np.bool_]
    left: npt.NDArray[np.intp]
    right: npt.NDArray[np.intp]
    is_leaf: npt.NDArray[np.bool_]
    value: npt.NDArray[np.float64]
    depth: int
    baseline: float

    @classmethod
    def from_hgb(cls, model: Any) -> _Forest:
        if getattr(model, "n_trees_per_iteration_", 1) != 1:
            raise BotModelError("expected a binary classifier")
        parts = []
        offset = 0
        roots = []
        depth = 0
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            if getattr(predictor, "raw_left_cat_bitsets", np.empty(0)).size:
                raise BotModelError("categorical splits are not supported")
            roots.append(offset)
            parts.append((nodes, offset))
            depth = max(depth, int(nodes["depth"].max()))
            offset += nodes.shape[0]
        cat = np.concatenate([n for n, _ in parts])
        shift = np.concatenate([np.full(n.shape[0], o, dtype=np.intp) for n, o in parts])
        is_leaf = cat["is_leaf"].astype(bool)
        left = np.where(is_leaf, np.arange(cat.shape[0]), cat["left"].astype(np.intp) + shift)
        right = np.where(is_leaf, np.arange(cat.shape[0]), cat["right"].astype(np.intp) + shift)
        return cls(
            roots=np.array(roots, dtype=np.intp),
            feature=cat["feature_idx"].astype(np.intp),
            threshold=cat["num_threshold"].astype(np.float64),
            missing_left=cat["missing_go_to_left"].astype(bool),
            left=left,
            right=right,
            is_leaf=is_leaf,
            value=cat["value"].astype(np.float64),
            depth=depth,
            baseline=float(np.ravel(model._baseline_prediction)[0]),
        )

    def raw(self, x: npt.NDArray[np.float64]) -> float:
        node = self.roots
        for _ in range(self.depth):
            v = x[self.feature[node]]
            go_left = np.where(np.isnan(v), self.missing_left[node], v <= self.threshold[node])
            node = np.where(go_left, self.left[node], self.right[node])
        return self.baseline + float(self.value[node].sum())


@dataclass(frozen=True)
class BotModel:
    version: str
    threshold: float
    min_moves: int
    feature_names: tuple[str, ...]
    model_columns: npt.NDArray[np.intp]  # which vector entries the estimator takes
    manifest: dict[str, Any]
    estimator: Any
    _forest: _Forest

    def score(self, vector: npt.ArrayLike) -> float:
        """Probability-like bot score in [0, 1] (1 = bot) for one feature vector."""
        x = np.asarray(vector, dtype=np.float64).ravel()
        if x.size != len(self.feature_names):
            raise ValueError(f"expected {len(self.feature_names)} features, got {x.size}")
        raw = self._forest.raw(x[self.model_columns])
        return 1.0 / (1.0 + math.exp(-raw)) if raw > -700 else 0.0

    def is_bot(self, score: float) -> bool:
        return score >= self.threshold


def bot_model_load(directory: Path) -> BotModel:
    """Load and verify the artifact in `directory` (no caching; see `bot_model`)."""
    import skops.io as sio

    try:
        manifest = json.loads((directory / MANIFEST_FILE).read_text())
        data = (directory / MODEL_FILE).read_bytes()
    except (OSError, ValueError) as exc:
        raise BotModelError(f"bot model artifact unreadable: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if not hmac.compare_digest(digest, str(manifest.get("sha256", ""))):
        raise BotModelError("bot model sha256 does not match its manifest")
    names = tuple(manifest.get("feature_names", ()))
    if names != MOUSE_FEATURE_NAMES:
        raise BotModelError("bot model feature names do not match MOUSE_FEATURE_NAMES")
    model_features = list(manifest.get("model_features", names))
    if not set(model_features) <= set(names):
        raise BotModelError("bot model uses features the vector doesn't have")
    trusted = list(manifest.get("trusted_types", ()))
    untrusted = set(sio.get_untrusted_types(data=data))
    if not untrusted <= set(trusted):
        raise BotModelError(
            f"bot model needs types not in its manifest: {sorted(untrusted - set(trusted))}"
        )
    estimator = sio.loads(data, trusted=trusted)
    if getattr(estimator, "n_features_in_", len(model_features)) != len(model_features):
        raise BotModelError("bot model input width doesn't match model_features")
    return BotModel(
        version=str(manifest["version"]),
        threshold=float(manifest["threshold"]),
        min_moves=int(manifest["min_moves"]),
        feature_names=names,
        model_columns=np.array([names.index(n) for n in model_features], dtype=np.intp),
        manifest=manifest,
        estimator=estimator,
        _forest=_Forest.from_hgb(estimator),
    )


@lru_cache(maxsize=1)
def bot_model() -> BotModel:
    """The shipped model, loaded and verified once per process."""
    return bot_model_load(MODEL_DIR)
