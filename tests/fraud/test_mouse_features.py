"""Mouse features (fraud.features.mouse) and the trace reader (fraud.features.traces)."""

from __future__ import annotations

import math
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from fraud.features.mouse import MOUSE_FEATURE_NAMES, MouseFeatures, stroke_kinematics, stroke_shape
from fraud.features.traces import (
    TraceError,
    trace_feature_vector,
    trace_parse,
    trace_read_csv,
)

HEADER = "client timestamp,button,state,x,y\n"


def feature(vec: np.ndarray, name: str) -> float:
    return float(vec[MOUSE_FEATURE_NAMES.index(name)])


def strokes(
    path_fn, *, n_strokes: int = 12, steps: int = 40, dt: float = 16.0, pause: float = 600.0
):
    """Several strokes separated by pauses; path_fn(u, k) -> (x, y) for u in [0, 1]."""
    ts, xs, ys = [], [], []
    t = 0.0
    for k in range(n_strokes):
        u = np.linspace(0, 1, steps)
        # A bell-shaped speed profile (minimum jerk) along the path.
        s = 10 * u**3 - 15 * u**4 + 6 * u**5
        x, y = path_fn(s, k)
        ts.append(t + np.arange(steps) * dt)
        xs.append(x)
        ys.append(y)
        t = ts[-1][-1] + pause
    return np.concatenate(ts), np.concatenate(xs), np.concatenate(ys)


def straight(s, k):
    return 100 + 500 * s, 100 + 200 * s + 30 * k


def curved(s, k):
    ang = math.pi * s
    return 400 + 250 * np.cos(ang), 300 + 250 * np.sin(ang) + 5 * k


def vector_of(t, x, y) -> np.ndarray:
    f = MouseFeatures()
    f.add_moves(t, x, y)
    return f.vector()


# --- Given/when/then: curvature --------------------------------------------------------------


def test_straight_line_is_straighter_than_an_arc():
    v_line = vector_of(*strokes(straight))
    v_arc = vector_of(*strokes(curved))
    assert feature(v_line, "straight_stroke_frac") == 1.0
    assert feature(v_arc, "straight_stroke_frac") == 0.0
    # 1 - straightness (log10): a half circle is 1 - 2/pi ~ 0.36 -> about -0.44.
    assert feature(v_arc, "straight_gap_log_p50") == pytest.approx(
        math.log10(1 - 2 / math.pi), abs=0.1
    )
    assert feature(v_line, "straight_gap_log_p50") < -3
    assert feature(v_line, "turn_p90") < 0.05 < feature(v_arc, "turn_p50")
    # An arc turns one way only.
    assert feature(v_arc, "turn_consistency_p50") > 0.95


def test_stroke_shape_of_a_minimum_jerk_stroke():
    t = np.arange(40) * 16.0
    u = np.linspace(0, 1, 40)
    s = 10 * u**3 - 15 * u**4 + 6 * u**5
    x, y = 500 * s, 0 * s
    kin = stroke_kinematics(t, x, y)
    shape = stroke_shape(t, x, y, kin)
    assert shape is not None
    assert shape.straightness == pytest.approx(1.0)
    assert shape.submovements == 1
    assert shape.peak_position == pytest.approx(0.5, abs=0.05)
    assert shape.peak_over_mean == pytest.approx(1.875, abs=0.1)  # minimum-jerk peak/mean


# --- Timing regularity ----------------------------------------------------------------------


def test_constant_intervals_are_all_identical_and_zero_entropy():
    t, x, y = strokes(straight, dt=16.0)
    v = vector_of(t, x, y)
    assert feature(v, "interval_identical_frac") > 0.95
    assert feature(v, "interval_entropy") == pytest.approx(0.0, abs=1e-9)


def test_irregular_intervals_have_entropy():
    rng = np.random.default_rng(3)
    t, x, y = strokes(straight, dt=16.0)
    t = t + np.cumsum(rng.integers(0, 6, t.size))
    v = vector_of(t, x, y)
    assert feature(v, "interval_identical_frac") < 0.5
    assert feature(v, "interval_entropy") > 1.5


def test_teleporting_cursor_jumps_across_pauses():
    # One sample per "stroke", far apart: the Playwright `mouse.move(x, y)` pattern.
    rng = np.random.default_rng(1)
    t = np.arange(50) * 700.0
    x, y = rng.uniform(0, 1500, 50), rng.uniform(0, 900, 50)
    v = vector_of(t, x, y)
    assert feature(v, "pause_jump_px_log_p50") > 2.0
    # Strokes that continue where the last one stopped: no jump across the pauses.
    back_and_forth = vector_of(
        *strokes(lambda s, k: (100 + 500 * (s if k % 2 == 0 else 1 - s), 300 + 0 * s))
    )
    assert feature(back_and_forth, "pause_jump_px_log_p50") < 0.5


def test_clicks_dwell_measured_from_last_move():
    f = MouseFeatures()
    t, x, y = strokes(straight)
    f.add_moves(t, x, y)
    f.add_clicks(np.array([t[-1] + 150.0]), np.array([x[-1]]), np.array([y[-1]]))
    assert feature(f.vector(), "click_dwell_log_p50") == pytest.approx(math.log10(150), abs=0.1)
    assert math.isnan(feature(vector_of(t, x, y), "click_dwell_log_p50"))


# --- Incremental == batch; bounded memory; speed --------------------------------------------


