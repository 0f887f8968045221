"""Incremental mouse-dynamics features for one telemetry session.

`MouseFeatures` is fed absolute cursor positions batch by batch (`add_moves`, `add_clicks`) and
returns a fixed-length float vector (`vector`, names in `MOUSE_FEATURE_NAMES`). The same class
builds the vectors the bot model is trained on (through `fraud.features.traces`), so live
telemetry and offline training share one code path.

Design choices, because the model is judged on humans we never saw (other mice, browsers and
screens):

- Raw events are first *decimated* to at least `MIN_STEP_MS` apart. A 1000 Hz mouse, a 125 Hz
  one and a browser coalescing to 60 Hz then give comparable steps, so speed, acceleration and
  angle statistics don't fingerprint the sampling rate.
- Features are ratios, quantiles and per-stroke shapes (straightness, velocity-peak position,
  sub-movements) rather than counts or totals, so they don't grow with session length; absolute
  speeds appear only as log quantiles (training augments them with screen-scale changes).
- State is bounded: fixed log-spaced histograms and running sums, a stroke buffer capped at
  `STROKE_CAP` samples (a longer stroke is cut) and a small ring of recent event times for
  clicks. A session of any length uses the same memory.

Each feature family is one small pure function over one stroke's arrays (`stroke_*`); the
registry `_FAMILIES` lists them, and `MOUSE_FEATURE_NAMES` is derived from `vector`'s layout.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

MIN_STEP_MS = 15.0  # decimation: keep an event only once this much time has passed
PAUSE_MS = 300.0  # a gap longer than this ends a stroke
STROKE_CAP = 512  # samples; a longer stroke is cut there (bounded memory)
MIN_STROKE_PATH_PX = 12.0  # strokes shorter than this carry no shape features
MIN_STROKE_STEPS = 3
RECENT_CAP = 256  # recent raw event times kept for click dwell
PENDING_CAP = 2048  # step values buffered before they are binned


class _Hist:
    """A fixed uniform histogram over log10(value) (or the value itself) with running moments.

    Bin i (1..bins) covers [lo + (i-1)*w, lo + i*w); 0 and bins+1 are under/overflow.
    """

    __slots__ = ("_cum", "bins", "counts", "hi", "lo", "log", "n", "s1", "s2", "w")

    def __init__(self, lo: float, hi: float, bins: int, *, log: bool = True) -> None:
        self.lo, self.hi, self.bins, self.log = lo, hi, bins, log
        self.w = (hi - lo) / bins
        self.counts = np.zeros(bins + 2, dtype=np.float64)
        self.n = self.s1 = self.s2 = 0.0
        self._cum: list[float] | None = None

    def add(self, values: FloatArray) -> None:
        if values.size == 0:
            return
        self._cum = None
        self.n += float(values.size)
        self.s1 += float(values.sum())
        self.s2 += float(np.dot(values, values))
        keyed = np.log10(np.maximum(values, 1e-12)) if self.log else values
        idx = np.clip(np.floor((keyed - self.lo) / self.w) + 1, 0, self.bins + 1).astype(np.intp)
        self.counts += np.bincount(idx, minlength=self.bins + 2)

    def add1(self, value: float) -> None:
        self._cum = None
        self.n += 1.0
        self.s1 += value
        self.s2 += value * value
        key = math.log10(max(value, 1e-12)) if self.log else value
        i = math.floor((key - self.lo) / self.w) + 1
        self.counts[min(max(i, 0), self.bins + 1)] += 1.0

    def merged(self, other: _Hist) -> _Hist:
        out = _Hist.__new__(_Hist)
        out.lo, out.hi, out.bins, out.log, out.w = self.lo, self.hi, self.bins, self.log, self.w
        out.counts = self.counts + other.counts
        out.n, out.s1, out.s2 = self.n + other.n, self.s1 + other.s1, self.s2 + other.s2
        out._cum = None
        return out

    def quantile(self, q: float) -> float:
        """Approximate quantile in the histogram's key space (log10 for log histograms)."""
        if self.n <= 0:
            return math.nan
        if self._cum is None:
            self._cum = np.cumsum(self.counts).tolist()  # bisect on a list beats numpy here
        cum = self._cum
        target = q * cum[-1]
        i = bisect.bisect_left(cum, target)
        if i == 0:
            return self.lo
        if i >= self.bins + 1:
            return self.hi
        before = cum[i - 1]
        inside = cum[i] - before
        frac = 0.5 if inside <= 0 else (target - before) / inside
        return self.lo + self.w * (i - 1 + min(max(frac, 0.0), 1.0))

    def frac_below(self, key: float) -> float:
        """Fraction of values in bins entirely below `key` (bin resolution)."""
        if self.n <= 0:
            return math.nan
        i = min(max(math.floor((key - self.lo) / self.w) + 1, 0), self.bins + 1)
        return float(self.counts[:i].sum() / self.n)

    def cv(self) -> float:
        if self.n < 2 or self.s1 <= 0:
            return math.nan
        mean = self.s1 / self.n
        var = max(self.s2 / self.n - mean * mean, 0.0)
        return math.sqrt(var) / mean


