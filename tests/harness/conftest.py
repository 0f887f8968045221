"""The abuse harness (issue 9, "The harness"): one real server process per module (`manage.py
serve`, on the test database and the sandbox ledger), and a world in it to probe: a publisher
with its API key and articles, a reader with its token, and an access grant.

The server and the world live for the module (starting a server costs seconds on a shared
machine); the database is flushed after it, as a transactional test's is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from channels_app.services.platform import platform_bootstrap
from paywall.services.grants import grant_issue
from tests.fixtures.live_server import LiveServer
from tests.paywall.factories import ORIGIN, make_api_key, make_article, make_publisher, make_reader

# The harness measures the server's answers, not its rate limits: every budget is out of reach.
UNLIMITED = "1000000/min"
SERVER_ENV = {
    "DROPGATE_THROTTLE_ANON": UNLIMITED,
    "DROPGATE_THROTTLE_READER": UNLIMITED,
    "DROPGATE_THROTTLE_PUBLISHER": UNLIMITED,
    "DROPGATE_THROTTLE_READYZ": UNLIMITED,
    # The fuzzer reconnects after every telemetry close; the limit has its own tests.
    "DROPGATE_TELEMETRY_SESSIONS_PER_IP_MINUTE": "0",
}


@dataclass(frozen=True)
class HarnessWorld:
    server: LiveServer
    origin: str
    publisher_key: str
    api_key: str
    reader_token: str
    grant: str
    article: str


@pytest.fixture(scope="module")
def harness_world(
    django_db_setup: None,
    django_db_blocker: pytest.FixtureRequest,
    sandbox_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[HarnessWorld]:
    log_dir: Path = tmp_path_factory.mktemp("harness")
    with (
        django_db_blocker.unblock(),
        override_settings(  # type: ignore[attr-defined]
            XRPL_URL=sandbox_url, DROPGATE_FAUCET_ENABLED=True
        ),
    ):
        platform_bootstrap(harden=False)
        publisher = make_publisher(origins=(ORIGIN,))
        article = make_article(publisher, slug="story")
        make_article(publisher, slug="second-story")
        reader, token, _key = make_reader(publisher)
        # A grant as an unlock would issue it (whether its reader paid is the content's check).
        grant = grant_issue(reader=reader, article=article).token
        world = HarnessWorld(
            server=LiveServer(log_dir / "server.log", SERVER_ENV).start(),
            origin=ORIGIN,
            publisher_key=publisher.key,
            api_key=make_api_key(publisher),
            reader_token=token,
            grant=grant,
            article=article.slug,
        )
        try:
            yield world
        finally:
            world.server.stop()
            call_command("flush", interactive=False, verbosity=0)
