"""Batch parsing: types, bounds, event budget, seq order and delta decoding; fuzzed so that
nothing but BatchRejected ever comes out of bad input."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraud.exceptions import BatchRejected
from fraud.telemetry import batch_parse, challenge_parse, frame_load
from fraud.types import BatchLimits
from tests.fraud.conftest import human_fingerprint

LIMITS = BatchLimits(max_batch_bytes=16_384, max_events=512, min_interval_ms=250, burst=4)


def parse(content: dict[str, Any], expected_seq: int | None = 0, **kwargs: Any):
    return batch_parse(content, limits=LIMITS, expected_seq=expected_seq, **kwargs)


def rejected(content: Any, expected_seq: int | None = 0) -> str:
    with pytest.raises(BatchRejected) as info:
        if isinstance(content, str):
            content = frame_load(content, None, max_bytes=LIMITS.max_batch_bytes)
        parse(content, expected_seq)
    return info.value.reason


def test_a_full_batch_parses_and_mouse_deltas_become_absolute_positions() -> None:
    batch = parse(
        {
            "type": "batch",
            "seq": 0,
            "mouse": [100, 500, 300, 16, 4, -2, 17, 3, -1],
            "clicks": [[140, 507, 297, 0, 0]],
            "scroll": [[150, 0], [300, 400]],
            "keys": [120, 95],
            "focus": [[10, 1], [20, 3]],
            "dwell": [{"article": "first-story", "visible_ms": 5000, "words": 900}],
            "fingerprint": human_fingerprint(),
            "integrity": {"replaced": ["Function.prototype.toString"]},
        }
    )
    assert batch.mouse.t.tolist() == [100, 116, 133]
    assert batch.mouse.x.tolist() == [500, 504, 507]
    assert batch.mouse.y.tolist() == [300, 298, 297]
    assert batch.mouse_end == (133, 507, 297)
    assert batch.clicks.shape == (1, 5) and batch.scroll.shape == (2, 2)
    assert batch.events == 3 + 1 + 2 + 2 + 2 + 1
    assert batch.dwell[0].article == "first-story" and batch.dwell[0].words == 900
    assert batch.fingerprint is not None and batch.fingerprint["platform"] == "Win32"
    assert batch.integrity_replaced == ("Function.prototype.toString",)


def test_the_next_batch_continues_from_the_last_decoded_sample() -> None:
    first = parse({"type": "batch", "seq": 0, "mouse": [100, 500, 300]})
    assert first.mouse_end is not None
    second = parse(
        {"type": "batch", "seq": 1, "mouse": [20, -5, 5]}, 1, mouse_origin=first.mouse_end
    )
    assert (second.mouse.t[0], second.mouse.x[0], second.mouse.y[0]) == (120, 495, 305)


def test_unknown_fingerprint_fields_are_dropped() -> None:
    batch = parse({"type": "batch", "seq": 0, "fingerprint": {**human_fingerprint(), "x": 1}})
    assert batch.fingerprint is not None and "x" not in batch.fingerprint


@pytest.mark.parametrize(
    "content",
    [
        {"type": "batch", "seq": 1},  # gap
        {"type": "batch"},  # no seq
        {"type": "batch", "seq": "0"},
        {"type": "batch", "seq": True},
        {"type": "batch", "seq": 0, "mouse": [1, 2]},  # not triples
        {"type": "batch", "seq": 0, "mouse": [1, 2, 3.5]},
        {"type": "batch", "seq": 0, "mouse": [1, True, 3]},
        {"type": "batch", "seq": 0, "mouse": [-1, 2, 3]},  # time runs backwards
        {"type": "batch", "seq": 0, "mouse": [1, 2, 10**30]},
        {"type": "batch", "seq": 0, "mouse": "1,2,3"},
        {"type": "batch", "seq": 0, "clicks": [[1, 2, 3, 0]]},
        {"type": "batch", "seq": 0, "clicks": [[1, 2, 3, 0, 9]]},  # kind out of range
        {"type": "batch", "seq": 0, "scroll": [[1, "a"]]},
        {"type": "batch", "seq": 0, "focus": [[1, 7]]},
        {"type": "batch", "seq": 0, "keys": [None]},
        {"type": "batch", "seq": 0, "dwell": [{"article": "", "visible_ms": 1, "words": 1}]},
        {"type": "batch", "seq": 0, "dwell": [{"article": "a", "visible_ms": -1, "words": 1}]},
        {"type": "batch", "seq": 0, "fingerprint": {"webdriver": "no"}},
        {"type": "batch", "seq": 0, "fingerprint": {"screen": [1, 2, 3]}},
        {"type": "batch", "seq": 0, "integrity": {"replaced": [1]}},
        {"type": "batch", "seq": 0, "raw": []},  # unknown field
    ],
)
def test_malformed_batches_are_rejected_as_malformed(content: dict[str, Any]) -> None:
    assert rejected(content) == "malformed"


@pytest.mark.parametrize("text", ["not json", "[1, 2]", '"batch"', "NaN", '{"a": Infinity}'])
def test_frames_that_are_not_json_objects_are_malformed(text: str) -> None:
    assert rejected(text) == "malformed"


def test_too_many_events_or_bytes_is_oversize() -> None:
    assert rejected({"type": "batch", "seq": 0, "mouse": [1, 1, 1] * 513}) == "oversize"
    assert rejected({"type": "batch", "seq": 0, "keys": [1] * 400, "mouse": [1, 1, 1] * 113}) == (
        "oversize"
    )
    big = json.dumps({"type": "batch", "seq": 0, "keys": [1] * 5000})
    assert rejected(big) == "oversize"
    with pytest.raises(BatchRejected) as info:
        frame_load(None, b"x" * 20_000, max_bytes=LIMITS.max_batch_bytes)
    assert info.value.reason == "oversize"


def test_a_resumed_session_accepts_any_first_seq() -> None:
    assert parse({"type": "batch", "seq": 41}, expected_seq=None).seq == 41


def test_challenge_frames_parse_to_rows() -> None:
    challenge_id, rows = challenge_parse(
        {"type": "challenge", "id": "chl_x", "events": [[0, 1, 2, 0], [900, 1, 3, 2]]}
    )
    assert challenge_id == "chl_x" and rows.shape == (2, 4)
    with pytest.raises(BatchRejected):
        challenge_parse({"type": "challenge", "id": "chl_x", "events": [[0, 1, 2, 5]]})


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=40,
)
batch_like = st.fixed_dictionaries(
    {"type": st.just("batch"), "seq": st.integers(min_value=-2, max_value=2)},
    optional={
        key: json_values
        | st.lists(st.integers(min_value=-(2**40), max_value=2**40), max_size=60)
        | st.lists(st.lists(st.integers(-5, 10**7), min_size=0, max_size=6), max_size=8)
        for key in (
            "mouse",
            "clicks",
            "scroll",
            "keys",
            "focus",
            "dwell",
            "fingerprint",
            "integrity",
        )
    },
)


@settings(max_examples=400, deadline=None)
@given(batch_like)
def test_fuzzed_batches_parse_or_are_rejected_never_anything_else(content: dict[str, Any]) -> None:
    try:
        batch = parse(content)
    except BatchRejected as exc:
        assert exc.close_code in (4400, 4413)
        return
    assert batch.events <= LIMITS.max_events
    assert batch.mouse.t.dtype == np.int64


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | json_values.map(json.dumps))
def test_fuzzed_frames_load_or_are_rejected(text: str) -> None:
    try:
        content = frame_load(text, None, max_bytes=LIMITS.max_batch_bytes)
        parse(content, expected_seq=None)
    except BatchRejected:
        pass