# --- Per-stroke feature families (pure) ------------------------------------------------------


@dataclass(frozen=True)
class StrokeKinematics:
    dist: FloatArray  # px per step
    speed: FloatArray  # px/ms per step
    accel: FloatArray  # |dv/dt| px/ms^2
    jerk: FloatArray  # |da/dt| px/ms^3
    turn: FloatArray  # |angle change| between moving steps, rad
    signed_turn: FloatArray


def stroke_kinematics(t: FloatArray, x: FloatArray, y: FloatArray) -> StrokeKinematics:
    """Velocity, acceleration, jerk and turning angles of one decimated stroke."""
    # Slicing rather than np.diff: this runs once per stroke on the hot path.
    dt = t[1:] - t[:-1]
    dx, dy = x[1:] - x[:-1], y[1:] - y[:-1]
    dist = np.hypot(dx, dy)
    speed = dist / np.maximum(dt, 1.0)
    if speed.size >= 2:
        dtm = np.maximum((t[2:] - t[:-2]) * 0.5, 1.0)
        acc_signed = (speed[1:] - speed[:-1]) / dtm
        accel = np.abs(acc_signed)
        jerk = np.abs(
            (acc_signed[1:] - acc_signed[:-1]) / np.maximum((dtm[1:] + dtm[:-1]) * 0.5, 1.0)
        )
    else:
        accel = jerk = np.empty(0)
    moving = dist > 0
    ang = np.arctan2(dy[moving], dx[moving])
    signed = (ang[1:] - ang[:-1] + np.pi) % (2 * np.pi) - np.pi
    return StrokeKinematics(dist, speed, accel, jerk, np.abs(signed), signed)


@dataclass(frozen=True)
class StrokeShape:
    straightness: float  # displacement / path length
    turn_consistency: float  # |sum of signed turns| / sum |turns|
    peak_position: float  # time of the speed peak / stroke duration
    peak_over_mean: float  # peak speed / mean speed
    submovements: float  # speed peaks above 25% of the stroke's peak
    submovements_per_s: float
    end_speed_ratio: float  # last step's speed / peak
    duration_ms: float


def stroke_shape(
    t: FloatArray, x: FloatArray, y: FloatArray, kin: StrokeKinematics
) -> StrokeShape | None:
    """Shape of one stroke, or None when it is too short to have one."""
    path = float(kin.dist.sum())
    if path < MIN_STROKE_PATH_PX or kin.speed.size < MIN_STROKE_STEPS:
        return None
    disp = math.hypot(float(x[-1] - x[0]), float(y[-1] - y[0]))
    total_turn = float(kin.turn.sum())
    v = kin.speed
    # Light smoothing so one jittery sample isn't a sub-movement.
    vs = 0.5 * v
    vs[1:-1] += 0.25 * (v[:-2] + v[2:])
    vs[0] += 0.5 * v[0]
    vs[-1] += 0.5 * v[-1]
    peak = float(vs.max())
    duration = float(t[-1] - t[0])
    if peak <= 0 or duration <= 0:
        return None
    inner = vs[1:-1]
    # Interior local maxima only; a stroke always has at least one.
    peaks = int(np.count_nonzero((inner > vs[:-2]) & (inner >= vs[2:]) & (inner >= 0.25 * peak)))
    peaks = max(peaks, 1)
    mid = (t[1:] + t[:-1]) * 0.5
    return StrokeShape(
        straightness=min(disp / path, 1.0),
        turn_consistency=abs(float(kin.signed_turn.sum())) / total_turn if total_turn > 0 else 1.0,
        peak_position=float((mid[int(np.argmax(vs))] - t[0]) / duration),
        peak_over_mean=peak / max(float(v.mean()), 1e-9),
        submovements=float(peaks),
        submovements_per_s=peaks / max(duration / 1000.0, 0.05),
        end_speed_ratio=float(vs[-1]) / peak,
        duration_ms=duration,
    )


