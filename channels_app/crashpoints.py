"""Deterministic crash points for kill tests.

When settings.DROPGATE_CRASH_POINT names a point, the process exits at once there, as a
`kill -9` would, without unwinding or committing. Unset in every real deployment.
"""

from __future__ import annotations

import os

from django.conf import settings

CRASH_EXIT_CODE = 86


def crash_point(name: str) -> None:
    if settings.DROPGATE_CRASH_POINT and settings.DROPGATE_CRASH_POINT == name:
        os._exit(CRASH_EXIT_CODE)
