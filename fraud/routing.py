"""Websocket routes of the fraud app: the page's telemetry socket.

paywall.asgi adds them to its URLRouter inside AllowedHostsOriginValidator; the consumer then
checks the page's Origin against the publisher it names.
"""

from django.urls import URLPattern, path

from fraud.consumers import TelemetryConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/telemetry/", TelemetryConsumer.as_asgi(), name="ws-telemetry"),
]
