"""The replay's inner process: a scenario driven through the real services.

It runs in a process of its own (`environment` starts it) whose database is a throwaway SQLite
file and whose cache is local memory; it serves its own sandbox ledger (the project's sandbox,
in a thread). So it never touches the deployment's state. Inside it:

- **Time.** The app clock (`channels_app.clock`) starts at the scenario's `start` and is moved
  by each event's `after`; Django's `timezone.now` (which stamps `auto_now_add` fields) follows
  the app clock in this process, so every row carries scenario time. Before each event the SLA
  sweep runs, as beat would have.
- **Unlocks are real.** Each reader (per publisher) has a claim key, a funding wallet paid by
  the sandbox's genesis account and a payment channel to the platform with the publisher's
  destination tag, funded to cover all of that reader's unlocks, registered through the reader
  service. An unlock signs a claim for the article's price and calls `unlock_article`, the
  service POST /api/v1/unlocks uses (risk decision, `claim_accept`, the Unlock row, the grant).
- **Fraud.** The page's telemetry session is a fraud record set up as the scenario says: its
  score sits in the band of the `fraud_decision` asked for and its fingerprint hash is the
  hash of the scenario's label; `risk_decide` then makes and records the real decision
  (`agent` names no session). Dwell is the session's ArticleView of the article.
- **Delivery** is the real delivery code (`content_for_grant`): `ok` serves the body (and
  records it), `server_error` serves it with the fault point `content_serve` set (the code's
  own error path records the 500), `not_fetched` never asks.
- Disputes, responses, decisions (by staff users named like the reviewer), appeals and key
  reports go through disputes.services; a refused event is reported as
  `{"ref": …, "error": code}` and the replay goes on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from channels_app import clock

logger = logging.getLogger("disputes.replay")

__all__ = ["database_prepare", "fast_sqlite", "follow_app_clock", "run"]

POLL_SECONDS = 0.05
LEDGER_TIMEOUT = 30.0
RESERVE_DROPS = 20_000_000  # each reader wallet's reserve and fees beside its channel
PLATFORM_FUNDING_DROPS = 1_000_000_000
REPLAY_ORIGIN = "https://replay.invalid"
DEFAULT_STATEMENT = "Contested (the scenario gave no statement)."


# --- The process --------------------------------------------------------------------------


def fast_sqlite() -> None:
    """The throwaway database needs no durability: no fsync per commit."""
    options = settings.DATABASES["default"].setdefault("OPTIONS", {})
    options["init_command"] = (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA busy_timeout=30000;"
    )


class _Sandbox:
    """The project's sandbox ledger (what `manage.py xrpl_sandbox` serves), in this process:
    an HTTP server on a free loopback port and a ledger closed every CLOSE_INTERVAL seconds,
    its state under `data_dir`."""

    CLOSE_INTERVAL = 0.1

    def __init__(self, data_dir: Path) -> None:
        import threading

        from channels_app.sandbox.rpc import Sandbox
        from channels_app.sandbox.server import LedgerCloser, SandboxHTTPServer

        data_dir.mkdir(parents=True, exist_ok=True)
        self.sandbox = Sandbox(data_dir, allow_time_travel=False)
        self.server = SandboxHTTPServer(("127.0.0.1", 0), self.sandbox)
        self.closer = LedgerCloser(self.sandbox, self.CLOSE_INTERVAL)
        self.closer.start()
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def stop(self) -> None:
        self.server.shutdown()
        self.closer.stop()
        self.closer.join(timeout=5)
        self.server.server_close()
        self.sandbox.shutdown()


def follow_app_clock() -> None:
    """Stamp `auto_now`/`auto_now_add` fields with the app clock (scenario time)."""
    timezone.now = clock.now  # type: ignore[assignment]


def _migrations_key() -> str:
    """A hash of every migration the database is built from (and of Django's version)."""
    import django
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    digest = hashlib.sha256(django.get_version().encode())
    for key in sorted(loader.disk_migrations):
        module = sys.modules[loader.disk_migrations[key].__module__]
        digest.update(f"{key[0]}.{key[1]}".encode())
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:32]


