"""The websocket message limit holds at the server (issue 9: "`--ws-max-size`, not after
buffering 16 MiB"), checked against a real server process (`manage.py serve`).

Before, the server (uvicorn's default) took any message up to 16 MiB whole, and only then did
the consumer close with 4413. Now `manage.py serve` (the demo's and the docs' server command)
runs uvicorn with ws_max_size = DROPGATE_WS_SERVER_MAX_BYTES: a larger message is refused as
it arrives, with close 1009, and the server's memory does not grow by the message.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.fixtures.live_server import LiveServer

pytestmark = [pytest.mark.integration]


def _close_code_after_sending(server: LiveServer, path: str, message: str) -> int | None:
    with connect(
        f"{server.ws_url}{path}",
        origin=server.url,  # type: ignore[arg-type]
        max_size=None,
        open_timeout=10,
        close_timeout=5,
    ) as socket:
        try:
            socket.send(message)
            while True:
                socket.recv(timeout=10)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        except TimeoutError:
            return None


def test_the_server_refuses_a_message_over_its_limit_before_buffering_it(
    live_server_process: LiveServer,
) -> None:
    server = live_server_process
    limit = int(settings.DROPGATE_WS_SERVER_MAX_BYTES)
    assert limit < 1024 * 1024
    before = server.rss_bytes()

    # When a 16 MiB message is sent to the reader socket
    code = _close_code_after_sending(server, "/ws/reader/", "x" * (16 * 1024 * 1024))

    # Then the server closed it with 1009 (message too big), not the consumer with 4413 after
    # taking it whole, and its memory did not grow by the message
    assert code == 1009
    assert server.rss_bytes() - before < 8 * 1024 * 1024
    assert server.alive()


def test_a_message_between_the_app_limit_and_the_server_limit_gets_the_protocol_code(
    live_server_process: LiveServer,
) -> None:
    size = int(settings.DROPGATE_WS_MAX_MESSAGE_BYTES) + 1024
    assert size < int(settings.DROPGATE_WS_SERVER_MAX_BYTES)
    assert _close_code_after_sending(live_server_process, "/ws/reader/", "x" * size) == 4413
