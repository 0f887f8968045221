"""Fixtures of the fraud suite: a clean cache, and telemetry batches built from real traces.

`trace_batches` turns a SapiMouse CSV (client timestamp, button, state, x, y) into the wire
protocol's batches (docs/sdk-protocol.md, "Telemetry"), as the page script would send them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import cache

from tests.fixtures.human_traces import sapimouse_files

HUMAN_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
HEADLESS_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/131.0.0.0 Safari/537.36"
)


@pytest.fixture(autouse=True)
def _clean_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def human_fingerprint(**overrides: Any) -> dict[str, Any]:
    """A consistent desktop Chrome on Windows."""
    renderer = "ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11 vs_5_0 ps_5_0, D3D11)"
    fingerprint: dict[str, Any] = {
        "canvas": "a" * 64,
        "webgl": "b" * 64,
        "webgl_vendor": "Google Inc. (NVIDIA)",
        "webgl_renderer": renderer,
        "screen": [1920, 1080, 1920, 1040, 1, 24],
        "tz": "Europe/Berlin",
        "tz_offset": -60,
        "languages": ["en-US", "en"],
        "hw_concurrency": 8,
        "device_memory": 8,
        "touch_points": 0,
        "platform": "Win32",
        "webdriver": False,
        "automation": [],
        "worker": {
            "hw_concurrency": 8,
            "languages": ["en-US", "en"],
            "platform": "Win32",
            "tz": "Europe/Berlin",
            "webgl_renderer": renderer,
        },
    }
    fingerprint.update(overrides)
    return fingerprint


def read_trace(path: Path) -> list[tuple[int, str, str, int, int]]:
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [(int(t), button, state, int(x), int(y)) for t, button, state, x, y in reader]


def trace_batches(
    rows: list[tuple[int, str, str, int, int]],
    *,
    window_ms: int = 250,
    fingerprint: dict[str, Any] | None = None,
    max_events: int = 500,
) -> list[dict[str, Any]]:
    """Wire batches of a trace: one per `window_ms` of its timeline (empty windows skipped);
    the first carries `fingerprint`."""
    batches: list[dict[str, Any]] = []
    last_t, last_x, last_y = 0, 0, 0
    current: dict[str, Any] | None = None
    window_end = None
    for t, button, state, x, y in rows:
        if current is None or t >= window_end or len(current["mouse"]) // 3 >= max_events - 2:
            current = {"type": "batch", "seq": len(batches), "mouse": [], "clicks": []}
            batches.append(current)
            window_end = t + window_ms
        if state in ("Move", "Drag"):
            current["mouse"].extend((t - last_t, x - last_x, y - last_y))
            last_t, last_x, last_y = t, x, y
        elif state == "Pressed":
            current["clicks"].append([t, x, y, 2 if button == "Right" else 0, 0])
    if batches and fingerprint is not None:
        batches[0]["fingerprint"] = fingerprint
    return batches


@pytest.fixture(scope="session")
def human_rows() -> list[tuple[int, str, str, int, int]]:
    return read_trace(sapimouse_files()[0])
