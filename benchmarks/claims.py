"""Claims benchmark: verification speed, and accepted claims per second through the HTTP API.

    .venv/bin/python benchmarks/claims.py            # full run, about 2 minutes
    .venv/bin/python benchmarks/claims.py --quick    # smoke run, under a minute

prints ONE JSON object on stdout; progress goes to stderr. See benchmarks/README.md.

- `verification`: `benchmarks.claims_verify.measure_verification()` (claims verified per
  second on one core, Ed25519 and secp256k1, against xrpl-py; target ratio >= 30).
- `end_to_end`: for each backend (the embedded SQLite default, then PostgreSQL): a fresh
  temp data dir, `manage.py migrate`, a sandbox ledger, real channels opened on it and
  registered, uvicorn with `--workers`, then two open-loop phases of
  `POST /api/v1/unlocks`, each with a fresh signed claim, from many readers (each reader's
  claims one after another on its own channel):
  - `baseline`: 20 claims/s, the answer time of an unloaded server;
  - `load`: `--rate` claims/s for `--seconds`, the target.
  Latency counts from the moment a request was *due*, so a server that falls behind cannot
  hide it by slowing the client down. The target is p99 < 20 ms with every claim accepted
  at 500 claims/s on PostgreSQL; `meets_target` says whether it was met.

The database `dropgate_bench` is dropped and recreated on each run: a fresh data dir means
fresh secrets, and keys sealed under an earlier run's key-encryption key could not be opened.

Internal subcommands (run in a child process with the backend's environment, because Django
settings are per process): `_setup` creates the publisher, articles, readers and channels;
`_check` counts what the database holds after the load.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

log = logging.getLogger("benchmarks.claims")

ORIGIN = "http://127.0.0.1:8001"
PRICE_DROPS = 1_000
CHANNEL_DROPS = 2_000_000  # below the default settlement threshold: no task is queued
CHANNELS_PER_FUNDER = 100
WARMUP_READERS = 8
WARMUP_UNLOCKS = 5
CLAIMS_PER_READER_PER_S = 5.0  # 300/min: each reader stays well under its 600/min throttle
HTTP_TIMEOUT_S = 15.0
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/dropgate_bench"
TARGET_RATE = 500
TARGET_P99_MS = 20.0
SANDBOX_CLOSE_INTERVAL = "0.5"
BASELINE_RATE = 20.0  # claims/s: light enough that requests do not queue
DEADLINE_GRACE_S = 5.0  # past a phase's end, requests still due are counted, not sent


# --- Child process: fixtures and checks (Django configured from the environment) -------------


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paywall.settings")
    import django

    django.setup()


def child_setup(args: argparse.Namespace) -> None:
    """Publisher, articles, readers with claim keys, and one real channel per reader."""
    _django()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )
    from django.db import connection
    from xrpl.clients import JsonRpcClient
    from xrpl.models.requests import AccountChannels, AccountInfo, SubmitOnly, Tx
    from xrpl.models.transactions import PaymentChannelCreate
    from xrpl.transaction import sign
    from xrpl.wallet import Wallet

    from channels_app.services.platform import faucet_fund, platform_bootstrap
    from paywall.services.articles import article_upsert
    from paywall.services.channels import reader_channel_register
    from paywall.services.publishers import publisher_create
    from paywall.services.readers import (
        reader_create,
        reader_registration_challenge,
        reader_registration_message,
    )
    from paywall.types import Price

    started = time.perf_counter()
    platform_address = str(platform_bootstrap()["address"])
    publisher = publisher_create(
        name="Bench Daily",
        allowed_origins=(ORIGIN,),
        payout_address="rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe",
    )
    slugs = []
    for index in range(args.articles):
        slug = f"story-{index:04d}"
        article_upsert(
            publisher=publisher,
            slug=slug,
            title=f"Story {index}",
            price=Price(drops=PRICE_DROPS),
            body_html=f"<p>Paid body {index}.</p>",
        )
        slugs.append(slug)

    keys = [Ed25519PrivateKey.generate() for _ in range(args.readers)]
    public_keys = [
        "ED" + key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex().upper()
        for key in keys
    ]

    def register(key: Ed25519PrivateKey, public_key: str) -> Any:
        # As the signer frame does: the claim key proves itself over a fresh challenge.
        challenge = reader_registration_challenge(publisher=publisher).challenge
        message = reader_registration_message(
            publisher_key=publisher.key, challenge=challenge, public_key=bytes.fromhex(public_key)
        )
        return reader_create(
            publisher=publisher,
            claim_public_key=public_key,
            challenge=challenge,
            proof_signature=key.sign(message).hex(),
        )

    issued = [register(key, pk) for key, pk in zip(keys, public_keys, strict=True)]
    log.info("setup: %d articles, %d readers", len(slugs), len(issued))

    # Funding wallets open the channels in batches: consecutive sequences, one submit each,
    # then a wait for the last one to validate (the sandbox closes every half second).
    client = JsonRpcClient(os.environ["XRPL_URL"])
    funders = [Wallet.create() for _ in range(math.ceil(args.readers / CHANNELS_PER_FUNDER))]
    per_funder = CHANNELS_PER_FUNDER * (CHANNEL_DROPS + 300_000) + 10_000_000
    for funder in funders:
        faucet_fund(address=funder.address, drops=per_funder)
    last_hashes = []
    for number, funder in enumerate(funders):
        info = client.request(AccountInfo(account=funder.address, ledger_index="current"))
        sequence = int(info.result["account_data"]["Sequence"])
        batch = public_keys[number * CHANNELS_PER_FUNDER : (number + 1) * CHANNELS_PER_FUNDER]
        for offset, public_key in enumerate(batch):
            signed = sign(
                PaymentChannelCreate(
                    account=funder.address,
                    destination=platform_address,
                    destination_tag=publisher.destination_tag,
                    amount=str(CHANNEL_DROPS),
                    settle_delay=3600,
                    public_key=public_key,
                    sequence=sequence + offset,
                    fee="12",
                ),
                funder,
            )
            result = client.request(SubmitOnly(tx_blob=signed.blob())).result
            if result.get("engine_result") != "tesSUCCESS":
                raise RuntimeError(f"PaymentChannelCreate failed: {result}")
            last = signed.get_hash()
        last_hashes.append(last)
    deadline = time.monotonic() + 30
    for tx_hash in last_hashes:
        while not client.request(Tx(transaction=tx_hash)).result.get("validated"):
            if time.monotonic() > deadline:
                raise RuntimeError("channel creations were not validated within 30 s")
            time.sleep(0.1)
    channel_of_key: dict[str, str] = {}
    for funder in funders:
        response = client.request(
            AccountChannels(account=funder.address, ledger_index="validated", limit=400)
        )
        for channel in response.result["channels"]:
            channel_of_key[str(channel["public_key_hex"]).upper()] = str(channel["channel_id"])
    channel_ids = [channel_of_key[public_key].upper() for public_key in public_keys]

    def register(pair: tuple[Any, str]) -> None:
        try:  # each registration reads the ledger twice: overlap those round trips
            reader_channel_register(reader=pair[0].reader, channel_id=pair[1])
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(register, zip(issued, channel_ids, strict=True)))
    readers = [
        {
            "token": reader.token,
            "channel_id": channel_id,
            "key": key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex(),
        }
        for key, reader, channel_id in zip(keys, issued, channel_ids, strict=True)
    ]
    log.info("setup: %d channels opened and registered", len(readers))
    Path(args.out).write_text(
        json.dumps(
            {
                "publisher": publisher.key,
                "articles": slugs,
                "readers": readers,
                "setup_s": round(time.perf_counter() - started, 1),
            }
        )
    )


def child_check(args: argparse.Namespace) -> None:
    """What the database holds: claims, unlocks, and whether channels and journal agree."""
    _django()
    from django.db.models import Sum

    from channels_app.models import Channel, Claim
    from channels_app.selectors import journal_balance
    from paywall.models import Unlock

    accepted = Channel.objects.aggregate(s=Sum("accepted_drops"))["s"] or 0
    increments = Claim.objects.aggregate(s=Sum("increment_drops"))["s"] or 0
    receivable = journal_balance("claims_receivable")
    Path(args.out).write_text(
        json.dumps(
            {
                "claims": Claim.objects.count(),
                "unlocks": Unlock.objects.count(),
                "accepted_drops": accepted,
                "consistent": accepted == increments == receivable,
            }
        )
    )


# --- Processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(
    url: str, process: subprocess.Popen[bytes], *, timeout: float, body: bytes | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[3:5]} exited with {process.returncode}")
        try:
            request = urllib.request.Request(
                url, data=body, headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def run_child(args: list[str], env: dict[str, str], log_path: Path, timeout: float) -> float:
    started = time.perf_counter()
    with log_path.open("ab") as out:
        done = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    if done.returncode != 0:
        tail = log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}):\n{tail}")
    return time.perf_counter() - started


def start(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def worker_pids(pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    # uvicorn's supervisor also starts multiprocessing's resource tracker: not a worker.
    pids = []
    for child in children:
        with contextlib.suppress(OSError):
            if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes():
                pids.append(int(child))
    return pids


def py_spy_binary() -> str:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else "py-spy"


def postgres_prepare(url: str) -> str | None:
    """Drop and recreate the benchmark database; the reason it cannot be used, or None."""
    try:
        import psycopg
        from psycopg import sql
    except ImportError:
        return "psycopg is not installed"
    base, _, name = url.rpartition("/")
    try:
        with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=3) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        return f"PostgreSQL at {base}/ unusable: {str(exc).strip().splitlines()[0]}"
    return None


# --- Load ------------------------------------------------------------------------------------


@dataclass
class Sample:
    due: float
    sent: float | None  # None: never sent, the phase's deadline had passed
    done: float | None
    outcome: str  # "201", "<status> <error code>", an exception name, or "not_sent_deadline"


@dataclass
class Reader:
    token: str
    channel_id: str
    signatures: dict[int, str]  # cumulative amount -> signature hex
    articles: list[str]
    accepted: int = 0
    next_article: int = 0


def presign(setup: dict[str, Any], per_reader: int) -> list[Reader]:
    """Every claim a reader may send, signed up front so the client spends no CPU on it."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from channels_app.signatures import claim_message

    readers = []
    for index, item in enumerate(setup["readers"]):
        key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(item["key"]))
        channel = bytes.fromhex(item["channel_id"])
        signatures = {
            n * PRICE_DROPS: key.sign(claim_message(channel, n * PRICE_DROPS)).hex().upper()
            for n in range(1, per_reader + 1)
        }
        articles = setup["articles"][index % len(setup["articles"]) :] + setup["articles"]
        readers.append(Reader(item["token"], item["channel_id"], signatures, articles[:per_reader]))
    return readers


