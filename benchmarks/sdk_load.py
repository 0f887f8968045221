"""What the SDK's page script costs the publisher's page, measured in Debian's Chromium.

    .venv/bin/python benchmarks/sdk_load.py                        # paywall.js, throttles 1 and 4
    .venv/bin/python benchmarks/sdk_load.py --bundle paywall.0.2.0.js --bundle paywall.js
    .venv/bin/python benchmarks/sdk_load.py --runs 5 --sessions 2 --throttles 1   # smoke

prints ONE JSON object on stdout (progress goes to stderr).

Set-up: one local server plays both sides, on two different *sites*, so that the signer frame
is cross-site as in production (the publisher's page on `127.0.0.1`, the paywall on
`localhost`):

- the publisher page `/?bundle=NAME`: 6 `article[data-paywall-article]`, no other script, and
  `<script src="http://localhost:PORT/static/js/NAME" data-publisher="pub_bench" async>`;
  `/bare` is the same page without the tag;
- the paywall: every built file of `static/js/` (the page script and the chunks it loads
  later, with CORS), the batch teasers `GET /api/v1/publishers/pub_bench/articles?slugs=…`, a
  stub signer frame (`/sdk/frame/pub_bench`, whose script answers `hello`, `unlock`,
  `restore`, `probe` and `status` at once, so the frame's own work, in its own process, is not
  in the numbers) and a stub telemetry socket `/ws/telemetry/` (hello, then an ack per batch,
  so the flush before an unlock is as on the real server).

Each measured run uses a fresh browser context (no HTTP cache, nothing stored) under a
Chromium trace, and the same run measures the bare page, interleaved, so both see the same
machine. Nothing is evaluated in the page while the trace runs; every figure comes from the
trace of the page's renderer main thread (or CDP `Performance.getMetrics`). The page has no
script of its own, so all JavaScript on that thread is the SDK's (the bare page shows none).

**Load** (`load`), per bundle and CPU throttle:

- `js_ms`: every top-level JavaScript task on the main thread from navigation until the
  teasers were fetched plus `--settle-ms` (300 ms): the evaluation, the fetch continuations,
  and any timer or idle callback that ran in that time (the chunks started after load, in
  idle time, included when they came that early).
- `evaluate_ms`: the `EvaluateScript` of the page script itself (compile + top level).
- `by_file`: `js_ms` split by the script file whose code ran (`paywall.js`, a chunk, …;
  microtasks go to the file of the task that queued them, i.e. the one running before), and
  `first_script_js_ms`, the page script's own share: **the target, median ≤ 5 ms** (a chunk
  that starts in idle time after the `load` event may land in this window too: it is
  reported on its own line).
- `js_cpu_ms`, `by_file_cpu`, `first_script_cpu_ms`: the same, in the main thread's CPU time
  (the trace's `tdur`) rather than wall time: on a shared machine whose load average is above
  its core count, wall times include the time the thread waited for a core;
- `main_thread_ms` (CDP `TaskDuration` at the end of that window: every task of the page's
  renderer, style, layout and paint included) and `main_thread_delta_ms`: its median minus the
  bare page's median. **Target: ≤ 10 ms.**
- `after_load_js_ms`, `after_load_by_file`: the JavaScript of the next `--after-ms` (2.5 s):
  what the SDK does later, in idle time (telemetry, the fingerprint).
- `longest_task_ms` (from navigation to the end of the after-load window) and `long_tasks`:
  main-thread tasks over 50 ms that ran SDK code. **Target: none.**

**Session** (`session`), `--sessions` runs per bundle and throttle, each traced from after
load: a reader moves the mouse over the page (60 moves a frame apart), scrolls down and up
with the wheel, hovers the first article (the sign of intent that makes the frame), moves to
its Unlock button and clicks it; the stub frame pays at once.

- `click_to_state_ms`: from the click's dispatch to the end of the task that set the article
  to `unlocked` (this includes waiting: the telemetry flush and the frame's answer);
- `click_work_ms`: the SDK's own JavaScript in that time. **Target: ≤ 16 ms (one frame).**
  (`click_work_cpu_ms`: its CPU time);
- `event_handling_ms` (the INP-style figure): the longest time the SDK's event listeners ran
  for one input (a move, a wheel step, the press, the release and its click), with the
  events; the bare page has no listeners, so this is all added. `event_dispatch_ms` is the
  longest whole dispatch of one input (the browser's own hit tests and hover styles
  included), beside the bare page's (`bare_event_dispatch_ms`, `added_event_dispatch_ms`);
  `event_handling_cpu_ms` is the listeners' CPU time;
- `js_ms` and `long_tasks` over the whole session.

`--throttles 1,4` (the default) runs everything without throttling and with Chromium's 4x
CPU throttle (`Emulation.setCPUThrottlingRate`, as a mid-range phone). `machine` gives the
CPU count and load averages: on a shared, busy machine the numbers are an upper bound;
compare figures from one run only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import statistics
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
JS_DIR = ROOT / "static" / "js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
]
PUBLISHER = "pub_bench"
ARTICLES = [f"story-{n}" for n in range(1, 7)]
TARGETS = {"js_ms": 5.0, "main_thread_delta_ms": 10.0, "click_work_ms": 16.0, "long_task_ms": 50.0}
TRACE_CATEGORIES = ["devtools.timeline", "v8.execute", "disabled-by-default-devtools.timeline"]
# Trace events that are JavaScript running on the main thread (top level among themselves).
JS_EVENTS = {
    "EvaluateScript",
    "FunctionCall",
    "RunMicrotasks",
    "TimerFire",
    "v8.compile",
    "FireAnimationFrame",
    "FireIdleCallback",
    "v8.evaluateModule",
}
INPUT_EVENTS = {
    "pointermove",
    "mousemove",
    "pointerover",
    "pointerenter",
    "pointerout",
    "pointerleave",
    "mouseover",
    "mouseenter",
    "mouseout",
    "mouseleave",
    "pointerdown",
    "mousedown",
    "pointerup",
    "mouseup",
    "click",
    "wheel",
    "mousewheel",
    "scroll",
    "focus",
    "focusin",
    "blur",
    "focusout",
    "keydown",
    "keyup",
}
STATE_EVENT = "paywall:statechange"
JS_FILE_RE = re.compile(r"^[A-Za-z0-9_.-]+\.js$")

# The stub signer frame: answers every request at once (no keys, no server).
FRAME_STUB_JS = b"""
addEventListener("message", (event) => {
  const m = event.data;
  if (!m || m.dg !== 1 || event.source !== parent || typeof m.type !== "string") return;
  const results = {
    hello: {reader: false, channel: null, capDrops: 2000000},
    unlock: {article: m.article, amountDrops: 150000, html: "<p>The paid body of " + m.article + ".</p>"},
    restore: {unlocked: []},
    probe: {worker: null},
    status: {channel: null, capDrops: 2000000},
  };
  const reply = Object.hasOwn(results, m.type)
    ? {dg: 1, type: "reply", id: m.id, ok: true, result: results[m.type]}
    : {dg: 1, type: "reply", id: m.id, ok: false, error: {code: "cancelled", message: ""}};
  parent.postMessage(reply, event.origin);
});
"""
FRAME_STUB_HTML = b'<!doctype html><title>frame</title><script src="/bench/frame-stub.js"></script>'


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- The local server (HTTP and the telemetry socket on one port) ---------------------------


def page_html(paywall: str, bundle: str | None) -> bytes:
    articles = "\n".join(
        f"""<article data-paywall-article="{slug}">
  <h2>Story {n}</h2>
  <p class="teaser">The teaser of story {n}, free for everyone to read. {"Words to read. " * 30}</p>
  <div data-paywall-content></div>
