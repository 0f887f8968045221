"""Session features and fingerprint detectors: one signal per function, each tested alone."""

from __future__ import annotations

from typing import Any

import pytest

from fraud.features.fingerprint import (
    DETECTORS,
    fingerprint_hash,
    fingerprint_reasons,
    network_prefix_hash,
    ua_info,
)
from fraud.features.session import SIGNALS, SessionFeatures, session_signals
from fraud.telemetry import batch_parse
from fraud.types import BatchLimits
from tests.fraud.conftest import HEADLESS_UA, HUMAN_UA, human_fingerprint, trace_batches

LIMITS = BatchLimits(max_batch_bytes=16_384, max_events=512, min_interval_ms=250, burst=4)
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def features_of(batches: list[dict[str, Any]]) -> dict[str, float]:
    state = SessionFeatures()
    origin = (0, 0, 0)
    for seq, content in enumerate(batches):
        batch = batch_parse(
            {"type": "batch", "seq": seq, **content},
            limits=LIMITS,
            expected_seq=seq,
            mouse_origin=origin,
        )
        origin = batch.mouse_end or origin
        state.update(batch)
    return state.values()


def test_every_signal_is_registered_under_a_stable_code() -> None:
    assert set(SIGNALS) == {
        "click_without_movement",
        "click_teleport",
        "click_while_hidden",
        "uniform_timing",
        "inhuman_speed",
        "inhuman_keys",
        "scroll_jumps",
        "reading_too_fast",
    }


def test_a_human_trace_fires_no_signal(human_rows) -> None:
    batches = [
        {k: v for k, v in b.items() if k in ("mouse", "clicks")}
        for b in trace_batches(human_rows[:2000])
    ]
    batches[-1]["keys"] = [110, 180, 95, 240, 160, 130, 210, 90, 150, 175, 120]
    batches[-1]["scroll"] = [[60_000, 0], [60_200, 120], [60_400, 300], [61_000, 500]]
    batches[-1]["dwell"] = [{"article": "a", "visible_ms": 120_000, "words": 900}]
    values = features_of(batches)
    assert values["moves"] > 1000 and values["clicks_mouse"] > 0
    assert session_signals(values) == ()


def test_a_mouse_click_with_no_movement_before_it() -> None:
    values = features_of([{"clicks": [[500, 100, 100, 0, 0]]}])
    assert "click_without_movement" in session_signals(values)
    # A keyboard "click" (Enter on a button) has no pointer to move.
    values = features_of([{"clicks": [[500, 100, 100, 0, 3]]}])
    assert session_signals(values) == ()


def test_a_click_right_after_the_pointer_jumped_to_it() -> None:
    values = features_of(
        [{"mouse": [100, 10, 10, 16, 2, 1, 400, 600, 420], "clicks": [[520, 612, 431, 0, 0]]}]
    )
    assert "click_teleport" in session_signals(values)
    values = features_of(
        [
            {
                "mouse": [100, 10, 10] + [16, 20, 14] * 30,
                "clicks": [[700, 610, 430, 0, 0]],
            }
        ]
    )
    assert "click_teleport" not in session_signals(values)


def test_a_click_while_the_page_is_hidden() -> None:
    values = features_of(
        [{"mouse": [10, 5, 5, 16, 1, 1], "focus": [[20, 2]], "clicks": [[40, 6, 6, 0, 0]]}]
    )
    assert "click_while_hidden" in session_signals(values)
    values = features_of(
        [
            {"mouse": [10, 5, 5, 16, 1, 1], "focus": [[20, 2], [30, 3]]},
            {"clicks": [[40, 6, 6, 0, 0]]},
        ]
    )
    assert "click_while_hidden" not in session_signals(values)


def test_machine_paced_mouse_clicks_and_keys_are_uniform_timing() -> None:
    assert "uniform_timing" in session_signals(features_of([{"mouse": [16, 3, 2] * 80}]))
    clicks = [[1000 * n, 5, 5, 0, 3] for n in range(1, 7)]
    assert "uniform_timing" in session_signals(features_of([{"clicks": clicks}]))
    assert "uniform_timing" in session_signals(features_of([{"keys": [50] * 12}]))
    assert "uniform_timing" not in session_signals(
        features_of([{"keys": [50, 120, 80, 200, 95, 60, 150, 70, 110, 90, 130]}])
    )


def test_inhuman_speed_and_keys() -> None:
    assert "inhuman_speed" in session_signals(features_of([{"mouse": [5, 300, 0] * 20}]))
    assert "inhuman_speed" in session_signals(features_of([{"mouse": [0, 30, 5] * 20}]))
    assert "inhuman_keys" in session_signals(features_of([{"keys": [3, 5, 2, 4] * 4}]))


def test_reading_too_fast_against_article_length() -> None:
    dwell = [
        {"article": "a", "visible_ms": 3_000, "words": 1_200},  # 24,000 wpm
        {"article": "b", "visible_ms": 5_000, "words": 900},
    ]
    values = features_of([{"dwell": dwell}])
    assert values["articles_too_fast"] == 2
    assert "reading_too_fast" in session_signals(values)
    slow = [{"article": "a", "visible_ms": 300_000, "words": 1_200}]
    assert "reading_too_fast" not in session_signals(features_of([{"dwell": slow}]))


def test_dwell_is_the_latest_total_per_article() -> None:
    values = features_of(
        [
            {"dwell": [{"article": "a", "visible_ms": 2_000, "words": 500}]},
            {"dwell": [{"article": "a", "visible_ms": 60_000, "words": 500}]},
            {"dwell": [{"article": "b", "visible_ms": 30_000, "words": 250}]},
            {"dwell": [{"article": "a", "visible_ms": 59_000, "words": 500}]},  # reordered
        ]
    )
    assert values["dwell_ms"] == 90_000 and values["reading_wpm_max"] == 500.0
    assert values["articles"] == 2


