"""Publish only the built SDK and stylesheets from `static/`, never its sources or toolchain.

`static/js/` also holds the SDK's sources, tests, developer tools, `node_modules` and build
files; WhiteNoise serves whatever the finders list, so the finder leaves those out, for
listing and lookup.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import Any

from django.contrib.staticfiles.finders import FileSystemFinder

UNPUBLISHED = (
    "node_modules",
    "src",
    "test",
    "tools",
    "coverage",
    "*.mjs",
    "package.json",
    "package-lock.json",
    "README.md",
    ".*",
)


def _unpublished(path: str) -> bool:
    return any(
        fnmatch.fnmatch(part, pattern) for part in path.split("/") for pattern in UNPUBLISHED
    )


class PublishedFilesFinder(FileSystemFinder):
    def list(self, ignore_patterns: Iterable[str] | None) -> Any:
        return super().list([*(ignore_patterns or []), *UNPUBLISHED])

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        if _unpublished(path.replace("\\", "/")):
            return []
        return super().find(path, find_all=find_all)  # type: ignore[call-overload]