def database_prepare(cache_dir: Path) -> None:
    """Migrate the throwaway database, from a cached migrated copy when there is one.

    The cache holds one migrated database per set of migration files (the key hashes every
    migration file): a later run with the same migrations copies it instead of migrating,
    and every run works on its own copy.
    """
    from django.core.management import call_command

    name = Path(str(settings.DATABASES["default"]["NAME"]))
    template = cache_dir / f"replay-{_migrations_key()}.sqlite3"
    if template.exists():
        shutil.copyfile(template, name)
        return
    call_command("migrate", verbosity=0, interactive=False)
    if not template.exists():
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = cache_dir / f".{template.name}.{os.getpid()}"
        with sqlite3.connect(name) as source, sqlite3.connect(partial) as target:
            source.backup(target)
        os.replace(partial, template)


# --- The ledger (the reader's side, with xrpl-py) ------------------------------------------


class _Ledger:
    def __init__(self, url: str) -> None:
        from xrpl.clients import JsonRpcClient

        self.url = url
        self.client = JsonRpcClient(url)

    def request(self, method: str, **params: Any) -> dict[str, Any]:
        import urllib.request

        body = json.dumps({"method": method, "params": [params]}).encode()
        request = urllib.request.Request(  # noqa: S310 - the replay's own sandbox
            self.url, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return dict(json.loads(response.read())["result"])

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.request("server_info").get("status") == "success":
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the replay's sandbox ledger did not start")

    def submit_all(self, signed: list[Any]) -> list[dict[str, Any]]:
        """Submit signed transactions and wait until each is validated with tesSUCCESS."""
        from xrpl.transaction import submit

        hashes = []
        for tx in signed:
            result = submit(tx, self.client).result
            if result.get("engine_result") not in ("tesSUCCESS", "terQUEUED"):
                raise RuntimeError(f"ledger refused a set-up transaction: {result}")
            hashes.append(tx.get_hash())
        done: dict[str, dict[str, Any]] = {}
        deadline = time.monotonic() + LEDGER_TIMEOUT
        while len(done) < len(hashes):
            if time.monotonic() > deadline:
                raise RuntimeError("set-up transactions were not validated in time")
            for tx_hash in hashes:
                if tx_hash in done:
                    continue
                result = self.request("tx", transaction=tx_hash)
                if result.get("validated"):
                    if result["meta"]["TransactionResult"] != "tesSUCCESS":
                        raise RuntimeError(f"set-up transaction failed: {result['meta']}")
                    done[tx_hash] = result
            time.sleep(POLL_SECONDS)
        return [done[h] for h in hashes]

    def fund(self, payments: list[tuple[str, int]]) -> None:
        """Pay each (address, drops) from the sandbox's genesis account."""
        from xrpl.models.transactions import Payment
        from xrpl.transaction import autofill, sign
        from xrpl.wallet import Wallet

        if not payments:
            return
        genesis = Wallet.from_seed(settings.DROPGATE_FAUCET_SEED)
        sequence = int(
            self.request("account_info", account=genesis.address, ledger_index="current")[
                "account_data"
            ]["Sequence"]
        )
        signed = [
            sign(
                autofill(
                    Payment(
                        account=genesis.address,
                        destination=address,
                        amount=str(drops),
                        sequence=sequence + index,
                    ),
                    self.client,
                ),
                genesis,
            )
            for index, (address, drops) in enumerate(payments)
        ]
        self.submit_all(signed)


# --- The scenario's world ------------------------------------------------------------------


@dataclass
class _ReaderSeat:
    """One scenario reader at one publisher: its Reader row, claim key, wallet and channel."""

    reader: Any
    public_key: str
    private_key: str
    wallet: Any = None
    channel_id: str = ""
    funded_drops: int = 0


@dataclass
class _World:
    scenario: Any
    ledger: _Ledger
    publishers: dict[str, Any] = field(default_factory=dict)
    articles: dict[str, Any] = field(default_factory=dict)
    seats: dict[tuple[str, str], _ReaderSeat] = field(default_factory=dict)
    unlocks: dict[str, int] = field(default_factory=dict)
    sessions: dict[tuple[str, str], str] = field(default_factory=dict)
    disputes: dict[str, int] = field(default_factory=dict)
    reviewers: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)


