"""Parsing and validating telemetry frames (docs/sdk-protocol.md, "Telemetry").

Strict and fast: every field has a type and bounds, the whole batch has an event budget,
and batches are numbered without gaps. Anything else raises BatchRejected, which the
socket turns into a close code. Mouse samples arrive delta-encoded and leave as absolute
numpy arrays. Nothing here logs or keeps a frame's content.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from fraud.exceptions import BatchRejected
from fraud.types import ArticleDwell, BatchLimits, IntArray, MouseSamples, TelemetryBatch

__all__ = [
    "BATCH_KEYS",
    "MAX_PAGE_MS",
    "batch_parse",
    "challenge_parse",
    "fingerprint_parse",
    "frame_load",
]

MAX_PAGE_MS = 7 * 86_400_000  # a page open for a week is the longest timeline accepted
MAX_COORD = 100_000  # CSS px, either way
MAX_SEQ = 2**31 - 1
MAX_DWELL_ITEMS = 64
MAX_SLUG_CHARS = 200
MAX_WORDS = 1_000_000
MAX_STR = 256
MAX_LIST = 32
MAX_CHALLENGE_EVENTS = 512

BATCH_KEYS = frozenset(
    {
        "type",
        "seq",
        "mouse",
        "clicks",
        "scroll",
        "keys",
        "focus",
        "dwell",
        "fingerprint",
        "integrity",
    }
)
_EMPTY = np.zeros(0, dtype=np.int64)
_INT = int


def _malformed(detail: str) -> BatchRejected:
    return BatchRejected("malformed", detail)


def _reject_constant(name: str) -> None:
    raise ValueError("not JSON")


def frame_load(text: str | None, bytes_data: bytes | None, *, max_bytes: int) -> dict[str, Any]:
    """The JSON object of one text frame; oversize before anything is parsed."""
    if text is None:
        if bytes_data is not None and len(bytes_data) > max_bytes:
            raise BatchRejected("oversize", "bytes")
        raise _malformed("binary frame")
    if len(text) > max_bytes or (
        len(text) * 4 > max_bytes and len(text.encode("utf-8", "surrogatepass")) > max_bytes
    ):
        raise BatchRejected("oversize", "bytes")
    try:
        content = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise _malformed("not JSON") from exc
    if type(content) is not dict:
        raise _malformed("not an object")
    return content


def _int(value: Any, name: str, lo: int, hi: int) -> int:
    if type(value) is not _INT or not lo <= value <= hi:
        raise _malformed(name)
    return int(value)


def _ints(values: Any, name: str) -> IntArray:
    """A flat list of plain JSON integers (no bools, floats or strings) as int64."""
    if type(values) is not list:
        raise _malformed(name)
    if not values:
        return _EMPTY
    if not set(map(type, values)) <= {_INT}:
        raise _malformed(name)
    try:
        return np.array(values, dtype=np.int64)
    except OverflowError as exc:
        raise _malformed(name) from exc


def _rows(values: Any, name: str, width: int) -> IntArray:
    """A list of `width`-integer rows as an (n, width) int64 array."""
    if type(values) is not list:
        raise _malformed(name)
    if not values:
        return np.zeros((0, width), dtype=np.int64)
    flat: list[Any] = []
    for row in values:
        if type(row) is not list or len(row) != width:
            raise _malformed(name)
        flat.extend(row)
    return _ints(flat, name).reshape(-1, width)


def _in_range(array: IntArray, lo: int, hi: int, name: str) -> None:
    if array.size and (int(array.min()) < lo or int(array.max()) > hi):
        raise _malformed(name)


def _str(value: Any, name: str, limit: int = MAX_STR) -> str:
    if type(value) is not str or len(value) > limit:
        raise _malformed(name)
    return value


def _str_list(value: Any, name: str, limit: int = MAX_LIST) -> list[str]:
    if type(value) is not list or len(value) > limit:
        raise _malformed(name)
    return [_str(item, name) for item in value]


def _opt(source: dict[str, Any], key: str, check: Any, *args: Any) -> Any:
    value = source.get(key)
    return None if value is None else check(value, key, *args)


def _num(value: Any, name: str, lo: float, hi: float) -> float:
    if type(value) not in (int, float) or not lo <= value <= hi:
        raise _malformed(name)
    return float(value)


def _bool(value: Any, name: str) -> bool:
    if type(value) is not bool:
        raise _malformed(name)
    return bool(value)


def _screen(value: Any, name: str) -> list[float]:
    if type(value) is not list or len(value) != 6:
        raise _malformed(name)
    return [_num(item, name, -1e6, 1e6) for item in value]


def _worker(value: Any, name: str) -> dict[str, Any]:
    if type(value) is not dict or len(value) > 16:
        raise _malformed(name)
    return {
        "hw_concurrency": _opt(value, "hw_concurrency", _int, 0, 4096),
        "languages": _opt(value, "languages", _str_list),
        "platform": _opt(value, "platform", _str),
        "tz": _opt(value, "tz", _str),
        "webgl_renderer": _opt(value, "webgl_renderer", _str),
    }


def fingerprint_parse(value: Any) -> dict[str, Any]:
    """The fingerprint object with every known field type-checked (absent fields are None).

    Unknown fields are dropped, so they never reach the hash or the database.
    """
    if type(value) is not dict or len(value) > 32:
        raise _malformed("fingerprint")
    return {
        "canvas": _opt(value, "canvas", _str, 128),
        "webgl": _opt(value, "webgl", _str, 128),
        "webgl_vendor": _opt(value, "webgl_vendor", _str),
        "webgl_renderer": _opt(value, "webgl_renderer", _str),
        "screen": _opt(value, "screen", _screen),
        "tz": _opt(value, "tz", _str, 64),
        "tz_offset": _opt(value, "tz_offset", _int, -1440, 1440),
        "languages": _opt(value, "languages", _str_list),
        "hw_concurrency": _opt(value, "hw_concurrency", _int, 0, 4096),
        "device_memory": _opt(value, "device_memory", _num, 0, 1e6),
        "touch_points": _opt(value, "touch_points", _int, 0, 1024),
        "platform": _opt(value, "platform", _str),
        "webdriver": _opt(value, "webdriver", _bool),
        "automation": _opt(value, "automation", _str_list),
        "worker": _opt(value, "worker", _worker),
    }


def _dwell(value: Any) -> tuple[ArticleDwell, ...]:
    if type(value) is not list or len(value) > MAX_DWELL_ITEMS:
        raise _malformed("dwell")
    items = []
    for item in value:
        if type(item) is not dict or set(item) - {"article", "visible_ms", "words"}:
            raise _malformed("dwell")
        article = _str(item.get("article"), "dwell", MAX_SLUG_CHARS)
        if not article:
            raise _malformed("dwell")
        items.append(
            ArticleDwell(
                article=article,
                visible_ms=_int(item.get("visible_ms"), "dwell", 0, MAX_PAGE_MS),
                words=_int(item.get("words"), "dwell", 0, MAX_WORDS),
            )
        )
    return tuple(items)


def _integrity(value: Any) -> tuple[str, ...]:
    if type(value) is not dict or set(value) - {"replaced"}:
        raise _malformed("integrity")
    return tuple(_str_list(value.get("replaced", []), "integrity", 64))


def _mouse(
    flat: IntArray, origin: tuple[int, int, int]
) -> tuple[MouseSamples, tuple[int, int, int] | None]:
    if flat.size % 3:
        raise _malformed("mouse")
    if not flat.size:
        return MouseSamples(_EMPTY, _EMPTY, _EMPTY), None
    triples = flat.reshape(-1, 3)
    dt, dx, dy = triples[:, 0], triples[:, 1], triples[:, 2]
    if int(dt.min()) < 0 or int(dt.max()) > MAX_PAGE_MS:
        raise _malformed("mouse")
    if int(np.abs(triples[:, 1:]).max()) > 2 * MAX_COORD:
        raise _malformed("mouse")
    t = np.cumsum(dt) + origin[0]
    x = np.cumsum(dx) + origin[1]
    y = np.cumsum(dy) + origin[2]
    if int(t[-1]) > MAX_PAGE_MS or int(np.abs(x).max()) > MAX_COORD:
        raise _malformed("mouse")
    if int(np.abs(y).max()) > 100 * MAX_COORD:  # pages scroll far; y is page-relative
        raise _malformed("mouse")
    return MouseSamples(t, x, y), (int(t[-1]), int(x[-1]), int(y[-1]))


def batch_parse(
    content: dict[str, Any],
    *,
    limits: BatchLimits,
    expected_seq: int | None,
    mouse_origin: tuple[int, int, int] = (0, 0, 0),
) -> TelemetryBatch:
    """One `{"type": "batch", ...}` frame, validated.

    `expected_seq` None accepts any starting seq (a resumed session); otherwise a gap or a
    repeat is malformed. `mouse_origin` is the (t, x, y) the first delta starts from: the
    session's last decoded sample, (0, 0, 0) at its start. Raises BatchRejected.
    """
    if set(content) - BATCH_KEYS:
        raise _malformed("unknown field")
    seq = _int(content.get("seq"), "seq", 0, MAX_SEQ)
    if expected_seq is not None and seq != expected_seq:
        raise _malformed("seq")
    mouse_flat = _ints(content.get("mouse", []), "mouse")
    clicks = _rows(content.get("clicks", []), "clicks", 5)
    scroll = _rows(content.get("scroll", []), "scroll", 2)
    keys = _ints(content.get("keys", []), "keys")
    focus = _rows(content.get("focus", []), "focus", 2)
    dwell_raw = content.get("dwell", [])
    dwell_count = len(dwell_raw) if type(dwell_raw) is list else 0
    events = mouse_flat.size // 3 + len(clicks) + len(scroll) + keys.size + len(focus)
    events += dwell_count
    if events > limits.max_events:
        raise BatchRejected("oversize", "events")
    if clicks.size:
        _in_range(clicks[:, 0], 0, MAX_PAGE_MS, "clicks")
        _in_range(clicks[:, 1:3], -MAX_COORD, 100 * MAX_COORD, "clicks")
        _in_range(clicks[:, 3], 0, 4, "clicks")
        _in_range(clicks[:, 4], 0, 3, "clicks")
    if scroll.size:
        _in_range(scroll[:, 0], 0, MAX_PAGE_MS, "scroll")
        _in_range(scroll[:, 1], -MAX_COORD, 1000 * MAX_COORD, "scroll")
    _in_range(keys, 0, MAX_PAGE_MS, "keys")
    if focus.size:
        _in_range(focus[:, 0], 0, MAX_PAGE_MS, "focus")
        _in_range(focus[:, 1], 0, 3, "focus")
    mouse, mouse_end = _mouse(mouse_flat, mouse_origin)
    fingerprint = content.get("fingerprint")
    integrity = content.get("integrity")
    return TelemetryBatch(
        seq=seq,
        mouse=mouse,
        clicks=clicks,
        scroll=scroll,
        keys=keys,
        focus=focus,
        dwell=_dwell(dwell_raw),
        fingerprint=None if fingerprint is None else fingerprint_parse(fingerprint),
        integrity_replaced=() if integrity is None else _integrity(integrity),
        events=events,
        mouse_end=mouse_end,
    )


def challenge_parse(content: dict[str, Any]) -> tuple[str, IntArray]:
    """`{"type": "challenge", "id": "chl_…", "events": [[t, x, y, phase], ...]}` →
    (id, (n, 4) int64 array). Phases: 0 down, 1 move, 2 up."""
    if set(content) - {"type", "id", "events"}:
        raise _malformed("unknown field")
    challenge_id = _str(content.get("id"), "id", 64)
    events = content.get("events")
    if type(events) is not list or len(events) > MAX_CHALLENGE_EVENTS:
        raise _malformed("events")
    rows = _rows(events, "events", 4)
    if rows.size:
        _in_range(rows[:, 0], 0, MAX_PAGE_MS, "events")
        _in_range(rows[:, 1:3], -MAX_COORD, 100 * MAX_COORD, "events")
        _in_range(rows[:, 3], 0, 2, "events")
    return challenge_id, rows
