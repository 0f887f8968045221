"""ASGI-level guards, in front of Django: what must be refused before a request is buffered."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from paywall.errors import error_body

__all__ = ["RequestBodyLimit"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[..., Awaitable[None]]


class _BodyTooLarge(Exception):
    pass


def _json_response(status: int, code: str, message: str) -> tuple[Message, Message]:
    body = json.dumps(error_body(code, message)).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"private, no-store"),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class RequestBodyLimit:
    """Answer 413 `payload_too_large` to an HTTP request whose body is over `max_bytes()`.

    Django's ASGI handler reads the whole body (into a spooled file) before any middleware or
    view sees the request, so a limit there comes after the bytes were taken. Here a declared
    Content-Length over the limit is refused before any of the body is read, and a body without
    one (chunked) is counted as it arrives and refused as soon as it passes the limit.
    """

    def __init__(self, app: App, *, max_bytes: Callable[[], int]) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes()
        declared = _content_length(scope)
        if declared == -1:
            await self._refuse(send, 400, "invalid_request", "Content-Length is not a number.")
            return
        if declared is not None and declared > limit:
            await self._refuse(send, 413, "payload_too_large", _too_large(limit))
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge()
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(send, 413, "payload_too_large", _too_large(limit))

    @staticmethod
    async def _refuse(send: Send, status: int, code: str, message: str) -> None:
        start, body = _json_response(status, code, message)
        await send(start)
        await send(body)


def _too_large(limit: int) -> str:
    return f"The request body is larger than {limit} bytes."


def _content_length(scope: Scope) -> int | None:
    """The declared Content-Length; None if absent, -1 if it is not a number."""
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isascii() and text.isdigit() else -1
    return None
