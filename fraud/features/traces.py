"""Mouse traces in the SapiMouse CSV form, and their feature vectors.

Format (one file = one session): a header `client timestamp,button,state,x,y`, then one row per
event: timestamp in ms, button `NoButton|Left|Right|...`, state `Move|Pressed|Released|Drag`,
x and y in CSS pixels. `Move` and `Drag` rows are cursor positions; `Pressed` rows are clicks.

The reader is lenient because the files come from other people's recorders:
- extra whitespace, blank lines, `\\r\\n`, a missing header (columns then in the order above),
  columns in another order (by header name) and extra columns are accepted;
- unknown buttons are accepted (the button is not a feature); unknown states, short rows,
  non-numeric or non-finite numbers are skipped and counted in `Trace.skipped`;
- rows are sorted by timestamp (stable), so out-of-order rows are repaired; duplicate
  timestamps are kept (the features treat them as one instant);
- timestamps that look like seconds (fractional, median step under 0.1) are scaled to ms.
A file with no usable move rows raises `TraceError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from fraud.features.mouse import MouseFeatures

FloatArray = npt.NDArray[np.float64]

_COLUMNS = ("client timestamp", "button", "state", "x", "y")
_MOVE_STATES = {"move", "drag"}
_CLICK_STATES = {"pressed"}
_OTHER_STATES = {"released", "scroll", "down", "up"}
BATCH_MS = 250.0  # live pages send at most one batch per 250 ms


class TraceError(ValueError):
    """The file holds no usable mouse movement."""


@dataclass(frozen=True)
class Trace:
    t: FloatArray  # move timestamps, ms, non-decreasing
    x: FloatArray
    y: FloatArray
    click_t: FloatArray
    click_x: FloatArray
    click_y: FloatArray
    rows: int  # data rows seen (blank lines excluded)
    skipped: int  # malformed or unknown rows

    @property
    def n_moves(self) -> int:
        return int(self.t.size)

    @property
    def duration_ms(self) -> float:
        return float(self.t[-1] - self.t[0]) if self.t.size else 0.0

    def window(self, start_ms: float, end_ms: float) -> Trace:
        """The part of the trace with start_ms <= t < end_ms."""
        m = (self.t >= start_ms) & (self.t < end_ms)
        c = (self.click_t >= start_ms) & (self.click_t < end_ms)
        return Trace(
            self.t[m], self.x[m], self.y[m],
            self.click_t[c], self.click_x[c], self.click_y[c],
            rows=int(m.sum() + c.sum()), skipped=0,
        )  # fmt: skip


def _num(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def trace_parse(text: str) -> Trace:
    """Parse CSV text (see the module docstring). Raises TraceError when nothing is usable."""
    index = {name: i for i, name in enumerate(_COLUMNS)}
    rows = skipped = 0
    moves: list[tuple[float, float, float]] = []
    clicks: list[tuple[float, float, float]] = []
    header_seen = False
    for raw in text.splitlines():
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        fields = [f.strip() for f in line.split(",")]
        if not header_seen:
            header_seen = True
            lowered = [f.lower() for f in fields]
            if _num(fields[0]) is None and any("timestamp" in f or f == "x" for f in lowered):
                found = {name: lowered.index(name) for name in _COLUMNS if name in lowered}
                if "x" in found and "y" in found:
                    ts = next((i for i, f in enumerate(lowered) if "timestamp" in f), None)
                    if ts is not None:
                        found["client timestamp"] = found.get("client timestamp", ts)
                        index = {**index, **found}
                continue
        rows += 1
        try:
            t = _num(fields[index["client timestamp"]])
            state = fields[index["state"]].lower()
            x = _num(fields[index["x"]])
            y = _num(fields[index["y"]])
        except IndexError:
            skipped += 1
            continue
        if t is None or x is None or y is None:
            skipped += 1
        elif state in _MOVE_STATES:
            moves.append((t, x, y))
        elif state in _CLICK_STATES:
            clicks.append((t, x, y))
        elif state not in _OTHER_STATES:
            skipped += 1
    if not moves:
        raise TraceError(f"no usable mouse moves ({rows} rows, {skipped} malformed)")
    m = np.array(moves, dtype=np.float64)
    c = np.array(clicks, dtype=np.float64).reshape(-1, 3)
    scale = _time_scale(m[:, 0])
    m[:, 0] *= scale
    c[:, 0] *= scale
    m = m[np.argsort(m[:, 0], kind="stable")]
    c = c[np.argsort(c[:, 0], kind="stable")]
    return Trace(
        m[:, 0].copy(), m[:, 1].copy(), m[:, 2].copy(),
        c[:, 0].copy(), c[:, 1].copy(), c[:, 2].copy(),
        rows=rows, skipped=skipped,
    )  # fmt: skip


def _time_scale(t: FloatArray) -> float:
    """1000 when the timestamps are evidently seconds, else 1."""
    if t.size < 3 or np.all(t == np.round(t)):
        return 1.0
    steps = np.diff(np.sort(t))
    steps = steps[steps > 0]
    return 1000.0 if steps.size and float(np.median(steps)) < 0.1 else 1.0


def trace_read_csv(path: str | Path) -> Trace:
    """Read one trace file. Raises TraceError (a ValueError) when nothing is usable, OSError
    when it can't be read."""
    data = Path(path).read_bytes()
    return trace_parse(data.decode("utf-8", errors="replace"))


def trace_feed(features: MouseFeatures, trace: Trace, *, batch_ms: float = BATCH_MS) -> None:
    """Feed a trace through `features` in time-sliced batches, as the live socket does: each
    batch's moves, then that batch's clicks."""
    if trace.t.size == 0:
        return
    t0 = trace.t[0]
    mb = np.floor((trace.t - t0) / batch_ms).astype(np.int64)
    cb = np.floor((trace.click_t - t0) / batch_ms).astype(np.int64)
    m_edges = np.flatnonzero(np.diff(mb)) + 1
    m_starts = np.concatenate(([0], m_edges))
    m_ends = np.concatenate((m_edges, [mb.size]))
    c_lo = np.searchsorted(cb, mb[m_starts], side="left")
    c_hi = np.searchsorted(cb, mb[m_starts], side="right")
    c_done = 0
    for s, e, clo, chi in zip(
        m_starts.tolist(), m_ends.tolist(), c_lo.tolist(), c_hi.tolist(), strict=True
    ):
        # Clicks that fall in a batch with no moves go with the next batch that has moves.
        features.add_moves(trace.t[s:e], trace.x[s:e], trace.y[s:e])
        lo = min(c_done, clo)
        if chi > lo:
            features.add_clicks(trace.click_t[lo:chi], trace.click_x[lo:chi], trace.click_y[lo:chi])
            c_done = chi
    if c_done < trace.click_t.size:
        features.add_clicks(trace.click_t[c_done:], trace.click_x[c_done:], trace.click_y[c_done:])


def trace_feature_vector(trace: Trace, *, batch_ms: float = BATCH_MS) -> FloatArray:
    """The session's feature vector, built through `MouseFeatures` batch by batch."""
    features = MouseFeatures()
    trace_feed(features, trace, batch_ms=batch_ms)
    return features.vector()
