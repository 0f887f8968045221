"""Assembling generated movements into one CSV session: targets, pauses, clicks, sampling.

A *path function* maps (start, end, rng, params) to a `Movement`: positions on a dense
normalised time grid plus a duration. `session_generate` chains movements between random
targets, samples them the way a browser would deliver mousemove events (a fixed rate with
jitter, no event when the rounded position did not change), and adds clicks and pauses.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Movement:
    x: FloatArray  # positions at normalised times `u` (0..1), dense
    y: FloatArray
    u: FloatArray
    duration_ms: float


@dataclass(frozen=True)
class Profile:
    """Parameter ranges; TRAIN and HELD-OUT differ so held-out evaluation is honest."""

    name: str
    session_s: tuple[float, float]
    speed_scale: tuple[float, float]  # multiplies movement durations (higher = slower)
    noise_px: tuple[float, float]
    pause_ms: tuple[float, float]
    click_prob: float
    rates_hz: tuple[float, ...]
    jitter_ms: tuple[float, float]


PROFILES = {
    "train": Profile(
        "train", (20, 45), (0.7, 1.6), (0.0, 1.2), (120, 6000), 0.6, (60, 125, 100), (0.0, 2.0)
    ),
    "heldout": Profile(
        "heldout", (15, 60), (0.5, 2.2), (0.0, 2.0), (80, 8000), 0.5, (60, 144, 75, 250), (0.0, 4.0)
    ),
}

PathFn = Callable[[FloatArray, FloatArray, np.random.Generator, Profile], Movement]
Row = tuple[int, str, str, int, int]


def fitts_ms(dist: float, rng: np.random.Generator, scale: float) -> float:
    """A Fitts's-law-like movement time with random constants."""
    a = rng.uniform(80, 250)
    b = rng.uniform(90, 200)
    width = rng.uniform(10, 60)
    return scale * (a + b * math.log2(1 + dist / width))


def _sample_times(
    duration: float, rate_hz: float, jitter: float, rng: np.random.Generator
) -> FloatArray:
    period = 1000.0 / rate_hz
    n = max(int(duration / period), 1)
    times = (
        np.arange(1, n + 1) * period + rng.normal(0, jitter, n)
        if jitter
        else np.arange(1, n + 1) * period
    )
    times = np.clip(np.sort(times), 0, duration)
    return np.append(times, duration)


def session_generate(path_fn: PathFn, *, rng: np.random.Generator, profile: Profile) -> list[Row]:
    width = int(rng.integers(1024, 2561))
    height = int(rng.integers(640, 1441))
    rate = float(rng.choice(profile.rates_hz))
    jitter = float(rng.uniform(*profile.jitter_ms))
    total_ms = rng.uniform(*profile.session_s) * 1000
    t = float(rng.uniform(200, 3000))
    pos = np.array([rng.uniform(0, width), rng.uniform(0, height)])
    rows: list[Row] = [(int(t), "NoButton", "Move", round(float(pos[0])), round(float(pos[1])))]
    last_xy = (rows[0][3], rows[0][4])
    while t < total_ms:
        if rng.random() < 0.3:  # a nearby target, like a human working in one area
            target = pos + rng.normal(0, rng.uniform(40, 250), 2)
        else:
            target = np.array([rng.uniform(0, width), rng.uniform(0, height)])
        target = np.clip(target, [0, 0], [width - 1, height - 1])
        move = path_fn(pos, target, rng, profile)
        times = _sample_times(move.duration_ms, rate, jitter, rng)
        xs = np.interp(times / move.duration_ms, move.u, move.x)
        ys = np.interp(times / move.duration_ms, move.u, move.y)
        for ti, xi, yi in zip(times.tolist(), xs.tolist(), ys.tolist(), strict=True):
            xy = (round(min(max(xi, 0), width - 1)), round(min(max(yi, 0), height - 1)))
            if xy != last_xy:
                rows.append((int(t + ti), "NoButton", "Move", xy[0], xy[1]))
                last_xy = xy
        t += move.duration_ms
        pos = np.array(last_xy, dtype=np.float64)
        if rng.random() < profile.click_prob:
            t += rng.uniform(0, 250)
            rows.append((int(t), "Left", "Pressed", last_xy[0], last_xy[1]))
            t += rng.uniform(40, 160)
            rows.append((int(t), "Left", "Released", last_xy[0], last_xy[1]))
        # Log-uniform pauses: short hesitations and long reading pauses alike.
        t += float(np.exp(rng.uniform(*np.log(profile.pause_ms))))
    return rows


def rows_to_csv(rows: list[Row]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["client timestamp", "button", "state", "x", "y"])
    w.writerows(rows)
    return out.getvalue()


def rows_write(path: Path, rows: list[Row]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rows_to_csv(rows))
