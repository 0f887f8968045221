"""Routes of the HTTP API (/api/v1/)."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
