"""The SDK's signer frame page, `GET /sdk/frame/<publisher key>` (docs/sdk-protocol.md).

A small HTML page, served from the paywall's origin, that loads the versioned `frame.js`
with its SRI hash from `static/js/sri.json` (written by the JS build). The page has no inline
script or style. Its CSP lets only the publisher's own origins frame it (`frame-ancestors`),
so it is exempt from the site-wide `X-Frame-Options: DENY`.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_safe

from channels_app.exceptions import DropgateError
from paywall import selectors
from paywall.models import Publisher
from paywall.services.exceptions import InvalidInput
from paywall.services.publishers import origin_normalise, paywall_public_origin

__all__ = ["FrameScript", "frame_content_security_policy", "frame_script", "signer_frame"]

logger = logging.getLogger(__name__)

SRI_MANIFEST = "js/sri.json"
FALLBACK_SCRIPT = "js/frame.js"
TEMPLATE = "sdk/frame.html"
_VERSION_RE = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+-]{0,40}")
_INTEGRITY_RE = re.compile(r"sha(256|384|512)-[A-Za-z0-9+/]+={0,2}")


@dataclass(frozen=True)
class FrameScript:
    """The frame bundle to load: its static path, its SRI hash (empty: none) and version."""

    path: str
    integrity: str
    version: str


def _fallback(reason: str) -> FrameScript:
    logger.warning("signer frame: %s; serving %s without integrity", reason, FALLBACK_SCRIPT)
    return FrameScript(path=FALLBACK_SCRIPT, integrity="", version="")


@lru_cache(maxsize=8)
def _resolve(manifest_path: str | None, mtime_ns: int | None) -> FrameScript:
    """Parse the manifest once per file version (the warning is logged once, too)."""
    if manifest_path is None:
        return _fallback(f"{SRI_MANIFEST} not found (is the JS built?)")
    try:
        manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
        version = manifest["version"]
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return _fallback(f"{SRI_MANIFEST} is unreadable ({type(exc).__name__})")
    if not isinstance(version, str) or not _VERSION_RE.fullmatch(version):
        return _fallback(f"{SRI_MANIFEST} has no valid version")
    if not isinstance(files, dict):
        return _fallback(f"{SRI_MANIFEST} has no files")
    for name in (f"frame.{version}.js", "frame.js"):
        integrity = files.get(name)
        if isinstance(integrity, str) and _INTEGRITY_RE.fullmatch(integrity):
            if finders.find(f"js/{name}") is None:
                logger.warning("signer frame: %s is listed in %s but missing", name, SRI_MANIFEST)
                continue
            return FrameScript(path=f"js/{name}", integrity=integrity, version=version)
    return _fallback(f"{SRI_MANIFEST} has no usable hash for frame.{version}.js")


def frame_script() -> FrameScript:
    """The versioned frame bundle with its SRI hash, or `frame.js` without one (and a warning)
    when the build has not written `sri.json`."""
    found = finders.find(SRI_MANIFEST)
    path = str(found) if isinstance(found, (str, Path)) else None
    try:
        mtime = Path(path).stat().st_mtime_ns if path else None
    except OSError:
        path, mtime = None, None
    return _resolve(path, mtime)


def _framing_origins(publisher: Publisher | None) -> list[str]:
    """The publisher's allowed origins, normalised (malformed ones dropped, with a warning)."""
    origins: list[str] = []
    for origin in publisher.allowed_origins if publisher is not None else []:
        try:
            origins.append(origin_normalise(origin))
        except InvalidInput:
            logger.warning("publisher %s has a malformed allowed origin", publisher)
    return list(dict.fromkeys(origins))


def _websocket_origin() -> str:
    origin = paywall_public_origin()
    return ("wss" if origin.startswith("https:") else "ws") + origin[origin.index(":") :]


def frame_content_security_policy(publisher: Publisher | None) -> str:
    """The frame's CSP: only its own scripts, styles and connections, framed only by the
    publisher's origins ('none' when it has none, or is unknown)."""
    ancestors = " ".join(_framing_origins(publisher)) or "'none'"
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"connect-src 'self' {_websocket_origin()}",
            f"frame-ancestors {ancestors}",
            "base-uri 'none'",
            "object-src 'none'",
        )
    )


def _public_urls() -> tuple[str, str]:
    """(API base, reader websocket URL) under DROPGATE_PUBLIC_URL, path prefix included."""
    prefix = urlsplit(settings.DROPGATE_PUBLIC_URL.strip()).path.rstrip("/")
    return (
        f"{paywall_public_origin()}{prefix}/api/v1/",
        f"{_websocket_origin()}{prefix}/ws/reader/",
    )


def _finish(response: HttpResponse, publisher: Publisher | None) -> HttpResponse:
    response["Content-Security-Policy"] = frame_content_security_policy(publisher)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_safe
@xframe_options_exempt
def signer_frame(request: HttpRequest, pub: str) -> HttpResponse:
    """The signer frame of publisher `pub`; an unknown or inactive publisher gets a 404 page."""
    try:
        publisher = selectors.publisher_get(key=pub)
    except DropgateError:
        response = render(request, TEMPLATE, {"unavailable": True}, status=404)
        return _finish(response, None)
    script = frame_script()
    api_base, ws_url = _public_urls()
    context = {
        "unavailable": False,
        "publisher": publisher,
        "script_src": static(script.path),
        "script_integrity": script.integrity,
        "version": script.version,
        "api_base": api_base,
        "ws_url": ws_url,
        "allowed_origins": json.dumps(_framing_origins(publisher)),
        "faucet": "true" if settings.DROPGATE_FAUCET_ENABLED else "false",
    }
    return _finish(render(request, TEMPLATE, context), publisher)
