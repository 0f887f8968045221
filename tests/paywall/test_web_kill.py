"""No acknowledged claim is lost when the web process is killed under load.

The real ASGI server (uvicorn, a subprocess on the test database) takes concurrent unlocks
from several readers, each paying on its own channel on the sandbox ledger, and is killed
with SIGKILL in the middle of the load. Every claim the server answered 2xx for must then be
in the database with its Unlock, the channels' high-water marks and the journal must agree,
and a restarted server must let the readers back in at no charge.

A second test stops the server at a crash point between the commit and the answer: the
payment is durable, the reader never heard back, and its retry is a re-entry charged 0.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from django.db.models import Sum
from xrpl.clients import JsonRpcClient
from xrpl.models.transactions import PaymentChannelCreate
from xrpl.transaction import submit_and_wait
from xrpl.wallet import Wallet

from channels_app.crashpoints import CRASH_EXIT_CODE
from channels_app.models import Channel, Claim
from channels_app.selectors import journal_balance
from channels_app.services.platform import journal_reconcile, platform_bootstrap
from paywall.models import Publisher, Reader, Unlock
from paywall.services.channels import reader_channel_register
from tests.channels_app.factories import ClaimKey
from tests.channels_app.ledger_helpers import created_channel_id
from tests.fixtures.sandbox import REPO_ROOT, free_port, fund_account
from tests.fixtures.worker import child_environment, wait_until
from tests.paywall.factories import ORIGIN, make_article, make_publisher, make_reader

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PRICE = 1_000
ARTICLES = 300
READERS = 6
CHANNEL_DROPS = 2_000_000
MIN_ACKNOWLEDGED = 50
LOAD_SECONDS = 1.5
HTTP_TIMEOUT = 5.0
SERVER_READY_TIMEOUT = 60.0


# --- The web process -------------------------------------------------------------------------


class WebServer:
    """`uvicorn paywall.asgi:application` on a free loopback port, configured like the test."""

    def __init__(self, log_path: Path, env: Mapping[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = dict(env)
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> WebServer:
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "paywall.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--lifespan",
            "off",
            "--log-level",
            "warning",
        ]
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                env=child_environment(self.env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until(self._healthy, timeout=SERVER_READY_TIMEOUT, message="/healthz")
        except AssertionError:
            self.kill()
            raise AssertionError(f"the web server did not start; log:\n{self.log()}") from None
        return self

    def _healthy(self) -> bool:
        assert self.popen is not None
        if self.popen.poll() is not None:
            raise AssertionError(f"web server exited with {self.popen.returncode}:\n{self.log()}")
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def kill(self) -> int | None:
        """SIGKILL, as the kernel's OOM killer or a lost machine would; returns the exit code."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        return self.popen.wait(timeout=15)

    def wait_exit(self, timeout: float = 15.0) -> int:
        assert self.popen is not None
        return self.popen.wait(timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def web_server(transactional_db: None, tmp_path: Path) -> Iterator[Callable[..., WebServer]]:
    """A factory: `web_server(env={...})` starts a server; all are killed before the DB flush."""
    started: list[WebServer] = []

    def start(env: Mapping[str, str] | None = None) -> WebServer:
        server = WebServer(tmp_path / f"web-{len(started)}.log", env or {})
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.kill()


# --- Readers with real channels ---------------------------------------------------------------


@dataclass
class PayingReader:
    reader: Reader
    token: str
    key: ClaimKey
    channel_id: str
    articles: list[str] = field(default_factory=list)
    accepted_drops: int = 0  # what the reader believes was accepted: its last 2xx

    def claim(self, amount: int) -> dict[str, str]:
        return {
            "channel_id": self.channel_id,
            "amount_drops": str(amount),
            "signature": self.key.sign(self.channel_id, amount),
        }


@pytest.fixture
def platform(transactional_db: None, settings, sandbox_url: str) -> str:
    settings.XRPL_URL = sandbox_url
    settings.DROPGATE_MIN_SETTLE_DELAY_SECONDS = 60
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**15  # no settlement task is queued
    return str(platform_bootstrap()["address"])


def open_channel(url: str, *, destination: str, tag: int, public_key: str) -> str:
    """A funded reader wallet opens a channel to the platform with the publisher's tag."""
    wallet = Wallet.create()
    fund_account(url, wallet.address, CHANNEL_DROPS + 20_000_000)
    response = submit_and_wait(
        PaymentChannelCreate(
            account=wallet.address,
            destination=destination,
            destination_tag=tag,
            amount=str(CHANNEL_DROPS),
            settle_delay=3600,
            public_key=public_key,
        ),
        JsonRpcClient(url),
        wallet,
    )
    assert response.result["meta"]["TransactionResult"] == "tesSUCCESS", response.result
    return created_channel_id(response.result)


def paying_readers(
    publisher: Publisher, *, count: int, sandbox_url: str, platform: str
) -> list[PayingReader]:
    """`count` readers, each with its own channel opened on the ledger and registered."""
    made = [make_reader(publisher) for _ in range(count)]
    with ThreadPoolExecutor(max_workers=count) as pool:  # ledger round trips overlap
        channel_ids = list(
            pool.map(
                lambda key: open_channel(
                    sandbox_url,
                    destination=platform,
                    tag=publisher.destination_tag,
                    public_key=key.public_key,
                ),
                [key for _, _, key in made],
            )
        )
    readers = []
    for (reader, token, key), channel_id in zip(made, channel_ids, strict=True):
        reader_channel_register(reader=reader, channel_id=channel_id)
        readers.append(PayingReader(reader=reader, token=token, key=key, channel_id=channel_id))
    return readers


def post_unlock(
    session: requests.Session,
    server: WebServer,
    reader: PayingReader,
    slug: str,
    claim: dict[str, str] | None,
) -> requests.Response:
    body: dict[str, object] = {"article": slug}
    if claim is not None:
        body["claim"] = claim
    return session.post(
        f"{server.url}/api/v1/unlocks",
        json=body,
        headers={"Origin": ORIGIN, "Authorization": f"Reader {reader.token}"},
        timeout=HTTP_TIMEOUT,
    )


# --- Load ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Acknowledged:
    channel_id: str
    amount_drops: int
    article: str
    reader_pk: int


@dataclass
class Load:
    """One thread per reader, each paying for its own articles one after the other."""

    server: WebServer
    readers: list[PayingReader]
    acknowledged: list[Acknowledged] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # transport errors: the kill
    refusals: list[str] = field(default_factory=list)  # answers other than 201
    finished: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run_reader(self, reader: PayingReader) -> None:
        with requests.Session() as session:
            for slug in reader.articles:
                if self.stop.is_set():
                    break
                amount = reader.accepted_drops + PRICE
                try:
                    response = post_unlock(session, self.server, reader, slug, reader.claim(amount))
                except requests.RequestException as exc:
                    # Killed mid-request, or refused after the kill: the claim may or may not
                    # have committed, so this reader stops signing.
                    with self.lock:
                        self.failures.append(f"{type(exc).__name__}")
                    break
                if response.status_code != 201 or int(response.json()["amount_drops"]) != PRICE:
                    with self.lock:
                        self.refusals.append(f"{response.status_code} {response.text[:200]}")
                    break
                reader.accepted_drops = amount
                with self.lock:
                    self.acknowledged.append(
                        Acknowledged(reader.channel_id, amount, slug, reader.reader.pk)
                    )
        with self.lock:
            self.finished += 1

    def count(self) -> int:
        with self.lock:
            return len(self.acknowledged)

    def all_finished(self) -> bool:
        with self.lock:
            return self.finished == len(self.readers)


# --- Tests -----------------------------------------------------------------------------------


def test_no_acknowledged_claim_is_lost_when_the_web_process_is_killed(
    platform: str, sandbox_url: str, web_server: Callable[..., WebServer]
) -> None:
    # given a publisher with many articles and readers with registered channels
    publisher = make_publisher()
    slugs = [
        make_article(publisher, slug=f"story-{n:03d}", price_drops=PRICE).slug
        for n in range(ARTICLES)
    ]
    readers = paying_readers(publisher, count=READERS, sandbox_url=sandbox_url, platform=platform)
    for index, reader in enumerate(readers):
        reader.articles = slugs[index::READERS]
    server = web_server()

    # when the readers pay concurrently and the server is killed in the middle of it
    load = Load(server=server, readers=readers)
    threads = [
        threading.Thread(target=load.run_reader, args=(reader,), daemon=True) for reader in readers
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    # Kill after about LOAD_SECONDS with enough answered, or early if the readers are close
    # to running out of articles: the kill must land while requests are in flight.
    wait_until(
        lambda: (
            (time.monotonic() - started >= LOAD_SECONDS and load.count() >= MIN_ACKNOWLEDGED)
            or load.count() >= ARTICLES * 3 // 4
            or load.all_finished()
        ),
        timeout=30,
        interval=0.01,
        message=f"{MIN_ACKNOWLEDGED} acknowledged unlocks",
    )
    in_flight = not load.all_finished()
    assert server.kill() == -signal.SIGKILL
    load.stop.set()
    for thread in threads:
        thread.join(timeout=HTTP_TIMEOUT + 5)
    assert not any(thread.is_alive() for thread in threads)
    acknowledged = list(load.acknowledged)
    assert in_flight, "every reader finished before the kill; the load was too short"
    assert load.refusals == []  # the server refused nothing; only the kill stopped readers
    assert len(acknowledged) >= MIN_ACKNOWLEDGED, (len(acknowledged), load.failures)

    # then every acknowledged claim is in the database with its unlock
    for ack in acknowledged:
        claim = Claim.objects.get(channel__channel_id=ack.channel_id, amount_drops=ack.amount_drops)
        assert claim.increment_drops == PRICE
        unlock = Unlock.objects.get(reader_id=ack.reader_pk, article__slug=ack.article)
        assert (unlock.claim_id, unlock.amount_drops) == (claim.pk, PRICE)

    # and each channel's high-water mark, its claims and the journal agree
    for reader in readers:
        channel = Channel.objects.get(channel_id=reader.channel_id)
        claims = Claim.objects.filter(channel=channel)
        highest_acknowledged = max(
            (a.amount_drops for a in acknowledged if a.channel_id == reader.channel_id), default=0
        )
        assert channel.accepted_drops >= highest_acknowledged
        # A sequential reader has at most one claim the server took but never answered.
        assert channel.accepted_drops <= highest_acknowledged + PRICE
        assert channel.accepted_drops == (claims.aggregate(s=Sum("increment_drops"))["s"] or 0)
        assert journal_balance("claims_receivable", reader.channel_id) == channel.accepted_drops
        assert Unlock.objects.filter(reader=reader.reader).count() == claims.count()
    report = journal_reconcile()
    assert report.ok, report.differences

    # and a restarted server lets each reader back into its last paid article at no charge
    restarted = web_server()
    accepted_before = {
        r.channel_id: Channel.objects.get(channel_id=r.channel_id).accepted_drops for r in readers
    }
    with requests.Session() as session:
        for reader in readers:
            paid = [a for a in acknowledged if a.channel_id == reader.channel_id]
            if not paid:
                continue
            response = post_unlock(session, restarted, reader, paid[-1].article, claim=None)
            assert response.status_code == 200, response.text
            body = response.json()
            assert int(body["amount_drops"]) == 0
            content = session.get(
                body["content_url"],
                headers={"Origin": ORIGIN, "Authorization": f"Bearer {body['grant']}"},
                timeout=HTTP_TIMEOUT,
            )
            assert content.status_code == 200, content.text
            assert content.json()["article"] == paid[-1].article
    for reader in readers:
        channel = Channel.objects.get(channel_id=reader.channel_id)
        assert channel.accepted_drops == accepted_before[reader.channel_id]


def test_a_claim_committed_but_never_answered_is_not_charged_twice(
    platform: str, sandbox_url: str, web_server: Callable[..., WebServer]
) -> None:
    # given a reader with a channel, and a server that dies between the commit and the answer
    publisher = make_publisher()
    first = make_article(publisher, slug="first", price_drops=PRICE)
    second = make_article(publisher, slug="second", price_drops=PRICE)
    (reader,) = paying_readers(publisher, count=1, sandbox_url=sandbox_url, platform=platform)
    crashing = web_server(env={"DROPGATE_CRASH_POINT": "unlock_after_commit"})

    # when the reader pays for the first article
    with requests.Session() as session, pytest.raises(requests.ConnectionError):
        post_unlock(session, crashing, reader, first.slug, reader.claim(PRICE))
    assert crashing.wait_exit() == CRASH_EXIT_CODE

    # then the payment is durable although the reader never heard back
    channel = Channel.objects.get(channel_id=reader.channel_id)
    assert channel.accepted_drops == PRICE
    claim = Claim.objects.get(channel=channel)
    assert Unlock.objects.get(reader=reader.reader, article=first).claim_id == claim.pk

    # and after a restart the reader's retry, with or without the claim, is charged 0
    server = web_server()
    with requests.Session() as session:
        for retry_claim in (reader.claim(PRICE), None):
            response = post_unlock(session, server, reader, first.slug, retry_claim)
            assert response.status_code == 200, response.text
            assert int(response.json()["amount_drops"]) == 0
        channel.refresh_from_db()
        assert channel.accepted_drops == PRICE
        assert Claim.objects.filter(channel=channel).count() == 1
        assert journal_balance("claims_receivable", reader.channel_id) == PRICE

        # and the next article is paid from the committed high-water mark
        response = post_unlock(session, server, reader, second.slug, reader.claim(2 * PRICE))
        assert response.status_code == 201, response.text
        assert int(response.json()["amount_drops"]) == PRICE
    channel.refresh_from_db()
    assert channel.accepted_drops == 2 * PRICE
    assert Unlock.objects.filter(reader=reader.reader).count() == 2
