"""ASGI entry point: HTTP through Django, websockets through Channels' router."""

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paywall.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from fraud.routing import websocket_urlpatterns as telemetry_urlpatterns  # noqa: E402
from fraud.scoring import mouse_model  # noqa: E402
from paywall.asgi_guards import RequestBodyLimit  # noqa: E402
from paywall.parsers import max_body_bytes  # noqa: E402
from paywall.routing import websocket_urlpatterns  # noqa: E402

# The paywall's own sockets come from its pages (the signer frame): ALLOWED_HOSTS origins.
paywall_sockets = AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns))
# The telemetry socket comes from publishers' pages, whose origins are not the paywall's
# hosts; its consumer checks each page's Origin against the publisher it names instead.
telemetry_sockets = URLRouter(telemetry_urlpatterns)
TELEMETRY_PATH = "/ws/telemetry/"


async def websockets(scope: dict[str, Any], receive: Any, send: Any) -> None:
    app = telemetry_sockets if scope.get("path") == TELEMETRY_PATH else paywall_sockets
    await app(scope, receive, send)


# The bot model is loaded, and its artifact verified, when the process starts: loading takes
# seconds, and inside the first telemetry connection it would stall the event loop.
mouse_model()

# Bodies over the limit are refused before Django buffers them (paywall.asgi_guards).
http_app = RequestBodyLimit(django_asgi_app, max_bytes=max_body_bytes)
application = ProtocolTypeRouter({"http": http_app, "websocket": websockets})