def test_incremental_equals_batch():
    rng = np.random.default_rng(7)
    steps = rng.integers(0, 40, 3000)  # 0 = duplicate timestamps
    steps[::150] = 900  # pauses: several strokes
    t = np.cumsum(steps).astype(float)
    x = np.cumsum(rng.normal(0, 4, 3000))
    y = np.cumsum(rng.normal(0, 4, 3000))
    whole = vector_of(t, x, y)
    f = MouseFeatures()
    i = 0
    while i < t.size:
        n = int(rng.integers(1, 150))
        f.add_moves(t[i : i + n], x[i : i + n], y[i : i + n])
        i += n
        f.vector()  # reading the vector must not change the state
    assert f.n_moves == 3000
    np.testing.assert_allclose(f.vector(), whole, rtol=1e-9, equal_nan=True)


def test_memory_is_bounded_for_long_sessions():
    rng = np.random.default_rng(2)
    f = MouseFeatures()

    def feed(batches: int, t0: float) -> float:
        t = t0
        for _ in range(batches):
            ts = t + np.cumsum(rng.integers(8, 30, 100)).astype(float)
            f.add_moves(ts, rng.normal(500, 200, 100), rng.normal(400, 100, 100))
            t = ts[-1] + float(rng.choice([10.0, 800.0]))
        return t

    t = feed(200, 0.0)
    f.vector()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    t = feed(3000, t)  # 300k more events
    f.vector()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 200_000, grown


def test_batch_and_vector_are_fast():
    rng = np.random.default_rng(5)
    f = MouseFeatures()
    t = 0.0
    batch_times, vector_times = [], []
    for _ in range(300):
        ts = t + np.cumsum(rng.integers(14, 19, 100)).astype(float)
        t = ts[-1] + (500.0 if rng.random() < 0.5 else 16.0)
        xs = np.cumsum(rng.normal(0, 5, 100)) + 500
        ys = np.cumsum(rng.normal(0, 5, 100)) + 400
        s = time.perf_counter()
        f.add_moves(ts, xs, ys)
        batch_times.append(time.perf_counter() - s)
        s = time.perf_counter()
        f.vector()
        vector_times.append(time.perf_counter() - s)
    # Shared CI machines are noisy: the median is the contract (< 0.2 ms per 100 events).
    assert np.median(batch_times) < 0.0004, np.median(batch_times)
    assert np.median(vector_times) < 0.002, np.median(vector_times)


# --- CSV reader ------------------------------------------------------------------------------


def test_reader_tolerates_whitespace_blank_lines_unknown_buttons_and_disorder():
    text = (
        "\ufeff client timestamp , button , state , x , y \r\n"
        "\n"
        "  100 , NoButton , Move , 10 , 20 \r\n"
        "120,Mystery,Move,12,22\n"
        "   \n"
        "110,NoButton,Move,11,21\n"  # out of order
        "110,NoButton,Move,11,21\n"  # duplicate timestamp
        "130,Left,Pressed,12,22\n"
        "140,Left,Released,12,22\n"
        "150,Left,Drag,14,25\n"
        "garbage line\n"
        "160,NoButton,Move,abc,3\n"
        "170,NoButton,Teleport,1,1\n"
        "180,NoButton,Move,nan,3\n"
    )
    trace = trace_parse(text)
    assert trace.t.tolist() == [100, 110, 110, 120, 150]
    assert trace.x.tolist() == [10, 11, 11, 12, 14]
    assert trace.click_t.tolist() == [130]
    assert trace.skipped == 4
    assert trace.rows == 11


def test_reader_columns_by_header_name_and_missing_header():
    moved = trace_parse(
        "x,y,state,button,client timestamp\n5,6,Move,NoButton,1000\n7,8,Move,NoButton,1016\n"
    )
    assert moved.t.tolist() == [1000, 1016] and moved.x.tolist() == [5, 7]
    bare = trace_parse("1000,NoButton,Move,5,6\n1016,NoButton,Move,7,8\n")
    assert bare.t.tolist() == [1000, 1016] and bare.y.tolist() == [6, 8]


def test_reader_scales_second_timestamps():
    rows = "".join(f"{0.016 * i:.3f},NoButton,Move,{i},{i}\n" for i in range(10))
    trace = trace_parse(HEADER + rows)
    assert trace.t[1] == pytest.approx(16.0)


def test_reader_nothing_usable_is_a_clear_error(tmp_path: Path):
    with pytest.raises(TraceError, match="no usable mouse moves"):
        trace_parse(HEADER + "x,y,z\n1,Left,Pressed,3,4\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(TraceError):
        trace_read_csv(empty)


def test_very_short_trace_gives_a_finite_length_vector():
    trace = trace_parse(HEADER + "0,NoButton,Move,1,1\n")
    v = trace_feature_vector(trace)
    assert v.shape == (len(MOUSE_FEATURE_NAMES),)
    two = trace_feature_vector(trace_parse(HEADER + "0,NoButton,Move,1,1\n20,NoButton,Move,5,1\n"))
    assert feature(two, "speed_log_p50") == pytest.approx(math.log10(4 / 20), abs=0.05)


def test_trace_feature_vector_is_the_incremental_path():
    t, x, y = strokes(curved)
    rows = "".join(
        f"{int(a)},NoButton,Move,{b:.0f},{c:.0f}\n" for a, b, c in zip(t, x, y, strict=True)
    )
    trace = trace_parse(HEADER + rows)
    direct = vector_of(trace.t, trace.x, trace.y)
    np.testing.assert_allclose(trace_feature_vector(trace), direct, rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(
        trace_feature_vector(trace, batch_ms=37), direct, rtol=1e-9, equal_nan=True
    )