async def _unlock(client: Any, base: str, reader: Reader) -> str:
    """One unlock with the reader's next claim; returns the outcome label."""
    if reader.next_article >= len(reader.articles):
        return "client_out_of_articles"
    slug = reader.articles[reader.next_article]
    reader.next_article += 1
    amount = reader.accepted + PRICE_DROPS
    body = {
        "article": slug,
        "claim": {
            "channel_id": reader.channel_id,
            "amount_drops": str(amount),
            "signature": reader.signatures[amount],
        },
    }
    headers = {"Origin": ORIGIN, "Authorization": f"Reader {reader.token}"}
    try:
        response = await client.post(f"{base}/api/v1/unlocks", json=body, headers=headers)
    except Exception as exc:  # any transport failure is an outcome to count
        await _resync(client, base, reader, headers)
        return type(exc).__name__
    if response.status_code == 201:
        reader.accepted = amount
        return "201"
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = "?"
    await _resync(client, base, reader, headers)
    return f"{response.status_code} {code}"


async def _resync(client: Any, base: str, reader: Reader, headers: dict[str, str]) -> None:
    """After a failure the claim may or may not have been taken: ask the server."""
    with contextlib.suppress(Exception):
        response = await client.get(f"{base}/api/v1/channels/{reader.channel_id}", headers=headers)
        if response.status_code == 200:
            reader.accepted = int(response.json()["accepted_drops"])


