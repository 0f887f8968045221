"""Keeping each rulebook version's content in the database, for the admin's history and diff."""

from __future__ import annotations

import threading

from channels_app import clock
from compliance.models import RulebookVersion
from compliance.rules import Rulebook, rulebook

__all__ = ["rulebook_version_ensure", "rulebook_versions_forget"]

_recorded: set[str] = set()
_lock = threading.Lock()


def rulebook_version_ensure(book: Rulebook | None = None) -> Rulebook:
    """Store the running rulebook's files under its version the first time it is seen.

    One query per process and version (then remembered); idempotent across processes (the
    version is unique). Returns the rulebook.
    """
    book = book or rulebook()
    if book.version in _recorded:
        return book
    with _lock:
        if book.version not in _recorded:
            RulebookVersion.objects.get_or_create(
                version=book.version,
                defaults={
                    "files": dict(book.files),
                    "rule_count": len(book.rules),
                    "first_seen_at": clock.now(),
                },
            )
            _recorded.add(book.version)
    return book


def rulebook_versions_forget() -> None:
    """Forget which versions this process stored (tests whose database is rolled back)."""
    with _lock:
        _recorded.clear()
