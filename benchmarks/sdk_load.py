"""Main-thread work of `paywall.js` at page load, measured in Debian's Chromium.

    .venv/bin/python benchmarks/sdk_load.py                 # 15 measured loads
    .venv/bin/python benchmarks/sdk_load.py --runs 40 --cpu-throttle 4

prints ONE JSON object on stdout (progress goes to stderr).

Set-up: a tiny local HTTP server plays both sides, on two different *sites* so that the
signer frame is cross-site as in production (a publisher's `news.example` and the paywall's
`pay.example`):

- the publisher page, at `http://127.0.0.1:PORT/`: a static page with 6
  `article[data-paywall-article]`, no other script, and the script tag
  `<script src="http://localhost:PORT/static/js/paywall.js" data-publisher="pub_bench" async>`;
- the paywall, at `http://localhost:PORT/`: the built `static/js/paywall.js`, stub JSON for
  `GET /api/v1/config`, the batch teasers `GET /api/v1/publishers/pub_bench/articles?slugs=…`
  (the page script's one request for every price; the single-article teasers are still
  served), and an empty signer-frame page (so the frame's own work, which runs in its own
  process, is not in the numbers).

Each measured load runs in a fresh browser context (no HTTP cache, nothing stored) under a
Chromium trace (`devtools.timeline`, `v8.execute`). A load is over when the frame page and
the teasers have been fetched, plus `--settle-ms` for their continuations to run; the
harness runs no script in the page until the trace has stopped, then checks that the six
unlock buttons are there with their prices (`valid`).

Reported per load, from the trace of the page's renderer main thread:

- `evaluate_ms`: the `EvaluateScript` task of paywall.js: compiling what was not compiled
  off the main thread, and running its top level (which scans and renders the articles when
  the document is already parsed);
- `js_ms`: every top-level JavaScript task on that thread during the load — the evaluation,
  `DOMContentLoaded` (when the script ran before the document was parsed), and the
  continuations of the config and teaser fetches (microtasks, timers). The page has no other
  script, and the same page without the tag shows none (`bare_page.js_ms`), so all of it is
  paywall.js. **This is the target metric** (median, < 5 ms);
- `script_duration_ms`: CDP `Performance.getMetrics` `ScriptDuration`, as a cross-check;
- `main_thread_ms`: CDP `TaskDuration`, every task of the page's renderer (style, layout and
  paint included), beside the same page without the script (`bare_page.main_thread_ms`), for
  context only: it includes the renderer's own start-up;
- `long_tasks`: Long Tasks API entries (tasks over 50 ms) seen by the page.

The first loads warm the browser up and are not counted (`--warmup`). `machine` gives the
CPU count and load averages: on a shared or busy machine the numbers are an upper bound.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "static" / "js" / "paywall.js"
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
TARGET_MS = 5.0
TRACE_CATEGORIES = ["devtools.timeline", "v8.execute"]
# Buffered Long Tasks API entries (tasks over 50 ms), read once the trace has stopped.
LONG_TASKS_SCRIPT = """() => new Promise((resolve) => {
  try {
    new PerformanceObserver((list) => resolve(list.getEntries().map((e) => e.duration)))
      .observe({type: "longtask", buffered: true});
  } catch (e) { resolve([]); }
  setTimeout(() => resolve([]), 200);
})"""
# Trace events that are JavaScript running on the main thread (top level among themselves).
JS_EVENTS = {
    "EvaluateScript",
    "FunctionCall",
    "RunMicrotasks",
    "TimerFire",
    "v8.compile",
    "FireAnimationFrame",
    "FireIdleCallback",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- The local server -------------------------------------------------------------------------


def page_html(paywall: str, *, with_script: bool) -> bytes:
    articles = "\n".join(
        f"""<article data-paywall-article="{slug}">
  <h2>Story {n}</h2>
  <p class="teaser">The teaser of story {n}, free for everyone to read.</p>
  <div data-paywall-content></div>
</article>"""
        for n, slug in enumerate(ARTICLES, start=1)
    )
    tag = (
        f'<script src="{paywall}/static/js/paywall.js" data-publisher="{PUBLISHER}" async></script>'
        if with_script
        else ""
    )
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Benchmark news</title>
{tag}
</head>
<body><header><h1>Benchmark news</h1></header><main>
{articles}
</main></body></html>
""".encode()