async def _reader_loop(
    client: Any,
    base: str,
    reader: Reader,
    due_times: list[float],
    deadline: float,
    slots: asyncio.Semaphore,
) -> list[Sample]:
    # perf_counter, not loop.time(): uvloop's loop clock only has millisecond resolution.
    samples = []
    for due in due_times:
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent = time.perf_counter()
        if sent > deadline:  # the server fell too far behind: stop offering, count the rest
            samples.append(Sample(due, None, None, "not_sent_deadline"))
            continue
        async with slots:  # FIFO and cheap; httpx's own pool queue costs CPU per waiter
            outcome = await _unlock(client, base, reader)
        samples.append(Sample(due, sent, time.perf_counter(), outcome))
    return samples


async def drive(
    base: str,
    readers: list[Reader],
    *,
    rate: float,
    seconds: float,
    grace: float,
    connections: int,
) -> tuple[float, list[Sample]]:
    """Open loop: request i is due at t0 + i/rate, on reader i mod len(readers).

    A reader sends its requests one after another (claims on a channel are sequential); one
    due while the reader still waits for its previous answer goes out late, and its latency
    counts from when it was due. Nothing is sent after t0 + seconds + grace.

    At most `connections` requests are open at once, as behind a proxy with an upstream
    connection pool: each one in flight holds a database connection in the web tier.
    """
    import httpx

    total = int(rate * seconds)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    timeout = httpx.Timeout(HTTP_TIMEOUT_S, pool=None)  # waiting for a connection is latency
    slots = asyncio.Semaphore(connections)
    async with httpx.AsyncClient(limits=limits, timeout=timeout) as client:
        t0 = time.perf_counter() + 0.2
        schedule: list[list[float]] = [[] for _ in readers]
        for i in range(total):
            schedule[i % len(readers)].append(t0 + i / rate)
        per_reader = await asyncio.gather(
            *(
                _reader_loop(client, base, r, times, t0 + seconds + grace, slots)
                for r, times in zip(readers, schedule, strict=True)
            )
        )
    return t0, [sample for samples in per_reader for sample in samples]


