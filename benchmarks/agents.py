#!/usr/bin/env python
"""Agents over HTTP 402, end to end on the sandbox: both schemes, paid requests per second,
p50/p99 latency and ledger transactions per 1,000 paid requests. Prints one JSON object.

The embedded default: a fresh temp data dir with SQLite, `manage.py migrate`, the sandbox
ledger (`--close-interval`, default 1.0 s as `xrpl_sandbox`'s own default), uvicorn with one
worker. The agent is `clients/python`'s AgentClient over real HTTP, one request after
another (an agent's claims on one channel are sequential by nature):

- `exact`: every request is a 402, then a presigned Payment, submitted and awaited until
  validated: its latency is bounded below by the ledger's close interval;
- `paychan`: one channel opened (counted), then one claim per request.

Ledger transactions are counted on the ledger itself: the agent's and the platform's
account Sequence before and after each phase.

Targets (issue 13): paychan ≤ 1 ledger tx per 1,000 requests, p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "clients" / "python")]

SETUP = """
from channels_app.services.platform import platform_bootstrap
from paywall.services.articles import article_upsert
from paywall.services.publishers import publisher_create
from paywall.types import Price
import json, sys
address = platform_bootstrap()["address"]
publisher = publisher_create(name="Bench", allowed_origins=["http://127.0.0.1:1"],
    payout_address="", fee_bps=1000, display_currency="USD")
for i in range(%(articles)d):
    article_upsert(publisher=publisher, slug=f"a{i}", title=f"Article {i}",
        price=Price(drops=%(price)d), body_html="<p>" + "x" * 2000 + "</p>")