def config_json(paywall: str) -> dict[str, Any]:
    return {
        "publisher": PUBLISHER,
        "platform_address": "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh",
        "destination_tag": 12345,
        "min_settle_delay_seconds": 3600,
        "min_channel_drops": "1000000",
        "grant_ttl_seconds": 300,
        "network": {"kind": "sandbox"},
        "api_base": f"{paywall}/api/v1/",
    }


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

    def __init__(self, bundle: bytes) -> None:
        sites = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path, _, query = self.path.partition("?")
                teaser_prefix = f"/api/v1/publishers/{PUBLISHER}/articles/"
                if path == "/":
                    self._send(
                        "text/html; charset=utf-8", page_html(sites.paywall, with_script=True)
                    )
                elif path == "/bare":
                    self._send(
                        "text/html; charset=utf-8", page_html(sites.paywall, with_script=False)
                    )
                elif path == "/static/js/paywall.js":
                    self._send("text/javascript; charset=utf-8", bundle)
                elif path == "/api/v1/config":
                    self._send_json(config_json(sites.paywall))
                elif path == teaser_prefix.rstrip("/"):
                    asked = urllib.parse.parse_qs(query).get("slugs", [""])[0].split(",")
                    self._send_json(
                        {
                            "publisher": PUBLISHER,
                            "articles": [teaser_json(s) for s in asked if s in ARTICLES],
                        }
                    )
                elif path.startswith(teaser_prefix) and path[len(teaser_prefix) :] in ARTICLES:
                    self._send_json(teaser_json(path[len(teaser_prefix) :]))
                elif path == f"/sdk/frame/{PUBLISHER}":
                    self._send("text/html; charset=utf-8", b"<!doctype html><title>frame</title>")
                else:
                    self._send("text/plain", b"not found", status=404)

            def _send_json(self, data: dict[str, Any]) -> None:
                self._send("application/json", json.dumps(data).encode())

            def _send(self, content_type: str, body: bytes, status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("Access-Control-Allow-Origin", sites.page)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        port = self.server.server_address[1]
        self.page = f"http://127.0.0.1:{port}"
        self.paywall = f"http://localhost:{port}"  # another site: the frame is cross-site
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Sites:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- Trace analysis ---------------------------------------------------------------------------


def _events(raw: bytes) -> list[dict[str, Any]]:
    data = json.loads(raw)
    return list(data["traceEvents"] if isinstance(data, dict) else data)


def _mentions(event: dict[str, Any], text: str) -> bool:
    return text in json.dumps(event.get("args", {}))


def _top_level(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events not nested in an earlier one of the same list (same thread)."""
    out: list[dict[str, Any]] = []
    end = -1.0
    for event in sorted(events, key=lambda e: (e["ts"], -e.get("dur", 0))):
        if event["ts"] >= end:
            out.append(event)
            end = event["ts"] + event.get("dur", 0)
    return out


def analyse(raw: bytes, *, page_url: str, with_script: bool) -> dict[str, Any]:
    events = _events(raw)
    if with_script:
        anchors = [
            e for e in events if e.get("name") == "EvaluateScript" and _mentions(e, "paywall.js")
        ]
    else:
        anchors = [e for e in events if e.get("name") == "ParseHTML" and _mentions(e, page_url)]
    if not anchors:
        raise RuntimeError(
            "the trace has no evaluation of paywall.js" if with_script else "no ParseHTML"
        )
    thread = (anchors[0]["pid"], anchors[0]["tid"])
    on_main = [e for e in events if (e.get("pid"), e.get("tid")) == thread and e.get("ph") == "X"]
    js = _top_level([e for e in on_main if e.get("name") in JS_EVENTS])
    return {
        "evaluate_ms": sum(e.get("dur", 0) for e in anchors) / 1000 if with_script else 0.0,
        "js_ms": sum(e.get("dur", 0) for e in js) / 1000,
        "js_tasks": len(js),
    }


# --- Loads ------------------------------------------------------------------------------------


def one_load(
    browser: Any, sites: Sites, *, with_script: bool, settle_ms: int, throttle: float
) -> dict[str, Any]:
    context = browser.new_context()
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        if throttle > 1:
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
        page_url = f"{sites.page}/" if with_script else f"{sites.page}/bare"
        pending = {f"/api/v1/publishers/{PUBLISHER}/articles"}  # one request for every price
        if with_script:
            pending.add(f"/sdk/frame/{PUBLISHER}")
        seen: set[str] = set()
        page.on(
            "requestfinished",
            lambda request: seen.add(request.url.partition("?")[0].removeprefix(sites.paywall)),
        )
        browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
        started = time.monotonic()
        page.goto(page_url, wait_until="load")
        if with_script:
            while not pending <= seen:
                if time.monotonic() - started > 30:
                    raise RuntimeError(f"the page never fetched {sorted(pending - seen)}")
                page.wait_for_timeout(10)  # a timer on the Playwright side: no page script
        page.wait_for_timeout(settle_ms)
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        raw = browser.stop_tracing()
        result = analyse(raw, page_url=page_url, with_script=with_script)
        result["script_duration_ms"] = metrics.get("ScriptDuration", 0.0) * 1000
        result["main_thread_ms"] = metrics.get("TaskDuration", 0.0) * 1000
        result["long_tasks"] = len(page.evaluate(LONG_TASKS_SCRIPT))
        if with_script:
            labels = page.evaluate(
                """() => [...document.querySelectorAll('article[data-paywall-article]')].map(a => {
                     const b = a.querySelector('button[data-paywall-action="unlock"]');
                     return [a.getAttribute('data-paywall-state'), b && b.getAttribute('aria-label')];
                   })"""
            )
            result["valid"] = len(labels) == len(ARTICLES) and all(
                state == "locked" and label and "0.15 XRP" in label for state, label in labels
            )
        return result
    finally:
        context.close()


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {
        "median": round(statistics.median(ordered), 3),
        "p90": round(p90, 3),
        "min": round(ordered[0], 3),
        "max": round(ordered[-1], 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="measured loads (default 15)")
    parser.add_argument("--warmup", type=int, default=2, help="loads not counted (default 2)")
    parser.add_argument(
        "--settle-ms", type=int, default=300, help="quiet time after the last fetch"
    )
    parser.add_argument(
        "--cpu-throttle", type=float, default=1.0, help="CDP CPU throttling rate (4 ≈ a mid phone)"
    )
    parser.add_argument("--chromium", default=CHROMIUM)
    args = parser.parse_args(argv)

    if not BUNDLE.is_file():
        print(json.dumps({"error": "bundle_missing", "hint": "cd static/js && npm run build"}))
        return 1
    if not Path(args.chromium).exists():
        print(json.dumps({"error": "chromium_missing", "path": args.chromium}))
        return 1
    from playwright.sync_api import sync_playwright

    bundle = BUNDLE.read_bytes()
    load_before = os.getloadavg()
    with Sites(bundle) as sites, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=args.chromium, args=CHROMIUM_ARGS, headless=True
        )
        try:
            version = browser.version
            for n in range(args.warmup):
                log(f"warm-up {n + 1}/{args.warmup}")
                one_load(
                    browser,
                    sites,
                    with_script=True,
                    settle_ms=args.settle_ms,
                    throttle=args.cpu_throttle,
                )
            loads, bare = [], []
            for n in range(args.runs):
                loads.append(
                    one_load(
                        browser,
                        sites,
                        with_script=True,
                        settle_ms=args.settle_ms,
                        throttle=args.cpu_throttle,
                    )
                )
                bare.append(
                    one_load(
                        browser,
                        sites,
                        with_script=False,
                        settle_ms=args.settle_ms,
                        throttle=args.cpu_throttle,
                    )
                )
                log(
                    f"load {n + 1}/{args.runs}: js {loads[-1]['js_ms']:.2f} ms "
                    f"(evaluate {loads[-1]['evaluate_ms']:.2f} ms), valid={loads[-1]['valid']}"
                )
        finally:
            browser.close()
    load_after = os.getloadavg()

    valid = [load for load in loads if load["valid"]]
    js_median = statistics.median(load["js_ms"] for load in valid) if valid else None
    result = {
        "bundle": {"file": "static/js/paywall.js", "bytes": len(bundle)},
        "browser": f"Chromium {version}",
        "page": {
            "articles": len(ARTICLES),
            "frame": "cross-site, empty stub",
            "cpu_throttle": args.cpu_throttle,
        },
        "runs": args.runs,
        "valid_runs": len(valid),
        "paywall_js": {
            key: summary([load[key] for load in valid])
            for key in ("js_ms", "evaluate_ms", "script_duration_ms", "main_thread_ms")
        }
        if valid
        else None,
        "js_tasks_median": statistics.median(load["js_tasks"] for load in valid) if valid else None,
        "long_tasks_total": sum(load["long_tasks"] for load in valid),
        "bare_page": {
            key: summary([load[key] for load in bare]) for key in ("js_ms", "main_thread_ms")
        },
        "main_thread_delta_ms_median": round(
            statistics.median(load["main_thread_ms"] for load in valid)
            - statistics.median(load["main_thread_ms"] for load in bare),
            3,
        )
        if valid
        else None,
        "target": {"metric": "paywall_js.js_ms", "statistic": "median", "max_ms": TARGET_MS},
        "meets_target": js_median is not None and len(valid) == args.runs and js_median < TARGET_MS,
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in load_after],
        },
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
