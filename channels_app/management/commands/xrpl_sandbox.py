"""`python manage.py xrpl_sandbox`: run the sandbox ledger (rippled-compatible JSON-RPC).

A thin door: it parses options, builds the sandbox and serves it. It never touches the
Django database; the sandbox keeps its own state under --data-dir.
"""

from __future__ import annotations

import fcntl
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from channels_app.sandbox.rpc import Sandbox
from channels_app.sandbox.server import LedgerCloser, SandboxHTTPServer, is_loopback


class Command(BaseCommand):
    help = "Run the sandbox ledger: a local rippled-compatible JSON-RPC server."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=5006)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument(
            "--allow-remote",
            action="store_true",
            help="Allow binding a non-loopback address (admin methods stay loopback-only).",
        )
        parser.add_argument("--data-dir", default=None, help="Default: <DATA_DIR>/sandbox")
        parser.add_argument("--close-interval", type=float, default=1.0)
        parser.add_argument(
            "--allow-time-travel",
            action="store_true",
            help="Enable the admin method sandbox_advance_time {'seconds': N}.",
        )
        parser.add_argument("--reset", action="store_true", help="Wipe the sandbox state first.")
        parser.add_argument(
            "--network-id",
            type=int,
            default=None,
            help="NetworkID to report and enforce (default XRPL_SANDBOX_NETWORK_ID, 1).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        if not is_loopback(host) and not options["allow_remote"]:
            raise CommandError(f"refusing to listen on {host}: pass --allow-remote")
        interval: float = options["close_interval"]
        if interval <= 0:
            raise CommandError("--close-interval must be positive")
        data_dir = Path(options["data_dir"] or Path(settings.DATA_DIR) / "sandbox")
        data_dir.mkdir(parents=True, exist_ok=True)
        lock_file = (data_dir / "sandbox.lock").open("w")
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise CommandError(f"another sandbox is using {data_dir}") from None
        if options["reset"]:
            for path in data_dir.glob("ledger.sqlite3*"):
                path.unlink()

        network_id = options["network_id"]
        if network_id is None:
            network_id = settings.XRPL_SANDBOX_NETWORK_ID
        if not 0 <= network_id <= 2**32 - 1:
            raise CommandError("--network-id must be a uint32")
        sandbox = Sandbox(
            data_dir, allow_time_travel=options["allow_time_travel"], network_id=network_id
        )
        try:
            server = SandboxHTTPServer((host, options["port"]), sandbox)
        except OSError as exc:
            sandbox.shutdown()
            raise CommandError(f"cannot listen on {host}:{options['port']}: {exc}") from None
        closer = LedgerCloser(sandbox, interval)
        closer.start()

        def _stop(signum: int, frame: Any) -> None:
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        port = server.server_address[1]
        shown = f"[{host}]" if ":" in host else host
        self.stdout.write(f"xrpl_sandbox listening on http://{shown}:{port}/")
        self.stdout.flush()
        sys.stdout.flush()
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            closer.stop()
            closer.join(timeout=5)
            server.server_close()
            sandbox.shutdown()
            lock_file.close()
