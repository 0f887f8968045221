"""The client's address behind trusted proxies (issue 9, "throttles and the telemetry limit key
on REMOTE_ADDR: add a trusted-proxy setting").

X-Forwarded-For is believed only when the peer is in DROPGATE_TRUSTED_PROXIES, and then only
up to the rightmost hop that is not a trusted proxy: what stands left of it was written by the
client. Behind a load balancer every client used to share the balancer's throttle budget and
telemetry session limit.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.test import Client

from channels_app.client_address import client_address, client_address_of_scope
from fraud.models import TelemetrySession
from paywall.asgi import application
from tests.paywall.factories import ORIGIN, make_article, make_publisher

PROXY = "10.0.0.5"


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "expected"),
    [
        # nothing trusted: the peer, whatever the header says
        ([], "198.51.100.1", ["203.0.113.9"], "198.51.100.1"),
        # an untrusted peer's header is ignored
        (["10.0.0.0/8"], "198.51.100.1", ["203.0.113.9"], "198.51.100.1"),
        # a trusted proxy: the hop it saw
        (["10.0.0.0/8"], PROXY, ["203.0.113.9"], "203.0.113.9"),
        # the client's own spoofed hops stand left of it and are ignored
        (["10.0.0.0/8"], PROXY, ["1.1.1.1, 2.2.2.2, 203.0.113.9"], "203.0.113.9"),
        # two trusted proxies in a row: skip both
        (["10.0.0.0/8"], PROXY, ["1.1.1.1, 203.0.113.9, 10.0.0.7"], "203.0.113.9"),
        # several header lines count as one list
        (["10.0.0.0/8"], PROXY, ["1.1.1.1", "203.0.113.9"], "203.0.113.9"),
        # ports and brackets as proxies write them
        (["10.0.0.0/8"], PROXY, ["203.0.113.9:5123"], "203.0.113.9"),
        (["10.0.0.0/8", "fd00::/8"], "fd00::1", ["[2001:db8::7]:443"], "2001:db8::7"),
        # garbage where a trusted proxy's hop should be: the last vouched-for address
        (["10.0.0.0/8"], PROXY, ["203.0.113.9, not-an-ip"], PROXY),
        # every hop trusted: the leftmost
        (["10.0.0.0/8"], PROXY, ["10.1.1.1, 10.2.2.2"], "10.1.1.1"),
        # no header: the proxy itself
        (["10.0.0.0/8"], PROXY, [], PROXY),
        # a single trusted address, not a block
        (["10.0.0.5"], PROXY, ["203.0.113.9"], "203.0.113.9"),
    ],
)
def test_the_rightmost_untrusted_hop_is_the_client(
    settings, trusted: list[str], peer: str, forwarded: list[str], expected: str
) -> None:
    settings.DROPGATE_TRUSTED_PROXIES = trusted
    assert client_address(peer, forwarded) == expected


def test_a_websocket_scope_reads_its_headers(settings) -> None:
    settings.DROPGATE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    scope = {"client": (PROXY, 1), "headers": [(b"x-forwarded-for", b"1.1.1.1, 203.0.113.9")]}
    assert client_address_of_scope(scope) == "203.0.113.9"


def test_a_bad_setting_stops_the_process_at_start(settings) -> None:
    # The same data and secrets dirs as this run, and a proxy given by name
    env = {
        "DJANGO_SETTINGS_MODULE": "paywall.settings",
        "PYTHONPATH": str(settings.BASE_DIR),
        "PATH": os.environ.get("PATH", ""),
        "DROPGATE_DATA_DIR": str(settings.DATA_DIR),
        "DROPGATE_SECRETS_DIR": str(settings.DROPGATE_SECRETS_DIR),
        "DROPGATE_TRUSTED_PROXIES": "10.0.0.0/8,proxy.example",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "DROPGATE_TRUSTED_PROXIES" in result.stderr and "proxy.example" in result.stderr


def _throttle(settings, rate: str) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK}
    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "anon": rate,
    }
    cache.clear()


def _teaser_codes(client: Client, path: str, forwarded: list[str], peer: str) -> list[int]:
    return [
        client.get(
            path, headers={"Origin": ORIGIN, "X-Forwarded-For": hop}, REMOTE_ADDR=peer
        ).status_code
        for hop in forwarded
    ]


@pytest.mark.django_db
def test_behind_a_trusted_proxy_each_client_has_its_own_budget(client: Client, settings) -> None:
    # Given a proxy we trust and a budget of 2 requests a minute per client
    settings.DROPGATE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    _throttle(settings, "2/min")
    publisher = make_publisher()
    make_article(publisher, slug="story")
    path = f"/api/v1/publishers/{publisher.key}/articles/story"

    # When three clients come through it, and then the first one twice more
    codes = _teaser_codes(client, path, ["203.0.113.1", "203.0.113.2", "203.0.113.3"], PROXY)
    again = _teaser_codes(client, path, ["9.9.9.9, 203.0.113.1"] * 2, PROXY)

    # Then each client is counted apart (spoofed hops left of the proxy's change nothing)
    assert codes == [200, 200, 200]
    assert again == [200, 429]


@pytest.mark.django_db
def test_an_untrusted_peer_cannot_buy_budget_with_the_header(client: Client, settings) -> None:
    settings.DROPGATE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    _throttle(settings, "2/min")
    publisher = make_publisher()
    make_article(publisher, slug="story")
    path = f"/api/v1/publishers/{publisher.key}/articles/story"
    codes = _teaser_codes(
        client, path, ["203.0.113.1", "203.0.113.2", "203.0.113.3"], "198.51.100.7"
    )
    assert codes == [200, 200, 429]


@pytest.mark.django_db(transaction=True)
def test_the_telemetry_session_limit_counts_the_client_behind_the_proxy(settings) -> None:
    # Given a trusted proxy and one new telemetry session a minute per client
    site = "https://news.example"
    settings.DROPGATE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.DROPGATE_TELEMETRY_SESSIONS_PER_IP_MINUTE = 1
    cache.clear()
    publisher = make_publisher(origins=(site,))

    async def connect(forwarded: str) -> int | None:
        comm = WebsocketCommunicator(
            application,
            f"/ws/telemetry/?publisher={publisher.key}",
            headers=[
                (b"host", b"127.0.0.1:8000"),
                (b"origin", site.encode()),
                (b"x-forwarded-for", forwarded.encode()),
            ],
        )
        comm.scope["client"] = (PROXY, 40_000)
        connected, _ = await comm.connect()
        assert connected
        first = await comm.receive_output(5)
        await comm.disconnect()
        return int(first.get("code", 1000)) if first["type"] == "websocket.close" else None

    async def scenario() -> list[int | None]:
        return [
            await connect("203.0.113.1"),
            await connect("203.0.113.2"),
            await connect("203.0.113.1"),
        ]

    # When two clients connect through it, then the first again
    # Then the clients are told apart: only the first client's second session is refused
    assert async_to_sync(scenario)() == [None, None, 4429]
    assert TelemetrySession.objects.count() == 2
