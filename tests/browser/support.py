"""Helpers for the browser tests (fixtures live in conftest.py)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

# The signer frame, inside the page script's <dialog> (paywall/frame-host.js).
FRAME_SELECTOR = "dialog.dg-host iframe"


def response_text(response: Any) -> str:
    """The body of a recorded response as text ('' when the browser kept none)."""
    try:
        return str(response.body().decode("utf-8", "replace"))
    except Exception:  # redirects, preflights and aborted loads have no body
        return ""


def wait_for(predicate: Callable[[], Any], timeout: float, message: str) -> Any:
    """Poll `predicate` every 0.25 s until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {message}")
        time.sleep(0.25)


# Chromium logs every non-2xx answer as a console error. A 402 is the protocol itself: the
# frame asks without a claim first, and the server answers with the price.
_EXPECTED_CONSOLE = (
    re.compile(r"Failed to load resource: the server responded with a status of 402\b"),
)


def unexpected_console_errors(errors: list[str]) -> list[str]:
    """The console errors that are not part of the protocol."""
    return [e for e in errors if not any(p.search(e) for p in _EXPECTED_CONSOLE)]


def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `fn` in a short-lived thread and return its result (or raise its exception).

    While Playwright's sync API is started, this thread has a running asyncio loop, and
    xrpl-py's sync client (asyncio.run) refuses to work under it. Ledger reads, and services
    that make them (journal_reconcile), go through here. The thread's own database
    connection is closed before it ends.
    """

    def run() -> T:
        from django.db import connections

        try:
            return fn(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()