async def warm_up(base: str, readers: list[Reader]) -> None:
    """Each worker process pays a few unlocks first: imports, caches, connections."""
    import httpx

    async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as client:

        async def one(reader: Reader) -> None:
            for _ in range(WARMUP_UNLOCKS):
                await _unlock(client, base, reader)

        await asyncio.gather(*(one(r) for r in readers))


def run_async(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] * 1000, 2)

    return {
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "max": round(ordered[-1] * 1000, 2),
        "mean": round(statistics.fmean(ordered) * 1000, 2),
    }


def summarise(samples: list[Sample], *, t0: float, rate: float) -> dict[str, Any]:
    sent = [s for s in samples if s.sent is not None and s.done is not None]
    accepted = [s for s in sent if s.outcome == "201"]
    span = max((s.done for s in sent if s.done is not None), default=t0) - t0
    accepted_per_s = len(accepted) / span if span > 0 else 0.0
    return {
        "offered": len(samples),
        "offered_per_s": rate,
        "sent": len(sent),
        "accepted": len(accepted),
        "accepted_per_s": round(accepted_per_s, 1),
        "span_s": round(span, 2),
        # From when each request was due: what a reader waits. Over sent requests only.
        "latency_ms": percentiles([s.done - s.due for s in sent]),  # type: ignore[operator]
        # From when the client started it (waiting for a free connection included).
        "service_ms": percentiles([s.done - s.sent for s in sent]),  # type: ignore[operator]
        "responses": dict(Counter(s.outcome for s in samples).most_common()),
    }


# --- One backend -----------------------------------------------------------------------------


def _phases(opts: argparse.Namespace) -> list[tuple[str, float, float]]:
    """(name, rate, seconds): a light load first, for the unloaded answer time, then the target."""
    light = min(BASELINE_RATE, opts.rate)
    return [("baseline", light, 2.0 if opts.quick else 3.0), ("load", opts.rate, opts.seconds)]