class _Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _claim_keypair() -> tuple[str, str]:
    from xrpl.constants import CryptoAlgorithm
    from xrpl.core import keypairs

    return keypairs.derive_keypair(keypairs.generate_seed(algorithm=CryptoAlgorithm.ED25519))


def _register_reader(publisher: Any, public: str, private: str) -> Any:
    """A reader of `publisher` with claim key (`public`, `private`), registered as the frame
    does: a fresh challenge, signed with the claim key as the proof of possession."""
    from xrpl.core import keypairs

    from paywall.services.readers import (
        reader_create,
        reader_registration_challenge,
        reader_registration_message,
    )

    challenge = reader_registration_challenge(publisher=publisher).challenge
    message = reader_registration_message(
        publisher_key=publisher.key, challenge=challenge, public_key=bytes.fromhex(public)
    )
    return reader_create(
        publisher=publisher,
        claim_public_key=public,
        challenge=challenge,
        proof_signature=str(keypairs.sign(message, private)),
    )


def _sign_claim(seat: _ReaderSeat, amount: int) -> str:
    from xrpl.core import keypairs
    from xrpl.core.binarycodec import encode_for_signing_claim

    message = bytes.fromhex(
        encode_for_signing_claim({"channel": seat.channel_id, "amount": str(amount)})
    )
    return str(keypairs.sign(message, seat.private_key))


def _body(words: int, ref: str) -> str:
    text = " ".join(f"word{i % 97}" for i in range(max(1, words)))
    return f"<h2>{ref}</h2><p>{text}</p>"


def _setup(world: _World) -> None:
    """Platform, publishers, articles, readers with funded and registered channels."""
    from xrpl.models.transactions import PaymentChannelCreate
    from xrpl.transaction import autofill_and_sign
    from xrpl.wallet import Wallet

    from channels_app.keys.services import platform_address
    from channels_app.services.platform import platform_bootstrap
    from paywall.services.articles import article_upsert
    from paywall.services.channels import reader_channel_register
    from paywall.services.publishers import publisher_create
    from paywall.types import Price

    scenario = world.scenario
    platform = platform_address()
    world.ledger.fund([(platform, PLATFORM_FUNDING_DROPS)])
    platform_bootstrap(harden=False)
    logger.info("platform funded")
    for index, ref in enumerate(scenario.publishers):
        world.publishers[ref] = publisher_create(
            name=f"Replay publisher {ref}",
            allowed_origins=[REPLAY_ORIGIN],
            key=f"pub_replay{index}{secrets.token_hex(4)}",
        )
    for ref, article in scenario.articles.items():
        world.articles[ref] = article_upsert(
            publisher=world.publishers[article.publisher],
            slug=ref.lower().replace("_", "-"),
            title=f"Article {ref}",
            price=Price(drops=article.price_drops),
            body_html=_body(article.words, ref),
        ).article
    # What each reader spends at each publisher: its channel covers all of it.
    spend: dict[tuple[str, str], set[str]] = {}
    for event in scenario.events:
        if event.do == "unlock":
            reader, article = event.fields.get("reader"), event.fields.get("article")
            if reader in scenario.readers and article in scenario.articles:
                key = (reader, scenario.articles[article].publisher)
                spend.setdefault(key, set()).add(article)
    for reader_ref in scenario.readers:
        if not any(key[0] == reader_ref for key in spend):
            spend[(reader_ref, scenario.publishers[0])] = set()
    minimum = int(settings.DROPGATE_MIN_CHANNEL_DROPS)
    for (reader_ref, publisher_ref), articles in spend.items():
        public, private = _claim_keypair()
        issued = _register_reader(world.publishers[publisher_ref], public, private)
        seat = _ReaderSeat(reader=issued.reader, public_key=public, private_key=private)
        seat.funded_drops = max(minimum, sum(scenario.articles[a].price_drops for a in articles))
        seat.wallet = Wallet.create()
        world.seats[(reader_ref, publisher_ref)] = seat
    seats = list(world.seats.values())
    world.ledger.fund([(s.wallet.address, s.funded_drops + RESERVE_DROPS) for s in seats])
    logger.info("readers funded")
    created = world.ledger.submit_all(
        [
            autofill_and_sign(
                PaymentChannelCreate(
                    account=s.wallet.address,
                    destination=platform,
                    amount=str(s.funded_drops),
                    settle_delay=max(
                        int(settings.DROPGATE_MIN_SETTLE_DELAY_SECONDS),
                        int(settings.DROPGATE_CHANNEL_SETTLE_DELAY_SECONDS),
                    ),
                    public_key=s.public_key,
                    destination_tag=s.reader.publisher.destination_tag,
                ),
                world.ledger.client,
                s.wallet,
            )
            for s in seats
        ]
    )
    for seat, result in zip(seats, created, strict=True):
        seat.channel_id = next(
            str(node["CreatedNode"]["LedgerIndex"]).upper()
            for node in result["meta"]["AffectedNodes"]
            if node.get("CreatedNode", {}).get("LedgerEntryType") == "PayChannel"
        )
        reader_channel_register(reader=seat.reader, channel_id=seat.channel_id)


