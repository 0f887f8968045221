"""Session features besides mouse dynamics: clicks, scroll, key cadence, focus, dwell.

`SessionFeatures` folds each batch into a few running sums (O(1) memory per session, plus
at most MAX_ARTICLES dwell entries), so no raw event outlives the batch it came in. The
signals are small pure functions over `SessionFeatures.values()`, listed in SIGNALS under
their stable reason codes (the BotD pattern); scoring weighs them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from fraud.types import TelemetryBatch

__all__ = [
    "FOCUS_BLUR",
    "FOCUS_HIDDEN",
    "MAX_ARTICLES",
    "SIGNALS",
    "SessionFeatures",
    "session_signals",
]

FOCUS_BLUR, FOCUS_FOCUS, FOCUS_HIDDEN, FOCUS_VISIBLE = 0, 1, 2, 3
KIND_MOUSE = 0
MAX_ARTICLES = 64
# A single step this long (px) right before a mouse click, taken in one sample: the pointer
# jumped to the target (Playwright's mouse.click, element.click() with synthetic events).
TELEPORT_PX = 150.0
# Faster than this (px per ms, i.e. 20,000 px/s) is beyond a human hand on a mouse.
INHUMAN_SPEED = 20.0
SCROLL_JUMP_PX_PER_MS = 100.0
# A person's pointer leaves a trail to what it clicks; fewer samples than this before a mouse
# click is a pointer placed there.
MIN_MOVES_BEFORE_CLICK = 3


@dataclass
class _Running:
    """Count, sum and sum of squares, for a mean and a coefficient of variation."""

    n: int = 0
    total: float = 0.0
    squares: float = 0.0

    def add(self, values: np.ndarray) -> None:
        if values.size:
            as_float = values.astype(np.float64, copy=False)
            self.n += int(values.size)
            self.total += float(as_float.sum())
            self.squares += float(np.dot(as_float, as_float))

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0

    @property
    def cv(self) -> float:
        """std / mean; 1.0 when undefined, so "too regular" never fires on no data."""
        if self.n < 2 or self.total <= 0:
            return 1.0
        mean = self.total / self.n
        variance = max(self.squares / self.n - mean * mean, 0.0)
        return math.sqrt(variance) / mean


@dataclass
class SessionFeatures:
    """Running features of one session (everything but mouse dynamics, which A's
    MouseFeatures computes); `update` takes one parsed batch."""

    batches: int = 0
    events: int = 0
    moves: int = 0
    move_dt: _Running = field(default_factory=_Running)
    moves_zero_dt: int = 0
    moves_inhuman: int = 0
    last_move: tuple[int, int, int] | None = None  # (t, x, y), kept in memory only
    _last_jump: bool = False
    # This batch's steps (end time, length px, duration ms, whether the step before the
    # batch was a jump), handed from _moves to _clicks.
    _steps: tuple[np.ndarray, np.ndarray, np.ndarray, bool] | None = None
    clicks_by_kind: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    clicks_no_movement: int = 0
    clicks_teleport: int = 0
    clicks_hidden: int = 0
    click_gaps: _Running = field(default_factory=_Running)
    last_click_t: int | None = None
    scrolls: int = 0
    scroll_px: float = 0.0
    scroll_jumps: int = 0
    last_scroll: tuple[int, int] | None = None
    keys: _Running = field(default_factory=_Running)
    keys_fast: int = 0
    focus_counts: list[int] = field(default_factory=lambda: [0, 0, 0, 0])
    visibility: int = FOCUS_VISIBLE
    dwell: dict[str, list[int]] = field(default_factory=dict)  # slug -> [visible_ms, words]
    dwell_ms: int = 0

    def update(self, batch: TelemetryBatch) -> None:
        self.batches += 1
        self.events += batch.events
        self._moves(batch)
        self._clicks(batch)
        self._scroll(batch)
        if batch.keys.size:
            self.keys.add(batch.keys)
            self.keys_fast += int(np.count_nonzero(batch.keys < 15))
        if batch.focus.size:
            self.focus_counts = [
                a + int(b)
                for a, b in zip(
                    self.focus_counts,
                    np.bincount(batch.focus[:, 1], minlength=4)[:4],
                    strict=True,
                )
            ]
        for item in batch.dwell:
            # visible_ms is the article's total so far (a lost batch loses nothing), so the
            # largest total seen is the dwell.
            entry = self.dwell.get(item.article)
            if entry is None:
                if len(self.dwell) >= MAX_ARTICLES:
                    continue
                entry = self.dwell[item.article] = [0, 0]
            if item.visible_ms > entry[0]:
                self.dwell_ms += item.visible_ms - entry[0]
                entry[0] = item.visible_ms
            entry[1] = max(entry[1], item.words)

    def _moves(self, batch: TelemetryBatch) -> None:
        mouse = batch.mouse
        n = len(mouse)
        if not n:
            return
        t, x, y = mouse.t, mouse.x, mouse.y
        if self.last_move is not None:
            t0, x0, y0 = self.last_move
            t = np.concatenate(([t0], t))
            x = np.concatenate(([x0], x))
            y = np.concatenate(([y0], y))
        if t.size >= 2:
            dt = np.diff(t)
            dist = np.hypot(np.diff(x), np.diff(y))
            moving = dist > 0
            positive = dt > 0
            self.move_dt.add(dt[positive & moving])
            self.moves_zero_dt += int(np.count_nonzero(moving & ~positive))
            speed = dist[positive] / dt[positive]
            self.moves_inhuman += int(np.count_nonzero(speed > INHUMAN_SPEED))
            self._steps = (t[1:], dist, dt, self._last_jump)
            self._last_jump = bool(dist[-1] >= TELEPORT_PX and dt[-1] >= 30)
        else:
            self._steps = None
        self.moves += n
        self.last_move = (int(mouse.t[-1]), int(mouse.x[-1]), int(mouse.y[-1]))

    def _clicks(self, batch: TelemetryBatch) -> None:
        clicks = batch.clicks
        focus = batch.focus
        if not len(clicks):
            if len(focus):
                self.visibility = _visibility_after(self.visibility, focus[:, 1])
            self._steps = None
            return
        counts = np.bincount(clicks[:, 4], minlength=4)[:4]
        self.clicks_by_kind = [a + int(b) for a, b in zip(self.clicks_by_kind, counts, strict=True)]
        times = clicks[:, 0]
        previous = (
            times if self.last_click_t is None else np.concatenate(([self.last_click_t], times))
        )
        gaps = np.diff(previous)
        self.click_gaps.add(gaps[gaps >= 0])
        self.last_click_t = int(times[-1])
        mouse_times = times[clicks[:, 4] == KIND_MOUSE]
        if mouse_times.size:
            self._mouse_clicks(batch, mouse_times)
        # The visibility at each click: the last focus/visibility change before it.
        for click_t in times:
            state = self.visibility
            if len(focus):
                state = _visibility_after(state, focus[focus[:, 0] <= click_t, 1])
            if state == FOCUS_HIDDEN:
                self.clicks_hidden += 1
        if len(focus):
            self.visibility = _visibility_after(self.visibility, focus[:, 1])
        self._steps = None

    def _mouse_clicks(self, batch: TelemetryBatch, times: np.ndarray) -> None:
        """Where the pointer came from before each mouse click: nowhere (no movement), or in
        one jump or a couple of samples (teleported there, as automation does)."""
        earlier = self.moves - len(batch.mouse)
        before = earlier + np.searchsorted(batch.mouse.t, times, side="right")
        self.clicks_no_movement += int(np.count_nonzero(before == 0))
        few = (before > 0) & (before < MIN_MOVES_BEFORE_CLICK)
        jumped = np.zeros(times.shape, dtype=bool)
        if self._steps is not None:
            step_t, dist, dt, jump_before = self._steps
            index = np.searchsorted(step_t, times, side="right") - 1
            ok = index >= 0
            jumped[ok] = (dist[index[ok]] >= TELEPORT_PX) & (dt[index[ok]] >= 30)
            # A click before this batch's first step: judge it by the step before the batch.
            jumped[~ok] = jump_before
        else:
            jumped[:] = self._last_jump
        self.clicks_teleport += int(np.count_nonzero(few | jumped))

    def _scroll(self, batch: TelemetryBatch) -> None:
        scroll = batch.scroll
        if not len(scroll):
            return
        t, y = scroll[:, 0], scroll[:, 1]
        if self.last_scroll is not None:
            t = np.concatenate(([self.last_scroll[0]], t))
            y = np.concatenate(([self.last_scroll[1]], y))
        if t.size >= 2:
            dy = np.abs(np.diff(y)).astype(np.float64)
            dt = np.maximum(np.diff(t), 1)
            self.scroll_px += float(dy.sum())
            self.scroll_jumps += int(np.count_nonzero((dy / dt) > SCROLL_JUMP_PX_PER_MS))
        self.scrolls += len(scroll)
        self.last_scroll = (int(scroll[-1, 0]), int(scroll[-1, 1]))

    def values(self, *, max_reading_wpm: int = 1_500) -> dict[str, float]:
        """The features as a flat dict of numbers (what is stored on the session).

        `articles_too_fast` counts the articles of 100+ words read faster than
        `max_reading_wpm` words per minute.
        """
        read = [(ms, words) for ms, words in self.dwell.values() if words >= 100 and ms > 0]
        wpm = [words * 60_000 / ms for ms, words in read]
        return {
            "batches": self.batches,
            "events": self.events,
            "moves": self.moves,
            "move_dt_mean": round(self.move_dt.mean, 3),
            "move_dt_cv": round(self.move_dt.cv, 5),
            "move_dt_n": self.move_dt.n,
            "moves_zero_dt": self.moves_zero_dt,
            "moves_inhuman": self.moves_inhuman,
            "clicks_mouse": self.clicks_by_kind[0],
            "clicks_touch": self.clicks_by_kind[1],
            "clicks_pen": self.clicks_by_kind[2],
            "clicks_keyboard": self.clicks_by_kind[3],
            "clicks_no_movement": self.clicks_no_movement,
            "clicks_teleport": self.clicks_teleport,
            "clicks_hidden": self.clicks_hidden,
            "click_gap_cv": round(self.click_gaps.cv, 5),
            "click_gap_n": self.click_gaps.n,
            "scrolls": self.scrolls,
            "scroll_px": round(self.scroll_px, 1),
            "scroll_jumps": self.scroll_jumps,
            "scroll_px_per_s": round(self.scroll_px * 1000 / self.dwell_ms, 3)
            if self.dwell_ms
            else 0.0,
            "keys": self.keys.n,
            "key_interval_mean": round(self.keys.mean, 3),
            "key_interval_cv": round(self.keys.cv, 5),
            "keys_fast": self.keys_fast,
            "focus_blur": self.focus_counts[FOCUS_BLUR],
            "focus_focus": self.focus_counts[FOCUS_FOCUS],
            "focus_hidden": self.focus_counts[FOCUS_HIDDEN],
            "focus_visible": self.focus_counts[FOCUS_VISIBLE],
            "articles": len(self.dwell),
            "dwell_ms": self.dwell_ms,
            "articles_read": len(read),
            "articles_too_fast": sum(1 for value in wpm if value > max_reading_wpm),
            "reading_wpm_max": round(max(wpm), 1) if wpm else 0.0,
        }


def _visibility_after(state: int, changes: np.ndarray) -> int:
    """Visibility after a run of focus events: hidden/visible change it, blur/focus do not."""
    for value in changes[::-1]:
        if value in (FOCUS_HIDDEN, FOCUS_VISIBLE):
            return int(value)
    return state


Features = dict[str, float]
Signal = Callable[[Features], bool]


def signal_click_without_movement(f: Features) -> bool:
    """A mouse click with no mouse movement ever before it."""
    return f["clicks_no_movement"] > 0


def signal_click_teleport(f: Features) -> bool:
    """A mouse click right after the pointer jumped to it in one sample."""
    return f["clicks_teleport"] > 0


def signal_click_while_hidden(f: Features) -> bool:
    return f["clicks_hidden"] > 0


def signal_uniform_timing(f: Features) -> bool:
    """Machine-paced: identical mouse intervals, or metronome clicks or keys."""
    return (
        (f["move_dt_n"] >= 50 and f["move_dt_cv"] < 0.005)
        or (f["click_gap_n"] >= 4 and f["click_gap_cv"] < 0.02)
        or (f["keys"] >= 10 and f["key_interval_cv"] < 0.02)
    )


def signal_inhuman_speed(f: Features) -> bool:
    moves = f["moves"]
    return moves >= 10 and (
        f["moves_inhuman"] >= max(3, 0.1 * moves) or f["moves_zero_dt"] >= 0.5 * moves
    )


def signal_inhuman_keys(f: Features) -> bool:
    return f["keys"] >= 10 and f["keys_fast"] >= 0.5 * f["keys"]


def signal_scroll_jumps(f: Features) -> bool:
    """Programmatic scrolling: several instant jumps of hundreds of pixels."""
    return f["scroll_jumps"] >= 3


def signal_reading_too_fast(f: Features) -> bool:
    """Most articles of 100+ words "read" faster than any person reads."""
    fast = f["articles_too_fast"]
    return fast >= 2 and fast * 2 > f["articles_read"]


SIGNALS: dict[str, Signal] = {
    "click_without_movement": signal_click_without_movement,
    "click_teleport": signal_click_teleport,
    "click_while_hidden": signal_click_while_hidden,
    "uniform_timing": signal_uniform_timing,
    "inhuman_speed": signal_inhuman_speed,
    "inhuman_keys": signal_inhuman_keys,
    "scroll_jumps": signal_scroll_jumps,
    "reading_too_fast": signal_reading_too_fast,
}


def session_signals(features: Features) -> tuple[str, ...]:
    """The codes of every signal that fires on `features` (SessionFeatures.values())."""
    return tuple(code for code, signal in SIGNALS.items() if signal(features))