def bench_backend(name: str, database_url: str | None, opts: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    if database_url is not None:
        reason = postgres_prepare(database_url)
        if reason:
            log.warning("%s: skipped: %s", name, reason)
            return {"skipped": reason}
    phases = _phases(opts)
    readers_n = max(20, math.ceil(opts.rate / CLAIMS_PER_READER_PER_S))
    per_reader = sum(math.ceil(rate * seconds / readers_n) for _, rate, seconds in phases) + 2
    articles_n = per_reader + WARMUP_UNLOCKS + 2
    result: dict[str, Any] = {
        "database": "SQLite file in a temp data dir (WAL)" if database_url is None else database_url
    }
    with tempfile.TemporaryDirectory(prefix=f"dropgate-bench-{name}-") as tmp:
        data_dir = Path(tmp)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(
                ("DROPGATE_", "XRPL_", "DATABASE_URL", "DJANGO_", "CELERY_", "REDIS_")
            )
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "paywall.settings",
                "DROPGATE_DATA_DIR": str(data_dir),
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(
                    p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
                ),
            }
        )
        if database_url is not None:
            env["DATABASE_URL"] = database_url
        logs = Path(opts.logs) / name if opts.logs else data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        sandbox = server = None
        try:
            log.info("%s: migrate", name)
            timings = {
                "migrate": run_child(
                    ["manage.py", "migrate", "--noinput"], env, logs / "migrate.log", 180
                )
            }

            t = time.perf_counter()
            sandbox_port = free_port()
            env["XRPL_URL"] = f"http://127.0.0.1:{sandbox_port}/"
            env["XRPL_LEDGER_KIND"] = "sandbox"
            sandbox = start(
                [
                    "manage.py",
                    "xrpl_sandbox",
                    "--port",
                    str(sandbox_port),
                    "--data-dir",
                    str(data_dir / "sandbox"),
                    "--close-interval",
                    SANDBOX_CLOSE_INTERVAL,
                ],
                env,
                logs / "sandbox.log",
            )
            wait_http(
                env["XRPL_URL"],
                sandbox,
                timeout=60,
                body=b'{"method": "server_info", "params": [{}]}',
            )
            timings["sandbox"] = time.perf_counter() - t

            log.info("%s: setup: %d readers with channels on the sandbox", name, readers_n)
            setup_file = data_dir / "setup.json"
            timings["fixtures"] = run_child(
                [
                    __file__,
                    "_setup",
                    "--out",
                    str(setup_file),
                    "--readers",
                    str(readers_n + WARMUP_READERS),
                    "--articles",
                    str(articles_n),
                ],
                env,
                logs / "setup.log",
                180,
            )
            setup = json.loads(setup_file.read_text())
            all_readers = presign(setup, articles_n)
            warm, readers = all_readers[:WARMUP_READERS], all_readers[WARMUP_READERS:]

            t = time.perf_counter()
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            server = start(
                [
                    "-m",
                    "uvicorn",
                    "paywall.asgi:application",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    str(opts.workers),
                    "--lifespan",
                    "off",
                    "--no-access-log",
                    "--log-level",
                    "warning",
                ],
                env,
                logs / "web.log",
            )
            wait_http(f"{base}/healthz", server, timeout=60)
            run_async(warm_up(base, warm))
            timings["server"] = time.perf_counter() - t
            workers = worker_pids(server.pid) if opts.workers > 1 else [server.pid]
            result["workers"] = len(workers)
            result["readers"] = len(readers)

            acknowledged = WARMUP_READERS * WARMUP_UNLOCKS
            for phase, rate, seconds in phases:
                profilers = []
                if opts.py_spy and phase == "load":
                    profilers = [
                        subprocess.Popen(
                            [
                                py_spy_binary(),
                                "record",
                                "--pid",
                                str(pid),
                                "--format",
                                "raw",
                                "--rate",
                                "200",
                                "--nonblocking",
                                "--output",
                                f"{opts.py_spy}-{name}-{pid}.txt",
                                "--duration",
                                str(int(seconds) + 1),
                            ],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL,
                        )
                        for pid in workers
                    ]
                log.info("%s: %s: %s claims/s for %s s", name, phase, rate, seconds)
                load_avg = os.getloadavg()[0]
                cpu_before = time.process_time()
                t0, samples = run_async(
                    drive(
                        base,
                        readers,
                        rate=rate,
                        seconds=seconds,
                        grace=DEADLINE_GRACE_S,
                        connections=opts.connections,
                    )
                )
                for profiler in profilers:
                    profiler.wait(timeout=30)
                summary = summarise(samples, t0=t0, rate=rate)
                if summary["span_s"] > 0:  # the load generator's own share of one core
                    summary["client_cpu_share"] = round(
                        (time.process_time() - cpu_before) / summary["span_s"], 2
                    )
                summary["load_avg_1m_before"] = round(load_avg, 2)
                result[phase] = summary
                acknowledged += summary["accepted"]
                log.info(
                    "%s: %s: %s/s accepted, latency %s ms, %s",
                    name,
                    phase,
                    summary["accepted_per_s"],
                    summary["latency_ms"],
                    summary["responses"],
                )
            stop(server)
            server = None

            check_file = data_dir / "check.json"
            run_child([__file__, "_check", "--out", str(check_file)], env, logs / "check.log", 60)
            check = json.loads(check_file.read_text())
            result["db_check"] = {
                **check,
                "acknowledged": acknowledged,
                "matches_acknowledged": check["claims"] == acknowledged,
            }
        except Exception as exc:
            log.error("%s failed: %s", name, exc)
            return {**result, "error": str(exc)[-2000:]}
        finally:
            stop(server)
            stop(sandbox)

    load = result["load"]
    result["timings_s"] = {key: round(value, 1) for key, value in timings.items()}
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    result["meets_target"] = bool(
        opts.rate >= TARGET_RATE
        and load["latency_ms"]
        and load["latency_ms"]["p99"] < TARGET_P99_MS
        and load["accepted_per_s"] >= 0.95 * TARGET_RATE
        and load["accepted"] == load["offered"]
    )
    return result


