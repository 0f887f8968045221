"""Faults under load: unlocks and telemetry at a steady rate while processes die and services restart.

    .venv/bin/python benchmarks/faults.py            # full run (30 s ledger outage), ~8-12 min
    .venv/bin/python benchmarks/faults.py --quick    # CI run, ~4-7 min on a loaded 2-vCPU box

prints ONE JSON object on stdout; progress goes to stderr. Exit 0 only when `ok` is true.
See benchmarks/README.md ("benchmarks/faults.py").

The harness starts everything it needs and restarts it, so it never touches the machine's
shared services: its OWN PostgreSQL (initdb into a temp dir, its own port), its OWN
redis-server (cache, channel layer and Celery broker), the project's sandbox ledger, the web
process (uvicorn), a Celery worker and beat. Readers take the real reader path over HTTP:
GET /api/v1/readers/challenge, POST /api/v1/readers with the claim key's proof, a channel
opened on the sandbox ledger and registered (POST /api/v1/channels), a telemetry websocket
replaying a human mouse trace, then signed claims through POST /api/v1/unlocks.

While the load runs, the faults come one after another, each followed by a quiet phase:
SIGKILL of the web process, of the worker, of beat (each restarted at once), a restart of
Redis, a restart of PostgreSQL, and the sandbox ledger stopped for `--ledger-outage` seconds.

After the load: the product's own worker drains and settles every channel, then the harness
checks, and `ok` is true only if all hold:
- `claims.lost == 0`: every claim answered 2xx is in the database (its Claim and its Unlock)
  and redeemed on the ledger (the channel's ledger Balance covers it);
- `settlements.double == 0`: no channel redeemed the same amount twice, and no channel's
  journal counts more redeemed than its ledger Balance;
- `reconcile.journal.ok` and `reconcile.payouts.ok`: `manage.py reconcile_journal` and
  `manage.py payouts_reconcile` exit 0;
- `errors.undocumented` is empty: every HTTP error was a 4xx or 503 that the operation's
  OpenAPI schema documents, in the JSON error shape; every websocket close was a documented
  close code; (refused connections while a process is down are counted apart, in
  `errors.transport`);
- `settlements.stuck == 0`: nothing is left in flight after the drain;
- every fault recovered (`faults[*].recovered`), with its `recover_s`.
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
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

log = logging.getLogger("benchmarks.faults")

ORIGIN = "https://news.example"  # the publisher's site: readers' requests come from its pages
PRICE_DROPS = 1_000
CHANNEL_DROPS = 2_000_000
SETTLEMENT_THRESHOLD_DROPS = 10_000  # every tenth claim of a channel queues a settlement
HTTP_TIMEOUT_S = 10.0
GENESIS_SEED = "snoPBrXtMeMyMHUVTgbuqAfg1SUTb"  # the sandbox's standalone genesis account
TELEMETRY_INTERVAL_S = 1.0
# Websocket close codes the protocol documents (docs/sdk-protocol.md, "Telemetry"), and the
# ones a socket sees when its server goes away or restarts.
DOCUMENTED_CLOSE_CODES = {1000, 1001, 1012, 1013, 4400, 4403, 4413, 4429}
TRANSPORT_CLOSE_CODES = {1006}


# --- Child process: fixtures and checks (Django configured from the environment) -------------


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paywall.settings")
    import django

    django.setup()


def child_setup(args: argparse.Namespace) -> None:
    """The platform account, one publisher and its articles (operator steps, not reader ones)."""
    _django()
    from channels_app.services.platform import platform_bootstrap
    from paywall.services.articles import article_upsert
    from paywall.services.publishers import publisher_create
    from paywall.types import Price

    platform_address = str(platform_bootstrap()["address"])
    publisher = publisher_create(
        name="Faults Daily",
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
    Path(args.out).write_text(
        json.dumps(
            {
                "platform": platform_address,
                "publisher": publisher.key,
                "destination_tag": publisher.destination_tag,
                "articles": slugs,
            }
        )
    )


def child_settle_all(args: argparse.Namespace) -> None:
    """Queue the product's own settlement task for every channel with unredeemed claims."""
    _django()
    from django.db.models import F

    from channels_app.models import Channel
    from channels_app.tasks import settle_channel

    pks = list(
        Channel.objects.filter(accepted_drops__gt=F("ledger_balance_drops")).values_list(
            "pk", flat=True
        )
    )
    for pk in pks:
        settle_channel.delay(pk, "harness_final")
    Path(args.out).write_text(json.dumps({"queued": len(pks)}))


