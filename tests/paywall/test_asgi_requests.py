"""Requests through the real ASGI application (as uvicorn runs it), not Django's test client.

The test client calls the middleware synchronously. Under ASGI, django-cors-headers' middleware
ran in the event loop and its per-publisher check read the database there: every error answered
before a view bound its publisher (no or a bad credential, an unknown publisher in the path),
and every CORS preflight, was a 500 SynchronousOnlyOperation. Found by the schemathesis harness
(tests/harness), among them `GET /api/v1/content/0/0` and `GET /api/v1/publishers/0/articles`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator

from tests.paywall.factories import ORIGIN, make_article, make_publisher

pytestmark = pytest.mark.django_db(transaction=True)


def asgi_request(
    method: str, path: str, headers: dict[str, str], query: str = ""
) -> tuple[int, dict[str, str], Any]:
    from paywall.asgi import application

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            *((k.lower().encode(), v.encode()) for k, v in headers.items()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }

    async def scenario() -> tuple[int, dict[str, str], Any]:
        app = ApplicationCommunicator(application, scope)
        await app.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await app.receive_output(10)
        body = b""
        while True:
            message = await app.receive_output(10)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await app.wait(5)
        out_headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
        return start["status"], out_headers, json.loads(body) if body else None

    return async_to_sync(scenario)()


@pytest.mark.parametrize(
    ("path", "auth"),
    [
        ("/api/v1/content/0/0", ""),
        ("/api/v1/publishers/0/articles", ""),
        ("/api/v1/readers/me/consent", "Reader rdt_x_y"),
        ("/api/v1/publisher/articles", "Bearer dgk_x_y"),
    ],
)
def test_errors_before_the_view_are_4xx_with_cors(path: str, auth: str) -> None:
    # Given a publisher whose page calls the API, naming it in the header
    publisher = make_publisher()
    make_article(publisher, slug="story")
    headers = {"Origin": ORIGIN, "X-Dropgate-Publisher": publisher.key}
    if auth:
        headers["Authorization"] = auth

    # When the request fails before a view resolved the publisher
    status, out, body = asgi_request("GET", path.format(pub=publisher.key), headers)

    # Then it is a 4xx in the error shape, shared with the publisher's origin when it is theirs
    assert 400 <= status < 500, (status, body)
    assert set(body) == {"error"}
    if "{pub}" in path or path.startswith("/api/v1/readers") or "channels" in path:
        assert out.get("access-control-allow-origin") == ORIGIN


def test_a_preflight_is_answered_for_a_registered_origin() -> None:
    make_publisher()
    status, out, _body = asgi_request(
        "OPTIONS",
        "/api/v1/unlocks",
        {
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert status == 200
    assert out.get("access-control-allow-origin") == ORIGIN


@pytest.mark.parametrize("path", ["/ws/reader/", "/ws/telemetry/?publisher=pub_none"])
def test_the_sockets_do_not_read_the_channel_layer(monkeypatch, path: str) -> None:
    # Found by the websocket harness: each socket subscribed to the channel layer (a blocking
    # Redis read per connection) though nothing sends to it; a Redis read timeout ended the
    # socket with an unhandled error. A layer that fails must not touch the sockets.
    from channels.layers import get_channel_layer
    from channels.testing import WebsocketCommunicator

    from paywall.asgi import application

    layer = get_channel_layer()
    assert layer is not None

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise TimeoutError("Timeout reading from 127.0.0.1:6379")

    monkeypatch.setattr(type(layer), "receive", broken)
    monkeypatch.setattr(type(layer), "new_channel", broken)

    async def scenario() -> Any:
        comm = WebsocketCommunicator(
            application,
            path,
            headers=[(b"host", b"127.0.0.1:8000"), (b"origin", b"http://127.0.0.1:8000")],
        )
        connected, _ = await comm.connect()
        assert connected
        if path.startswith("/ws/reader/"):
            await comm.send_json_to({"type": "ping", "id": 1})
            answer = await comm.receive_json_from(timeout=5)
        else:  # an unknown publisher: refused with the protocol's code, not an error
            answer = await comm.receive_output(timeout=5)
        await comm.disconnect()
        return answer

    answer = async_to_sync(scenario)()
    assert answer in ({"type": "pong", "id": 1}, {"type": "websocket.close", "code": 4403})
