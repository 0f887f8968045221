"""The admin's front page in a real browser: with unlocks, a fraud case and a hold in the
database, the operations console renders its tiles and both charts under the admin's
Content-Security-Policy, its bars are painted at the size their values give them, and a
screenshot is kept for a person to look at (var/screenshots/admin-console.png)."""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from fraud.services.cases import case_open
from ops import charts
from paywall.models import Unlock
from tests.admin_support import current_code, totp_device
from tests.browser.support import unexpected_console_errors
from tests.disputes.helpers import World, pay
from tests.fixtures.sandbox import REPO_ROOT

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SCREENSHOT = REPO_ROOT / "var" / "screenshots" / "admin-console.png"
# Hours and days before now at which a reader unlocked an article.
UNLOCKED_AGO = (
    timedelta(minutes=1),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(days=3),
    timedelta(days=12),
)


def png_pixels(data: bytes) -> list[tuple[int, ...]]:
    """The RGB(A) pixels of an 8-bit, non-interlaced PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks += body
        position += 12 + length
    width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0) and colour in (2, 6)
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(chunks)
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                nearest = min(
                    (abs(guess - left), 0, left),
                    (abs(guess - up), 1, up),
                    (abs(guess - corner), 2, corner),
                )
                line[x] = (line[x] + nearest[2]) & 0xFF
        rows.append(line)
        previous = line
    return [tuple(row[x : x + 3]) for row in rows for x in range(0, stride, channels)]


def _busy_day() -> World:
    """A publisher whose readers unlocked articles over the last days (UNLOCKED_AGO), one of
    them under a fraud case that holds revenue."""
    world = World.create()
    now = timezone.now()
    for ago in UNLOCKED_AGO:
        seat = world.seat()
        pay(seat, world.articles[0])
        Unlock.objects.filter(reader=seat.reader).update(created_at=now - ago)
    case_open(
        kind="account_farming",
        publisher_ref=world.publisher.key,
        subject="cluster:1",
        evidence={"source": "test"},
        hold_drops=150_000,
    )
    return world


def test_the_console_renders_with_data_under_the_admins_csp(stack, browser) -> None:
    page = browser.page
    page.set_viewport_size({"width": 1400, "height": 1000})
    root = User.objects.create_superuser("root", "root@example.invalid", "pw-for-tests")
    device = totp_device(root)
    _busy_day()

    # Given a superuser signed in with a password and a TOTP code
    page.goto(f"{stack.paywall_url}/admin/login/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw-for-tests")
    page.fill("#id_otp_token", current_code(device))
    page.click("input[type=submit]")
    page.wait_for_url(f"{stack.paywall_url}/admin/")
    page.wait_for_load_state("networkidle")

    # Then the console's tiles show the figures
    expect(page.locator("#ops-console-heading")).to_have_text("Operations")
    month = int(page.locator('[data-figure="unlocks-month"]').inner_text())
    assert 1 <= month <= len(UNLOCKED_AGO)
    expect(page.locator('[data-figure="fraud-open"]')).to_have_text("1")
    expect(page.locator('[data-figure="holds"]')).to_have_text("1")
    for tile in ("#ops-settlement", "#ops-watchtower", "#ops-keys", "#ops-disputes", "#ops-sar"):
        expect(page.locator(tile)).to_be_visible()

    # and both charts are drawn: a bar for each value, painted by the console's stylesheet,
    # as tall as its value makes it and no taller (zero: no height)
    for chart, bars_expected, busy_at_least in (
        ("unlocks-per-hour", 24, 3),
        ("revenue-per-day", 30, 3),
    ):
        bars = page.locator(f"#{chart} rect.ops-bar").evaluate_all(
            """rects => rects.map(r => ({value: Number(r.dataset.value),
                 height: r.getBoundingClientRect().height, width: r.getBoundingClientRect().width,
                 fill: getComputedStyle(r).fill}))"""
        )
        assert len(bars) == bars_expected, chart
        busy = [bar for bar in bars if bar["value"] > 0]
        assert len(busy) >= busy_at_least, (chart, busy)
        assert all(bar["height"] > 0 and bar["width"] > 0 for bar in busy), chart
        assert all(bar["height"] == 0 for bar in bars if bar["value"] == 0), chart
        # the largest value fills at least half the plot (the axis ends at the first
        # gridline above it)
        svg = page.locator(f"#{chart} svg").bounding_box()
        assert svg is not None
        plot = svg["height"] * (charts.HEIGHT - charts.BOTTOM - charts.TOP) / charts.HEIGHT
        tallest = max(busy, key=lambda bar: bar["value"])
        assert tallest["height"] >= plot / 2, (chart, tallest, plot)
        assert {bar["fill"] for bar in bars} != {"rgb(0, 0, 0)"}, "the stylesheet did not apply"
        expect(page.locator(f"#{chart} svg title").first).not_to_be_empty()

    # and the tallest revenue bar is painted in the bar colour on the screen itself
    bars = page.locator("#revenue-per-day rect.ops-bar")
    values = bars.evaluate_all("rects => rects.map(r => Number(r.dataset.value))")
    tallest_bar = bars.nth(values.index(max(values)))
    tallest_bar.scroll_into_view_if_needed()
    box = tallest_bar.bounding_box()
    assert box is not None
    inside = {
        "x": box["x"] + box["width"] * 0.25,
        "y": box["y"] + box["height"] * 0.25,
        "width": max(1.0, box["width"] * 0.5),
        "height": max(1.0, box["height"] * 0.5),
    }
    painted = Counter(png_pixels(page.screenshot(clip=inside))).most_common(1)[0][0]
    fill = tallest_bar.evaluate("r => getComputedStyle(r).fill")
    assert fill == f"rgb({painted[0]}, {painted[1]}, {painted[2]})", (fill, painted)

    # and nothing was blocked or failed
    assert browser.csp_violations == []
    assert browser.page_errors == []
    errors = [e for e in browser.console_errors if "/favicon.ico" not in e]
    assert unexpected_console_errors(errors) == []

    # A person can look at it: the whole page, kept under var/
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    width, height = struct.unpack(">II", SCREENSHOT.read_bytes()[16:24])
    assert width == 1400 and height > 800, (width, height)
    print(f"\nscreenshot of the admin console: {SCREENSHOT}")