def test_scroll_jumps_and_scroll_against_dwell() -> None:
    jumps = [[16 * n, 3000 * n] for n in range(5)]
    values = features_of(
        [{"scroll": jumps, "dwell": [{"article": "a", "visible_ms": 1000, "words": 0}]}]
    )
    assert "scroll_jumps" in session_signals(values)
    assert values["scroll_px_per_s"] == 12_000.0


# --- Fingerprint -------------------------------------------------------------------------


def reasons(ua: str = HUMAN_UA, accept: str = "en-US,en;q=0.9", **overrides: Any) -> set[str]:
    return set(
        fingerprint_reasons(human_fingerprint(**overrides), user_agent=ua, accept_language=accept)
    )


def test_a_consistent_desktop_fingerprint_fires_nothing() -> None:
    assert reasons() == set()


@pytest.mark.parametrize(
    ("overrides", "ua", "code"),
    [
        ({"webdriver": True}, HUMAN_UA, "webdriver"),
        ({"automation": ["cdc_"]}, HUMAN_UA, "automation_flags"),
        ({}, HEADLESS_UA, "headless_ua"),
        ({"webgl_renderer": "Google SwiftShader"}, HUMAN_UA, "software_renderer"),
        ({"webgl_renderer": "llvmpipe (LLVM 15.0.7, 256 bits)"}, HUMAN_UA, "software_renderer"),
        ({"platform": "Linux x86_64"}, HUMAN_UA, "ua_platform_mismatch"),
        ({"platform": "MacIntel"}, HUMAN_UA, "ua_platform_mismatch"),
        ({"webgl_renderer": "Apple M1", "worker": None}, HUMAN_UA, "ua_renderer_mismatch"),
        ({"platform": "iPhone"}, IPHONE_UA, "ua_renderer_mismatch"),  # a GeForce in a phone
        ({"hw_concurrency": 4}, HUMAN_UA, "worker_mismatch"),
        ({"screen": [1920, 1080, 2560, 1040, 1, 24]}, HUMAN_UA, "impossible_screen"),
        ({"screen": [0, 0, 0, 0, 1, 24]}, HUMAN_UA, "impossible_screen"),
        ({"screen": [1920, 1080, 1920, 1040, 1, 7]}, HUMAN_UA, "impossible_screen"),
        ({"languages": [], "worker": None}, HUMAN_UA, "languages_empty"),
        ({"languages": ["de-DE"], "worker": None}, HUMAN_UA, "languages_mismatch"),
    ],
)
def test_each_detector_fires_on_its_inconsistency(overrides, ua, code) -> None:
    assert code in DETECTORS
    assert code in reasons(ua=ua, **overrides)


def test_the_user_agent_is_parsed_with_user_agents() -> None:
    phone = ua_info(IPHONE_UA)
    assert (phone.os_family, phone.device_type, phone.is_bot) == ("iOS", "mobile", False)
    bot = ua_info("Googlebot/2.1 (+http://www.google.com/bot.html)")
    assert bot.is_bot and bot.device_type == "bot"
    assert ua_info(HEADLESS_UA).is_headless


def test_the_fingerprint_hash_is_a_keyed_canonical_hmac(settings) -> None:
    first = fingerprint_hash(human_fingerprint())
    reordered = dict(reversed(list(human_fingerprint().items())))
    assert fingerprint_hash(reordered) == first and len(first) == 64
    # Page-level values (automation flags, the worker) are not part of the device's identity.
    assert fingerprint_hash(human_fingerprint(automation=["x"], worker=None)) == first
    assert fingerprint_hash(human_fingerprint(canvas="c" * 64)) != first
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    assert fingerprint_hash(human_fingerprint()) != first


def test_the_network_prefix_is_the_keyed_24_or_48() -> None:
    assert network_prefix_hash("203.0.113.7") == network_prefix_hash("203.0.113.250")
    assert network_prefix_hash("203.0.113.7") != network_prefix_hash("203.0.114.7")
    assert network_prefix_hash("::ffff:203.0.113.9") == network_prefix_hash("203.0.113.7")
    assert network_prefix_hash("2001:db8:1:2::1") == network_prefix_hash("2001:db8:1:ffff::5")
    assert network_prefix_hash("2001:db8:1:2::1") != network_prefix_hash("2001:db8:2:2::1")
    assert network_prefix_hash("not-an-ip") == "" and network_prefix_hash("") == ""
    assert "203.0.113" not in network_prefix_hash("203.0.113.7")


def test_a_click_after_only_a_sample_or_two_is_a_teleport() -> None:
    # Playwright's page.click(): one mousemove onto the target, then the click.
    values = features_of([{"mouse": [900, 640, 410], "clicks": [[905, 640, 410, 0, 0]]}])
    assert values["clicks_teleport"] == 1 and values["clicks_no_movement"] == 0
    # The click is judged by the step right before it, not by later ones in the batch.
    values = features_of(
        [
            {
                "mouse": [100, 10, 10] + [16, 3, 2] * 10 + [300, 500, 400],
                "clicks": [[200, 40, 30, 0, 0]],
            }
        ]
    )
    assert values["clicks_teleport"] == 0
    # ... and across batches: a jump at the end of one batch, the click in the next.
    values = features_of(
        [
            {"mouse": [100, 10, 10] + [16, 3, 2] * 10 + [300, 500, 400]},
            {"clicks": [[800, 540, 430, 0, 0]]},
        ]
    )
    assert values["clicks_teleport"] == 1
