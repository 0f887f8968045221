"""Websocket routes. The reader socket (claims, telemetry) is added by the SDK and fraud work."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
