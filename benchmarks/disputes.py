"""Dispute benchmark: file 10,000 generated disputes through `dispute_file` and measure tier 1.

    .venv/bin/python benchmarks/disputes.py                    # 10,000 disputes
    .venv/bin/python benchmarks/disputes.py --disputes 1000    # smaller
    .venv/bin/python benchmarks/disputes.py --seed 7

prints ONE JSON object on stdout; progress goes to stderr. Targets (issue 11):
≥ 90 % decided at tier 1; tier-1 decision p99 < 1 s after filing; ≥ 200 disputes/s decided on
one core.

What it does, in this process (Django configured for a fresh temporary data dir, SQLite):

1. The database from the replay's migrated template (migrating only on the first run).
2. Setup (not timed): one publisher, 10 articles, one reader per dispute (repeat filers: a
   few readers with 10), each with a tracked channel, an earlier undisputed unlock (its
   device's history) and the disputed unlock(s). Rows are written in bulk in the shapes the
   product writes them: sealed claims signed by the reader's Ed25519 claim key, unlocks
   linked to their fraud decision, telemetry sessions with the article's dwell, content
   deliveries (served, failed, or none). No ledger: refunds are reader credit (channels open).
3. Timed: each dispute filed with `disputes.services.filing.dispute_file`, one after another
   in this one process (one core): evidence linked and read, resolvers, consensus, the
   decision or the routing (with its payout hold), the credit refund and its journal entry.
   The latency of a tier-1 decision is the time of that call (it returns decided).

The generated mix (options below) decides how many disputes the rules *can* decide: a
content dispute whose reader read the article is, by the rules, the publisher's to answer,
and a repeat filer's is never automatic. The mix is printed with the result.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

log = logging.getLogger("benchmarks.disputes")

PRICE = 100_000
ARTICLES = 10
REPEAT_DISPUTES = 10  # disputes of each repeat filer


def configure(data_dir: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "paywall.settings",
            "DROPGATE_DATA_DIR": str(data_dir),
            "DATABASE_URL": f"sqlite:///{data_dir / 'bench.sqlite3'}",
            "CELERY_BROKER_URL": "memory://",
            "DROPGATE_LOG_LEVEL": "WARNING",
        }
    )
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from disputes.replay.environment import replay_cache_dir
    from disputes.replay.runner import database_prepare, fast_sqlite

    fast_sqlite()
    database_prepare(replay_cache_dir())


def plan(args: argparse.Namespace, rng: random.Random) -> list[dict[str, Any]]:
    """One spec per dispute: its reason and what its evidence will say."""
    weights = {
        "not_delivered": args.not_delivered,
        "charged_twice": args.charged_twice,
        "accidental": args.accidental,
        "not_as_described": args.not_as_described,
        "unauthorized": args.unauthorized,
    }
    reasons = rng.choices(list(weights), weights=list(weights.values()), k=args.disputes)
    specs = []
    for reason in reasons:
        spec: dict[str, Any] = {
            "reason": reason,
            "delivery": "ok",
            "dwell_s": 120,
            "device": "known",
        }
        if reason == "not_delivered" and rng.random() < args.failed_share:
            spec["delivery"] = rng.choice(["server_error", "never"])
        if reason == "accidental" and rng.random() < args.bounce_accidental:
            spec["dwell_s"] = rng.randint(0, 14)
        if reason == "not_as_described" and rng.random() < args.bounce_described:
            spec["dwell_s"] = rng.randint(0, 14)
        if reason == "unauthorized" and rng.random() >= args.known_device:
            spec["device"] = rng.choice(["new", "hold"])
        specs.append(spec)
    return specs


def build(
    specs: list[dict[str, Any]], repeat_readers: int, rng: random.Random
) -> list[tuple[Any, int, str]]:
    """Write the fixture rows in bulk; return (reader, unlock id, reason) per dispute spec."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from channels_app.models import Channel, Claim
    from channels_app.signatures import claim_message
    from fraud.features.fingerprint import fingerprint_hash
    from fraud.models import ArticleView, RiskDecisionRecord, TelemetrySession
    from paywall.models import ContentDelivery, Reader, Unlock
    from paywall.services.articles import article_upsert
    from paywall.services.publishers import publisher_create
    from paywall.types import Price

    publisher = publisher_create(name="Bench", allowed_origins=["https://bench.invalid"])
    articles = [
        article_upsert(
            publisher=publisher,
            slug=f"story-{n}",
            title=f"Story {n}",
            price=Price(drops=PRICE),
            body_html=f"<p>Story {n}</p>",
        ).article
        for n in range(ARTICLES + 1)
    ]
    body = "<p>Story</p>"
    body_sha = hashlib.sha256(body.encode()).hexdigest()
    # Disputes per reader: most readers file one, a few file REPEAT_DISPUTES.
    owners: list[int] = []
    reader_count = 0
    for _ in range(repeat_readers):
        owners += [reader_count] * REPEAT_DISPUTES
        reader_count += 1
    while len(owners) < len(specs):
        owners.append(reader_count)
        reader_count += 1
    owners = owners[: len(specs)]
    keys = [Ed25519PrivateKey.generate() for _ in range(reader_count)]
    publics = [
        "ED"
        + k.public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        .hex()
        .upper()
        for k in keys
    ]
    readers = Reader.objects.bulk_create(
        [
            Reader(
                public_id=f"rdr_bench{i:06d}",
                publisher=publisher,
                claim_public_key=publics[i],
                token_hash="0" * 64,
            )
            for i in range(reader_count)
        ]
    )
    per_reader = Counter(owners)
    channels = []
    for i, reader in enumerate(readers):
        unlocks = per_reader[i] + 1  # one earlier, undisputed unlock each
        channel = Channel(
            channel_id=hashlib.sha256(f"bench-channel-{i}".encode()).hexdigest().upper(),
            owner_ref=reader.public_id,
            source_address="rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe",
            destination_address="rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh",
            destination_tag=publisher.destination_tag,
            public_key=publics[i],
            amount_drops=unlocks * PRICE * 2,
            accepted_drops=unlocks * PRICE,
            settle_delay=86_400,
        )
        channel.mac = channel.expected_mac()
        channels.append(channel)
    channels = Channel.objects.bulk_create(channels)
    log.info("readers and channels: %d", reader_count)

    # Each reader's unlocks: the history one first (article 0), then the disputed ones.
    rows: list[tuple[int, int, dict[str, Any] | None]] = []  # (reader index, article, spec)
    seen: Counter[int] = Counter()
    for i in range(reader_count):
        rows.append((i, 0, None))
    for spec, owner in zip(specs, owners, strict=True):
        seen[owner] += 1
        rows.append((owner, seen[owner], spec))
    claims, sessions = [], []
    cumulative: Counter[int] = Counter()
    for owner, article_n, spec in rows:
        cumulative[owner] += PRICE
        channel = channels[owner]
        amount = cumulative[owner]
        signature = keys[owner].sign(claim_message(bytes.fromhex(channel.channel_id), amount))
        article = articles[article_n]
        claim = Claim(
            channel=channel,
            amount_drops=amount,
            increment_drops=PRICE,
            signature=signature.hex().upper(),
            payee_ref=publisher.key,
            reference=f"unlock:{publisher.key}:{article.pk}:{readers[owner].public_id}",
        )
        claim.mac = claim.expected_mac(channel.channel_id)
        claims.append(claim)
        device = "known" if spec is None or spec["device"] == "known" else f"new-{owner}"
        sessions.append(
            TelemetrySession(
                public_id=f"tls_bench{len(sessions):08d}",
                publisher_ref=publisher.key,
                reader_ref=readers[owner].public_id,
                fingerprint_hash=fingerprint_hash({"canvas": f"device-{owner}-{device}"}),
                score=0.1,
                category="human",
                events_count=100,
            )
        )
    claims = Claim.objects.bulk_create(claims, batch_size=2000)
    sessions = TelemetrySession.objects.bulk_create(sessions, batch_size=2000)
    decisions = RiskDecisionRecord.objects.bulk_create(
        [
            RiskDecisionRecord(
                publisher_ref=publisher.key,
                reader_ref=readers[owner].public_id,
                article_ref=articles[article_n].slug,
                channel_id=channels[owner].channel_id,
                session=session,
                fingerprint_hash=session.fingerprint_hash,
                action="hold" if spec is not None and spec["device"] == "hold" else "allow",
                score=0.1,
                reasons=[],
                category="human",
                amount_drops=PRICE,
            )
            for (owner, article_n, spec), session in zip(rows, sessions, strict=True)
        ],
        batch_size=2000,
    )
    unlocks = Unlock.objects.bulk_create(
        [
            Unlock(
                reader=readers[owner],
                article=articles[article_n],
                amount_drops=PRICE,
                channel_id=channels[owner].channel_id,
                claim_id=claim.pk,
                claim_reference=claim.reference,
                risk_decision_id=decision.pk,
            )
            for (owner, article_n, _spec), claim, decision in zip(
                rows, claims, decisions, strict=True
            )
        ],
        batch_size=2000,
    )
    views, deliveries = [], []
    from channels_app import clock

    now = clock.now()
    for (_owner, article_n, spec), unlock, session in zip(rows, unlocks, sessions, strict=True):
        delivery = "ok" if spec is None else spec["delivery"]
        dwell_s = 120 if spec is None else spec["dwell_s"]
        views.append(
            ArticleView(
                session=session,
                publisher_ref=publisher.key,
                article_ref=articles[article_n].slug,
                visible_ms=dwell_s * 1000,
                words=600,
            )
        )
        if delivery == "ok":
            deliveries.append(
                ContentDelivery(
                    unlock=unlock,
                    at=now,
                    status=200,
                    bytes=len(body),
                    sha256=body_sha,
                    dwell_ms_at=0,
                )
            )
        elif delivery == "server_error":
            deliveries.append(
                ContentDelivery(unlock=unlock, at=now, status=500, error_code="server_error")
            )
    ArticleView.objects.bulk_create(views, batch_size=2000)
    ContentDelivery.objects.bulk_create(deliveries, batch_size=2000)
    disputed = [
        (readers[owner], unlock.pk, spec["reason"])
        for (owner, _a, spec), unlock in zip(rows, unlocks, strict=True)
        if spec is not None
    ]
    rng.shuffle(disputed)  # filings arrive in no particular order (repeat filers interleaved)
    return disputed


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    data_dir = Path(tempfile.mkdtemp(prefix="dropgate-bench-disputes-"))
    started = time.perf_counter()
    configure(data_dir)
    specs = plan(args, rng)
    filings = build(specs, args.repeat_readers, rng)
    from disputes.models import Dispute, DisputeEvidence
    from disputes.services.filing import dispute_file

    setup_seconds = time.perf_counter() - started
    log.info("set up %d disputes in %.1f s; filing", len(filings), setup_seconds)

    latencies: list[float] = []
    tier1: list[float] = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for n, (reader, unlock_id, reason) in enumerate(filings, start=1):
        t0 = time.perf_counter()
        dispute = dispute_file(reader=reader, unlock=unlock_id, reason=reason)
        elapsed = time.perf_counter() - t0
        latencies.append(elapsed)
        if dispute.decided_by == "auto":
            tier1.append(elapsed)
        if n % 1000 == 0:
            log.info("%d filed", n)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0

    # Context for the CPU figures: what one trivial ORM query costs on this machine now.
    from paywall.models import Reader

    first_reader = filings[0][0].pk
    probe0 = time.process_time()
    for _ in range(500):
        Reader.objects.filter(pk=first_reader).first()
    orm_query_ms = (time.process_time() - probe0) / 500 * 1000

    outcomes = Counter(Dispute.objects.values_list("reason", "status", "tier").iterator())
    decided_tier1 = Dispute.objects.filter(decided_by="auto").count()
    total = len(filings)
    assert DisputeEvidence.objects.count() == total
    result = {
        "disputes": total,
        "setup_seconds": round(setup_seconds, 1),
        "decided_at_tier_1": decided_tier1,
        "tier_1_share": round(decided_tier1 / total, 4),
        "tier_1_decision_ms": {
            "p50": round(percentile(tier1, 50) * 1000, 2),
            "p99": round(percentile(tier1, 99) * 1000, 2),
            "max": round(max(tier1) * 1000, 2),
        },
        "filing_ms": {
            "p50": round(percentile(latencies, 50) * 1000, 2),
            "p99": round(percentile(latencies, 99) * 1000, 2),
        },
        "disputes_per_second": round(total / wall, 1),
        "disputes_per_cpu_second": round(total / cpu, 1),
        "wall_seconds": round(wall, 2),
        "trivial_orm_query_cpu_ms": round(orm_query_ms, 3),
        "cpu_seconds": round(cpu, 2),
        "outcomes": {
            f"{reason}/{status}/tier{tier}": count
            for (reason, status, tier), count in sorted(outcomes.items())
        },
        "mix": {
            "reasons": {
                "not_delivered": args.not_delivered,
                "charged_twice": args.charged_twice,
                "accidental": args.accidental,
                "not_as_described": args.not_as_described,
                "unauthorized": args.unauthorized,
            },
            "not_delivered_failed_share": args.failed_share,
            "accidental_bounce_share": args.bounce_accidental,
            "not_as_described_bounce_share": args.bounce_described,
            "unauthorized_known_device_share": args.known_device,
            "repeat_filers": args.repeat_readers,
            "disputes_per_repeat_filer": REPEAT_DISPUTES,
            "seed": args.seed,
        },
        "targets": {
            "tier_1_share >= 0.90": decided_tier1 / total >= 0.90,
            "tier_1_p99_ms < 1000": percentile(tier1, 99) < 1.0,
            "disputes_per_cpu_second >= 200": total / cpu >= 200,
        },
        "backend": "sqlite",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--disputes", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--not-delivered", type=float, default=0.35)
    parser.add_argument("--charged-twice", type=float, default=0.10)
    parser.add_argument("--accidental", type=float, default=0.35)
    parser.add_argument("--not-as-described", type=float, default=0.05)
    parser.add_argument("--unauthorized", type=float, default=0.15)
    parser.add_argument(
        "--failed-share", type=float, default=0.40, help="of not_delivered: really failed"
    )
    parser.add_argument(
        "--bounce-accidental", type=float, default=0.85, help="of accidental: left within 15 s"
    )
    parser.add_argument(
        "--bounce-described", type=float, default=0.50, help="of not_as_described: left within 15 s"
    )
    parser.add_argument(
        "--known-device", type=float, default=0.90, help="of unauthorized: known device, allow"
    )
    parser.add_argument(
        "--repeat-readers", type=int, default=10, help="readers who file 10 disputes each"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    print(json.dumps(measure(args)))


if __name__ == "__main__":
    main()