print(json.dumps({"platform": address, "publisher": publisher.key}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rpc(url: str, method: str, **params: Any) -> dict[str, Any]:
    body = json.dumps({"method": method, "params": [params]}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read())["result"])


def wait_for(url: str, *, post: bool, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if post:
                rpc(url, "server_info")
            else:
                urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def sequence(url: str, address: str) -> int:
    result = rpc(url, "account_info", account=address, ledger_index="current")
    return int(result["account_data"]["Sequence"]) if "account_data" in result else 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def phase(agent: Any, urls: list[str], xrpl: str, addresses: list[str]) -> dict[str, Any]:
    before = sum(sequence(xrpl, a) for a in addresses)
    latencies, paid = [], []
    started = time.perf_counter()
    for url in urls:
        t = time.perf_counter()
        response = agent.get(url)
        latencies.append((time.perf_counter() - t) * 1000)
        paid.append(agent.last_paid_request_seconds * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
    elapsed = time.perf_counter() - started
    time.sleep(1.5)  # let the last ledger close
    txs = sum(sequence(xrpl, a) for a in addresses) - before
    return {
        "requests": len(urls),
        "paid_requests_per_second": round(len(urls) / elapsed, 2),
        "paid_request_p50_ms": round(statistics.median(paid), 2),
        "paid_request_p99_ms": round(percentile(paid, 0.99), 2),
        "round_trip_p50_ms": round(statistics.median(latencies), 2),
        "round_trip_p99_ms": round(percentile(latencies, 0.99), 2),
        "ledger_tx": txs,
        "ledger_tx_per_1000_requests": round(txs * 1000 / len(urls), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--exact", type=int, default=20, help="exact-scheme requests")
    parser.add_argument("--paychan", type=int, default=1000, help="paychan-scheme requests")
    parser.add_argument("--price", type=int, default=1000, help="article price, drops")
    parser.add_argument("--close-interval", default="1.0", help="sandbox ledger close interval")
    opts = parser.parse_args()

    from dropgate_agent import AgentClient
    from xrpl.wallet import Wallet

    from tests.fixtures.sandbox import fund_account

    with tempfile.TemporaryDirectory(prefix="dropgate-agents-bench-") as tmp:
        data = Path(tmp)
        sandbox_port, web_port = free_port(), free_port()
        xrpl = f"http://127.0.0.1:{sandbox_port}/"
        env = {
            **os.environ,
            "DROPGATE_DATA_DIR": str(data),
            "DROPGATE_SECRETS_DIR": str(data / "secrets"),
            "XRPL_URL": xrpl,
            "XRPL_LEDGER_KIND": "sandbox",
            "DROPGATE_THROTTLE_AGENT": "1000000/min",
            "DROPGATE_VELOCITY_AGENT_READER_PER_MINUTE": "1000000",
            "DROPGATE_VELOCITY_AGENT_READER_PER_HOUR": "1000000",
            "DROPGATE_VELOCITY_AGENT_CHANNEL_PER_MINUTE": "1000000",
            "DROPGATE_VELOCITY_AGENT_CHANNEL_PER_HOUR": "1000000",
            "DROPGATE_VELOCITY_PUBLISHER_PER_MINUTE": "1000000",
            "DROPGATE_VELOCITY_PUBLISHER_PER_HOUR": "1000000",
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
            env.pop(name, None)
        py = sys.executable
        log = (data / "log.txt").open("ab")
        subprocess.run(
            [py, "manage.py", "migrate", "--noinput"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
            check=True,
        )
        sandbox = subprocess.Popen(
            [
                py,
                "manage.py",
                "xrpl_sandbox",
                "--port",
                str(sandbox_port),
                "--data-dir",
                str(data / "sandbox"),
                "--close-interval",
                opts.close_interval,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        web = None
        try:
            wait_for(xrpl, post=True)
            articles = max(opts.exact, opts.paychan)
            setup = subprocess.run(
                [
                    py,
                    "manage.py",
                    "shell",
                    "-c",
                    SETUP % {"articles": articles, "price": opts.price},
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            fixture = json.loads(setup.stdout.strip().splitlines()[-1])
            web = subprocess.Popen(
                [
                    py,
                    "-m",
                    "uvicorn",
                    "paywall.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(web_port),
                    "--workers",
                    "1",
                    "--lifespan",
                    "off",
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
            )
            base = f"http://127.0.0.1:{web_port}"
            wait_for(f"{base}/healthz", post=False)
            wallet = Wallet.create()
            fund_account(xrpl, wallet.address, 2_000_000_000)
            total = opts.price * (opts.exact + opts.paychan) + 10_000_000
            agent = AgentClient(wallet, rpc_url=xrpl, spend_limit_drops=total, scheme="exact")
            urls = [
                f"{base}/api/v1/agents/{fixture['publisher']}/articles/a{i}"
                for i in range(articles)
            ]
            accounts = [wallet.address, fixture["platform"]]
            print("warm-up", file=sys.stderr)
            phase(agent, urls[:2], xrpl, accounts)
            print(f"exact: {opts.exact} requests", file=sys.stderr)
            exact = phase(agent, urls[2 : 2 + opts.exact], xrpl, accounts)
            paychan_agent = AgentClient(
                wallet, rpc_url=xrpl, spend_limit_drops=total, scheme="paychan"
            )
            before = sum(sequence(xrpl, a) for a in accounts)
            paychan_agent.open_channel(
                opts.price * opts.paychan + 1_000_000, destination=fixture["platform"]
            )
            opened = sum(sequence(xrpl, a) for a in accounts) - before
            print(f"paychan: {opts.paychan} requests", file=sys.stderr)
            paychan = phase(paychan_agent, urls[: opts.paychan], xrpl, accounts)
            paychan["ledger_tx"] += opened
            paychan["ledger_tx_per_1000_requests"] = round(
                paychan["ledger_tx"] * 1000 / opts.paychan, 3
            )
            paychan["ledger_tx_includes_channel_open"] = opened
        finally:
            for process in (web, sandbox):
                if process is not None:
                    process.terminate()
                    process.wait(timeout=10)
    targets = {
        "paychan_ledger_tx_per_1000_max": 1,
        "paychan_p99_ms_max": 50,
    }
    print(
        json.dumps(
            {
                "harness": "agents",
                "setup": {
                    "database": "sqlite (embedded default)",
                    "web": "uvicorn, 1 worker",
                    "sandbox_close_interval_s": float(opts.close_interval),
                    "price_drops": opts.price,
                    "client": "clients/python AgentClient, sequential",
                    "paid_request": "the request that carries PAYMENT-SIGNATURE, until its 200",
                    "round_trip": "the 402, signing, and the paid request",
                },
                "exact": exact,
                "paychan": paychan,
                "targets": targets,
                "met": {
                    "paychan_ledger_tx": paychan["ledger_tx_per_1000_requests"] <= 1,
                    "paychan_p99": paychan["paid_request_p99_ms"] < 50,
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
