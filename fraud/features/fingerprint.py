"""Device fingerprint: a server-keyed canonical hash, and consistency detectors.

Like FingerprintJS BotD's detectors: each detector is one small pure function over what the
page reported (plus the handshake's User-Agent and Accept-Language) that says whether one
thing is off; DETECTORS lists them under their stable reason codes. The hashes are HMACs
keyed from SECRET_KEY, so a stored hash cannot be matched against another site's data.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.utils.crypto import salted_hmac
from user_agents import parse as ua_parse
from user_agents.parsers import UserAgent

__all__ = [
    "DETECTORS",
    "FingerprintContext",
    "UaInfo",
    "fingerprint_hash",
    "fingerprint_reasons",
    "network_prefix_hash",
    "ua_info",
]

_FP_SALT = "dropgate.fraud.fingerprint.v1"
_NET_SALT = "dropgate.fraud.network.v1"
# The fields that describe the device (not the page or the moment) go into the hash.
_HASHED_FIELDS = (
    "canvas",
    "webgl",
    "webgl_vendor",
    "webgl_renderer",
    "screen",
    "tz",
    "languages",
    "hw_concurrency",
    "device_memory",
    "touch_points",
    "platform",
)
_SOFTWARE_RENDERERS = ("swiftshader", "llvmpipe", "softpipe", "mesa offscreen", "software")
_VALID_COLOR_DEPTHS = {1, 4, 8, 15, 16, 24, 30, 32, 48}


@dataclass(frozen=True)
class UaInfo:
    """What user-agents says about a User-Agent string."""

    raw: str
    browser_family: str
    os_family: str
    device_type: str  # pc, mobile, tablet, bot, other
    is_bot: bool
    is_headless: bool


@lru_cache(maxsize=2048)
def ua_info(user_agent: str) -> UaInfo:
    """Parsed with `user-agents` (cached: parsing takes about a millisecond)."""
    ua: UserAgent = ua_parse(user_agent[:512])
    if ua.is_bot:
        device = "bot"
    elif ua.is_tablet:
        device = "tablet"
    elif ua.is_mobile:
        device = "mobile"
    elif ua.is_pc:
        device = "pc"
    else:
        device = "other"
    family = str(ua.browser.family)
    return UaInfo(
        raw=user_agent[:512],
        browser_family=family[:64],
        os_family=str(ua.os.family)[:64],
        device_type=device,
        is_bot=bool(ua.is_bot),
        is_headless="headless" in family.lower() or "HeadlessChrome" in user_agent,
    )


def fingerprint_hash(fingerprint: dict[str, Any]) -> str:
    """HMAC-SHA256 (hex) of the canonical JSON of the device fields, keyed from SECRET_KEY."""
    canonical = json.dumps(
        {key: fingerprint.get(key) for key in _HASHED_FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return salted_hmac(_FP_SALT, canonical, algorithm="sha256").hexdigest()


def network_prefix_hash(client_ip: str) -> str:
    """HMAC (hex) of the client's /24 (IPv4) or /48 (IPv6) network; "" if not an address."""
    try:
        address = ipaddress.ip_address(client_ip.strip().strip("[]"))
    except ValueError:
        return ""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    bits = 24 if address.version == 4 else 48
    network = ipaddress.ip_network(f"{address}/{bits}", strict=False)
    return salted_hmac(_NET_SALT, str(network), algorithm="sha256").hexdigest()


@dataclass(frozen=True)
class FingerprintContext:
    fingerprint: dict[str, Any]
    ua: UaInfo
    accept_language: str


# --- Detectors: one signal each ----------------------------------------------------------


def detect_webdriver(ctx: FingerprintContext) -> bool:
    return ctx.fingerprint.get("webdriver") is True


def detect_automation(ctx: FingerprintContext) -> bool:
    return bool(ctx.fingerprint.get("automation"))


def detect_headless_ua(ctx: FingerprintContext) -> bool:
    return ctx.ua.is_headless


def detect_bot_ua(ctx: FingerprintContext) -> bool:
    return ctx.ua.is_bot


def _renderer(ctx: FingerprintContext) -> str:
    return str(ctx.fingerprint.get("webgl_renderer") or "").lower()


def detect_software_renderer(ctx: FingerprintContext) -> bool:
    """A software WebGL renderer (SwiftShader, llvmpipe) in a desktop browser: headless."""
    renderer = _renderer(ctx)
    return ctx.ua.device_type == "pc" and any(name in renderer for name in _SOFTWARE_RENDERERS)


