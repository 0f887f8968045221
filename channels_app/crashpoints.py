"""Deterministic crash points for kill tests, and fault points for failure paths.

When settings.DROPGATE_CRASH_POINT names a point, the process exits at once there, as a
`kill -9` would, without unwinding or committing. When settings.DROPGATE_FAULT_POINT names
a fault point, that point raises `InjectedFault` (a server error, as a bug or a failing
dependency would) and the code's own error path runs: `disputes_replay` uses it for a
delivery that fails with a server error. Both are unset in every real deployment.
"""

from __future__ import annotations

import os

from django.conf import settings

CRASH_EXIT_CODE = 86


def crash_point(name: str) -> None:
    if settings.DROPGATE_CRASH_POINT and settings.DROPGATE_CRASH_POINT == name:
        os._exit(CRASH_EXIT_CODE)


class InjectedFault(RuntimeError):
    """Raised at the fault point named by DROPGATE_FAULT_POINT."""


def fault_point(name: str) -> None:
    if getattr(settings, "DROPGATE_FAULT_POINT", "") == name:
        raise InjectedFault(f"fault injected at {name}")
