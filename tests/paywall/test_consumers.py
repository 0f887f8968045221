"""The reader websocket /ws/reader/: auth, unlock frames over the same service as HTTP, error
frames with the HTTP codes and statuses, close codes, and malformed input that never kills it.

Driven through the real ASGI application (AllowedHostsOriginValidator included) with a
WebsocketCommunicator; the consumer reaches the database through database_sync_to_async,
hence `transactional_db`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator

from channels_app.models import Channel, Claim
from compliance.models import DecisionRecord
from paywall.asgi import application
from paywall.consumers import ReaderConsumer
from paywall.models import Unlock
from paywall.services.publishers import publisher_update
from tests.channels_app.factories import make_channel
from tests.paywall.factories import ORIGIN, make_article, make_publisher, make_reader

try:
    from channels.testing import WebsocketCommunicator
except ImportError:  # channels.testing imports daphne (for its live server), a server we don't run

    class WebsocketCommunicator(ApplicationCommunicator):  # type: ignore[no-redef]
        """The subset of channels.testing.WebsocketCommunicator these tests use."""

        def __init__(self, app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> None:
            scope = {
                "type": "websocket",
                "path": path,
                "query_string": b"",
                "headers": headers,
                "subprotocols": [],
            }
            super().__init__(app, scope)

        async def connect(self, timeout: float = 1) -> tuple[bool, Any]:
            await self.send_input({"type": "websocket.connect"})
            response = await self.receive_output(timeout)
            if response["type"] == "websocket.close":
                return False, response.get("code", 1000)
            return True, response.get("subprotocol")

        async def send_to(self, text_data: str | None = None, bytes_data: bytes | None = None):
            if text_data is not None:
                await self.send_input({"type": "websocket.receive", "text": text_data})
            else:
                await self.send_input({"type": "websocket.receive", "bytes": bytes_data})

        async def send_json_to(self, data: Any) -> None:
            await self.send_to(text_data=json.dumps(data))

        async def receive_json_from(self, timeout: float = 1) -> Any:
            response = await self.receive_output(timeout)
            assert response["type"] == "websocket.send", response
            return json.loads(response["text"])

        async def disconnect(self, code: int = 1000, timeout: float = 1) -> None:
            await self.send_input({"type": "websocket.disconnect", "code": code})
            await self.wait(timeout)


pytestmark = pytest.mark.django_db(transaction=True)

PAYWALL_ORIGIN = "http://127.0.0.1:8000"
PRICE = 250_000


def communicator(origin: str | None = PAYWALL_ORIGIN) -> WebsocketCommunicator:
    headers = [(b"host", b"127.0.0.1:8000")]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    return WebsocketCommunicator(application, "/ws/reader/", headers=headers)


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return async_to_sync(scenario)()


async def closed_with(comm: WebsocketCommunicator, timeout: float = 5) -> int:
    """The close code the server sent, skipping any frames before it."""
    while True:
        message = await comm.receive_output(timeout)
        if message["type"] == "websocket.close":
            return int(message.get("code", 1000))


async def authed(comm: WebsocketCommunicator, token: str, publisher_key: str) -> None:
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "auth", "publisher": publisher_key, "token": token})
    assert await comm.receive_json_from(timeout=5) == {"type": "ready"}


@pytest.fixture
def site():
    publisher = make_publisher()
    article = make_article(publisher, price_drops=PRICE)
    reader, token, key = make_reader(publisher)
    channel = make_channel(key=key, owner_ref=reader.public_id)
    return publisher, article, reader, token, key, channel


def claim_for(key, channel: Channel, amount: int) -> dict[str, str]:
    return {
        "channel_id": channel.channel_id,
        "amount_drops": str(amount),
        "signature": key.sign(channel.channel_id, amount),
    }


def money_state(channel: Channel) -> tuple[int, int, int]:
    channel.refresh_from_db()
    return channel.accepted_drops, Claim.objects.count(), Unlock.objects.count()


# --- Auth ------------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", [PAYWALL_ORIGIN, ORIGIN])
def test_auth_from_the_frame_or_the_publishers_origin_is_ready(site, origin) -> None:
    publisher, _, _, token, _, _ = site

    async def scenario() -> None:
        comm = communicator(origin)
        await authed(comm, token, publisher.key)
        await comm.disconnect()

    run(scenario)


@pytest.mark.parametrize("token", ["rdt_nope_nope", "", None, 42, "x" * 5000])
def test_a_bad_token_closes_4401(site, token) -> None:
    publisher, *_ = site

    async def scenario() -> tuple[Any, int]:
        comm = communicator()
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "auth", "publisher": publisher.key, "token": token})
        error = await comm.receive_json_from()
        return error, await closed_with(comm)

    error, code = run(scenario)
    assert code == 4401
    assert error["type"] == "error"
    assert error["status"] == 401
    assert error["error"]["code"] == "reader_token_invalid"


def test_an_origin_the_publisher_does_not_allow_closes_4403(site) -> None:
    publisher, _, _, token, _, _ = site

    async def scenario() -> tuple[Any, int]:
        # localhost passes AllowedHostsOriginValidator, but is neither the site nor the paywall
        comm = communicator("http://localhost:7777")
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "auth", "publisher": publisher.key, "token": token})
        error = await comm.receive_json_from()
        return error, await closed_with(comm)

    error, code = run(scenario)
    assert code == 4403
    assert (error["status"], error["error"]["code"]) == (403, "origin_not_allowed")


def test_an_origin_outside_allowed_hosts_is_refused_at_the_handshake(site) -> None:
    async def scenario() -> tuple[bool, Any]:
        return await communicator("https://evil.example").connect()

    connected, _ = run(scenario)
    assert connected is False


def test_a_token_of_another_publishers_reader_closes_4403(site) -> None:
    _, _, _, token, _, _ = site
    other = make_publisher(name="Other")

    async def scenario() -> tuple[Any, int]:
        comm = communicator()
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "auth", "publisher": other.key, "token": token})
        error = await comm.receive_json_from()
        return error, await closed_with(comm)

    error, code = run(scenario)
    assert code == 4403
    assert error["error"]["code"] == "publisher_mismatch"


def test_an_inactive_publisher_closes_4403(site) -> None:
    publisher, _, _, token, _, _ = site
    publisher_update(publisher=publisher, is_active=False)

    async def scenario() -> int:
        comm = communicator()
        assert (await comm.connect())[0]
        await comm.send_json_to({"type": "auth", "publisher": publisher.key, "token": token})
        return await closed_with(comm)

    assert run(scenario) == 4403


def test_an_unlock_before_auth_closes_4401_and_charges_nothing(site) -> None:
    _, article, _, _, key, channel = site
    before = money_state(channel)

    async def scenario() -> tuple[Any, int]:
        comm = communicator()
        assert (await comm.connect())[0]
        await comm.send_json_to(
            {
                "type": "unlock",
                "id": 1,
                "article": article.slug,
                "claim": claim_for(key, channel, PRICE),
            }
        )
        error = await comm.receive_json_from()
        return error, await closed_with(comm)

    error, code = run(scenario)
    assert code == 4401
    assert (error["id"], error["status"], error["error"]["code"]) == (1, 401, "not_authenticated")
    assert money_state(channel) == before


def test_a_silent_connection_is_closed_4401(site, monkeypatch) -> None:
    monkeypatch.setattr(ReaderConsumer, "auth_timeout_seconds", 0.05)

    async def scenario() -> int:
        comm = communicator()
        assert (await comm.connect())[0]
        return await closed_with(comm, timeout=2)

    assert run(scenario) == 4401


def test_a_second_auth_is_refused_without_closing(site) -> None:
    publisher, _, _, token, _, _ = site

    async def scenario() -> list[Any]:
        comm = communicator()
        await authed(comm, token, publisher.key)
        await comm.send_json_to({"type": "auth", "publisher": publisher.key, "token": token})
        again = await comm.receive_json_from()
        await comm.send_json_to({"type": "ping", "id": "p"})
        pong = await comm.receive_json_from()
        await comm.disconnect()
        return [again, pong]

    again, pong = run(scenario)
    assert again["error"]["code"] == "already_authenticated"
    assert pong == {"type": "pong", "id": "p"}


# --- Unlocks ---------------------------------------------------------------------------------


def test_an_unlock_with_a_claim_pays_and_a_repeat_reenters_at_zero(site) -> None:
    # Given an authenticated socket and a channel holding value
    publisher, article, reader, token, key, channel = site

    async def scenario() -> list[Any]:
        comm = communicator()
        await authed(comm, token, publisher.key)
        replies = []
        for frame_id, claim in ((7, claim_for(key, channel, PRICE)), ("again", None)):
            frame: dict[str, Any] = {"type": "unlock", "id": frame_id, "article": article.slug}
            if claim:
                frame["claim"] = claim
            await comm.send_json_to(frame)
            replies.append(await comm.receive_json_from(timeout=5))
        await comm.disconnect()
        return replies

    # When it unlocks with a claim, then again without one
    first, second = run(scenario)
    # Then the first is paid (201, the HTTP body), the second re-enters at 0
    assert first["type"] == "unlock.result"
    assert (first["id"], first["status"], first["amount_drops"]) == (7, 201, str(PRICE))
    assert set(first) == {
        "type",
        "id",
        "status",
        "article",
        "grant",
        "grant_expires_at",
        "amount_drops",
        "content_url",
    }
    assert first["content_url"] == (
        f"{PAYWALL_ORIGIN}/api/v1/content/{publisher.key}/{article.slug}"
    )
    assert (second["id"], second["status"], second["amount_drops"]) == ("again", 200, "0")
    assert money_state(channel) == (PRICE, 1, 1)
    assert Unlock.objects.get().reader == reader


def test_the_evidence_sent_over_the_socket_decides_the_country_and_tax(site) -> None:
    # Given an authenticated socket (the frame sends its evidence with each unlock)
    publisher, article, _reader, token, key, channel = site

    async def scenario() -> Any:
        comm = communicator()
        await authed(comm, token, publisher.key)
        await comm.send_json_to(
            {
                "type": "unlock",
                "id": 1,
                "article": article.slug,
                "claim": claim_for(key, channel, PRICE),
                "telemetry_session": "",
                "evidence": {"timezone": "Europe/Berlin", "languages": ["de-DE"]},
            }
        )
        reply = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return reply

    # When it unlocks with a claim and evidence of Germany
    reply = run(scenario)
    # Then the charge was decided and taxed for Germany (not for an unknown country)
    assert reply["status"] == 201, reply
    record = DecisionRecord.objects.get(claim_id=Unlock.objects.get().claim_id)
    assert record.country == "DE"
    assert record.tax_drops > 0
    assert set(record.evidence_kinds) >= {"timezone", "language"}


def test_the_grant_from_the_socket_opens_the_content(site, client) -> None:
    publisher, article, _, token, key, channel = site

    async def scenario() -> Any:
        comm = communicator()
        await authed(comm, token, publisher.key)
        await comm.send_json_to(
            {
                "type": "unlock",
                "id": 1,
                "article": article.slug,
                "claim": claim_for(key, channel, PRICE),
            }
        )
        reply = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return reply

    reply = run(scenario)
    content = client.get(
        f"/api/v1/content/{publisher.key}/{article.slug}",
        headers={"Authorization": f"Bearer {reply['grant']}", "Origin": ORIGIN},
    )
    assert content.status_code == 200
    assert content.json()["html"] == "<p>The paid body.</p>"


def test_without_a_claim_the_error_frame_is_the_402_with_the_price(site) -> None:
    publisher, article, _, token, _, channel = site
    before = money_state(channel)

    async def scenario() -> Any:
        comm = communicator()
        await authed(comm, token, publisher.key)
        await comm.send_json_to({"type": "unlock", "id": 3, "article": article.slug})
        reply = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return reply

    reply = run(scenario)
    assert reply["type"] == "error"
    assert (reply["id"], reply["status"]) == (3, 402)
    assert reply["error"]["code"] == "payment_required"
    assert reply["error"]["message"]
    assert reply["error"]["price_drops"] == str(PRICE)
    assert reply["error"]["destination_tag"] == publisher.destination_tag
    assert money_state(channel) == before


@pytest.mark.parametrize(
    ("frame", "status", "code"),
    [
        ({"article": "no-such-story"}, 404, "article_not_found"),
        ({"article": "Not A Slug!"}, 400, "invalid_request"),
        ({}, 400, "invalid_request"),
        ({"article": "first-story", "publisher": "pub_someoneelse"}, 403, "publisher_mismatch"),
        ({"article": "first-story", "claim": {"channel_id": "zz"}}, 400, "invalid_request"),
    ],
)
def test_bad_unlocks_get_the_http_error_codes_and_change_nothing(site, frame, status, code) -> None:
    publisher, _, _, token, _, channel = site
    before = money_state(channel)

    async def scenario() -> list[Any]:
        comm = communicator()
        await authed(comm, token, publisher.key)
        await comm.send_json_to({"type": "unlock", "id": 9, **frame})
        reply = await comm.receive_json_from(timeout=5)
        await comm.send_json_to({"type": "ping", "id": 10})
        alive = await comm.receive_json_from()
        await comm.disconnect()
        return [reply, alive]

    reply, alive = run(scenario)
    assert reply["type"] == "error"
    assert (reply["id"], reply["status"], reply["error"]["code"]) == (9, status, code)
    assert alive == {"type": "pong", "id": 10}
    assert money_state(channel) == before


def test_a_rejected_claim_passes_the_channels_code_through(site) -> None:
    publisher, article, _, token, key, channel = site
    before = money_state(channel)
    bad = claim_for(key, channel, PRICE)
    bad["signature"] = key.sign(channel.channel_id, PRICE + 1)

    async def scenario() -> Any:
        comm = communicator()
        await authed(comm, token, publisher.key)
        await comm.send_json_to({"type": "unlock", "id": 1, "article": article.slug, "claim": bad})
        reply = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return reply

    reply = run(scenario)
    assert (reply["status"], reply["error"]["code"]) == (422, "claim_signature_invalid")
    assert money_state(channel) == before


def test_unlocks_share_the_readers_rate_limit(site, settings) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "reader": "2/min",
        },
    }
    publisher, article, _, token, _, _ = site

    async def scenario() -> list[Any]:
        comm = communicator()
        await authed(comm, token, publisher.key)
        replies = []
        for frame_id in range(3):
            await comm.send_json_to({"type": "unlock", "id": frame_id, "article": article.slug})
            replies.append(await comm.receive_json_from(timeout=5))
        await comm.disconnect()
        return replies

    replies = run(scenario)
    assert [r["status"] for r in replies] == [402, 402, 429]
    assert replies[2]["error"]["code"] == "rate_limited"
    assert replies[2]["error"]["retry_after"] >= 1


# --- Malformed input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        '"auth"',
        "null",
        "{}",
        '{"type": 5}',
        '{"type": "launch_missiles"}',
        '{"type": "__init__"}',
        '{"type": "Auth"}',
        '{"type": "unlock.result"}',
        '{"type": "auth", "token": NaN}',
        "[" * 5000 + "]" * 5000,
    ],
)
def test_malformed_frames_get_malformed_message_and_the_socket_lives_on(site, text) -> None:
    publisher, _, _, token, _, _ = site

    async def scenario() -> list[Any]:
        comm = communicator()
        assert (await comm.connect())[0]
        await comm.send_to(text_data=text)
        error = await comm.receive_json_from()
        # Still serving: authenticate and ping.
        await comm.send_json_to({"type": "auth", "publisher": publisher.key, "token": token})
        ready = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return [error, ready]

    error, ready = run(scenario)
    assert error["type"] == "error"
    assert error["error"]["code"] == "malformed_message"
    assert ready == {"type": "ready"}


def test_binary_frames_are_malformed(site) -> None:
    async def scenario() -> Any:
        comm = communicator()
        assert (await comm.connect())[0]
        await comm.send_to(bytes_data=b"\x00\x01")
        reply = await comm.receive_json_from()
        await comm.disconnect()
        return reply

    assert run(scenario)["error"]["code"] == "malformed_message"


def test_an_unlock_without_an_id_is_malformed(site) -> None:
    publisher, article, _, token, _, channel = site
    before = money_state(channel)

    async def scenario() -> list[Any]:
        comm = communicator()
        await authed(comm, token, publisher.key)
        replies = []
        for frame_id in (None, True, 1.5, "x" * 65, {"a": 1}):
            frame: dict[str, Any] = {"type": "unlock", "article": article.slug}
            if frame_id is not None:
                frame["id"] = frame_id
            await comm.send_json_to(frame)
            replies.append(await comm.receive_json_from())
        await comm.disconnect()
        return replies

    for reply in run(scenario):
        assert reply["error"]["code"] == "malformed_message"
    assert money_state(channel) == before


def test_an_oversize_frame_closes_4413(site, settings) -> None:
    settings.DROPGATE_WS_MAX_MESSAGE_BYTES = 1024
    publisher, _, _, token, _, _ = site

    async def scenario() -> int:
        comm = communicator()
        await authed(comm, token, publisher.key)
        await comm.send_to(text_data=json.dumps({"type": "ping", "pad": "é" * 600}))
        return await closed_with(comm)

    assert run(scenario) == 4413


def test_the_default_limit_is_16_kib(site) -> None:
    publisher, _, _, token, _, _ = site

    async def scenario() -> list[Any]:
        comm = communicator()
        await authed(comm, token, publisher.key)
        fits = json.dumps({"type": "ping", "id": 1, "pad": ""})
        fits = json.dumps({"type": "ping", "id": 1, "pad": "a" * (16_384 - len(fits))})
        assert len(fits) == 16_384
        await comm.send_to(text_data=fits)
        pong = await comm.receive_json_from()
        await comm.send_to(text_data=fits[:-2] + 'a"}')
        return [pong, await closed_with(comm)]

    pong, code = run(scenario)
    assert pong == {"type": "pong", "id": 1}
    assert code == 4413


def test_the_routing_serves_only_the_reader_path(site) -> None:
    async def scenario() -> None:
        comm = WebsocketCommunicator(
            application,
            "/ws/other/",
            headers=[(b"host", b"127.0.0.1:8000"), (b"origin", PAYWALL_ORIGIN.encode())],
        )
        with pytest.raises((ValueError, AssertionError, asyncio.TimeoutError)):
            await comm.connect()

    run(scenario)


def test_the_socket_needs_no_channel_layer(site) -> None:
    # The telemetry socket's bug, found by benchmarks/faults.py, in the reader socket too: a
    # Redis channel layer that cannot be reached must not take the socket down.
    from django.test import override_settings

    publisher, _, _, token, _, _ = site
    layer = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:9/0"]},
        }
    }

    async def scenario() -> None:
        comm = communicator()
        await authed(comm, token, publisher.key)
        await comm.disconnect()

    with override_settings(CHANNEL_LAYERS=layer):
        run(scenario)
