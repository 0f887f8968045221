"""Websocket routes: the reader socket of the signer frame (claims over one connection).

paywall.asgi wraps them in AllowedHostsOriginValidator; the reader consumer then checks the
handshake's Origin against the reader's publisher (or the paywall's own origin).
"""

from django.urls import URLPattern, path

from paywall.consumers import ReaderConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/reader/", ReaderConsumer.as_asgi(), name="ws-reader"),
]