</article>"""
        for n, slug in enumerate(ARTICLES, start=1)
    )
    tag = (
        f'<script src="{paywall}/static/js/{bundle}" data-publisher="{PUBLISHER}" async></script>'
        if bundle
        else ""
    )
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Benchmark news</title>
{tag}
</head>
<body><header><h1>Benchmark news</h1></header><main>
{articles}
</main><footer>{"<p>Footer text of the benchmark page.</p>" * 20}</footer></body></html>
""".encode()


def teaser_json(slug: str) -> dict[str, Any]:
    return {
        "publisher": PUBLISHER,
        "article": slug,
        "title": f"Story {slug.rsplit('-', 1)[-1]}",
        "price_drops": "150000",
        "price_xrp": "0.15",
        "display_price": {
            "amount": "0.08",
            "currency": "USD",
            "approximate": True,
            "rate": "0.5",
            "rate_source": "benchmark stub",
            "rate_as_of": "2025-01-01T00:00:00Z",
        },
    }


class Sites:
    """One server; `page` and `paywall` are two origins of it on different sites."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.port = 0
        self.ready = threading.Event()
        self.stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.page = self.paywall = ""

    # HTTP ------------------------------------------------------------------------------------

    def _http(self, path: str, query: str) -> tuple[int, str, bytes]:
        teasers = f"/api/v1/publishers/{PUBLISHER}/articles"
        if path == "/":
            bundle = urllib.parse.parse_qs(query).get("bundle", ["paywall.js"])[0]
            if not JS_FILE_RE.match(bundle):
                return 400, "text/plain", b"bad bundle"
            return 200, "text/html; charset=utf-8", page_html(self.paywall, bundle)
        if path == "/bare":
            return 200, "text/html; charset=utf-8", page_html(self.paywall, None)
        if path.startswith("/static/js/") and JS_FILE_RE.match(path[11:]):
            file = JS_DIR / path[11:]
            if file.is_file():
                return 200, "text/javascript; charset=utf-8", file.read_bytes()
        if path == teasers:
            asked = urllib.parse.parse_qs(query).get("slugs", [""])[0].split(",")
            body = {
                "publisher": PUBLISHER,
                "articles": [teaser_json(s) for s in asked if s in ARTICLES],
            }
            return 200, "application/json", json.dumps(body).encode()
        if path == f"/sdk/frame/{PUBLISHER}":
            return 200, "text/html; charset=utf-8", FRAME_STUB_HTML
        if path == "/bench/frame-stub.js":
            return 200, "text/javascript; charset=utf-8", FRAME_STUB_JS
        return 404, "text/plain", b"not found"

    def _process_request(self, connection: Any, request: Any) -> Any:
        from websockets.datastructures import Headers
        from websockets.http11 import Response

        path, _, query = request.path.partition("?")
        if path == "/ws/telemetry/":
            return None  # the websocket handshake goes on
        status, content_type, body = self._http(path, query)
        headers = Headers(
            [
                ("Content-Type", content_type),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
                ("Access-Control-Allow-Origin", self.page),
                ("Connection", "close"),
            ]
        )
        return Response(status, "OK" if status == 200 else "Error", headers, body)

    # The telemetry socket ---------------------------------------------------------------------

    async def _telemetry(self, websocket: Any) -> None:
        session = "tls_" + os.urandom(18).hex()
        hello = {
            "type": "hello",
            "session": session,
            "max_batch_bytes": 16384,
            "max_events": 512,
            "min_interval_ms": 250,
        }
        await websocket.send(json.dumps(hello))
        try:
            async for message in websocket:
                data = json.loads(message)
                if data.get("type") == "batch":
                    await websocket.send(json.dumps({"type": "ack", "seq": data["seq"]}))
        except Exception:  # a page closing mid-frame is the normal end
            return

    def _run(self) -> None:
        from websockets.asyncio.server import serve

        # Chromium opens spare connections it never uses: not worth a traceback each.
        logging.getLogger("websockets").setLevel(logging.CRITICAL)
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.stop = asyncio.Event()
            async with serve(
                self._telemetry, "127.0.0.1", 0, process_request=self._process_request
            ) as server:
                self.port = next(iter(server.sockets)).getsockname()[1]
                self.ready.set()
                await self.stop.wait()

        self.loop.run_until_complete(main())
        self.loop.close()

    def __enter__(self) -> Sites:
        self.thread.start()
        self.ready.wait(10)
        self.page = f"http://127.0.0.1:{self.port}"
        self.paywall = f"http://localhost:{self.port}"  # another site: the frame is cross-site
        return self

    def __exit__(self, *exc: object) -> None:
        if self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)


# --- Trace analysis ---------------------------------------------------------------------------


@dataclass
class Trace:
    """The page's renderer main thread in one trace."""

    events: list[dict[str, Any]]
    main: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    js: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: bytes, *, anchor_name: str, anchor_text: str) -> Trace:
        data = json.loads(raw)
        events = list(data["traceEvents"] if isinstance(data, dict) else data)
        anchors = [
            e
            for e in events
            if e.get("name") == anchor_name and anchor_text in json.dumps(e.get("args", {}))
        ]
        if not anchors:
            raise RuntimeError(f"the trace has no {anchor_name} of {anchor_text}")
        thread = (anchors[0]["pid"], anchors[0]["tid"])
        trace = cls(events)
        trace.main = sorted(
            (e for e in events if (e.get("pid"), e.get("tid")) == thread and e.get("ph") == "X"),
            key=lambda e: (e["ts"], -e.get("dur", 0)),
        )
        trace.tasks = [e for e in trace.main if e.get("name") == "RunTask"]
        trace.js = _top_level([e for e in trace.main if e.get("name") in JS_EVENTS])
        return trace

    def resource_finished(self, url_part: str) -> float | None:
        """The trace time (µs) a request whose URL contains `url_part` finished, if it did."""
        ids = {
            e["args"]["data"].get("requestId")
            for e in self.events
            if e.get("name") == "ResourceSendRequest"
            and url_part in str(e.get("args", {}).get("data", {}).get("url", ""))
        }
        ends = [
            e["ts"]
            for e in self.events
            if e.get("name") == "ResourceFinish"
            and e.get("args", {}).get("data", {}).get("requestId") in ids
        ]
        return max(ends) if ends else None

    def first(self, name: str) -> float:
        return min(e["ts"] for e in self.main if e.get("name") == name)

    def js_between(self, start: float, end: float) -> list[dict[str, Any]]:
        return [e for e in self.js if start <= e["ts"] < end]

    def by_file(self, js: list[dict[str, Any]], key: str = "dur") -> dict[str, float]:
        """JavaScript time per script file (a task with no URL goes to the one before it);
        `key` "tdur" gives the thread's CPU time instead of the wall time."""
        out: dict[str, float] = {}
        current = "?"
        for event in js:
            url = _url_in(event, self.main)
            if url:
                current = url.rsplit("/", 1)[-1].partition("?")[0] or url
            out[current] = out.get(current, 0.0) + event.get(key, event.get("dur", 0)) / 1000
        return {name: round(ms, 3) for name, ms in sorted(out.items())}

    def sdk_long_tasks(self, start: float, end: float) -> list[float]:
        """Durations (ms) of the main-thread tasks over 50 ms that ran JavaScript."""
        long = []
        for task in self.tasks:
            if not start <= task["ts"] < end or task.get("dur", 0) <= 50_000:
                continue
            task_end = task["ts"] + task["dur"]
            if any(task["ts"] <= e["ts"] < task_end for e in self.js):
                long.append(round(task["dur"] / 1000, 3))
        return long

    def longest_js_task(self, start: float, end: float) -> float:
        """The longest main-thread task (ms) that ran JavaScript."""
        best = 0.0
        for task in self.tasks:
            if not start <= task["ts"] < end:
                continue
            task_end = task["ts"] + task.get("dur", 0)
            if any(task["ts"] <= e["ts"] < task_end for e in self.js):
                best = max(best, task.get("dur", 0) / 1000)
        return round(best, 3)


