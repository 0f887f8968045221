"""The reader websocket `/ws/reader/` (docs/sdk-protocol.md, "Reader websocket").

A thin door, like the HTTP API: it keeps connection state only (who authenticated, from
which origin), dispatches each frame on its `type` to `_handle_<type>`, and calls the same
services as POST /api/v1/unlocks, mapping domain errors to the same codes and HTTP statuses.

Frames are JSON text. Close codes: 4401 bad or missing authentication, 4403 origin (or
publisher) not allowed, 4413 a frame larger than DROPGATE_WS_MAX_MESSAGE_BYTES. Malformed
frames are answered with `malformed_message` and never end the connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse

from channels_app.client_address import client_address_of_scope
from channels_app.exceptions import DropgateError
from paywall import selectors
from paywall.api.evidence import evidence_of
from paywall.api.readers import UnlockInSerializer, UnlockOutSerializer
from paywall.errors import error_body
from paywall.models import Reader
from paywall.services.exceptions import PublisherInactive, PublisherMismatch
from paywall.services.publishers import paywall_public_origin, publisher_check_origin
from paywall.services.readers import reader_authenticate
from paywall.services.unlocks import unlock_article
from paywall.throttles import ReaderRateThrottle
from paywall.types import SubmittedClaim

__all__ = ["CLOSE_FORBIDDEN", "CLOSE_TOO_LARGE", "CLOSE_UNAUTHENTICATED", "ReaderConsumer"]

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_LARGE = 4413
_TYPE_RE = re.compile(r"[a-z][a-z_]{0,31}")
_MAX_ID_CHARS = 64
_MAX_CREDENTIAL_CHARS = 4096


class _Malformed(Exception):
    pass


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _frame_id(content: dict[str, Any]) -> int | str:
    """The request id a reply echoes: an integer or a short string."""
    value = content.get("id")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise _Malformed("Every request needs an `id`: an integer or a string.")
    if isinstance(value, str) and len(value) > _MAX_ID_CHARS:
        raise _Malformed(f"`id` may be at most {_MAX_ID_CHARS} characters.")
    return value


def _error_frame(
    code: str,
    message: str,
    *,
    status: int | None = None,
    frame_id: int | str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error"}
    if frame_id is not None:
        frame["id"] = frame_id
    if status is not None:
        frame["status"] = status
    frame.update(error_body(code, message, **extra))
    return frame


def _domain_error_frame(exc: DropgateError, frame_id: int | str | None) -> dict[str, Any]:
    details = getattr(exc, "details", None)
    extra = (
        {k: v for k, v in details.items() if k not in {"code", "message"}}
        if isinstance(details, dict)
        else {}
    )
    if exc.retry_after is not None:
        extra.setdefault("retry_after", exc.retry_after)
    return _error_frame(exc.code, exc.message, status=exc.http_status, frame_id=frame_id, **extra)


# --- The synchronous parts (database), run through database_sync_to_async -------------------


def _authenticate(*, token: str, publisher_key: str | None, origin: str | None) -> Reader:
    """The reader of `token`, if its publisher is `publisher_key` and allows `origin`.

    Raises ReaderTokenInvalid, PublisherInactive, PublisherMismatch, OriginNotAllowed.
    """
    reader = reader_authenticate(token=token)
    if publisher_key is not None and publisher_key != reader.publisher.key:
        raise PublisherMismatch()
    publisher_check_origin(publisher=reader.publisher, origin=origin)
    return reader


def _throttle_wait(reader: Reader) -> float | None:
    """Seconds to wait if the reader is over its rate (shared with the HTTP API), else None."""
    throttle = ReaderRateThrottle()
    if throttle.allow_request(SimpleNamespace(auth=reader), None):  # type: ignore[arg-type]
        return None
    return throttle.wait() or 1.0


def _unlock(
    *,
    reader_pk: int,
    data: dict[str, Any],
    idempotency_key: str,
    user_agent: str = "",
    client_ip: str = "",
) -> dict[str, Any]:
    """POST /api/v1/unlocks over the socket: the same validation, service and body."""
    reader = Reader.objects.select_related("publisher").get(pk=reader_pk)
    if not reader.publisher.is_active:
        raise PublisherInactive()
    serializer = UnlockInSerializer(data=data)
    if not serializer.is_valid():
        return {"invalid": json.loads(json.dumps(serializer.errors, cls=DjangoJSONEncoder))}
    valid = serializer.validated_data
    if valid.get("publisher") and valid["publisher"] != reader.publisher.key:
        raise PublisherMismatch()
    article = selectors.article_get(publisher=reader.publisher, slug=valid["article"])
    claim_data = valid.get("claim")
    result = unlock_article(
        reader=reader,
        article=article,
        claim=SubmittedClaim(**claim_data) if claim_data else None,
        idempotency_key=idempotency_key,
        telemetry_session=valid.get("telemetry_session"),
        user_agent=user_agent,
        client_ip=client_ip,
        evidence=evidence_of(valid.get("evidence")),
    )
    content_path = reverse(
        "paywall-content", kwargs={"pub": reader.publisher.key, "slug": article.slug}
    )
    body = UnlockOutSerializer(
        {
            "article": article.slug,
            "grant": result.grant.token,
            "grant_expires_at": result.grant.expires_at,
            "amount_drops": result.amount_drops,
            "content_url": f"{paywall_public_origin()}{content_path}",
        }
    ).data
    return {"status": 201 if result.created else 200, "body": dict(body)}


# --- The consumer ----------------------------------------------------------------------------


class ReaderConsumer(AsyncJsonWebsocketConsumer):
    """One reader's socket. State: the authenticated reader's pk, and the handshake's Origin."""

    # No channel layer: this socket takes no messages from groups or other processes, and a
    # subscription would hold a blocking Redis read per connection (BZPOPMIN), whose timeouts
    # ended sockets with an unhandled error (found by the websocket harness). An alias that is
    # not configured makes Channels skip the layer.
    channel_layer_alias = "dropgate-no-channel-layer"

    # Seconds a connection may stay open without a successful `auth` frame.
    auth_timeout_seconds: float = 10.0

    reader_pk: int | None = None
    reader: Reader | None = None
    origin: str | None = None
    closing: bool = False
    _auth_timer: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        headers = dict(self.scope.get("headers") or [])
        raw_origin = headers.get(b"origin")
        self.origin = raw_origin.decode("latin-1") if raw_origin else None
        await self.accept()
        self._auth_timer = asyncio.ensure_future(self._expire_unauthenticated())

    async def disconnect(self, code: int) -> None:
        self.closing = True
        if self._auth_timer is not None:
            self._auth_timer.cancel()

    async def _expire_unauthenticated(self) -> None:
        await asyncio.sleep(self.auth_timeout_seconds)
        if self.reader_pk is None and not self.closing:
            await self._close(CLOSE_UNAUTHENTICATED)

    async def _close(self, code: int) -> None:
        if not self.closing:
            self.closing = True
            if self._auth_timer is not None and self._auth_timer is not asyncio.current_task():
                self._auth_timer.cancel()
            await self.close(code=code)

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        return json.dumps(content, cls=DjangoJSONEncoder)

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any
    ) -> None:
        if self.closing:
            return
        limit = int(settings.DROPGATE_WS_MAX_MESSAGE_BYTES)
        if text_data is not None:
            # Characters never outnumber UTF-8 bytes: only encode what might fit.
            too_large = len(text_data) > limit or len(text_data.encode("utf-8")) > limit
        else:
            too_large = len(bytes_data or b"") > limit
        if too_large:
            await self._close(CLOSE_TOO_LARGE)
            return
        if text_data is None:
            await self._malformed("Send JSON text frames, not binary ones.")
            return
        try:
            content = json.loads(text_data, parse_float=Decimal, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            await self._malformed("The frame is not valid JSON.")
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        handler = (
            getattr(self, f"_handle_{kind}", None)
            if isinstance(kind, str) and _TYPE_RE.fullmatch(kind)
            else None
        )
        if handler is None:
            await self._malformed("A frame is a JSON object with a known `type`.")
            return
        try:
            await handler(content)
        except _Malformed as exc:
            await self._malformed(str(exc))
        except Exception:
            # Never let one frame end the connection: answer it and keep serving.
            logger.exception("reader websocket: %s frame failed", kind)
            frame_id = content.get("id")
            await self._send(
                _error_frame(
                    "internal_error",
                    "An internal error occurred.",
                    status=500,
                    frame_id=frame_id if isinstance(frame_id, (int, str)) else None,
                )
            )

    async def _send(self, frame: dict[str, Any]) -> None:
        if not self.closing:
            try:
                await self.send_json(frame)
            except OSError:
                # The client went away (uvicorn's ClientDisconnected): stop answering it.
                self.closing = True

    async def _malformed(self, message: str) -> None:
        await self._send(_error_frame("malformed_message", message))

    # --- Handlers ------------------------------------------------------------------------

    async def _handle_auth(self, content: dict[str, Any]) -> None:
        """`{"type": "auth", "publisher": "pub_…", "token": "rdt_…"}` → `{"type": "ready"}`."""
        if self.reader_pk is not None:
            await self._send(
                _error_frame("already_authenticated", "This socket is authenticated.", status=409)
            )
            return
        token, publisher_key = content.get("token"), content.get("publisher")
        if publisher_key is not None and not isinstance(publisher_key, str):
            raise _Malformed("`publisher` must be a string.")
        if not isinstance(token, str) or not token or len(token) > _MAX_CREDENTIAL_CHARS:
            await self._refuse_auth(
                _error_frame("reader_token_invalid", "The reader token is not valid.", status=401)
            )
            return
        try:
            reader = await database_sync_to_async(_authenticate)(
                token=token, publisher_key=publisher_key, origin=self.origin
            )
        except DropgateError as exc:
            await self._refuse_auth(_domain_error_frame(exc, None))
            return
        self.reader_pk, self.reader = reader.pk, reader
        if self._auth_timer is not None:
            self._auth_timer.cancel()
        await self._send({"type": "ready"})

    async def _refuse_auth(self, frame: dict[str, Any]) -> None:
        await self._send(frame)
        await self._close(CLOSE_UNAUTHENTICATED if frame.get("status") == 401 else CLOSE_FORBIDDEN)

    async def _handle_unlock(self, content: dict[str, Any]) -> None:
        """`{"type": "unlock", "id", "article", "claim"?, "idempotency_key"?, "telemetry_session"?,
        "evidence"?}` →
        `{"type": "unlock.result", "id", "status", …the body of POST /api/v1/unlocks}`."""
        frame_id = _frame_id(content)
        if self.reader_pk is None or self.reader is None:
            await self._refuse_auth(
                _error_frame(
                    "not_authenticated",
                    "Send an auth frame first.",
                    status=401,
                    frame_id=frame_id,
                )
            )
            return
        idempotency_key = content.get("idempotency_key", "")
        if not isinstance(idempotency_key, str):
            raise _Malformed("`idempotency_key` must be a string.")
        wait = await database_sync_to_async(_throttle_wait)(self.reader)
        if wait is not None:
            await self._send(
                _error_frame(
                    "rate_limited",
                    "Too many requests; retry later.",
                    status=429,
                    frame_id=frame_id,
                    retry_after=max(1, int(wait + 0.999)),
                )
            )
            return
        data = {
            key: content[key]
            for key in ("publisher", "article", "claim", "telemetry_session", "evidence")
            if key in content
        }
        headers = dict(self.scope.get("headers") or [])
        try:
            outcome = await database_sync_to_async(_unlock)(
                reader_pk=self.reader_pk,
                data=data,
                idempotency_key=idempotency_key.strip(),
                user_agent=headers.get(b"user-agent", b"").decode("latin-1")[:512],
                client_ip=client_address_of_scope(self.scope),
            )
        except DropgateError as exc:
            await self._send(_domain_error_frame(exc, frame_id))
            return
        if "invalid" in outcome:
            await self._send(
                _error_frame(
                    "invalid_request",
                    "The request is invalid.",
                    status=400,
                    frame_id=frame_id,
                    fields=outcome["invalid"],
                )
            )
            return
        await self._send(
            {
                "type": "unlock.result",
                "id": frame_id,
                "status": outcome["status"],
                **outcome["body"],
            }
        )

    async def _handle_ping(self, content: dict[str, Any]) -> None:
        """`{"type": "ping", "id"?}` → `{"type": "pong", "id"?}`: a keep-alive, no auth needed."""
        reply: dict[str, Any] = {"type": "pong"}
        if "id" in content:
            reply["id"] = _frame_id(content)
        await self._send(reply)
