"""Console benchmark: what the admin's front page (the operations console, ops/) costs on a
platform with many rows.

    .venv/bin/python benchmarks/console.py                     # 200,000 unlocks, 20,000 channels
    .venv/bin/python benchmarks/console.py --unlocks 20000     # smaller

prints ONE JSON object on stdout; progress goes to stderr. No target is set by an issue; the
figures say how the page grows with the rows: every selector is one query or two, but the
watchtower's status reads every watched channel and checks its integrity tag, as
`manage.py watchtower_status` does.

What it does, in this process (Django configured for a fresh temporary data dir, SQLite):

1. The database from the disputes replay's migrated template (migrating only on the first run).
2. Setup (not timed): PUBLISHERS publishers with ARTICLES articles each; one reader per
   ARTICLES unlocks, each with a tracked channel (sealed, value accepted and unredeemed, a
   CancelAfter in the next 60 days); the unlocks spread evenly over the last 45 days. Rows
   are written in bulk in the shapes the product writes them.
3. Timed, each REPEAT times after one warm-up: every selector of ops.selectors on its own,
   `ops.console.console_for` for a superuser and for a publisher's staff, and the whole index
   page rendered (the site's index view and its template). Medians, with the query counts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

log = logging.getLogger("benchmarks.console")

PRICE = 100_000
PUBLISHERS = 20
ARTICLES = 10
SPREAD_DAYS = 45


def configure(data_dir: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "paywall.settings",
            "DROPGATE_DATA_DIR": str(data_dir),
            "DROPGATE_SECRETS_DIR": str(data_dir / "secrets"),
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


def build(unlock_count: int) -> dict[str, Any]:
    """Write the rows in bulk; return what was made and one publisher's key."""
    from channels_app import clock
    from channels_app.models import Channel
    from paywall.models import Reader, Unlock
    from paywall.services.articles import article_upsert
    from paywall.services.publishers import publisher_create
    from paywall.types import Price

    now = clock.now()
    publishers = [
        publisher_create(name=f"Bench {p}", allowed_origins=[f"https://bench{p}.invalid"])
        for p in range(PUBLISHERS)
    ]
    articles = {
        publisher.pk: [
            article_upsert(
                publisher=publisher,
                slug=f"story-{n}",
                title=f"Story {n}",
                price=Price(drops=PRICE),
                body_html=f"<p>Story {n}</p>",
            ).article
            for n in range(ARTICLES)
        ]
        for publisher in publishers
    }
    reader_count = max(1, unlock_count // ARTICLES)
    readers = Reader.objects.bulk_create(
        [
            Reader(
                public_id=f"rdr_bench{i:07d}",
                publisher=publishers[i % PUBLISHERS],
                claim_public_key="ED" + hashlib.sha256(f"key-{i}".encode()).hexdigest().upper(),
                token_hash="0" * 64,
            )
            for i in range(reader_count)
        ],
        batch_size=2_000,
    )
    channels = []
    for i, reader in enumerate(readers):
        channel = Channel(
            channel_id=hashlib.sha256(f"bench-channel-{i}".encode()).hexdigest().upper(),
            owner_ref=reader.public_id,
            source_address="rPT1Sjq2YGrBMTttX4GZHjKu9dyfzbpAYe",
            destination_address="rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh",
            public_key=reader.claim_public_key,
            amount_drops=ARTICLES * PRICE * 2,
            accepted_drops=ARTICLES * PRICE,
            settle_delay=86_400,
            cancel_after=clock.to_ripple_time(now + timedelta(days=1 + i % 60)),
        )
        channel.mac = channel.expected_mac()
        channels.append(channel)
    Channel.objects.bulk_create(channels, batch_size=2_000)
    log.info("readers and channels: %d", reader_count)
    # Unlocks are placed in time as if made then: created_at is auto_now_add.
    created_at = Unlock._meta.get_field("created_at")
    created_at.auto_now_add = False  # type: ignore[attr-defined]
    try:
        step = SPREAD_DAYS * 86_400 / max(1, reader_count * ARTICLES)
        batch: list[Unlock] = []
        n = 0
        for i, reader in enumerate(readers):
            for article in articles[reader.publisher_id]:
                batch.append(
                    Unlock(
                        reader=reader,
                        article=article,
                        amount_drops=PRICE,
                        channel_id=channels[i].channel_id,
                        claim_id=n + 1,
                        claim_reference=f"bench:{n}",
                        created_at=now - timedelta(seconds=n * step),
                    )
                )
                n += 1
            if len(batch) >= 5_000:
                Unlock.objects.bulk_create(batch)
                batch = []
        Unlock.objects.bulk_create(batch)
    finally:
        created_at.auto_now_add = True  # type: ignore[attr-defined]
    log.info("unlocks: %d", n)
    return {"unlocks": n, "channels": reader_count, "publisher": publishers[0]}


def timed(fn: Callable[[], Any], repeat: int) -> dict[str, float | int]:
    """Median and max wall time in ms over `repeat` runs after a warm-up, and the queries of
    one run."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fn()
    with CaptureQueriesContext(connection) as queries:
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return {
        "median_ms": round(statistics.median(times), 2),
        "max_ms": round(max(times), 2),
        "queries": len(queries.captured_queries),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    from django.contrib import admin
    from django.contrib.auth.models import Permission, User
    from django.test import RequestFactory

    from channels_app import clock
    from ops import selectors
    from ops.console import console_for

    made = build(args.unlocks)
    publisher = made["publisher"]
    root = User.objects.create_superuser("root", "root@example.invalid", "pw")
    editor = User.objects.create_user("editor", password="pw", is_staff=True)
    editor.user_permissions.set(
        Permission.objects.filter(codename__startswith="view_").exclude(
            codename="view_all_publishers"
        )
    )
    publisher.users.add(editor)
    scope = frozenset({publisher.key})

    def request_of(user: Any) -> Any:
        request = RequestFactory().get("/admin/")
        user.is_verified = lambda: True  # what django-otp's middleware installs
        request.user = user
        request.session = {}
        return request

    def index(user: Any) -> Callable[[], Any]:
        def render() -> Any:
            response = admin.site.index(request_of(user))
            response.render()
            return response

        return render

    now = clock.now()
    cases: dict[str, Callable[[], Any]] = {
        "unlock_totals": lambda: selectors.unlock_totals(scope=None, now=now),
        "unlocks_by_hour": lambda: selectors.unlocks_by_hour(scope=None, now=now),
        "unlocks_by_day": lambda: selectors.unlocks_by_day(scope=None, now=now),
        "unlocks_by_day_one_publisher": lambda: selectors.unlocks_by_day(scope=scope, now=now),
        "watchtower_health": lambda: selectors.watchtower_health(now=now),
        "fraud_queue": selectors.fraud_queue,
        "active_holds": lambda: selectors.active_holds(scope=None),
        "payouts_awaiting_approval": lambda: selectors.payouts_awaiting_approval(scope=None),
        "keys_due": lambda: selectors.keys_due(now=now),
        "disputes_waiting": lambda: selectors.disputes_waiting(now=now),
        "sar_cases_open": selectors.sar_cases_open,
        "console_superuser": lambda: console_for(admin.site, request_of(root)),
        "console_publisher_staff": lambda: console_for(admin.site, request_of(editor)),
        "index_page_superuser": index(root),
        "index_page_publisher_staff": index(editor),
    }
    results = {}
    for name, fn in cases.items():
        log.info("timing %s", name)
        results[name] = timed(fn, args.repeat)
    return {
        "benchmark": "console",
        "database": "sqlite",
        "python": platform.python_version(),
        "rows": {
            "unlocks": made["unlocks"],
            "channels": made["channels"],
            "publishers": PUBLISHERS,
            "days": SPREAD_DAYS,
        },
        "repeat": args.repeat,
        "timings": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unlocks", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    with tempfile.TemporaryDirectory(prefix="dropgate-console-bench-") as tmp:
        configure(Path(tmp))
        result = run(args)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
