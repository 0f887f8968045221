"""HTTP front of the sandbox: rippled's JSON-RPC over POST, plus the ledger-close timer."""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from channels_app.sandbox.rpc import Sandbox, error_result

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class _Handler(BaseHTTPRequestHandler):
    server: SandboxHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "rippled-sandbox"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._send(
            HTTPStatus.BAD_REQUEST,
            {"result": error_result("invalidParams", "POST a JSON-RPC request.")},
        )

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE if length > 0 else HTTPStatus.BAD_REQUEST,
                {"result": error_result("invalidParams", "Bad Content-Length.")},
            )
            return
        raw = self.rfile.read(length)
        try:
            request = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            self._send(
                HTTPStatus.BAD_REQUEST,
                {"result": error_result("jsonInvalid", f"Unable to parse request: {exc}")},
            )
            return
        self._send(HTTPStatus.OK, {"result": self._dispatch(request)})

    def _dispatch(self, request: Any) -> dict[str, Any]:
        if not isinstance(request, dict):
            return error_result("invalidParams", "Request is not an object.")
        method = request.get("method")
        params: Any = request.get("params", [{}])
        if isinstance(params, list):
            if len(params) > 1:
                return error_result("invalidParams", "params unparseable")
            params = params[0] if params else {}
        elif params is None:
            params = {}
        admin = is_loopback(self.client_address[0])
        return self.server.sandbox.handle(method, params, admin=admin)


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        super().__init__(address, _Handler)


class LedgerCloser(threading.Thread):
    """Closes a ledger every `interval` seconds, as a network would."""

    def __init__(self, sandbox: Sandbox, interval: float) -> None:
        super().__init__(name="sandbox-ledger-closer", daemon=True)
        self.sandbox = sandbox
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                self.sandbox.close_ledger_on_timer()
            except Exception:
                logger.exception("sandbox: ledger close failed")

    def stop(self) -> None:
        self.stopped.set()