def _top_level(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events not nested in an earlier one of the same list (same thread)."""
    out: list[dict[str, Any]] = []
    end = -1.0
    for event in sorted(events, key=lambda e: (e["ts"], -e.get("dur", 0))):
        if event["ts"] >= end:
            out.append(event)
            end = event["ts"] + event.get("dur", 0)
    return out


def _url_in(event: dict[str, Any], main: list[dict[str, Any]]) -> str:
    """The script URL of a JS event, or of the first JS event nested in it that has one."""
    data = event.get("args", {}).get("data", {}) or {}
    url = data.get("url") or data.get("scriptName") or ""
    if url:
        return str(url)
    end = event["ts"] + event.get("dur", 0)
    for inner in main:
        if inner["ts"] < event["ts"]:
            continue
        if inner["ts"] >= end:
            break
        inner_data = inner.get("args", {}).get("data", {}) or {}
        if inner.get("name") in JS_EVENTS and inner_data.get("url"):
            return str(inner_data["url"])
    return ""


def _ms(js: list[dict[str, Any]], key: str = "dur") -> float:
    """Total wall time (`dur`) or the thread's CPU time (`tdur`) of the events, in ms."""
    return round(sum(e.get(key, e.get("dur", 0)) for e in js) / 1000, 3)


# --- Runs -------------------------------------------------------------------------------------


def _new_page(browser: Any, throttle: float) -> tuple[Any, Any, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Performance.enable")
    if throttle > 1:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    return context, page, cdp


def _task_duration(cdp: Any) -> float:
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return float(metrics.get("TaskDuration", 0.0)) * 1000


def _wait_for_teasers(page: Any, seen: set[str], started: float) -> None:
    teasers = f"/api/v1/publishers/{PUBLISHER}/articles"
    while teasers not in seen:
        if time.monotonic() - started > 30:
            raise RuntimeError("the page never fetched the teasers")
        page.wait_for_timeout(10)  # a timer on the Playwright side: no page script


def _watch_requests(page: Any, sites: Sites) -> set[str]:
    seen: set[str] = set()
    page.on(
        "requestfinished",
        lambda request: seen.add(request.url.partition("?")[0].removeprefix(sites.paywall)),
    )
    return seen


def _labels(page: Any) -> list[list[Any]]:
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('article[data-paywall-article]')].map(a => {
                 const b = a.querySelector('button[data-paywall-action="unlock"]');
                 return [a.getAttribute('data-paywall-state'), b && b.getAttribute('aria-label')];
               })"""
        )
    )


def one_load(
    browser: Any,
    sites: Sites,
    bundle: str | None,
    *,
    settle_ms: int,
    after_ms: int,
    throttle: float,
) -> dict[str, Any]:
    context, page, cdp = _new_page(browser, throttle)
    try:
        seen = _watch_requests(page, sites)
        url = f"{sites.page}/?bundle={bundle}" if bundle else f"{sites.page}/bare"
        browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
        started = time.monotonic()
        page.goto(url, wait_until="load")
        if bundle:
            _wait_for_teasers(page, seen, started)
        page.wait_for_timeout(settle_ms)
        main_thread_ms = _task_duration(cdp)
        page.wait_for_timeout(after_ms)
        raw = browser.stop_tracing()
        if bundle:
            trace = Trace.parse(raw, anchor_name="EvaluateScript", anchor_text=bundle)
            finished = trace.resource_finished(f"/api/v1/publishers/{PUBLISHER}/articles")
            if finished is None:
                raise RuntimeError("the trace has no teaser request")
        else:
            trace = Trace.parse(raw, anchor_name="ParseHTML", anchor_text=f"{sites.page}/bare")
            finished = trace.first("ParseHTML")
        start = trace.first("ParseHTML") if bundle else finished
        window_end = finished + settle_ms * 1000
        after_end = window_end + after_ms * 1000
        at_load = trace.js_between(0, window_end)
        later = trace.js_between(window_end, after_end)
        evaluate = [
            e
            for e in trace.main
            if e.get("name") == "EvaluateScript"
            and bundle
            and bundle in json.dumps(e.get("args", {}))
        ]
        result: dict[str, Any] = {
            "js_ms": _ms(at_load),
            "evaluate_ms": _ms(evaluate),
            "js_tasks": len(at_load),
            "by_file": trace.by_file(at_load),
            "js_cpu_ms": _ms(at_load, "tdur"),
            "by_file_cpu": trace.by_file(at_load, "tdur"),
            "main_thread_ms": main_thread_ms,
            "after_load_js_ms": _ms(later),
            "after_load_by_file": trace.by_file(later),
            "longest_task_ms": trace.longest_js_task(start - 1, after_end),
            "long_tasks": trace.sdk_long_tasks(start - 1, after_end),
        }
        if bundle:
            labels = _labels(page)
            result["valid"] = len(labels) == len(ARTICLES) and all(
                state == "locked" and label and "0.15 XRP" in label for state, label in labels
            )
        return result
    finally:
        context.close()


def one_session(
    browser: Any, sites: Sites, bundle: str | None, *, throttle: float
) -> dict[str, Any]:
    """The scripted reading session (see the module docstring), traced after load."""
    context, page, _cdp = _new_page(browser, throttle)
    try:
        seen = _watch_requests(page, sites)
        url = f"{sites.page}/?bundle={bundle}" if bundle else f"{sites.page}/bare"
        started = time.monotonic()
        page.goto(url, wait_until="load")
        if bundle:
            _wait_for_teasers(page, seen, started)
        page.wait_for_timeout(1000)  # the SDK's idle-time start is over
        first = page.locator(f'article[data-paywall-article="{ARTICLES[0]}"]')
        article_box = first.bounding_box()
        button_box = first.locator("h2").bounding_box()
        if bundle:
            button_box = page.locator(
                f'article[data-paywall-article="{ARTICLES[0]}"] button[data-paywall-action="unlock"]'
            ).bounding_box()
        assert article_box is not None and button_box is not None
        browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
        mouse = page.mouse
        # Reading: the hand wanders over the page (away from the first article).
        mouse.move(900, 650)
        for i in range(60):
            mouse.move(900 - i * 6, 650 - (i % 20) * 4)
            page.wait_for_timeout(16)
        for delta in (120, 120, 120, -120, -120, -120):
            mouse.wheel(0, delta)
            page.wait_for_timeout(120)
        # Intent: the hand comes onto the first article, then to its button, and clicks.
        ax, ay = article_box["x"] + 40, article_box["y"] + 10
        for i in range(12):
            mouse.move(ax + i * 8, ay + i * 2)
            page.wait_for_timeout(16)
        page.wait_for_timeout(400)
        bx = button_box["x"] + button_box["width"] / 2
        by = button_box["y"] + button_box["height"] / 2
        for i in range(1, 9):
            mouse.move(ax + 96 + (bx - ax - 96) * i / 8, ay + 22 + (by - ay - 22) * i / 8)
            page.wait_for_timeout(16)
        page.wait_for_timeout(120)
        mouse.down()
        page.wait_for_timeout(90)
        mouse.up()
        page.wait_for_timeout(2500 if throttle <= 1 else 4000)
        raw = browser.stop_tracing()
        trace = Trace.parse(raw, anchor_name="EventDispatch", anchor_text="pointermove")
        session_start = trace.main[0]["ts"] if trace.main else 0
        dispatches = [e for e in trace.main if e.get("name") == "EventDispatch"]
        result: dict[str, Any] = {
            "js_ms": _ms(trace.js),
            "long_tasks": trace.sdk_long_tasks(session_start - 1, float("inf")),
            "longest_task_ms": trace.longest_js_task(session_start - 1, float("inf")),
        }
        result.update(_event_handling(trace, dispatches))
        if bundle:
            state = first.get_attribute("data-paywall-state")
            result["valid"] = state == "unlocked"
            result.update(_click_to_state(trace, dispatches))
        return result
    finally:
        context.close()


def _event_type(event: dict[str, Any]) -> str:
    return str((event.get("args", {}).get("data", {}) or {}).get("type", ""))


def _event_handling(trace: Trace, dispatches: list[dict[str, Any]]) -> dict[str, Any]:
    """Per input (one main-thread task): the JavaScript its event listeners ran, and the whole
    dispatch (the browser's own handling, hit tests and hover styles included). The longest
    of each over the session."""
    inputs = _top_level([d for d in dispatches if _event_type(d) in INPUT_EVENTS])
    listeners = [e for e in trace.main if e.get("name") == "FunctionCall"]
    best_js, best_types, best_dispatch, best_cpu = 0.0, [], 0.0, 0.0
    for task in trace.tasks:
        end = task["ts"] + task.get("dur", 0)
        inside = [d for d in inputs if task["ts"] <= d["ts"] < end]
        if not inside:
            continue
        dispatch = sum(d.get("dur", 0) for d in inside) / 1000
        js = cpu = 0.0
        for d in inside:
            d_end = d["ts"] + d.get("dur", 0)
            calls = _top_level([f for f in listeners if d["ts"] <= f["ts"] < d_end])
            js += _ms(calls)
            cpu += _ms(calls, "tdur")
        best_dispatch = max(best_dispatch, dispatch)
        best_cpu = max(best_cpu, cpu)
        if js > best_js:
            best_js, best_types = js, sorted({_event_type(d) for d in inside})
    return {
        "event_handling_ms": round(best_js, 3),
        "event_handling_events": best_types,
        "event_dispatch_ms": round(best_dispatch, 3),
        "event_handling_cpu_ms": round(best_cpu, 3),
    }


def _click_to_state(trace: Trace, dispatches: list[dict[str, Any]]) -> dict[str, Any]:
    clicks = [d for d in dispatches if _event_type(d) == "click"]
    if not clicks:
        return {"click_to_state_ms": None, "click_work_ms": None}
    click = clicks[-1]
    changes = [d for d in dispatches if _event_type(d) == STATE_EVENT and d["ts"] >= click["ts"]]
    if not changes:
        return {"click_to_state_ms": None, "click_work_ms": None}
    last = changes[-1]
    task_end = last["ts"] + last.get("dur", 0)
    for task in trace.tasks:
        if task["ts"] <= last["ts"] < task["ts"] + task.get("dur", 0):
            task_end = task["ts"] + task["dur"]
    return {
        "click_to_state_ms": round((task_end - click["ts"]) / 1000, 3),
        "click_work_ms": _ms(trace.js_between(click["ts"] - 1, task_end)),
        "click_work_cpu_ms": _ms(trace.js_between(click["ts"] - 1, task_end), "tdur"),
        "click_dispatch_ms": round(click.get("dur", 0) / 1000, 3),
    }


# --- Summary ----------------------------------------------------------------------------------


def summary(values: list[float]) -> dict[str, float] | None:
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return None
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {
        "median": round(statistics.median(ordered), 3),
        "p90": round(p90, 3),
        "min": round(ordered[0], 3),
        "max": round(ordered[-1], 3),
    }


def _merge_files(runs: list[dict[str, float]]) -> dict[str, float]:
    """Median per file over runs (0 in a run where the file did not run)."""
    names = sorted({name for run in runs for name in run})
    return {name: round(statistics.median(run.get(name, 0.0) for run in runs), 3) for name in names}


def load_report(
    bundle: str, loads: list[dict[str, Any]], bare: list[dict[str, Any]]
) -> dict[str, Any]:
    valid = [load for load in loads if load.get("valid")]
    out: dict[str, Any] = {"runs": len(loads), "valid_runs": len(valid)}
    if not valid:
        return out
    out["first_script_js_ms"] = summary([load["by_file"].get(bundle, 0.0) for load in valid])
    out["first_script_cpu_ms"] = summary([load["by_file_cpu"].get(bundle, 0.0) for load in valid])
    out["js_cpu_ms"] = summary([load["js_cpu_ms"] for load in valid])
    out["by_file_cpu_median"] = _merge_files([load["by_file_cpu"] for load in valid])
    for key in ("js_ms", "evaluate_ms", "main_thread_ms", "after_load_js_ms", "longest_task_ms"):
        out[key] = summary([load[key] for load in valid])
    out["js_tasks_median"] = statistics.median(load["js_tasks"] for load in valid)
    out["by_file_median"] = _merge_files([load["by_file"] for load in valid])
    out["after_load_by_file_median"] = _merge_files([load["after_load_by_file"] for load in valid])
    out["main_thread_delta_ms"] = round(
        statistics.median(load["main_thread_ms"] for load in valid)
        - statistics.median(load["main_thread_ms"] for load in bare),
        3,
    )
    out["long_tasks"] = [ms for load in valid for ms in load["long_tasks"]]
    return out


def session_report(sessions: list[dict[str, Any]], bare: list[dict[str, Any]]) -> dict[str, Any]:
    valid = [s for s in sessions if s.get("valid")]
    out: dict[str, Any] = {"runs": len(sessions), "valid_runs": len(valid)}
    if not valid:
        return out
    for key in (
        "click_to_state_ms",
        "click_work_ms",
        "click_work_cpu_ms",
        "click_dispatch_ms",
        "event_handling_ms",
        "event_handling_cpu_ms",
        "event_dispatch_ms",
        "js_ms",
    ):
        out[key] = summary([s.get(key) for s in valid])
    worst = max(valid, key=lambda s: s["event_handling_ms"])
    out["event_handling_worst_events"] = worst["event_handling_events"]
    bare_dispatch = statistics.median(s["event_dispatch_ms"] for s in bare) if bare else 0.0
    out["bare_event_dispatch_ms"] = round(bare_dispatch, 3)
    out["added_event_dispatch_ms"] = round(
        statistics.median(s["event_dispatch_ms"] for s in valid) - bare_dispatch, 3
    )
    out["long_tasks"] = [ms for s in valid for ms in s["long_tasks"]]
    return out


def verdict(load: dict[str, Any], session: dict[str, Any]) -> dict[str, bool]:
    def median(block: dict[str, Any], key: str) -> float | None:
        value = block.get(key)
        return value["median"] if isinstance(value, dict) else None

    js = median(load, "first_script_js_ms")
    click = median(session, "click_work_ms")
    delta = load.get("main_thread_delta_ms")
    return {
        "first_script_js_ms": js is not None and js <= TARGETS["js_ms"],
        "main_thread_delta_ms": delta is not None and delta <= TARGETS["main_thread_delta_ms"],
        "no_long_tasks": not load.get("long_tasks") and not session.get("long_tasks"),
        "click_work_ms": click is not None and click <= TARGETS["click_work_ms"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bundle",
        action="append",
        help="a page script in static/js to measure (repeatable; default paywall.js)",
    )
    parser.add_argument("--runs", type=int, default=15, help="measured loads (default 15)")
    parser.add_argument("--sessions", type=int, default=5, help="scripted sessions (default 5)")
    parser.add_argument("--warmup", type=int, default=2, help="loads not counted (default 2)")
    parser.add_argument("--settle-ms", type=int, default=300, help="after the teasers (300)")
    parser.add_argument("--after-ms", type=int, default=2500, help="after-load window (2500)")
    parser.add_argument(
        "--throttles", default="1,4", help="CPU throttling rates, comma-separated (default 1,4)"
    )
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args(argv)
    bundles = args.bundle or ["paywall.js"]
    throttles = [float(t) for t in args.throttles.split(",") if t.strip()]

    missing = [b for b in bundles if not JS_FILE_RE.match(b) or not (JS_DIR / b).is_file()]
    if missing:
        print(
            json.dumps(
                {
                    "error": "bundle_missing",
                    "missing": missing,
                    "hint": "cd static/js && npm run build",
                }
            )
        )
        return 1
    if not Path(args.chromium).exists():
        print(json.dumps({"error": "chromium_missing", "path": args.chromium}))
        return 1
    from playwright.sync_api import sync_playwright

    load_before = os.getloadavg()
    results: dict[str, Any] = {}
    with Sites() as sites, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=args.chromium, args=CHROMIUM_ARGS, headless=True
        )
        try:
            version = browser.version
            for throttle in throttles:
                key = f"cpu_throttle_{throttle:g}x"
                opts = {
                    "settle_ms": args.settle_ms,
                    "after_ms": args.after_ms,
                    "throttle": throttle,
                }
                for n in range(args.warmup):
                    log(f"[{key}] warm-up {n + 1}/{args.warmup}")
                    for bundle in bundles:
                        one_load(browser, sites, bundle, **opts)
                loads: dict[str, list[dict[str, Any]]] = {b: [] for b in bundles}
                bare: list[dict[str, Any]] = []
                for n in range(args.runs):
                    bare.append(one_load(browser, sites, None, **opts))
                    for bundle in bundles:
                        loads[bundle].append(one_load(browser, sites, bundle, **opts))
                        last = loads[bundle][-1]
                        log(
                            f"[{key}] load {n + 1}/{args.runs} {bundle}: js {last['js_ms']:.2f} ms, "
                            f"after load {last['after_load_js_ms']:.2f} ms, valid={last['valid']}"
                        )
                sessions: dict[str, list[dict[str, Any]]] = {b: [] for b in bundles}
                bare_sessions: list[dict[str, Any]] = []
                for n in range(args.sessions):
                    bare_sessions.append(one_session(browser, sites, None, throttle=throttle))
                    for bundle in bundles:
                        sessions[bundle].append(
                            one_session(browser, sites, bundle, throttle=throttle)
                        )
                        last = sessions[bundle][-1]
                        log(
                            f"[{key}] session {n + 1}/{args.sessions} {bundle}: click work "
                            f"{last.get('click_work_ms')} ms, to state {last.get('click_to_state_ms')} ms, "
                            f"handling {last['event_handling_ms']} ms, valid={last['valid']}"
                        )
                block: dict[str, Any] = {
                    "bare_page": {
                        "js_ms": summary([b["js_ms"] for b in bare]),
                        "main_thread_ms": summary([b["main_thread_ms"] for b in bare]),
                        "session_event_dispatch_ms": summary(
                            [s["event_dispatch_ms"] for s in bare_sessions]
                        ),
                    }
                }
                for bundle in bundles:
                    load = load_report(bundle, loads[bundle], bare)
                    session = session_report(sessions[bundle], bare_sessions)
                    block[bundle] = {
                        "load": load,
                        "session": session,
                        "meets": verdict(load, session),
                    }
                results[key] = block
        finally:
            browser.close()
    load_after = os.getloadavg()

    print(
        json.dumps(
            {
                "browser": f"Chromium {version}",
                "bundles": {b: {"bytes": (JS_DIR / b).stat().st_size} for b in bundles},
                "page": {
                    "articles": len(ARTICLES),
                    "frame": "cross-site stub",
                    "telemetry": "stub socket",
                },
                "targets": TARGETS,
                "results": results,
                "machine": {
                    "cpus": os.cpu_count(),
                    "loadavg_before": [round(x, 2) for x in load_before],
                    "loadavg_after": [round(x, 2) for x in load_after],
                },
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