# --- Accumulated state ----------------------------------------------------------------------


def _new_hists() -> dict[str, _Hist]:
    return {
        "speed": _Hist(-4, 2, 120),  # px/ms, log10
        "accel": _Hist(-7, 0, 140),
        "jerk": _Hist(-9, -1, 160),
        "turn": _Hist(0.0, math.pi, 90, log=False),
        "straight_gap": _Hist(-5, 0, 100),  # 1 - straightness
        "turn_consistency": _Hist(0.0, 1.0, 50, log=False),
        "peak_position": _Hist(0.0, 1.0, 50, log=False),
        "peak_over_mean": _Hist(0, 1.5, 60),
        "submovements": _Hist(0.0, 20.0, 20, log=False),
        "submovements_per_s": _Hist(-1, 2, 60),
        "end_speed_ratio": _Hist(0.0, 1.0, 50, log=False),
        "stroke_ms": _Hist(0.5, 5, 90),
        "pause_jump_px": _Hist(-1, 4, 100),  # cursor displacement across a pause
        "click_dwell_ms": _Hist(-1, 5, 60),  # last move -> click
    }


_SHAPE_HISTS = (
    "turn_consistency",
    "peak_position",
    "peak_over_mean",
    "submovements",
    "submovements_per_s",
    "end_speed_ratio",
)


_STEP_HISTS = ("speed", "accel", "jerk", "turn")


@dataclass
class _Totals:
    active_ms: float = 0.0
    pause_ms: float = 0.0
    strokes: float = 0.0
    shaped_strokes: float = 0.0
    straight_strokes: float = 0.0  # straightness > 0.995
    raw_intervals: float = 0.0
    raw_identical: float = 0.0
    raw_fast: float = 0.0  # raw intervals < 4 ms within movement
    zero_turn: float = 0.0
    dt_hist: np.ndarray = field(default_factory=lambda: np.zeros(66))
    # Step values not yet binned (binning in bulk is cheaper); bounded by PENDING_CAP.
    pending: dict[str, list[FloatArray]] = field(
        default_factory=lambda: {k: [] for k in _STEP_HISTS}
    )
    pending_shapes: list[tuple[float, ...]] = field(default_factory=list)
    pending_n: int = 0


def _bin_pending(hists: dict[str, _Hist], totals: _Totals) -> None:
    for name, arrays in totals.pending.items():
        if arrays:
            hists[name].add(np.concatenate(arrays))
            arrays.clear()
    if totals.pending_shapes:
        # One vectorised binning for all per-stroke scalars (column j -> _SHAPE_COLUMNS[j]).
        table = np.array(totals.pending_shapes, dtype=np.float64)
        keyed = np.where(_SHAPE_LOG, np.log10(np.maximum(table, 1e-12)), table)
        idx = np.clip(np.floor((keyed - _SHAPE_LO) / _SHAPE_W) + 1, 0, _SHAPE_TOP).astype(np.intp)
        s1, s2 = table.sum(axis=0), (table * table).sum(axis=0)
        for j, name in enumerate(_SHAPE_COLUMNS):
            h = hists[name]
            h._cum = None
            h.n += float(table.shape[0])
            h.s1 += float(s1[j])
            h.s2 += float(s2[j])
            h.counts += np.bincount(idx[:, j], minlength=h.bins + 2)
        totals.pending_shapes.clear()
    totals.pending_n = 0