# --- Events --------------------------------------------------------------------------------


def _seat(world: _World, reader_ref: Any, publisher_ref: str) -> _ReaderSeat:
    """The scenario reader's seat at a publisher; one without a channel is made on demand
    (a reader that only ever disputes there)."""

    if reader_ref not in world.scenario.readers:
        raise _Refused("reader_not_found")
    seat = world.seats.get((reader_ref, publisher_ref))
    if seat is None:
        public, private = _claim_keypair()
        issued = _register_reader(world.publishers[publisher_ref], public, private)
        seat = _ReaderSeat(reader=issued.reader, public_key=public, private_key=private)
        world.seats[(reader_ref, publisher_ref)] = seat
    return seat


def _session(world: _World, seat: _ReaderSeat, fields: dict[str, Any]) -> str | None:
    """The page's telemetry session as the scenario describes it (a fraud record)."""
    from django.core.cache import cache

    from fraud.features.fingerprint import fingerprint_hash
    from fraud.models import TelemetrySession
    from fraud.selectors import score_cache_key

    decision = fields.get("fraud_decision", "allow")
    if decision == "agent":
        return None
    hold, challenge, refuse = (
        float(settings.DROPGATE_RISK_HOLD_AT),
        float(settings.DROPGATE_RISK_CHALLENGE_AT),
        float(settings.DROPGATE_RISK_REFUSE_AT),
    )
    score = {
        "allow": hold / 2,
        "hold": (hold + challenge) / 2,
        "challenge": (challenge + refuse) / 2,
        "refuse": (refuse + 1.0) / 2,
    }[decision]
    label = fields.get("fingerprint")
    session = TelemetrySession.objects.create(
        public_id=f"tls_{secrets.token_urlsafe(16)}",
        publisher_ref=seat.reader.publisher.key,
        fingerprint_hash=fingerprint_hash({"canvas": str(label)}) if label else "",
        score=round(score, 4),
        reasons=[],
        category="human",
        events_count=120,
    )
    cache.delete(score_cache_key(session.public_id))
    return session.public_id


