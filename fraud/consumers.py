"""The telemetry socket `/ws/telemetry/` (docs/sdk-protocol.md, "Telemetry").

A thin door: it keeps connection state only (the session's in-memory accumulators and a
rate bucket), dispatches each frame on its `type` to `_handle_<type>`, and calls
fraud.services. The page's origin is checked per publisher through the
DROPGATE_TELEMETRY_ORIGIN_CHECKER setting (paywall answers; fraud never imports it).

Close codes: 4400 malformed, 4413 oversize, 4429 too fast, 4403 origin or publisher. Every
refusal is counted and recorded on the session. 1013 (try again later) when the database or
the cache cannot be reached; the page reconnects and resumes. No frame's content is ever logged.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils.module_loading import import_string
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from channels_app.client_address import client_address_of_scope
from fraud.exceptions import CLOSE_ORIGIN, BatchRejected
from fraud.services.challenges import challenge_verify
from fraud.services.telemetry import (
    SessionState,
    batch_limits,
    telemetry_batch_apply,
    telemetry_reject,
    telemetry_session_open,
    telemetry_session_persist,
)
from fraud.telemetry import batch_parse, challenge_parse, frame_load
from fraud.types import BatchLimits

__all__ = ["TelemetryConsumer"]

logger = logging.getLogger(__name__)

_PUBLISHER_RE = re.compile(r"pub_[A-Za-z0-9_-]{1,60}")
_SESSION_RE = re.compile(r"tls_[A-Za-z0-9_-]{22,36}")
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN_LATER = 1013
# A dependency that is down (a restart, an outage): the page is asked to come back later.
DEPENDENCY_DOWN = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)


def _origin_checker() -> Callable[[str, str], bool]:
    checker: Callable[[str, str], bool] = import_string(settings.DROPGATE_TELEMETRY_ORIGIN_CHECKER)
    return checker


def _origin_allowed(publisher_ref: str, origin: str) -> bool:
    return bool(_origin_checker()(publisher_ref, origin))


class TelemetryConsumer(AsyncWebsocketConsumer):
    """One page's telemetry. State: the session, its accumulators and a token bucket."""

    # No channel layer: this socket takes no messages from groups or other processes, and a
    # subscription would hold a blocking Redis read per connection (BZPOPMIN), whose timeouts
    # ended sockets with an unhandled error (found by the websocket and faults harnesses). An alias that is
    # not configured makes Channels skip the layer.
    channel_layer_alias = "dropgate-no-channel-layer"

    state: SessionState | None = None
    limits: BatchLimits
    closing: bool = False
    _tokens: float = 0.0
    _refilled_at: float = 0.0

    async def connect(self) -> None:
        try:
            await self._open()
        except DEPENDENCY_DOWN as exc:
            await self._unavailable(exc)

    async def _unavailable(self, exc: Exception) -> None:
        logger.warning("telemetry socket: a dependency is down (%s)", type(exc).__name__)
        self.closing = True
        await self.close(code=CLOSE_TRY_AGAIN_LATER)

    async def _open(self) -> None:
        self.limits = batch_limits()
        headers = dict(self.scope.get("headers") or [])
        origin = headers.get(b"origin", b"").decode("latin-1")
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        publisher = (query.get("publisher") or [""])[0]
        resume = (query.get("session") or [""])[0]
        await self.accept()
        allowed = False
        if _PUBLISHER_RE.fullmatch(publisher) and origin:
            allowed = await database_sync_to_async(_origin_allowed)(publisher, origin)
        if not allowed:
            await self._reject(BatchRejected("origin", "origin or publisher"))
            return
        try:
            self.state = await database_sync_to_async(telemetry_session_open)(
                publisher_ref=publisher,
                resume=resume if _SESSION_RE.fullmatch(resume) else None,
                user_agent=headers.get(b"user-agent", b"").decode("latin-1"),
                client_ip=client_address_of_scope(self.scope),
                accept_language=headers.get(b"accept-language", b"").decode("latin-1")[:256],
            )
        except BatchRejected as exc:
            await self._reject(exc)
            return
        self._tokens = float(self.limits.burst)
        self._refilled_at = time.monotonic()
        await self.send_json(
            {
                "type": "hello",
                "session": self.state.public_id,
                "max_batch_bytes": self.limits.max_batch_bytes,
                "max_events": self.limits.max_events,
                "min_interval_ms": self.limits.min_interval_ms,
            }
        )

    async def disconnect(self, code: int) -> None:
        self.closing = True
        state = self.state
        if state is not None and state.dirty:
            try:
                await database_sync_to_async(telemetry_session_persist)(state)
            except DEPENDENCY_DOWN as exc:  # the last second's features are lost, not the socket
                logger.warning("telemetry socket: not persisted on close (%s)", type(exc).__name__)

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(content, separators=(",", ":")))

    def _take_token(self) -> bool:
        now = time.monotonic()
        rate = 1000.0 / max(self.limits.min_interval_ms, 1)
        self._tokens = min(
            float(self.limits.burst), self._tokens + (now - self._refilled_at) * rate
        )
        self._refilled_at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if self.closing or self.state is None:
            return
        try:
            if not self._take_token():
                raise BatchRejected("too_fast")
            content = frame_load(text_data, bytes_data, max_bytes=self.limits.max_batch_bytes)
            kind = content.get("type")
            if kind == "batch":
                await self._handle_batch(content)
            elif kind == "challenge":
                await self._handle_challenge(content)
            else:
                raise BatchRejected("malformed", "type")
        except BatchRejected as exc:
            await self._reject(exc)
        except DEPENDENCY_DOWN as exc:
            await self._unavailable(exc)
        except OSError:
            # The client went away while we answered (uvicorn's ClientDisconnected): nothing
            # to close and nothing wrong with the service.
            self.closing = True
        except Exception as exc:
            # Only the class: the message of an error over a frame could quote the frame.
            logger.error("telemetry socket: %s", type(exc).__name__)
            self.closing = True
            await self.close(code=CLOSE_INTERNAL)

    async def _handle_batch(self, content: dict[str, Any]) -> None:
        state = self.state
        assert state is not None
        batch = batch_parse(
            content,
            limits=self.limits,
            expected_seq=state.next_seq,
            mouse_origin=state.mouse_origin,
        )
        telemetry_batch_apply(state, batch)
        await self.send_json({"type": "ack", "seq": batch.seq})
        interval = float(settings.DROPGATE_TELEMETRY_PERSIST_SECONDS)
        if time.monotonic() - state.last_persist >= interval:
            await database_sync_to_async(telemetry_session_persist)(state)

    async def _handle_challenge(self, content: dict[str, Any]) -> None:
        state = self.state
        assert state is not None
        challenge_id, events = challenge_parse(content)
        result = await database_sync_to_async(challenge_verify)(
            session_id=state.public_id, challenge_id=challenge_id, events=events
        )
        await self.send_json(
            {"type": "challenge.result", "id": result.challenge_id, "passed": result.passed}
        )

    async def _reject(self, exc: BatchRejected) -> None:
        self.closing = True
        try:
            await database_sync_to_async(telemetry_reject)(self.state, exc.reason)
        except DEPENDENCY_DOWN as down:  # the refusal still closes the socket; its count is lost
            logger.warning("telemetry socket: refusal not recorded (%s)", type(down).__name__)
        await self.close(code=exc.close_code if exc.reason != "origin" else CLOSE_ORIGIN)