def _add_stroke(
    hists: dict[str, _Hist], totals: _Totals, t: FloatArray, x: FloatArray, y: FloatArray
) -> None:
    """Fold one finished (or, for `vector`, open) stroke into the accumulators."""
    if t.size < 2:
        return
    totals.strokes += 1
    totals.active_ms += float(t[-1] - t[0])
    kin = stroke_kinematics(t, x, y)
    pending = totals.pending
    pending["speed"].append(kin.speed)
    pending["accel"].append(kin.accel)
    pending["jerk"].append(kin.jerk)
    pending["turn"].append(kin.turn)
    totals.pending_n += kin.speed.size + 1
    if totals.pending_n >= PENDING_CAP:
        _bin_pending(hists, totals)
    totals.zero_turn += float(np.count_nonzero(kin.turn < 1e-3))
    shape = stroke_shape(t, x, y, kin)
    if shape is None:
        return
    totals.shaped_strokes += 1
    totals.straight_strokes += float(shape.straightness > 0.995)
    totals.pending_shapes.append(
        (
            max(1.0 - shape.straightness, 1e-6),
            shape.duration_ms,
            *(getattr(shape, n) for n in _SHAPE_HISTS),
        )
    )


_SHAPE_COLUMNS = ("straight_gap", "stroke_ms", *_SHAPE_HISTS)
_SHAPE_SPECS = [_new_hists()[n] for n in _SHAPE_COLUMNS]
_SHAPE_LOG = np.array([h.log for h in _SHAPE_SPECS])
_SHAPE_LO = np.array([h.lo for h in _SHAPE_SPECS])
_SHAPE_W = np.array([h.w for h in _SHAPE_SPECS])
_SHAPE_TOP = np.array([h.bins + 1 for h in _SHAPE_SPECS])


# --- Vector layout: (name, function of (hists, totals)) -------------------------------------

_Feature = Callable[[dict[str, _Hist], _Totals], float]


def _q(name: str, q: float) -> _Feature:
    return lambda h, _t: h[name].quantile(q)


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else math.nan


_FAMILIES: dict[str, list[tuple[str, _Feature]]] = {
    "velocity": [
        ("speed_log_p10", _q("speed", 0.10)),
        ("speed_log_p50", _q("speed", 0.50)),
        ("speed_log_p90", _q("speed", 0.90)),
        ("speed_log_p99", _q("speed", 0.99)),
        ("speed_log_spread", lambda h, _t: h["speed"].quantile(0.9) - h["speed"].quantile(0.5)),
        ("speed_cv", lambda h, _t: h["speed"].cv()),
    ],
    "acceleration": [
        ("accel_log_p50", _q("accel", 0.50)),
        ("accel_log_p90", _q("accel", 0.90)),
        ("accel_log_spread", lambda h, _t: h["accel"].quantile(0.9) - h["accel"].quantile(0.5)),
        ("accel_over_speed", lambda h, _t: h["accel"].quantile(0.5) - h["speed"].quantile(0.5)),
        ("accel_cv", lambda h, _t: h["accel"].cv()),
    ],
    "jerk": [
        ("jerk_log_p50", _q("jerk", 0.50)),
        ("jerk_log_p90", _q("jerk", 0.90)),
        ("jerk_over_accel", lambda h, _t: h["jerk"].quantile(0.5) - h["accel"].quantile(0.5)),
        ("jerk_cv", lambda h, _t: h["jerk"].cv()),
    ],
    "angles": [
        ("turn_p25", _q("turn", 0.25)),
        ("turn_p50", _q("turn", 0.50)),
        ("turn_p90", _q("turn", 0.90)),
        ("turn_zero_frac", lambda h, t: _ratio(t.zero_turn, h["turn"].n)),
        ("turn_large_frac", lambda h, _t: 1.0 - h["turn"].frac_below(math.pi / 4)),
    ],
    "curvature": [
        ("straight_gap_log_p10", _q("straight_gap", 0.10)),
        ("straight_gap_log_p50", _q("straight_gap", 0.50)),
        ("straight_gap_log_p90", _q("straight_gap", 0.90)),
        ("straight_stroke_frac", lambda _h, t: _ratio(t.straight_strokes, t.shaped_strokes)),
        ("turn_consistency_p50", _q("turn_consistency", 0.50)),
        ("turn_consistency_p90", _q("turn_consistency", 0.90)),
    ],
    "stroke_profile": [
        ("peak_position_p50", _q("peak_position", 0.50)),
        (
            "peak_position_iqr",
            lambda h, _t: h["peak_position"].quantile(0.75) - h["peak_position"].quantile(0.25),
        ),
        ("peak_over_mean_log_p50", _q("peak_over_mean", 0.50)),
        ("end_speed_ratio_p50", _q("end_speed_ratio", 0.50)),
        ("stroke_ms_log_p50", _q("stroke_ms", 0.50)),
        (
            "stroke_ms_log_iqr",
            lambda h, _t: h["stroke_ms"].quantile(0.75) - h["stroke_ms"].quantile(0.25),
        ),
    ],
    "submovements": [
        ("submovements_p50", _q("submovements", 0.50)),
        ("submovements_p90", _q("submovements", 0.90)),
        ("submovements_single_frac", lambda h, _t: h["submovements"].frac_below(2.0)),
        ("submovements_per_s_log_p50", _q("submovements_per_s", 0.50)),
    ],
    # How long people pause depends on the page (a game vs an article), not on motor control,
    # so pause durations are not features; what the cursor does across a pause is.
    "pauses": [
        ("pause_jump_px_log_p50", _q("pause_jump_px", 0.50)),
        ("pause_jump_px_log_p90", _q("pause_jump_px", 0.90)),
        ("shapeless_stroke_frac", lambda _h, t: _ratio(t.strokes - t.shaped_strokes, t.strokes)),
    ],
    "timing": [
        ("interval_identical_frac", lambda _h, t: _ratio(t.raw_identical, t.raw_intervals)),
        ("interval_fast_frac", lambda _h, t: _ratio(t.raw_fast, t.raw_intervals)),
        ("interval_entropy", lambda _h, t: _entropy(t.dt_hist)),
    ],
    "clicks": [
        ("click_dwell_log_p50", _q("click_dwell_ms", 0.50)),
        ("click_dwell_fast_frac", lambda h, _t: h["click_dwell_ms"].frac_below(math.log10(8.0))),
    ],
}