def _do_unlock(world: _World, fields: dict[str, Any]) -> None:
    from channels_app.crashpoints import InjectedFault
    from fraud.models import ArticleView, TelemetrySession
    from paywall.models import Unlock
    from paywall.services.content import content_for_grant
    from paywall.services.pricing import price_quote
    from paywall.services.unlocks import unlock_article
    from paywall.types import SubmittedClaim

    ref = fields.get("ref")
    if not isinstance(ref, str) or not ref:
        raise _Refused("ref_missing")
    article_ref = str(fields.get("article"))
    article = world.articles.get(article_ref)
    if article is None:
        raise _Refused("article_not_found")
    seat = _seat(world, fields.get("reader"), world.scenario.articles[article_ref].publisher)
    key = (str(fields.get("reader")), str(article_ref))
    repeat = key in world.sessions
    session_id = world.sessions[key] if repeat else _session(world, seat, fields)
    claim = None
    if seat.channel_id:
        from channels_app.selectors import channel_snapshot

        snapshot = channel_snapshot(seat.channel_id)
        amount = (snapshot.accepted_drops if snapshot else 0) + int(
            price_quote(article=article).drops
        )
        claim = SubmittedClaim(
            channel_id=seat.channel_id, amount_drops=amount, signature=_sign_claim(seat, amount)
        )
    result = unlock_article(
        reader=seat.reader,
        article=article,
        claim=claim,
        telemetry_session=session_id,
        user_agent="disputes_replay",
        client_ip="127.0.0.1",
    )
    if session_id is not None:
        world.sessions[key] = session_id
    unlock = Unlock.objects.get(reader=seat.reader, article=article)
    world.unlocks[ref] = unlock.pk
    delivery = fields.get("delivery", "ok")
    if delivery != "not_fetched":
        previous = settings.DROPGATE_FAULT_POINT
        settings.DROPGATE_FAULT_POINT = "content_serve" if delivery == "server_error" else ""
        try:
            content_for_grant(
                publisher_key=article.publisher.key,
                article_slug=article.slug,
                grant_token=result.grant.token,
            )
        except InjectedFault:
            pass
        finally:
            settings.DROPGATE_FAULT_POINT = previous
    dwell = fields.get("dwell_seconds")
    if dwell is not None and session_id is not None:
        session = TelemetrySession.objects.get(public_id=session_id)
        view = ArticleView.objects.filter(session=session, article_ref=article.slug).first()
        ArticleView.objects.update_or_create(
            session=session,
            article_ref=article.slug,
            defaults={
                "publisher_ref": article.publisher.key,
                "visible_ms": (view.visible_ms if view else 0) + int(dwell) * 1000,
                "words": world.scenario.articles[article_ref].words,
            },
        )


def _dispute_id(world: _World, fields: dict[str, Any]) -> int:
    ref = fields.get("dispute")
    if ref not in world.disputes:
        raise _Refused("dispute_not_found")
    return world.disputes[ref]


def _do_dispute(world: _World, fields: dict[str, Any]) -> None:
    from disputes.services.filing import dispute_file
    from paywall.models import Unlock

    ref = fields.get("ref")
    if not isinstance(ref, str) or not ref:
        raise _Refused("ref_missing")
    unlock_id = world.unlocks.get(str(fields.get("unlock")))
    if unlock_id is None:
        raise _Refused("unlock_not_found")
    unlock = Unlock.objects.select_related("reader__publisher", "article").get(pk=unlock_id)
    owner = next(r for (r, _p), s in world.seats.items() if s.reader.pk == unlock.reader_id)
    publisher_ref = next(
        p for p, pub in world.publishers.items() if pub.pk == unlock.article.publisher_id
    )
    seat = _seat(world, fields.get("reader", owner), publisher_ref)
    dispute = dispute_file(
        reader=seat.reader,
        unlock=unlock_id,
        reason=str(fields.get("reason", "")),
        message=str(fields.get("message", "")),
    )
    world.disputes[ref] = dispute.pk


