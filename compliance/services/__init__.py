"""Compliance services: the things the app does, which change state (selectors read)."""