def _entropy(counts: np.ndarray) -> float:
    total = counts.sum()
    if total <= 0:
        return math.nan
    p = counts[counts > 0] / total
    return float(-(p * np.log2(p)).sum())


MOUSE_FEATURE_NAMES: tuple[str, ...] = tuple(
    name for family in _FAMILIES.values() for name, _fn in family
)


class MouseFeatures:
    """Per-session incremental mouse features. Not thread-safe; one instance per session.

    Call `add_moves` with each batch's absolute positions in time order, then `add_clicks` for
    the clicks of the same batch (a click's dwell is measured against the moves seen so far).
    Timestamps are ms (any origin, monotonic across calls; an earlier time is clamped).
    """

    def __init__(self) -> None:
        self._hists = _new_hists()
        self._totals = _Totals()
        self._n_moves = 0
        self._n_clicks = 0
        self._last_raw_t: float | None = None
        self._last_raw_dt: float | None = None
        self._last_kept_t: float | None = None
        self._buf = np.zeros((3, STROKE_CAP), dtype=np.float64)
        self._buf_n = 0
        self._recent_t = np.empty(0, dtype=np.float64)

    @property
    def n_moves(self) -> int:
        return self._n_moves

    @property
    def n_clicks(self) -> int:
        return self._n_clicks

    def add_moves(self, t_ms: npt.ArrayLike, x: npt.ArrayLike, y: npt.ArrayLike) -> None:
        t = np.asarray(t_ms, dtype=np.float64).ravel()
        xs = np.asarray(x, dtype=np.float64).ravel()
        ys = np.asarray(y, dtype=np.float64).ravel()
        if not (t.size == xs.size == ys.size):
            raise ValueError("t, x and y must have the same length")
        if t.size == 0:
            return
        if self._last_raw_t is not None:
            t = np.maximum(t, self._last_raw_t)
        t = np.maximum.accumulate(t)
        self._n_moves += int(t.size)
        self._raw_timing(t)
        self._recent_t = np.concatenate((self._recent_t, t))[-RECENT_CAP:]
        self._decimate_into_strokes(t, xs, ys)

    def add_clicks(self, t_ms: npt.ArrayLike, x: npt.ArrayLike, y: npt.ArrayLike) -> None:
        t = np.asarray(t_ms, dtype=np.float64).ravel()
        if t.size == 0:
            return
        self._n_clicks += int(t.size)
        if self._recent_t.size == 0:
            return
        idx = np.searchsorted(self._recent_t, t, side="right") - 1
        ok = idx >= 0
        dwell = t[ok] - self._recent_t[idx[ok]]
        self._hists["click_dwell_ms"].add(np.maximum(dwell, 0.1))

    def _raw_timing(self, t: FloatArray) -> None:
        prev = self._last_raw_t
        full = t if prev is None else np.concatenate(([prev], t))
        self._last_raw_t = float(t[-1])
        dts = np.diff(full)
        moving = dts[dts <= PAUSE_MS]
        if moving.size:
            tot = self._totals
            tot.raw_intervals += moving.size
            tot.raw_fast += float(np.count_nonzero(moving < 4.0))
            tot.dt_hist += np.bincount(np.minimum(moving, 65).astype(np.int64), minlength=66)
            # Identical consecutive intervals (within movement).
            seq = dts if self._last_raw_dt is None else np.concatenate(([self._last_raw_dt], dts))
            same = (seq[1:] == seq[:-1]) & (seq[1:] <= PAUSE_MS)
            tot.raw_identical += float(np.count_nonzero(same))
        if dts.size:
            self._last_raw_dt = float(dts[-1])

    def _decimate_into_strokes(self, t: FloatArray, x: FloatArray, y: FloatArray) -> None:
        last = self._last_kept_t
        keep: list[int] = []
        for i, ti in enumerate(t.tolist()):
            if last is None or ti - last >= MIN_STEP_MS:
                keep.append(i)
                last = ti
        self._last_kept_t = last
        if not keep:
            return
        kt, kx, ky = t[keep], x[keep], y[keep]
        # Stroke breaks: the gap before sample i (relative to the previous kept sample).
        if self._buf_n:
            prev_t = np.concatenate(([self._buf[0, self._buf_n - 1]], kt[:-1]))
        else:
            prev_t = np.concatenate(([kt[0]], kt[:-1]))
        gaps = kt - prev_t
        start = 0
        for b in np.flatnonzero(gaps > PAUSE_MS).tolist():
            self._append(kt[start:b], kx[start:b], ky[start:b])
            self._pause(gap=float(gaps[b]), x=float(kx[b]), y=float(ky[b]))
            start = b
        self._append(kt[start:], kx[start:], ky[start:])

    def _pause(self, *, gap: float, x: float, y: float) -> None:
        if self._buf_n:
            n = self._buf_n
            jump = math.hypot(x - self._buf[1, n - 1], y - self._buf[2, n - 1])
            self._hists["pause_jump_px"].add1(max(jump, 0.5))
            self._totals.pause_ms += gap
            self._flush()

    def _append(self, t: FloatArray, x: FloatArray, y: FloatArray) -> None:
        while t.size:
            room = STROKE_CAP - self._buf_n
            take = min(room, t.size)
            n = self._buf_n
            self._buf[0, n : n + take] = t[:take]
            self._buf[1, n : n + take] = x[:take]
            self._buf[2, n : n + take] = y[:take]
            self._buf_n += take
            t, x, y = t[take:], x[take:], y[take:]
            if self._buf_n == STROKE_CAP:
                # Cut the stroke; the last sample starts the next one so no step is lost.
                last = self._buf[:, STROKE_CAP - 1].copy()
                self._flush()
                self._buf[:, 0] = last
                self._buf_n = 1

    def _flush(self) -> None:
        n = self._buf_n
        if n:
            b = self._buf
            _add_stroke(
                self._hists, self._totals, b[0, :n].copy(), b[1, :n].copy(), b[2, :n].copy()
            )
        self._buf_n = 0

    def vector(self) -> FloatArray:
        """The feature vector now, including the open stroke (no observable state change)."""
        _bin_pending(self._hists, self._totals)
        hists, totals = self._hists, self._totals
        n = self._buf_n
        if n >= 2:
            open_h = _new_hists()
            open_t = _Totals()
            b = self._buf
            _add_stroke(open_h, open_t, b[0, :n], b[1, :n], b[2, :n])
            _bin_pending(open_h, open_t)
            hists = {k: v.merged(open_h[k]) if open_h[k].n else v for k, v in hists.items()}
            totals = _Totals(
                **{k: getattr(self._totals, k) + getattr(open_t, k) for k in _SUMMED_TOTALS}
            )
        return np.fromiter(
            (fn(hists, totals) for family in _FAMILIES.values() for _name, fn in family),
            dtype=np.float64,
            count=len(MOUSE_FEATURE_NAMES),
        )


_SUMMED_TOTALS = tuple(
    k for k in _Totals.__dataclass_fields__ if k not in {"pending", "pending_shapes", "pending_n"}
)
