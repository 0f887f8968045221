"""Fixtures of the browser suite: the whole product on this machine, driven by Chromium.

- `live_platform`: the sandbox ledger (`sandbox_url`) as XRPL_URL, the platform's settlement
  account bootstrapped, short watchtower/sweep intervals, and a free port reserved for the
  paywall service (its DROPGATE_PUBLIC_URL), all set through the `settings` fixture so that
  `child_environment()` hands them to every child process.
- `demo_publisher`: the demo publisher (allowed origin: the demo site's origin) with the demo
  articles of scripts/demo_content.py, made through the services `demo_seed` uses.
- `stack`: the paywall service (`uvicorn paywall.asgi:application`) and the demo publisher site
  (`python -m scripts.demo_site`) on a *different* origin, both subprocesses on the test
  database; `stack.start_site()` serves the same page on further origins.
- `watchtower`: a real Celery worker and beat (the scan every second) on the same database.
- `browser`: Debian's Chromium through Playwright's sync API, one fresh context per test
  (its own IndexedDB: a new reader), with CSP violations, console errors and page errors of
  every frame recorded.

Playwright's sync API keeps an asyncio loop running in this thread while it is started, and
Django refuses ORM calls under a running loop. The `browser` fixture therefore sets
DJANGO_ALLOW_ASYNC_UNSAFE for this process only, after every child has been started (children
copy the environment at start), and removes it again once Playwright has stopped.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from channels_app import ledger
from channels_app.services.platform import platform_bootstrap
from paywall.models import Article, Publisher
from paywall.services.articles import article_upsert
from paywall.services.publishers import publisher_create
from paywall.types import Price
from scripts.demo_content import ARTICLES, DemoArticle
from tests.browser.support import FRAME_SELECTOR
from tests.fixtures.sandbox import REPO_ROOT, free_port
from tests.fixtures.worker import CeleryProcess, CeleryWorker, child_environment, wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    # The reader these tests play uses an ordinary browser: no navigator.webdriver, and a user
    # agent without "HeadlessChrome" (below). The bot tests keep both off too, so what gives a
    # bot away there is its behaviour, not the harness.
    "--disable-blink-features=AutomationControlled",
]
SERVER_READY_TIMEOUT = 60.0
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
PR_SET_PDEATHSIG = 1


# Runs in every frame before any of the page's scripts: records the contract's events (top
# window only) and reports every CSP violation (all frames, the signer frame included) as a
# console message with REPORT_PREFIX. Uncaught errors and console errors come from
# Playwright's own events. No binding is exposed to the page: a Playwright binding is a
# global the SDK's automation check would rightly report, and the reader these tests play
# uses an ordinary browser.
REPORT_PREFIX = "__dg_report__ "
MONITOR_SCRIPT = """
(() => {
  const log = console.info.bind(console);
  const report = (kind, data) => {
    try { log("__dg_report__ " + JSON.stringify({kind: kind, data: data})); } catch (e) {}
  };
  document.addEventListener("securitypolicyviolation", (e) => report("csp", {
    directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile,
    line: e.lineNumber, document: location.origin,
  }), true);
  if (window.top === window) {
    window.__dgEvents = [];
    document.addEventListener("paywall:statechange", (e) => {
      const d = e.detail || {};
      window.__dgEvents.push({article: d.article, state: d.state, amountDrops: d.amountDrops,
                              reason: d.reason === undefined ? null : d.reason,
                              target: e.target && e.target.getAttribute("data-paywall-article")});
    });
  }
})();
"""


def _die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


# --- Subprocesses -----------------------------------------------------------------------------


@dataclass
class ChildProcess:
    """One HTTP-serving child (the paywall service or a demo site) with its log file."""

    name: str
    argv: list[str]
    url: str
    ready_path: str
    log_path: Path
    env: dict[str, str]
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> ChildProcess:
        env = dict(self.env)
        env.pop(ASYNC_UNSAFE, None)  # never weaken the product's own checks
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            )
        try:
            wait_until(self._ready, timeout=SERVER_READY_TIMEOUT, message=f"{self.name} to answer")
        except AssertionError:
            self.stop()
            raise AssertionError(f"{self.name} did not start; log:\n{self.log()}") from None
        return self

    def _ready(self) -> bool:
        assert self.popen is not None
        if self.popen.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.popen.returncode}:\n{self.log()}")
        try:
            with urllib.request.urlopen(self.url + self.ready_path, timeout=1) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# --- Data and configuration -------------------------------------------------------------------


@dataclass(frozen=True)
class LivePlatform:
    sandbox_url: str
    paywall_port: int
    paywall_url: str
    site_port: int
    site_url: str
    address: str  # the platform's settlement account
    opening_balance_drops: int


@pytest.fixture
def live_platform(transactional_db: None, settings: Any, sandbox_url: str) -> LivePlatform:
    paywall_port = free_port()
    site_port = free_port()
    while site_port == paywall_port:
        site_port = free_port()
    settings.XRPL_URL = sandbox_url
    settings.XRPL_LEDGER_KIND = "sandbox"
    settings.DROPGATE_FAUCET_ENABLED = True
    settings.DROPGATE_PUBLIC_URL = f"http://127.0.0.1:{paywall_port}"
    # Beat's schedule is read from these at its start (paywall/settings.py).
    settings.DROPGATE_WATCHTOWER_SCAN_SECONDS = 1
    settings.DROPGATE_SETTLEMENT_SWEEP_SECONDS = 2
    settings.DROPGATE_SETTLEMENT_WAIT_SECONDS = 5
    boot = platform_bootstrap(harden=True)
    address = str(boot["address"])
    balance = ledger.account_balance(address)
    assert balance is not None
    return LivePlatform(
        sandbox_url=sandbox_url,
        paywall_port=paywall_port,
        paywall_url=f"http://127.0.0.1:{paywall_port}",
        site_port=site_port,
        site_url=f"http://127.0.0.1:{site_port}",
        address=address,
        opening_balance_drops=balance,
    )


@dataclass(frozen=True)
class DemoPublisher:
    publisher: Publisher
    articles: tuple[DemoArticle, ...]

    @property
    def key(self) -> str:
        return self.publisher.key

    def article(self, slug: str) -> Article:
        return Article.objects.get(publisher=self.publisher, slug=slug)


@pytest.fixture
def demo_publisher(live_platform: LivePlatform) -> DemoPublisher:
    """What `demo_seed` makes, for the demo site's origin (no admin login is needed here)."""
    publisher = publisher_create(name="The Daily Drop", allowed_origins=[live_platform.site_url])
    for article in ARTICLES:
        article_upsert(
            publisher=publisher,
            slug=article.slug,
            title=article.title,
            price=Price(drops=article.price_drops),
            body_html=article.body_html,
        )
    return DemoPublisher(publisher=publisher, articles=ARTICLES)


