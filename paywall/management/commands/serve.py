"""`manage.py serve`: the ASGI server (uvicorn) with the limits the service relies on.

- `ws_max_size` is DROPGATE_WS_SERVER_MAX_BYTES: a websocket message larger than that is refused
  by the server (close 1009) while it arrives, instead of being buffered whole (uvicorn's default
  is 16 MiB) before the consumers' own limits (4413) can look at it.
- no proxy-header handling of the server's own: the client's address behind proxies is decided
  in one place, by DROPGATE_TRUSTED_PROXIES (channels_app.client_address). uvicorn would
  otherwise believe X-Forwarded-For from 127.0.0.1 by default.
"""

from __future__ import annotations

from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

APP = "paywall.asgi:application"


def server_options() -> dict[str, Any]:
    """The uvicorn options every deployment of the service runs with (README, "Running it")."""
    return {
        "ws_max_size": int(settings.DROPGATE_WS_SERVER_MAX_BYTES),
        "proxy_headers": False,
        "server_header": False,
        "lifespan": "off",
    }


class Command(BaseCommand):
    help = "Serve HTTP and websockets with uvicorn and the service's limits."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=1)
        parser.add_argument("--access-log", action="store_true", help="log every request")
        parser.add_argument("--log-level", default="info")

    def handle(self, *args: Any, **options: Any) -> None:
        uvicorn.run(
            APP,
            host=options["host"],
            port=options["port"],
            workers=options["workers"],
            access_log=options["access_log"],
            log_level=options["log_level"],
            **server_options(),
        )