def _do_respond(world: _World, fields: dict[str, Any]) -> None:
    from disputes.models import Dispute
    from disputes.services.responses import dispute_respond

    dispute = Dispute.objects.select_related("publisher").get(pk=_dispute_id(world, fields))
    accept = bool(fields.get("accept", False))
    statement = str(fields.get("statement", "") or ("" if accept else DEFAULT_STATEMENT))
    dispute_respond(
        publisher=dispute.publisher, dispute_id=dispute.pk, accept=accept, statement=statement
    )


def _reviewer(world: _World, name: Any) -> Any:
    from django.contrib.auth import get_user_model

    name = str(name or "reviewer")[:150]
    if name not in world.reviewers:
        user, _ = get_user_model().objects.get_or_create(username=name, defaults={"is_staff": True})
        world.reviewers[name] = user
    return world.reviewers[name]


def _do_decide(world: _World, fields: dict[str, Any]) -> None:
    from disputes.services.review import dispute_decide

    minutes = fields.get("minutes", 0)
    dispute_decide(
        dispute_id=_dispute_id(world, fields),
        reviewer=_reviewer(world, fields.get("reviewer")),
        winner=str(fields.get("for", "")),
        note=str(fields.get("note", "")),
        minutes=minutes if isinstance(minutes, int) else -1,
    )


def _do_appeal(world: _World, fields: dict[str, Any]) -> None:
    from disputes.services.appeals import dispute_appeal

    dispute_appeal(
        dispute_id=_dispute_id(world, fields),
        side=str(fields.get("by", "")),
        message=str(fields.get("message", "")),
    )


def _do_escalate(world: _World, fields: dict[str, Any]) -> None:
    from disputes.services.review import dispute_escalate

    dispute_escalate(
        dispute_id=_dispute_id(world, fields), by=_reviewer(world, fields.get("reviewer"))
    )


def _do_ask_publisher(world: _World, fields: dict[str, Any]) -> None:
    from disputes.services.review import dispute_ask_publisher

    dispute_ask_publisher(
        dispute_id=_dispute_id(world, fields), by=_reviewer(world, fields.get("reviewer"))
    )


def _do_report_key_compromise(world: _World, fields: dict[str, Any]) -> None:
    from disputes.services.compromise import key_compromise_report

    reader_ref = fields.get("reader")
    if reader_ref not in world.scenario.readers:
        raise _Refused("reader_not_found")
    for (ref, _publisher), seat in world.seats.items():
        if ref == reader_ref:
            key_compromise_report(reader=seat.reader, note=str(fields.get("note", "")))


def _channels_of(world: _World, reader_ref: Any) -> list[_ReaderSeat]:
    if reader_ref not in world.scenario.readers:
        raise _Refused("reader_not_found")
    return [s for (r, _p), s in world.seats.items() if r == reader_ref and s.channel_id]


def _do_settle(world: _World, fields: dict[str, Any], *, close: bool = False) -> None:
    from channels_app.models import Channel
    from channels_app.services.settlement import settlement_run

    for seat in _channels_of(world, fields.get("reader")):
        channel = Channel.objects.get(channel_id=seat.channel_id)
        outcome = settlement_run(
            channel_pk=channel.pk, reason="replay", close=close, wait_seconds=LEDGER_TIMEOUT
        )
        if outcome.state not in ("validated", "closed", "nothing_to_do"):
            raise _Refused(f"settlement_{outcome.state}")
        if close:
            from channels_app.services.channels import channel_sync

            channel_sync(channel_pk=channel.pk)


def _do_close_channel(world: _World, fields: dict[str, Any]) -> None:
    _do_settle(world, fields, close=True)


_HANDLERS: dict[str, Callable[[_World, dict[str, Any]], None]] = {
    "unlock": _do_unlock,
    "dispute": _do_dispute,
    "respond": _do_respond,
    "decide": _do_decide,
    "appeal": _do_appeal,
    "escalate": _do_escalate,
    "ask_publisher": _do_ask_publisher,
    "report_key_compromise": _do_report_key_compromise,
    "settle": _do_settle,
    "close_channel": _do_close_channel,
    "wait": lambda world, fields: None,
}