# --- The running product ----------------------------------------------------------------------


@dataclass
class Stack:
    platform: LivePlatform
    publisher: DemoPublisher
    paywall: ChildProcess
    site: ChildProcess
    tmp_path: Path
    extra_sites: list[ChildProcess] = field(default_factory=list)

    @property
    def paywall_url(self) -> str:
        return self.paywall.url

    @property
    def site_url(self) -> str:
        return self.site.url

    def start_site(self, port: int | None = None) -> str:
        """Serve the demo page on another origin (one the publisher did not allow)."""
        site = _demo_site(
            self.tmp_path,
            port or free_port(),
            self.paywall_url,
            self.publisher.key,
            name=f"site-{len(self.extra_sites) + 2}",
        )
        self.extra_sites.append(site)
        site.start()
        return site.url

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name} ---\n{p.log()[-4000:]}"
            for p in (self.paywall, self.site, *self.extra_sites)
        )


def _demo_site(
    tmp_path: Path, port: int, paywall_url: str, publisher: str, name: str
) -> ChildProcess:
    return ChildProcess(
        name=name,
        argv=[
            sys.executable,
            "-m",
            "scripts.demo_site",
            "--port",
            str(port),
            "--paywall",
            paywall_url,
            "--publisher",
            publisher,
        ],
        url=f"http://127.0.0.1:{port}",
        ready_path="/",
        log_path=tmp_path / f"{name}.log",
        env=dict(os.environ),
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def stack(
    request: pytest.FixtureRequest,
    live_platform: LivePlatform,
    demo_publisher: DemoPublisher,
    tmp_path: Path,
) -> Iterator[Stack]:
    paywall = ChildProcess(
        name="paywall",
        argv=[
            sys.executable,
            "-m",
            "uvicorn",
            "paywall.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(live_platform.paywall_port),
            "--log-level",
            "warning",
        ],
        url=live_platform.paywall_url,
        ready_path="/healthz",
        log_path=tmp_path / "paywall.log",
        env=child_environment({"DROPGATE_PUBLIC_URL": live_platform.paywall_url}),
    )
    site = _demo_site(
        tmp_path, live_platform.site_port, live_platform.paywall_url, demo_publisher.key, "site"
    )
    running = Stack(
        platform=live_platform,
        publisher=demo_publisher,
        paywall=paywall,
        site=site,
        tmp_path=tmp_path,
    )
    try:
        paywall.start()
        site.start()
        yield running
    finally:
        for process in (*running.extra_sites, site, paywall):
            process.stop()
        if request.node.stash.get(_FAILED, False):
            print(f"\n=== logs of the paywall service and the demo sites ===\n{running.logs()}")


@dataclass(frozen=True)
class Watchtower:
    worker: CeleryWorker
    beat: CeleryProcess

    def logs(self) -> str:
        return (
            f"--- worker ---\n{self.worker.log_text()[-6000:]}\n"
            f"--- beat ---\n{self.beat.log_text()[-2000:]}"
        )


@pytest.fixture
def watchtower(
    request: pytest.FixtureRequest, stack: Stack, start_celery_worker: Callable[..., CeleryWorker]
) -> Iterator[Watchtower]:
    """A real worker and beat; the scan interval was set (live_platform) before they start."""
    worker = start_celery_worker()
    beat: CeleryProcess = request.getfixturevalue("celery_beat_process")
    running = Watchtower(worker=worker, beat=beat)
    yield running
    if request.node.stash.get(_FAILED, False):
        print(f"\n=== logs of the Celery worker and beat ===\n{running.logs()}")


# --- The browser ------------------------------------------------------------------------------


@dataclass
class Browser:
    """One Chromium context and page, with what its frames reported."""

    context: Any
    page: Any
    reports: list[dict[str, Any]] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)

    @property
    def csp_violations(self) -> list[dict[str, Any]]:
        return [r["data"] for r in self.reports if r["kind"] == "csp"]

    def record_console(self, message: Any) -> None:
        text = message.text
        if text.startswith(REPORT_PREFIX):
            report = json.loads(text[len(REPORT_PREFIX) :])
            report["frame"] = message.location.get("url", "")
            self.reports.append(report)
        elif message.type == "error":
            self.console_errors.append(f"{text} @ {message.location}")

    def frame(self) -> Any:
        """The signer frame, for locators inside it."""
        return self.page.frame_locator(FRAME_SELECTOR)

    def events(self) -> list[dict[str, Any]]:
        return list(self.page.evaluate("() => window.__dgEvents || []"))

    def clear_events(self) -> None:
        self.page.evaluate("() => { window.__dgEvents = []; }")

    def article(self, slug: str) -> Any:
        return self.page.locator(f'article[data-paywall-article="{slug}"]')

    def wait_state(self, slug: str, *states: str, timeout: float = 30.0) -> str:
        """Wait until the article's data-paywall-state is one of `states`; return it."""
        handle = self.article(slug).element_handle(timeout=timeout * 1000)
        self.page.wait_for_function(
            "([el, states]) => states.includes(el.getAttribute('data-paywall-state'))",
            arg=[handle, list(states)],
            timeout=timeout * 1000,
        )
        return str(self.article(slug).get_attribute("data-paywall-state"))