_PLATFORM_PREFIXES = {
    "Windows": ("win",),
    "Mac OS X": ("mac",),
    "Linux": ("linux",),
    "Ubuntu": ("linux",),
    "Fedora": ("linux",),
    "Chrome OS": ("linux", "cros"),
    "Android": ("linux", "android", "arm"),
    "iOS": ("iphone", "ipad", "ipod", "mac"),  # iPadOS says MacIntel
}


def detect_ua_platform_mismatch(ctx: FingerprintContext) -> bool:
    """navigator.platform does not belong to the operating system the User-Agent names."""
    platform = str(ctx.fingerprint.get("platform") or "").lower()
    expected = _PLATFORM_PREFIXES.get(ctx.ua.os_family)
    if not platform or expected is None:
        return False
    return not platform.startswith(expected)


def detect_ua_renderer_mismatch(ctx: FingerprintContext) -> bool:
    """A GPU that cannot be in the device the User-Agent names (Direct3D off Windows...)."""
    renderer = _renderer(ctx)
    if not renderer:
        return False
    os_family = ctx.ua.os_family
    if ("direct3d" in renderer or "d3d11" in renderer) and os_family != "Windows":
        return True
    if "apple" in renderer and os_family in ("Windows", "Android"):
        return True
    if ctx.ua.device_type in ("mobile", "tablet") and any(
        name in renderer
        for name in ("geforce", "radeon", "intel(r)", "nvidia", *_SOFTWARE_RENDERERS)
    ):
        return True
    return False


def detect_worker_mismatch(ctx: FingerprintContext) -> bool:
    """A Web Worker sees a different machine than the page (a spoofed page is caught here)."""
    worker = ctx.fingerprint.get("worker")
    if not isinstance(worker, dict):
        return False
    page = ctx.fingerprint
    for key in ("hw_concurrency", "platform", "tz", "webgl_renderer"):
        if worker.get(key) is not None and page.get(key) is not None and worker[key] != page[key]:
            return True
    worker_langs, page_langs = worker.get("languages"), page.get("languages")
    return bool(worker_langs and page_langs and worker_langs[0] != page_langs[0])


def detect_impossible_screen(ctx: FingerprintContext) -> bool:
    screen = ctx.fingerprint.get("screen")
    if not screen:
        return False
    width, height, avail_width, avail_height, dpr, depth = screen
    return (
        not (0 < width <= 16_384 and 0 < height <= 16_384)
        or avail_width > width
        or avail_height > height
        or avail_width <= 0
        or avail_height <= 0
        or not 0.25 <= dpr <= 8
        or int(depth) not in _VALID_COLOR_DEPTHS
    )


def detect_languages_empty(ctx: FingerprintContext) -> bool:
    languages = ctx.fingerprint.get("languages")
    return languages is not None and len(languages) == 0


def _base_language(tag: str) -> str:
    return tag.split(";", maxsplit=1)[0].strip().split("-")[0].lower()


def detect_languages_mismatch(ctx: FingerprintContext) -> bool:
    """navigator.languages[0] is not the first language of the handshake's Accept-Language."""
    languages = ctx.fingerprint.get("languages")
    header = ctx.accept_language.strip()
    if not languages or not header:
        return False
    return _base_language(languages[0]) != _base_language(header.split(",")[0])


Detector = Callable[[FingerprintContext], bool]

DETECTORS: dict[str, Detector] = {
    "webdriver": detect_webdriver,
    "automation_flags": detect_automation,
    "headless_ua": detect_headless_ua,
    "bot_ua": detect_bot_ua,
    "software_renderer": detect_software_renderer,
    "ua_platform_mismatch": detect_ua_platform_mismatch,
    "ua_renderer_mismatch": detect_ua_renderer_mismatch,
    "worker_mismatch": detect_worker_mismatch,
    "impossible_screen": detect_impossible_screen,
    "languages_empty": detect_languages_empty,
    "languages_mismatch": detect_languages_mismatch,
}


def fingerprint_reasons(
    fingerprint: dict[str, Any], *, user_agent: str, accept_language: str = ""
) -> tuple[str, ...]:
    """The codes of every detector that fires, in DETECTORS order."""
    ctx = FingerprintContext(
        fingerprint=fingerprint, ua=ua_info(user_agent), accept_language=accept_language
    )
    return tuple(code for code, detector in DETECTORS.items() if detector(ctx))