# --- Main ------------------------------------------------------------------------------------


def verification(quick: bool) -> dict[str, Any]:
    """Measured on one core, as its numbers claim, then the affinity is put back."""
    from benchmarks.claims_verify import measure_verification

    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if affinity:
        os.sched_setaffinity(0, {min(affinity)})
    try:
        if quick:
            return measure_verification(dropgate_seconds=0.3, xrpl_py_seconds=0.5, fresh_keys=200)
        return measure_verification()
    finally:
        if affinity:
            os.sched_setaffinity(0, affinity)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    for command in ("_setup", "_check"):
        child = sub.add_parser(command)
        child.add_argument("--out", required=True)
        child.add_argument("--readers", type=int, default=0)
        child.add_argument("--articles", type=int, default=0)
    parser.add_argument(
        "--rate", type=float, default=TARGET_RATE, help="target claims/s (open loop)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration per backend")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn --workers")
    parser.add_argument(
        "--connections",
        type=int,
        default=32,
        help="client connections open at once (each in-flight request holds a DB connection)",
    )
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--backends", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--skip-verification", action="store_true")
    parser.add_argument(
        "--logs", metavar="DIR", help="keep the server, sandbox and setup logs here"
    )
    parser.add_argument(
        "--py-spy", metavar="PREFIX", help="record raw py-spy profiles of the workers"
    )
    opts = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request costs the client

    if opts.command == "_setup":
        child_setup(opts)
        return 0
    if opts.command == "_check":
        child_check(opts)
        return 0

    if opts.quick:
        opts.seconds = min(opts.seconds, 3.0)
        opts.rate = min(opts.rate, 100.0)
    started = time.perf_counter()
    out: dict[str, Any] = {
        "benchmark": "claims",
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
        },
    }
    if not opts.skip_verification:
        log.info("verification (one core)")
        out["verification"] = verification(opts.quick)
    backends = {"sqlite": None, "postgresql": opts.postgres_url}
    end_to_end: dict[str, Any] = {
        "config": {
            "rate_per_s": opts.rate,
            "seconds": opts.seconds,
            "workers_requested": opts.workers,
            "client_connections": opts.connections,
            "price_drops": PRICE_DROPS,
            "quick": opts.quick,
            "server": "uvicorn (uvloop, httptools), --no-access-log",
            "client": "asyncio + httpx, one process on the same machine",
        },
        "target": {"backend": "postgresql", "rate_per_s": TARGET_RATE, "p99_ms": TARGET_P99_MS},
    }
    names = [b.strip() for b in opts.backends.split(",") if b.strip()]
    if unknown := set(names) - set(backends):
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    for name in names:
        end_to_end[name] = bench_backend(name, backends[name], opts)
    out["end_to_end"] = end_to_end
    postgres = end_to_end.get("postgresql", {})
    out["meets_target"] = {
        "verification": out.get("verification", {}).get("meets_target"),
        "end_to_end_postgresql": postgres.get("meets_target", False),
    }
    out["elapsed_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