def ordinary_user_agent(version: str) -> str:
    """What this Chromium sends when it is not headless."""
    return (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{version} Safari/537.36"
    )


@pytest.fixture
def context_options() -> dict[str, Any]:
    """Extra options of the browser context (a module overrides it, e.g. with a time zone)."""
    return {}


@pytest.fixture
def browser(
    request: pytest.FixtureRequest, stack: Stack, context_options: dict[str, Any]
) -> Iterator[Browser]:
    """Chromium with a fresh context. Every child process is started before Playwright is."""
    if "watchtower" in request.fixturenames:
        request.getfixturevalue("watchtower")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (make system-deps)")
    sync_api = pytest.importorskip("playwright.sync_api")
    previous = os.environ.get(ASYNC_UNSAFE)
    playwright = sync_api.sync_playwright().start()
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        context = chromium.new_context(
            user_agent=ordinary_user_agent(chromium.version), **context_options
        )
        context.set_default_timeout(30_000)
        sync_api.expect.set_options(timeout=15_000)  # a busy CI machine is slow
        page = context.new_page()
        session = Browser(context=context, page=page)
        context.add_init_script(MONITOR_SCRIPT)
        context.on("console", session.record_console)
        page.on("pageerror", lambda error: session.page_errors.append(str(error)))
        # A lambda: Playwright cannot wrap a builtin method (list.append) as a handler.
        context.on("response", lambda response: session.responses.append(response))  # noqa: PLW0108
        yield session
        context.close()
        chromium.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = previous
