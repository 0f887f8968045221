"""The telemetry socket /ws/telemetry/: origin per publisher, hello, acks, close codes and
their counters, persisted features (never raw events), resume; fuzzed input never crashes it.

Driven through the real ASGI application with a WebsocketCommunicator; the consumer reaches
the database through database_sync_to_async, hence transactional tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.core.cache import cache
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from fraud.models import ArticleView, TelemetrySession
from fraud.services.telemetry import telemetry_rejections, telemetry_session_open
from paywall.asgi import application
from paywall.services.publishers import publisher_update
from tests.fraud.conftest import HEADLESS_UA, HUMAN_UA, human_fingerprint, trace_batches
from tests.paywall.factories import ORIGIN, make_publisher

pytestmark = pytest.mark.django_db(transaction=True)

SITE = "https://news.example"  # a publisher's site: not one of the paywall's ALLOWED_HOSTS
CLIENT_IP = "203.0.113.7"


@pytest.fixture
def fast(settings) -> None:
    """No rate limit in the way of tests that send many batches at once."""
    settings.DROPGATE_TELEMETRY_BURST = 10_000
    settings.DROPGATE_TELEMETRY_MIN_INTERVAL_MS = 1
    settings.DROPGATE_TELEMETRY_SESSIONS_PER_IP_MINUTE = 0


@pytest.fixture
def publisher():
    return make_publisher(origins=(ORIGIN, SITE))


def socket(
    publisher_key: str, *, origin: str | None = SITE, session: str = "", ua: str = HUMAN_UA
) -> WebsocketCommunicator:
    path = f"/ws/telemetry/?publisher={publisher_key}"
    if session:
        path += f"&session={session}"
    headers = [(b"host", b"127.0.0.1:8000"), (b"user-agent", ua.encode())]
    headers.append((b"accept-language", b"en-US,en;q=0.9"))
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    comm = WebsocketCommunicator(application, path, headers=headers)
    comm.scope["client"] = (CLIENT_IP, 50_000)
    return comm


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return async_to_sync(scenario)()


async def closed_with(comm: WebsocketCommunicator, timeout: float = 5) -> int:
    while True:
        message = await comm.receive_output(timeout)
        if message["type"] == "websocket.close":
            return int(message.get("code", 1000))


async def hello(comm: WebsocketCommunicator) -> dict[str, Any]:
    connected, _ = await comm.connect()
    assert connected
    frame = await comm.receive_json_from(timeout=5)
    assert frame["type"] == "hello", frame
    return frame


def test_hello_names_a_new_session_and_the_limits(publisher) -> None:
    async def scenario() -> dict[str, Any]:
        comm = socket(publisher.key)
        frame = await hello(comm)
        await comm.disconnect()
        return frame

    frame = run(scenario)
    assert re.fullmatch(r"tls_[A-Za-z0-9_-]{22,}", frame["session"])
    assert (frame["max_batch_bytes"], frame["max_events"], frame["min_interval_ms"]) == (
        16_384,
        512,
        250,
    )
    row = TelemetrySession.objects.get(public_id=frame["session"])
    assert row.publisher_ref == publisher.key and row.reader_ref == ""
    assert re.fullmatch(r"[0-9a-f]{64}", row.network_prefix)
    assert CLIENT_IP not in json.dumps(
        {f.name: str(getattr(row, f.name)) for f in TelemetrySession._meta.fields}
    )
    assert (row.ua_family, row.device_type, row.is_bot_ua) == ("Chrome", "pc", False)


@pytest.mark.parametrize("origin", ["http://127.0.0.1:9999", None, "https://evil.example", "null"])
def test_an_origin_the_publisher_does_not_allow_closes_4403_and_is_counted(
    publisher, origin
) -> None:
    async def scenario() -> int:
        comm = socket(publisher.key, origin=origin)
        connected, code = await comm.connect()
        if not connected:
            return int(code)
        return await closed_with(comm)

    assert run(scenario) == 4403
    assert telemetry_rejections() == {"origin": 1}
    assert TelemetrySession.objects.count() == 0


@pytest.mark.parametrize("key", ["pub_unknown", "", "nope"])
def test_an_unknown_publisher_closes_4403(publisher, key) -> None:
    async def scenario() -> int:
        comm = socket(key)
        assert (await comm.connect())[0]
        return await closed_with(comm)

    assert run(scenario) == 4403
    assert TelemetrySession.objects.count() == 0


def test_an_inactive_publisher_closes_4403(publisher) -> None:
    publisher_update(publisher=publisher, is_active=False)

    async def scenario() -> int:
        comm = socket(publisher.key)
        assert (await comm.connect())[0]
        return await closed_with(comm)

    assert run(scenario) == 4403


def test_a_human_trace_is_acked_and_only_its_features_are_stored(
    publisher, human_rows, fast
) -> None:
    batches = trace_batches(human_rows[:1500], fingerprint=human_fingerprint())
    batches[-1]["dwell"] = [{"article": "first-story", "visible_ms": 90_000, "words": 800}]
    batches[-1]["keys"] = [130, 180, 95, 240]

    async def scenario() -> tuple[str, list[int]]:
        comm = socket(publisher.key)
        session = (await hello(comm))["session"]
        acks = []
        for batch in batches:
            await comm.send_json_to(batch)
            acks.append((await comm.receive_json_from(timeout=5))["seq"])
        await comm.disconnect()
        return session, acks

    session, acks = run(scenario)
    assert acks == list(range(len(batches)))
    row = TelemetrySession.objects.get(public_id=session)
    moves = sum(len(b["mouse"]) // 3 for b in batches)
    assert row.features["session"]["moves"] == moves
    assert row.features["mouse"]["n_moves"] == moves
    assert row.events_count == sum(
        len(b["mouse"]) // 3 + len(b["clicks"]) + len(b.get("keys", [])) + len(b.get("dwell", []))
        for b in batches
    )
    assert len(row.fingerprint_hash) == 64
    assert row.rejected == {}
    assert 0.0 <= row.score <= 1.0
    assert not {"webdriver", "headless_ua", "click_without_movement"} & set(row.reasons)
    view = ArticleView.objects.get(session=row)
    assert (view.article_ref, view.visible_ms, view.words) == ("first-story", 90_000, 800)
    # No raw events: nothing stored is a list longer than the model's feature vector, and no
    # sampled coordinate pair of the trace appears in what was stored.
    stored = json.dumps(row.features)
    vector = row.features["mouse"].get("vector", [])
    for value in row.features["session"].values():
        assert isinstance(value, (int, float))
    assert all(
        not isinstance(v, list) or len(v) <= len(vector) for v in row.features["mouse"].values()
    )
    assert f"[{human_rows[5][3]}, {human_rows[5][4]}]" not in stored


def test_a_headless_browser_with_webdriver_is_scored_as_a_bot(publisher, fast) -> None:
    fingerprint = human_fingerprint(
        webdriver=True,
        platform="Linux x86_64",
        webgl_renderer="ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader)",
    )

    async def scenario() -> str:
        comm = socket(publisher.key, ua=HEADLESS_UA)
        session = (await hello(comm))["session"]
        await comm.send_json_to(
            {"type": "batch", "seq": 0, "fingerprint": fingerprint, "clicks": [[500, 10, 10, 0, 0]]}
        )
        assert (await comm.receive_json_from())["type"] == "ack"
        await comm.disconnect()
        return session

    row = TelemetrySession.objects.get(public_id=run(scenario))
    assert row.category == "bot" and row.score >= 0.9
    assert {"webdriver", "headless_ua", "software_renderer", "click_without_movement"} <= set(
        row.reasons
    )
    assert "worker_mismatch" in row.reasons  # the worker still reports Win32


async def _send_and_close(publisher_key: str, frames: list[Any]) -> tuple[str, int]:
    comm = socket(publisher_key)
    session = (await hello(comm))["session"]
    for frame in frames:
        if isinstance(frame, bytes):
            await comm.send_to(bytes_data=frame)
        else:
            await comm.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))
    return session, await closed_with(comm)


@pytest.mark.parametrize(
    ("frames", "code", "reason"),
    [
        (["{not json"], 4400, "malformed"),
        ([{"type": "subscribe"}], 4400, "malformed"),
        ([{"type": "batch", "seq": 1}], 4400, "malformed"),
        ([{"type": "batch", "seq": 0}, {"type": "batch", "seq": 0}], 4400, "malformed"),
        ([b"\x00\x01"], 4400, "malformed"),
        ([{"type": "batch", "seq": 0, "mouse": [1, 1, 1] * 600}], 4413, "oversize"),
        (["x" * 20_000], 4413, "oversize"),
    ],
)
def test_bad_frames_close_with_their_code_and_are_counted_on_the_session(
    publisher, fast, frames, code, reason
) -> None:
    session, closed = async_to_sync(_send_and_close)(publisher.key, frames)
    assert closed == code
    assert telemetry_rejections() == {reason: 1}
    row = TelemetrySession.objects.get(public_id=session)
    assert row.rejected == {reason: 1}
    assert f"rejected_{reason}" in row.reasons


def test_batches_faster_than_the_rate_close_4429(publisher) -> None:
    frames = [{"type": "batch", "seq": n} for n in range(10)]
    session, closed = async_to_sync(_send_and_close)(publisher.key, frames)
    assert closed == 4429
    row = TelemetrySession.objects.get(public_id=session)
    assert row.rejected == {"too_fast": 1}
    assert telemetry_rejections() == {"too_fast": 1}


def test_one_address_opening_too_many_sessions_is_closed_4429(publisher, settings) -> None:
    settings.DROPGATE_TELEMETRY_SESSIONS_PER_IP_MINUTE = 3
    cache.clear()

    async def scenario() -> int:
        for _ in range(3):
            comm = socket(publisher.key)
            await hello(comm)
            await comm.disconnect()
        refused = socket(publisher.key)
        await refused.connect()
        code = await closed_with(refused)
        await refused.disconnect()
        return code

    assert run(scenario) == 4429
    assert TelemetrySession.objects.count() == 3
    assert telemetry_rejections() == {"too_fast": 1}


@pytest.mark.parametrize(
    "session",
    [
        "tls_" + "A" * 22,  # well-formed but unknown
        "not-a-session-id",  # malformed
        "x",
        "tls_" + "%" * 30,
    ],
)
def test_an_unknown_or_malformed_session_id_still_counts_against_the_address(
    publisher, settings, session: str
) -> None:
    # Given an address allowed 3 new sessions a minute
    settings.DROPGATE_TELEMETRY_SESSIONS_PER_IP_MINUTE = 3
    cache.clear()

    async def scenario() -> list[int | None]:
        codes: list[int | None] = []
        for _ in range(6):
            # When it connects with a `session` that names no resumable session
            comm = socket(publisher.key, session=session)
            connected, _ = await comm.connect()
            assert connected
            first = await comm.receive_output(5)
            codes.append(
                int(first.get("code", 1000)) if first["type"] == "websocket.close" else None
            )
            await comm.disconnect()
        return codes

    # Then only 3 sessions were created and the rest were closed 4429
    assert run(scenario) == [None, None, None, 4429, 4429, 4429]
    assert TelemetrySession.objects.count() == 3


def test_resuming_a_real_session_is_not_limited_per_address(publisher, settings) -> None:
    # Given an address that used up its new sessions
    settings.DROPGATE_TELEMETRY_SESSIONS_PER_IP_MINUTE = 1
    cache.clear()

    async def scenario() -> list[str]:
        first = socket(publisher.key)
        session = (await hello(first))["session"]
        await first.disconnect()
        resumed = []
        for _ in range(3):
            # When it resumes its own session
            again = socket(publisher.key, session=session)
            resumed.append((await hello(again))["session"])
            await again.disconnect()
        return [session, *resumed]

    # Then each reconnect resumes it: the limit is for new rows only
    ids = run(scenario)
    assert len(set(ids)) == 1
    assert TelemetrySession.objects.count() == 1


def test_a_resumed_session_keeps_its_id_and_record(publisher, fast) -> None:
    async def scenario() -> tuple[str, str, int]:
        first = socket(publisher.key)
        session = (await hello(first))["session"]
        await first.send_json_to({"type": "batch", "seq": 0, "clicks": [[10, 5, 5, 0, 0]]})
        await first.receive_json_from()
        await first.disconnect()
        again = socket(publisher.key, session=session)
        resumed = (await hello(again))["session"]
        await again.send_json_to({"type": "batch", "seq": 1, "keys": [100, 120]})
        ack = await again.receive_json_from()
        await again.disconnect()
        return session, resumed, ack["seq"]

    session, resumed, seq = run(scenario)
    assert resumed == session and seq == 1
    row = TelemetrySession.objects.get(public_id=session)
    assert "click_without_movement" in row.reasons  # not wiped by reconnecting
    assert row.events_count == 3
    assert TelemetrySession.objects.count() == 1


def test_resuming_another_publishers_session_starts_a_new_one(publisher, fast) -> None:
    other = make_publisher(name="Other", origins=(SITE,))

    async def scenario() -> tuple[str, str]:
        first = socket(publisher.key)
        session = (await hello(first))["session"]
        await first.disconnect()
        again = socket(other.key, session=session)
        resumed = (await hello(again))["session"]
        await again.disconnect()
        return session, resumed

    session, resumed = run(scenario)
    assert resumed != session
    assert TelemetrySession.objects.get(public_id=resumed).publisher_ref == other.key


frames = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=50),
    st.builds(
        lambda body: json.dumps({"type": "batch", "seq": 0, **body}),
        st.dictionaries(
            st.sampled_from(["mouse", "clicks", "keys", "focus", "dwell", "fingerprint", "x"]),
            st.recursive(
                st.none() | st.booleans() | st.integers(-(2**65), 2**65) | st.text(max_size=5),
                lambda c: (
                    st.lists(c, max_size=5) | st.dictionaries(st.text(max_size=5), c, max_size=3)
                ),
                max_leaves=20,
            ),
            max_size=4,
        ),
    ),
    st.builds(
        lambda body: json.dumps({"type": "challenge", **body}),
        st.dictionaries(st.sampled_from(["id", "events"]), st.integers() | st.text(max_size=8)),
    ),
)


@hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=frames)
def test_fuzzed_frames_are_acked_answered_or_closed_never_crash(publisher, fast, frame) -> None:
    async def scenario() -> dict[str, Any]:
        comm = socket(publisher.key)
        await hello(comm)
        key = "bytes" if isinstance(frame, bytes) else "text"
        await comm.send_input({"type": "websocket.receive", key: frame})
        message = await comm.receive_output(timeout=5)
        await comm.disconnect()
        return message

    message = run(scenario)
    if message["type"] == "websocket.close":
        assert message["code"] in (4400, 4413, 4429)
    else:
        reply = json.loads(message["text"])
        assert reply["type"] in ("ack", "challenge.result")


def test_a_resumed_connection_continues_the_mouse_deltas(publisher, fast) -> None:
    async def scenario() -> str:
        comm = socket(publisher.key)
        session = (await hello(comm))["session"]
        await comm.send_json_to({"type": "batch", "seq": 0, "mouse": [100, 500, 300, 16, 4, 2]})
        await comm.receive_json_from()
        await comm.disconnect()
        return session

    session = run(scenario)
    state = telemetry_session_open(
        publisher_ref=publisher.key, resume=session, user_agent=HUMAN_UA, client_ip=CLIENT_IP
    )
    assert state.resumed and state.mouse_origin == (116, 504, 302)


# --- Dependencies that are down (found by benchmarks/faults.py) -------------------------------

DOWN_REDIS = "redis://127.0.0.1:9/0"  # the discard port: nothing listens


def test_with_the_cache_down_a_new_socket_closes_1013_not_1011(publisher) -> None:
    down = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": DOWN_REDIS}

    async def scenario() -> int:
        comm = socket(publisher.key)
        connected, _ = await comm.connect()
        assert connected
        return await closed_with(comm)

    with override_settings(CACHES={"default": down}):
        assert run(scenario) == 1013


def test_with_the_database_down_mid_socket_it_closes_1013_not_1011(
    publisher, human_rows, fast, settings, monkeypatch
) -> None:
    from django.db import OperationalError

    import fraud.consumers

    settings.DROPGATE_TELEMETRY_PERSIST_SECONDS = 0  # every batch is persisted

    def database_down(state: object) -> None:
        raise OperationalError("terminating connection due to administrator command")

    batch = trace_batches(human_rows[:300], fingerprint=human_fingerprint())[0]

    async def scenario() -> int:
        comm = socket(publisher.key)
        await hello(comm)
        monkeypatch.setattr(fraud.consumers, "telemetry_session_persist", database_down)
        await comm.send_json_to(batch)
        assert (await comm.receive_json_from(timeout=5))["type"] == "ack"
        return await closed_with(comm)

    assert run(scenario) == 1013


def test_the_socket_needs_no_channel_layer(publisher, human_rows, fast) -> None:
    # A Redis channel layer that cannot be reached: the telemetry socket never subscribes to
    # it, so a Redis restart does not crash every open socket.
    layer = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [DOWN_REDIS]},
        }
    }
    batch = trace_batches(human_rows[:300], fingerprint=human_fingerprint())[0]

    async def scenario() -> str:
        comm = socket(publisher.key)
        await hello(comm)
        await comm.send_json_to(batch)
        reply = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return str(reply["type"])

    with override_settings(CHANNEL_LAYERS=layer):
        assert run(scenario) == "ack"
