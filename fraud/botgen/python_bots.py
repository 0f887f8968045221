"""Writing the Python bot kinds to disk (and generating them in memory for training)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fraud.botgen.kinds import BOT_KINDS
from fraud.botgen.session import PROFILES, Row, rows_write, session_generate


def bot_rows(kind: str, *, seed: int, index: int, profile: str) -> list[Row]:
    """One deterministic session of a Python bot kind."""
    # The profile name is part of the seed so TRAIN and HELD-OUT never share a stream.
    rng = np.random.default_rng(
        [seed, index, 0 if profile == "train" else 1, sorted(BOT_KINDS).index(kind)]
    )
    return session_generate(BOT_KINDS[kind], rng=rng, profile=PROFILES[profile])


def bots_write(out: Path, *, kind: str, count: int, seed: int, profile: str) -> list[Path]:
    paths = []
    for i in range(count):
        path = out / f"{profile}-s{seed}-{i:03d}.csv"
        rows_write(path, bot_rows(kind, seed=seed, index=i, profile=profile))
        paths.append(path)
    return paths