# --- Output --------------------------------------------------------------------------------


def _journal_balanced() -> bool:
    from django.db.models import F, Sum

    from channels_app.models import JournalEntry
    from channels_app.payouts.services.reconcile import payouts_reconcile
    from channels_app.payouts.services.refunds import refunds_resolve
    from channels_app.services.platform import journal_reconcile

    refunds_resolve(wait_seconds=LEDGER_TIMEOUT)
    unbalanced = (
        JournalEntry.objects.annotate(d=Sum("lines__debit_drops"), c=Sum("lines__credit_drops"))
        .exclude(d=F("c"))
        .exists()
    )
    journal = journal_reconcile()
    payouts = payouts_reconcile()
    for difference in (*journal.differences, *payouts.differences):
        logger.warning("reconciliation: %s", difference)
    return not unbalanced and journal.ok and payouts.ok


def _dispute_out(ref: str, dispute_id: int) -> dict[str, Any]:
    from channels_app.payouts.models import TxState
    from disputes.models import Dispute

    dispute = Dispute.objects.select_related("refund").get(pk=dispute_id)
    refund = dispute.refund
    live = refund is not None and refund.status not in (TxState.FAILED, TxState.CANCELLED)
    return {
        "ref": ref,
        "class": dispute.dispute_class,
        "status": dispute.status,
        "tier": dispute.tier,
        "decided_by": dispute.decided_by or None,
        "reasons": list(dispute.reasons),
        "refund_drops": refund.amount_drops if live and refund is not None else 0,
        "refund_mode": refund.mode if live and refund is not None else None,
        "appeals": dispute.appeals.count(),
    }


# --- Entry point ---------------------------------------------------------------------------


def run(path: Path, *, workdir: Path, cache_dir: Path, verbose: bool = False) -> dict[str, Any]:
    """Replay the scenario at `path` and return the output object. Precondition: this
    process's settings are the throwaway ones `environment` set (its database is in
    `workdir`); the sandbox ledger is started here, in `workdir`."""
    from disputes.replay.scenario import parse

    if verbose:
        logging.getLogger("disputes.replay").setLevel(logging.INFO)
    fast_sqlite()
    follow_app_clock()
    scenario = parse(json.loads(path.read_text(encoding="utf-8")))
    sandbox = _Sandbox(workdir / "sandbox")
    try:
        settings.XRPL_URL = sandbox.url
        database_prepare(cache_dir)
        logger.info("database ready")
        ledger = _Ledger(sandbox.url)
        ledger.wait_ready()
        return _replay(scenario, ledger)
    finally:
        sandbox.stop()


def _replay(scenario: Any, ledger: _Ledger) -> dict[str, Any]:
    from channels_app.exceptions import DropgateError
    from disputes.services.sla import disputes_sla_run

    world = _World(scenario=scenario, ledger=ledger)
    base = scenario.start - datetime.now(UTC)
    with clock.override(base):
        _setup(world)
    logger.info("set up: %s readers' channels", len(world.seats))
    elapsed = timedelta(0)
    for event in scenario.events:
        elapsed += event.after
        with clock.override(base + elapsed):
            disputes_sla_run(wait_seconds=LEDGER_TIMEOUT)
            outcome = "ok"
            try:
                _HANDLERS[event.do](world, event.fields)
            except (_Refused, DropgateError) as exc:
                world.errors.append({"ref": event.label, "error": str(exc.code)})
                outcome = str(exc.code)
            logger.info("event %s %s %s: %s", event.index, event.do, event.label, outcome)
    with clock.override(base + elapsed):
        return {
            "disputes": [_dispute_out(ref, pk) for ref, pk in world.disputes.items()],
            "errors": world.errors,
            "journal_balanced": _journal_balanced(),
        }
