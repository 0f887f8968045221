"""A reader's hand for the browser tests: real human mouse movement replayed into Chromium.

The paywall scores the page's pointer telemetry (fraud/), so a test that plays a reader cannot
simply `locator.click()` (that is what the bot test does, and it is refused). Instead it
replays a stretch of a real SapiMouse session (../shared/data/sapimouse, read in place) at its
recorded timing, bends the end of that stretch onto the target, then presses and releases
the button like a hand does.

The stretch is scaled into the viewport and only its last part is bent, with a smooth weight
from 0 to 1, so the human micro-structure (tremor, sub-movements, uneven timing) is kept.
"""

from __future__ import annotations

import csv
import random
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from tests.fixtures.human_traces import sapimouse_dir

SAPIMOUSE_DIR = sapimouse_dir()
# Inside a stretch, a gap longer than this is a pause: it is shortened when replayed.
LONGEST_REPLAYED_PAUSE_MS = 400.0


@dataclass(frozen=True)
class Stroke:
    t_ms: tuple[float, ...]
    x: tuple[float, ...]
    y: tuple[float, ...]


def _trace_files() -> list[Path]:
    return sorted(SAPIMOUSE_DIR.glob("user*/*.csv"))


@cache
def _moves(path: Path) -> tuple[tuple[float, float, float], ...]:
    rows: list[tuple[float, float, float]] = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("state") not in ("Move", "Drag"):
                continue
            try:
                rows.append((float(row["client timestamp"]), float(row["x"]), float(row["y"])))
            except (KeyError, TypeError, ValueError):
                continue
    return tuple(rows)


def human_stretch(rng: random.Random, seconds: float) -> Stroke:
    """`seconds` of one real session's movement, pauses shortened, time from 0."""
    files = _trace_files()
    for _ in range(50):
        moves = _moves(rng.choice(files))
        if len(moves) < 200:
            continue
        start = rng.randrange(0, len(moves) - 150)
        picked: list[tuple[float, float, float]] = []
        clock = 0.0
        previous_t = moves[start][0]
        for t, x, y in moves[start:]:
            clock += min(max(t - previous_t, 0.0), LONGEST_REPLAYED_PAUSE_MS)
            previous_t = t
            picked.append((clock, x, y))
            if clock >= seconds * 1000:
                break
        if len(picked) >= 100 and clock >= seconds * 500:
            return Stroke(*map(tuple, zip(*picked, strict=True)))
    raise AssertionError(f"no usable stretch of human movement under {SAPIMOUSE_DIR}")


def _fit_into(stroke: Stroke, width: float, height: float) -> Stroke:
    """Scale (never up) and move the stroke into the viewport, with a margin."""
    min_x, max_x, min_y, max_y = min(stroke.x), max(stroke.x), min(stroke.y), max(stroke.y)
    scale = min(1.0, 0.9 * width / max(max_x - min_x, 1.0), 0.9 * height / max(max_y - min_y, 1.0))
    left = (width - (max_x - min_x) * scale) / 2
    top = (height - (max_y - min_y) * scale) / 2
    return Stroke(
        stroke.t_ms,
        tuple(left + (x - min_x) * scale for x in stroke.x),
        tuple(top + (y - min_y) * scale for y in stroke.y),
    )


def _bend_onto(stroke: Stroke, target_x: float, target_y: float) -> Stroke:
    """Shift the last 40 % of the stroke, smoothly, so that it ends on the target."""
    n = len(stroke.x)
    dx, dy = target_x - stroke.x[-1], target_y - stroke.y[-1]
    bend_from = int(n * 0.6)
    xs, ys = list(stroke.x), list(stroke.y)
    for i in range(bend_from, n):
        u = (i - bend_from) / max(n - 1 - bend_from, 1)
        weight = u * u * (3 - 2 * u)  # smoothstep
        xs[i] += dx * weight
        ys[i] += dy * weight
    return Stroke(stroke.t_ms, tuple(xs), tuple(ys))


def human_move_and_click(page: Any, locator: Any, *, seed: int, seconds: float = 4.0) -> None:
    """Move to `locator` along a replayed human stretch and click it with press and release.

    Works for elements of the top page (the page script's telemetry sees these moves).
    """
    rng = random.Random(seed)
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    assert box is not None, "the element to click is not visible"
    viewport = page.viewport_size or {"width": 1280, "height": 720}
    target_x = box["x"] + box["width"] * rng.uniform(0.3, 0.7)
    target_y = box["y"] + box["height"] * rng.uniform(0.3, 0.7)
    stroke = _bend_onto(
        _fit_into(human_stretch(rng, seconds), viewport["width"], viewport["height"]),
        target_x,
        target_y,
    )
    started = time.monotonic()
    for t_ms, x, y in zip(stroke.t_ms, stroke.x, stroke.y, strict=True):
        delay = started + t_ms / 1000 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        page.mouse.move(x, y)
    time.sleep(rng.uniform(0.08, 0.25))
    page.mouse.down()
    time.sleep(rng.uniform(0.06, 0.14))
    page.mouse.up()