def child_check(args: argparse.Namespace) -> None:
    """Acknowledged claims against the database and the ledger; settlements; the journal."""
    _django()
    from django.db.models import Count

    from channels_app import ledger
    from channels_app.models import IN_FLIGHT, Channel, Claim, Settlement, SettlementStatus
    from channels_app.services.settlement import journal_redeemed_drops
    from paywall.models import Unlock

    acks = json.loads(Path(args.acks).read_text())
    lost_db: list[dict[str, Any]] = []
    lost_unlock: list[dict[str, Any]] = []
    highest_ack: dict[str, int] = {}
    for ack in acks:
        channel_id = ack["channel_id"]
        highest_ack[channel_id] = max(highest_ack.get(channel_id, 0), ack["amount_drops"])
        if not Claim.objects.filter(
            channel__channel_id=channel_id, amount_drops=ack["amount_drops"]
        ).exists():
            lost_db.append(ack)
        if not Unlock.objects.filter(
            reader__public_id=ack["reader_id"], article__slug=ack["article"]
        ).exists():
            lost_unlock.append(ack)
    not_redeemed = []
    double_journal = []
    for channel in Channel.objects.order_by("pk"):
        entry = ledger.channel_entry(channel.channel_id)
        balance = entry.balance_drops if entry is not None else channel.ledger_balance_drops
        if balance < highest_ack.get(channel.channel_id, 0):
            not_redeemed.append(
                {
                    "channel_id": channel.channel_id,
                    "acknowledged": highest_ack[channel.channel_id],
                    "ledger_balance": balance,
                }
            )
        redeemed = journal_redeemed_drops(channel.channel_id)
        if redeemed > balance:
            double_journal.append(
                {"channel_id": channel.channel_id, "journal": redeemed, "ledger": balance}
            )
    duplicates = list(
        Settlement.objects.filter(status=SettlementStatus.VALIDATED, balance_drops__gt=0)
        .values("channel__channel_id", "balance_drops", "close")
        .annotate(n=Count("pk"))
        .filter(n__gt=1, close=False)
    )
    by_status = dict(
        Settlement.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    Path(args.out).write_text(
        json.dumps(
            {
                "acknowledged": len(acks),
                "lost_in_db": lost_db[:20],
                "lost_in_db_count": len(lost_db),
                "unlock_missing": lost_unlock[:20],
                "unlock_missing_count": len(lost_unlock),
                "not_redeemed": not_redeemed[:20],
                "not_redeemed_count": len(not_redeemed),
                "double_settlements": len(duplicates) + len(double_journal),
                "double_examples": ([*duplicates, *double_journal])[:20],
                "claims_in_db": Claim.objects.count(),
                "unlocks_in_db": Unlock.objects.count(),
                "channels": Channel.objects.count(),
                "settlements": by_status,
                "stuck": Settlement.objects.filter(status__in=IN_FLIGHT).count(),
            },
            default=str,
        )
    )


# --- Services and processes --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(argv: list[str], scratch: Path) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` user then.

    initdb writes to /dev/null, which some containers leave writable by root only; then the
    command runs in a mount namespace of its own where /dev/null is a scratch file (the
    machine's /dev/null is left as it is).
    """
    if os.geteuid() != 0:
        return argv
    as_postgres = ["runuser", "-u", "postgres", "--", *argv]
    if os.stat("/dev/null").st_mode & 0o002:
        return as_postgres
    sink = scratch / "devnull"
    sink.touch()
    sink.chmod(0o666)
    script = 'mount --bind "$0" /dev/null && exec "$@"'
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        str(sink),
        *as_postgres,
    ]


def _pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    on_path = shutil.which(name)
    if on_path is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed")
    return on_path


class PrivatePostgres:
    """A PostgreSQL cluster of the harness's own: initdb in a temp dir, its own port."""

    def __init__(self, base: Path) -> None:
        self.dir = base / "pg"
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/dropgate"

    def _run(self, argv: list[str], timeout: float = 120) -> None:
        done = subprocess.run(
            _as_postgres(argv, self.dir),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {done.stdout[-1500:]} {done.stderr[-1500:]}")

    def init(self) -> None:
        self.dir.mkdir(parents=True)
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        self._run(
            [
                _pg_bin("initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
            ]
        )
        self.start()
        self._run(
            [
                _pg_bin("createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "dropgate",
            ]
        )

    def _options(self) -> str:
        return f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c max_connections=100"

    def start(self) -> None:
        self._run(
            [
                _pg_bin("pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                self._options(),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )

    def restart(self, down: float) -> None:
        """Stop (fast: sessions are cut), stay down `down` seconds, start again."""
        self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])
        time.sleep(down)
        self.start()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.url, connect_timeout=3, autocommit=True) as conn:
            return list(conn.execute(sql, params).fetchall())


class Process:
    """One child process in its own session (SIGKILL takes its whole group)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = logs / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> None:
        with self.log_path.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def wait_for(check: Any, *, timeout: float, what: str, interval: float = 0.1) -> float:
    """Poll `check` until it is true; the seconds it took. Raises after `timeout`."""
    started = time.monotonic()
    while True:
        with contextlib.suppress(Exception):
            if check():
                return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{what} not ready within {timeout} s")
        time.sleep(interval)


def http_ok(url: str, body: bytes | None = None) -> bool:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=2) as response:
        return bool(response.status == 200)


def run_child(args: list[str], env: dict[str, str], log_path: Path, timeout: float) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    with log_path.open("a") as out:
        out.write(f"$ {' '.join(args)}\n{done.stdout}\n{done.stderr}\n")
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr[-2000:]}"
        )
    return done.stdout


# --- The readers -------------------------------------------------------------------------------


@dataclass
class Reader:
    index: int
    key: Any  # Ed25519PrivateKey
    public_key: str
    reader_id: str = ""
    token: str = ""
    channel_id: str = ""
    accepted: int = 0  # the channel's accepted amount as this reader last learnt it
    next_article: int = 0
    telemetry_session: str = ""

    def sign(self, amount: int) -> str:
        """A claim as the SDK signs it: `CLM\\0` ‖ channel id ‖ amount (uint64, big-endian)."""
        message = b"CLM\x00" + bytes.fromhex(self.channel_id) + amount.to_bytes(8, "big")
        return str(self.key.sign(message).hex().upper())


@dataclass
class Observations:
    """Everything the clients saw, with monotonic times."""

    acks: list[dict[str, Any]] = field(default_factory=list)
    ack_times: list[float] = field(default_factory=list)
    responses: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # "<op> <status> <code>"
    undocumented: Counter[str] = field(default_factory=Counter)
    transport: Counter[str] = field(default_factory=Counter)
    telemetry_acks: list[float] = field(default_factory=list)
    telemetry_closes: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)


class Schema:
    """Which statuses each operation documents, from the service's own /api/schema/."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.paths = document.get("paths", {})

    def documented(self, path: str, method: str, status: int) -> bool:
        operation = self.paths.get(path, {}).get(method.lower(), {})
        return str(status) in operation.get("responses", {})


def classify(
    obs: Observations, schema: Schema, op: str, path: str, method: str, response: Any
) -> str:
    """Count one answer; an error is documented when the operation's schema lists its status,
    it is a 4xx or a 503, and its body has the JSON error shape with a code."""
    status = response.status_code
    if status < 400:
        obs.responses[f"{op} {status}"] += 1
        return str(status)
    try:
        code = str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        code = "?"
    label = f"{op} {status} {code}"
    obs.errors[label] += 1
    documented = (
        (400 <= status < 500 or status == 503)
        and code != "?"
        and schema.documented(path, method, status)
    )
    if not documented:
        obs.undocumented[label] += 1
        obs.examples.setdefault(label, response.text[:300])
    return label


async def register_reader(
    client: Any, base: str, setup: dict[str, Any], reader: Reader, schema: Schema, obs: Observations
) -> None:
    """The signer frame's registration: a challenge, then the claim key's proof over it."""
    headers = {"Origin": ORIGIN, "X-Dropgate-Publisher": setup["publisher"]}
    for _attempt in range(20):
        response = await client.get(f"{base}/api/v1/readers/challenge", headers=headers)
        if (
            classify(obs, schema, "challenge", "/api/v1/readers/challenge", "get", response)
            != "200"
        ):
            await asyncio.sleep(0.5)
            continue
        challenge = response.json()["challenge"]
        # As the signer frame signs it: `DGREG\\0` ‖ publisher ‖ `\\0` ‖ challenge ‖ `\\0` ‖ key.
        message = b"\x00".join(
            (
                b"DGREG",
                setup["publisher"].encode(),
                challenge.encode(),
                bytes.fromhex(reader.public_key),
            )
        )
        response = await client.post(
            f"{base}/api/v1/readers",
            headers=headers,
            json={
                "claim_public_key": reader.public_key,
                "challenge": challenge,
                "proof": reader.key.sign(message).hex(),
            },
        )
        if classify(obs, schema, "reader_create", "/api/v1/readers", "post", response) == "201":
            body = response.json()
            reader.reader_id, reader.token = body["reader_id"], body["reader_token"]
            return
        await asyncio.sleep(0.5)
    raise RuntimeError("reader registration kept failing")


def open_channels(xrpl_url: str, setup: dict[str, Any], readers: list[Reader]) -> None:
    """A funding wallet pays for the readers' channels (one PaymentChannelCreate each)."""
    from xrpl.clients import JsonRpcClient
    from xrpl.models.requests import AccountChannels, AccountInfo, SubmitOnly, Tx
    from xrpl.models.transactions import Payment, PaymentChannelCreate
    from xrpl.transaction import sign, submit_and_wait
    from xrpl.wallet import Wallet

    client = JsonRpcClient(xrpl_url)
    genesis = Wallet.from_seed(GENESIS_SEED)
    funder = Wallet.create()
    total = len(readers) * (CHANNEL_DROPS + 300_000) + 20_000_000
    paid = submit_and_wait(
        Payment(account=genesis.address, destination=funder.address, amount=str(total)),
        client,
        genesis,
    )
    if paid.result["meta"]["TransactionResult"] != "tesSUCCESS":
        raise RuntimeError(f"funding failed: {paid.result}")
    info = client.request(AccountInfo(account=funder.address, ledger_index="current"))
    sequence = int(info.result["account_data"]["Sequence"])
    last = ""
    for offset, reader in enumerate(readers):
        signed = sign(
            PaymentChannelCreate(
                account=funder.address,
                destination=setup["platform"],
                destination_tag=setup["destination_tag"],
                amount=str(CHANNEL_DROPS),
                settle_delay=3600,
                public_key=reader.public_key,
                sequence=sequence + offset,
                fee="12",
            ),
            funder,
        )
        result = client.request(SubmitOnly(tx_blob=signed.blob())).result
        if result.get("engine_result") != "tesSUCCESS":
            raise RuntimeError(f"PaymentChannelCreate failed: {result}")
        last = signed.get_hash()
    wait_for(
        lambda: client.request(Tx(transaction=last)).result.get("validated"),
        timeout=30,
        what="channel creations",
    )
    channels = client.request(
        AccountChannels(account=funder.address, ledger_index="validated", limit=400)
    ).result["channels"]
    by_key = {str(c["public_key_hex"]).upper(): str(c["channel_id"]).upper() for c in channels}
    for reader in readers:
        reader.channel_id = by_key[reader.public_key]


async def register_channel(
    client: Any, base: str, reader: Reader, schema: Schema, obs: Observations
) -> None:
    headers = {"Origin": ORIGIN, "Authorization": f"Reader {reader.token}"}
    for _attempt in range(20):
        response = await client.post(
            f"{base}/api/v1/channels", headers=headers, json={"channel_id": reader.channel_id}
        )
        if classify(obs, schema, "channel_register", "/api/v1/channels", "post", response) == "200":
            return
        await asyncio.sleep(0.5)
    raise RuntimeError("channel registration kept failing")


async def resync(client: Any, base: str, reader: Reader, schema: Schema, obs: Observations) -> None:
    """After an answer that was not 2xx, the claim may or may not have been taken: ask."""
    headers = {"Origin": ORIGIN, "Authorization": f"Reader {reader.token}"}
    try:
        response = await client.get(f"{base}/api/v1/channels/{reader.channel_id}", headers=headers)
    except Exception as exc:
        obs.transport[f"channel_detail {type(exc).__name__}"] += 1
        return
    path = "/api/v1/channels/{channel_id}"
    if classify(obs, schema, "channel_detail", path, "get", response) == "200":
        reader.accepted = int(response.json()["accepted_drops"])


async def unlock_once(
    client: Any,
    base: str,
    articles: list[str],
    reader: Reader,
    schema: Schema,
    obs: Observations,
) -> None:
    if reader.next_article >= len(articles):
        obs.responses["client_out_of_articles"] += 1
        return
    slug = articles[reader.next_article]
    amount = reader.accepted + PRICE_DROPS
    body = {
        "article": slug,
        "claim": {
            "channel_id": reader.channel_id,
            "amount_drops": str(amount),
            "signature": reader.sign(amount),
        },
        "telemetry_session": reader.telemetry_session,
    }
    headers = {"Origin": ORIGIN, "Authorization": f"Reader {reader.token}"}
    try:
        response = await client.post(f"{base}/api/v1/unlocks", json=body, headers=headers)
    except Exception as exc:  # the web process is down or was killed mid-request
        obs.transport[f"unlock {type(exc).__name__}"] += 1
        await resync(client, base, reader, schema, obs)
        return
    outcome = classify(obs, schema, "unlock", "/api/v1/unlocks", "post", response)
    if outcome in ("200", "201"):
        charged = int(response.json()["amount_drops"])
        if charged:
            reader.accepted = amount
            obs.acks.append(
                {
                    "channel_id": reader.channel_id,
                    "amount_drops": amount,
                    "article": slug,
                    "reader_id": reader.reader_id,
                }
            )
            obs.ack_times.append(time.monotonic())
        reader.next_article += 1
        return
    await resync(client, base, reader, schema, obs)


async def reader_loop(
    client: Any,
    base: str,
    articles: list[str],
    reader: Reader,
    *,
    period: float,
    offset: float,
    stop: asyncio.Event,
    schema: Schema,
    obs: Observations,
) -> None:
    await asyncio.sleep(offset)
    due = time.monotonic()
    while not stop.is_set():
        await unlock_once(client, base, articles, reader, schema, obs)
        due += period
        delay = due - time.monotonic()
        if delay > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
        else:
            due = time.monotonic()  # fell behind (an outage): do not burst to catch up


async def telemetry_loop(
    ws_url: str,
    publisher: str,
    reader: Reader,
    frames: list[dict[str, Any]],
    stop: asyncio.Event,
    obs: Observations,
) -> None:
    """One page's telemetry socket, replaying a human trace; reconnects (resuming its session)
    whenever the socket closes, as the SDK does."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    from benchmarks.telemetry import UA

    seq = 0
    first = True
    while not stop.is_set():
        query = f"publisher={publisher}"
        if reader.telemetry_session:
            query += f"&session={reader.telemetry_session}"
        try:
            async with connect(
                f"{ws_url}?{query}",
                origin=ORIGIN,
                user_agent_header=UA,
                open_timeout=5,  # type: ignore[arg-type]
            ) as ws:
                hello = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                if hello.get("type") != "hello":
                    raise RuntimeError(f"unexpected {hello}")
                if hello["session"] != reader.telemetry_session:
                    reader.telemetry_session = str(hello["session"])
                    seq = 0
                    first = True
                while not stop.is_set():
                    frame = dict(frames[seq % len(frames)], seq=seq)
                    if first:
                        frame["fingerprint"] = fingerprint(reader.index)
                        first = False
                    else:
                        frame.pop("fingerprint", None)
                    await ws.send(json.dumps(frame, separators=(",", ":")))
                    reply = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
                    if reply.get("type") == "ack":
                        seq += 1
                        obs.telemetry_acks.append(time.monotonic())
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(stop.wait(), timeout=TELEMETRY_INTERVAL_S)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else 1006
            label = f"telemetry close {code}"
            if code in TRANSPORT_CLOSE_CODES:
                obs.transport[label] += 1
            else:
                obs.telemetry_closes[label] += 1
                if code not in DOCUMENTED_CLOSE_CODES:
                    obs.undocumented[label] += 1
        except Exception as exc:
            obs.transport[f"telemetry {type(exc).__name__}"] += 1
        if not stop.is_set():
            await asyncio.sleep(0.5)


def fingerprint(index: int) -> dict[str, Any]:
    """Each reader its own device: the benchmark's fingerprint with its own canvas hash."""
    from benchmarks.telemetry import FINGERPRINT

    return {**FINGERPRINT, "canvas": f"{index:064x}"}


def trace_frames(limit: int) -> list[list[dict[str, Any]]]:
    """Human mouse traces (the repository's SapiMouse sample) cut into the SDK's batches."""
    from benchmarks.telemetry import trace_batches
    from tests.fixtures.human_traces import sapimouse_files

    files = sapimouse_files()[:limit]
    traces = []
    for path in files:
        batches = [b for b in trace_batches(path, 250, max_events=200) if b["mouse"]]
        for batch in batches:
            batch.pop("fingerprint", None)
        traces.append(batches[:200])
    return traces


# --- Faults ---------------------------------------------------------------------------------


@dataclass
class Cluster:
    base: str
    ws_url: str
    postgres: PrivatePostgres
    redis: Process
    redis_port: int
    sandbox: Process
    sandbox_url: str
    web: Process
    worker: Process
    beat: Process


def last_settlement_validated(postgres: PrivatePostgres) -> float:
    """Wall-clock time (epoch seconds) of the latest validated settlement, or 0."""
    rows = postgres.query(
        "SELECT extract(epoch FROM max(updated_at)) FROM channels_app_settlement "
        "WHERE status = 'validated'"
    )
    return float(rows[0][0] or 0.0)


def redis_ping(port: int) -> bool:
    done = subprocess.run(
        ["redis-cli", "-p", str(port), "ping"],
        capture_output=True,
        text=True,
        timeout=3,
        check=False,
    )
    return done.stdout.strip() == "PONG"


def first_after(times: list[float], since: float) -> float | None:
    later = [t for t in times if t >= since]
    return min(later) if later else None


def wait_first_after(times: list[float], since: float, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = first_after(times, since)
        if found is not None:
            return found
        time.sleep(0.1)
    return None


def fault_web(cluster: Cluster, obs: Observations, timeout: float) -> dict[str, Any]:
    injected = time.monotonic()
    cluster.web.kill(signal.SIGKILL)
    cluster.web.start()
    wait_for(lambda: http_ok(f"{cluster.base}/healthz"), timeout=60, what="web")
    back = wait_first_after(obs.ack_times, injected, timeout)
    return _recovery("web_sigkill", injected, back, detail="SIGKILL uvicorn, restarted at once")


def fault_worker(cluster: Cluster, obs: Observations, timeout: float) -> dict[str, Any]:
    injected = time.monotonic()
    wall = time.time()
    cluster.worker.kill(signal.SIGKILL)
    cluster.worker.start()
    back = _wait_settlement_after(cluster, wall, injected, timeout)
    return _recovery(
        "worker_sigkill",
        injected,
        back,
        detail="SIGKILL the Celery worker; until a settlement validates",
    )


def fault_beat(cluster: Cluster, obs: Observations, timeout: float) -> dict[str, Any]:
    injected = time.monotonic()
    before = cluster.beat.log_text().count("Sending due task")
    cluster.beat.kill(signal.SIGKILL)
    cluster.beat.start()
    back: float | None = None
    with contextlib.suppress(RuntimeError):
        wait_for(
            lambda: cluster.beat.log_text().count("Sending due task") > before,
            timeout=timeout,
            what="beat",
        )
        back = time.monotonic()
    return _recovery(
        "beat_sigkill", injected, back, detail="SIGKILL beat; until it sends a due task"
    )


def fault_redis(cluster: Cluster, obs: Observations, timeout: float, down: float) -> dict[str, Any]:
    injected = time.monotonic()
    subprocess.run(
        ["redis-cli", "-p", str(cluster.redis_port), "shutdown"],
        capture_output=True,
        timeout=10,
        check=False,
    )
    with contextlib.suppress(subprocess.TimeoutExpired):
        assert cluster.redis.popen is not None
        cluster.redis.popen.wait(timeout=10)
    cluster.redis.kill(signal.SIGKILL)
    time.sleep(down)
    cluster.redis.start()
    wait_for(lambda: redis_ping(cluster.redis_port), timeout=30, what="redis")
    restarted = time.monotonic()
    back = wait_first_after(obs.ack_times, restarted, timeout)
    telemetry = wait_first_after(obs.telemetry_acks, restarted, timeout)
    result = _recovery(
        "redis_restart",
        injected,
        back,
        detail=f"redis-cli shutdown (AOF kept), down {down:g} s, started again",
    )
    result["restart_s"] = round(restarted - injected, 2)
    result["telemetry_recover_s"] = None if telemetry is None else round(telemetry - injected, 2)
    result["recovered"] = result["recovered"] and telemetry is not None
    return result


def fault_postgres(
    cluster: Cluster, obs: Observations, timeout: float, down: float
) -> dict[str, Any]:
    injected = time.monotonic()
    wall = time.time()
    cluster.postgres.restart(down)
    restarted = time.monotonic()
    back = wait_first_after(obs.ack_times, restarted, timeout)
    settled = _wait_settlement_after(cluster, wall, restarted, timeout)
    result = _recovery(
        "postgres_restart",
        injected,
        back,
        detail=f"pg_ctl stop -m fast, down {down:g} s, started again",
    )
    result["restart_s"] = round(restarted - injected, 2)
    result["settlement_recover_s"] = None if settled is None else round(settled - injected, 2)
    result["recovered"] = result["recovered"] and settled is not None
    return result


def fault_ledger(
    cluster: Cluster, obs: Observations, timeout: float, outage: float
) -> dict[str, Any]:
    injected = time.monotonic()
    cluster.sandbox.stop()
    acks_before = len(obs.ack_times)
    time.sleep(outage)
    acks_during = len(obs.ack_times) - acks_before
    wall = time.time()
    cluster.sandbox.start()
    wait_for(
        lambda: http_ok(cluster.sandbox_url, b'{"method": "server_info", "params": [{}]}'),
        timeout=60,
        what="sandbox",
    )
    restarted = time.monotonic()
    settled = _wait_settlement_after(cluster, wall, restarted, timeout)
    result = _recovery(
        "ledger_outage",
        restarted,
        settled,
        detail=f"sandbox ledger stopped {outage:g} s; from its return until a settlement validates",
    )
    result["outage_s"] = round(restarted - injected, 2)
    result["unlocks_acknowledged_during_outage"] = acks_during
    return result


def _wait_settlement_after(
    cluster: Cluster, wall: float, since: float, timeout: float
) -> float | None:
    deadline = since + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if last_settlement_validated(cluster.postgres) > wall:
                return time.monotonic()
        time.sleep(0.25)
    return None


def _recovery(name: str, since: float, back: float | None, *, detail: str) -> dict[str, Any]:
    return {
        "fault": name,
        "detail": detail,
        "recovered": back is not None,
        "recover_s": None if back is None else round(back - since, 2),
    }


# --- The run ---------------------------------------------------------------------------------


def run(opts: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    import httpx

    logs = Path(opts.logs) if opts.logs else tmp / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    timings: dict[str, float] = {}

    log.info("private PostgreSQL and Redis")
    postgres = PrivatePostgres(tmp)
    postgres.init()
    redis_port = free_port()
    (tmp / "redis").mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(
            ("DROPGATE_", "XRPL_", "DATABASE_URL", "DJANGO_", "CELERY_", "REDIS_")
        )
    }
    sandbox_port = free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}/"
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "paywall.settings",
            "DROPGATE_DATA_DIR": str(tmp / "data"),
            "DROPGATE_SECRETS_DIR": str(tmp / "secrets"),
            "DATABASE_URL": postgres.url,
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/1",
            "XRPL_URL": sandbox_url,
            "XRPL_LEDGER_KIND": "sandbox",
            "DROPGATE_SETTLEMENT_THRESHOLD_DROPS": str(SETTLEMENT_THRESHOLD_DROPS),
            "DROPGATE_SETTLEMENT_SWEEP_SECONDS": "15",
            "DROPGATE_MIN_SETTLE_DELAY_SECONDS": "60",
            # Every simulated reader shares 127.0.0.1: the per-address limits would count them
            # as one visitor. Per-reader, per-channel and per-device limits stay as shipped.
            "DROPGATE_TELEMETRY_SESSIONS_PER_IP_MINUTE": "100000",
            "DROPGATE_THROTTLE_ANON": "100000/min",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
        }
    )
    redis = Process(
        "redis",
        [
            "redis-server",
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(tmp / "redis"),
            "--appendonly",
            "yes",
            "--save",
            "",
        ],
        env,
        logs,
    )
    redis.start()
    wait_for(lambda: redis_ping(redis_port), timeout=30, what="redis")

    t = time.monotonic()
    run_child(["manage.py", "migrate", "--noinput"], env, logs / "migrate.log", 300)
    timings["migrate"] = time.monotonic() - t

    sandbox = Process(
        "sandbox",
        [
            sys.executable,
            "manage.py",
            "xrpl_sandbox",
            "--port",
            str(sandbox_port),
            "--data-dir",
            str(tmp / "sandbox"),
            "--close-interval",
            "0.5",
        ],
        env,
        logs,
    )
    sandbox.start()
    wait_for(
        lambda: http_ok(sandbox_url, b'{"method": "server_info", "params": [{}]}'),
        timeout=60,
        what="sandbox",
    )

    periods = opts.periods
    per_reader_rate = opts.rate / opts.readers
    total_s = opts.phase * 8 + opts.ledger_outage + 60
    articles_n = math.ceil(per_reader_rate * total_s * 1.5) + 10
    setup_file = tmp / "setup.json"
    run_child(
        [__file__, "_setup", "--out", str(setup_file), "--articles", str(articles_n)],
        env,
        logs / "setup.log",
        180,
    )
    setup = json.loads(setup_file.read_text())

    web_port = free_port()
    base = f"http://127.0.0.1:{web_port}"
    web = Process(
        "web",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "paywall.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(web_port),
            "--lifespan",
            "off",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env,
        logs,
    )
    worker = Process(
        "worker",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "paywall",
            "worker",
            "--pool=prefork",
            "--concurrency=2",
            "--loglevel=INFO",
            "--hostname=faults@%h",
            "--without-gossip",
            "--without-mingle",
        ],
        env,
        logs,
    )
    beat = Process(
        "beat",
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "paywall",
            "beat",
            "--loglevel=INFO",
            "--scheduler=django_celery_beat.schedulers:DatabaseScheduler",
            f"--pidfile={tmp / 'beat.pid'}",
            "--max-interval=1",
        ],
        env,
        logs,
    )
    cluster = Cluster(
        base=base,
        ws_url=f"ws://127.0.0.1:{web_port}/ws/telemetry/",
        postgres=postgres,
        redis=redis,
        redis_port=redis_port,
        sandbox=sandbox,
        sandbox_url=sandbox_url,
        web=web,
        worker=worker,
        beat=beat,
    )
    processes = [web, worker, beat]
    try:
        for process in processes:
            process.start()
        wait_for(lambda: http_ok(f"{base}/healthz"), timeout=90, what="web")
        with urllib.request.urlopen(f"{base}/api/schema/?format=json", timeout=30) as response:
            schema = Schema(json.loads(response.read()))

        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        readers = []
        for index in range(opts.readers):
            key = Ed25519PrivateKey.generate()
            raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            readers.append(Reader(index=index, key=key, public_key="ED" + raw.hex().upper()))
        obs = Observations()
        traces = trace_frames(8)

        async def main_async() -> dict[str, Any]:
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, limits=limits) as client:
                t0 = time.monotonic()
                for reader in readers:
                    await register_reader(client, base, setup, reader, schema, obs)
                await asyncio.to_thread(open_channels, sandbox_url, setup, readers)
                for reader in readers:
                    await register_channel(client, base, reader, schema, obs)
                timings["readers"] = time.monotonic() - t0
                log.info("%d readers registered with channels", len(readers))

                stop = asyncio.Event()
                period = opts.readers / opts.rate
                tasks = [
                    asyncio.create_task(
                        reader_loop(
                            client,
                            base,
                            setup["articles"],
                            reader,
                            period=period,
                            offset=period * i / len(readers),
                            stop=stop,
                            schema=schema,
                            obs=obs,
                        )
                    )
                    for i, reader in enumerate(readers)
                ]
                tasks += [
                    asyncio.create_task(
                        telemetry_loop(
                            cluster.ws_url,
                            setup["publisher"],
                            reader,
                            traces[i % len(traces)],
                            stop,
                            obs,
                        )
                    )
                    for i, reader in enumerate(readers)
                ]
                faults: list[dict[str, Any]] = []
                try:
                    faults = await asyncio.to_thread(inject_faults, cluster, obs, opts, periods)
                finally:
                    stop.set()
                    await asyncio.gather(*tasks, return_exceptions=True)
                return {"faults": faults}

        from benchmarks.claims import run_async

        load_started = time.monotonic()
        outcome = run_async(main_async())
        timings["load"] = time.monotonic() - load_started

        log.info("drain: in-flight settlements, then every channel settled by the worker")
        t = time.monotonic()
        drain = drain_and_settle(cluster, env, logs, tmp, opts)
        timings["drain"] = time.monotonic() - t

        acks_file = tmp / "acks.json"
        acks_file.write_text(json.dumps(obs.acks))
        check_file = tmp / "check.json"
        run_child(
            [__file__, "_check", "--out", str(check_file), "--acks", str(acks_file)],
            env,
            logs / "check.log",
            300,
        )
        check = json.loads(check_file.read_text())
        reconcile = {
            "journal": reconcile_command(["manage.py", "reconcile_journal"], env),
            "payouts": reconcile_command(["manage.py", "payouts_reconcile"], env),
        }
    finally:
        for process in (*processes, sandbox, redis):
            process.stop()
        postgres.stop()

    lost = check["lost_in_db_count"] + check["unlock_missing_count"] + check["not_redeemed_count"]
    faults_out = outcome["faults"]
    result: dict[str, Any] = {
        "config": {
            "quick": opts.quick,
            "readers": opts.readers,
            "unlocks_per_s": opts.rate,
            "telemetry_batches_per_s": round(opts.readers / TELEMETRY_INTERVAL_S, 1),
            "phase_s": opts.phase,
            "ledger_outage_s": opts.ledger_outage,
            "service_down_s": opts.service_down,
            "recover_timeout_s": opts.recover_timeout,
            "price_drops": PRICE_DROPS,
            "settlement_threshold_drops": SETTLEMENT_THRESHOLD_DROPS,
            "web": "uvicorn, 1 process",
            "worker": "celery prefork, concurrency 2",
            "services": "private PostgreSQL and redis-server (AOF), sandbox ledger",
        },
        "claims": {
            "acknowledged": len(obs.acks),
            "in_db": check["claims_in_db"],
            "lost": lost,
            "lost_in_db": check["lost_in_db"],
            "unlock_missing": check["unlock_missing"],
            "not_redeemed": check["not_redeemed"],
        },
        "settlements": {
            "by_status": check["settlements"],
            "double": check["double_settlements"],
            "double_examples": check["double_examples"],
            "stuck": check["stuck"],
            "drain": drain,
        },
        "reconcile": reconcile,
        "responses": dict(obs.responses.most_common()),
        "errors": {
            "seen": dict(obs.errors.most_common()),
            "undocumented": dict(obs.undocumented.most_common()),
            "undocumented_examples": obs.examples,
            "telemetry_closes": dict(obs.telemetry_closes.most_common()),
            "transport": dict(obs.transport.most_common()),
        },
        "telemetry": {"batches_acked": len(obs.telemetry_acks)},
        "faults": faults_out,
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    result["checks"] = {
        "no_acknowledged_claim_lost": lost == 0 and len(obs.acks) > 0,
        "no_double_settlement": check["double_settlements"] == 0,
        "journal_reconciles": reconcile["journal"]["ok"],
        "payouts_reconcile": reconcile["payouts"]["ok"],
        "only_documented_errors": not obs.undocumented,
        "nothing_stuck": check["stuck"] == 0 and drain["all_settled"],
        "every_fault_recovered": bool(faults_out) and all(f["recovered"] for f in faults_out),
    }
    result["ok"] = all(result["checks"].values())
    return result


def inject_faults(
    cluster: Cluster, obs: Observations, opts: argparse.Namespace, periods: int
) -> list[dict[str, Any]]:
    """The faults in turn, each after a quiet phase of load; the load runs throughout."""
    timeout = opts.recover_timeout
    faults: list[dict[str, Any]] = []
    steps = [
        lambda: fault_web(cluster, obs, timeout),
        lambda: fault_worker(cluster, obs, timeout),
        lambda: fault_beat(cluster, obs, timeout),
        lambda: fault_redis(cluster, obs, timeout, opts.service_down),
        lambda: fault_postgres(cluster, obs, timeout, opts.service_down),
        lambda: fault_ledger(cluster, obs, timeout, opts.ledger_outage),
    ]
    time.sleep(opts.phase)
    for _ in range(periods):
        for step in steps:
            result = step()
            log.info("fault: %s", json.dumps(result))
            faults.append(result)
            time.sleep(opts.phase)
    return faults


def drain_and_settle(
    cluster: Cluster, env: dict[str, str], logs: Path, tmp: Path, opts: argparse.Namespace
) -> dict[str, Any]:
    """The worker finishes what is in flight, then settles every channel through its own task."""
    started = time.monotonic()

    def in_flight() -> int:
        rows = cluster.postgres.query(
            "SELECT count(*) FROM channels_app_settlement WHERE status IN ('prepared', 'submitted')"
        )
        return int(rows[0][0])

    with contextlib.suppress(RuntimeError):
        wait_for(
            lambda: in_flight() == 0, timeout=opts.recover_timeout, what="in-flight", interval=0.5
        )
    out = tmp / "settle.json"

    def unsettled() -> int:
        rows = cluster.postgres.query(
            "SELECT count(*) FROM channels_app_channel WHERE accepted_drops > ledger_balance_drops"
        )
        return int(rows[0][0])

    # A final settlement can fail on the ledger (e.g. tefPAST_SEQ); below the threshold nothing
    # queues it again, so the operator's request is repeated until the drain's time is up.
    queued = 0
    rounds = 0
    settled = False
    deadline = time.monotonic() + opts.drain_timeout
    while not settled and time.monotonic() < deadline:
        run_child([__file__, "_settle_all", "--out", str(out)], env, logs / "settle.log", 120)
        queued += json.loads(out.read_text())["queued"]
        rounds += 1
        try:
            wait_for(
                lambda: unsettled() == 0 and in_flight() == 0,
                timeout=max(1.0, min(60.0, deadline - time.monotonic())),
                what="settled",
                interval=0.5,
            )
            settled = True
        except RuntimeError:
            continue
    return {
        "final_settlements_queued": queued,
        "final_rounds": rounds,
        "all_settled": settled,
        "unsettled_channels": unsettled(),
        "seconds": round(time.monotonic() - started, 1),
    }


def reconcile_command(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = (done.stdout + done.stderr).strip().splitlines()
    return {"ok": done.returncode == 0, "exit": done.returncode, "output": output[-10:]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    for command in ("_setup", "_check", "_settle_all"):
        child = sub.add_parser(command)
        child.add_argument("--out", required=True)
        child.add_argument("--articles", type=int, default=0)
        child.add_argument("--acks", default="")
    parser.add_argument("--quick", action="store_true", help="short CI run (a few minutes)")
    parser.add_argument("--readers", type=int, default=None, help="readers, each on its channel")
    parser.add_argument("--rate", type=float, default=None, help="unlocks per second, all readers")
    parser.add_argument("--phase", type=float, default=None, help="seconds of load between faults")
    parser.add_argument(
        "--ledger-outage", type=float, default=None, help="seconds the sandbox ledger is down"
    )
    parser.add_argument(
        "--service-down",
        type=float,
        default=None,
        help="seconds Redis and PostgreSQL stay down in their restarts",
    )
    parser.add_argument(
        "--recover-timeout", type=float, default=60.0, help="give up on a fault's recovery after"
    )
    parser.add_argument(
        "--drain-timeout",
        type=float,
        default=240.0,
        help="after the load, how long the worker may take to settle every channel",
    )
    parser.add_argument("--periods", type=int, default=1, help="times the fault sequence runs")
    parser.add_argument("--logs", metavar="DIR", help="keep every process's log here")
    opts = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    if opts.command == "_setup":
        child_setup(opts)
        return 0
    if opts.command == "_check":
        child_check(opts)
        return 0
    if opts.command == "_settle_all":
        child_settle_all(opts)
        return 0

    defaults = (8, 4.0, 6.0, 8.0, 3.0) if opts.quick else (16, 8.0, 15.0, 30.0, 5.0)
    opts.readers = opts.readers or defaults[0]
    opts.rate = opts.rate or defaults[1]
    opts.phase = opts.phase if opts.phase is not None else defaults[2]
    opts.ledger_outage = opts.ledger_outage if opts.ledger_outage is not None else defaults[3]
    opts.service_down = opts.service_down if opts.service_down is not None else defaults[4]

    with tempfile.TemporaryDirectory(prefix="dropgate-faults-") as name:
        tmp = Path(name)
        tmp.chmod(0o755)  # the private PostgreSQL runs as `postgres` under it
        try:
            result = run(opts, tmp)
        except Exception as exc:
            log.exception("faults harness failed")
            result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[-3000:]}
    result = {
        "benchmark": "faults",
        "machine": {
            "cpus": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
        },
        **result,
    }
    print(json.dumps(result, indent=2, default=str))
    return 0 if result.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
