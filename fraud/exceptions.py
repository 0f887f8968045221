"""Fraud domain errors."""

from __future__ import annotations

from channels_app.exceptions import DropgateError

__all__ = [
    "CLOSE_MALFORMED",
    "CLOSE_ORIGIN",
    "CLOSE_OVERSIZE",
    "CLOSE_TOO_FAST",
    "BatchRejected",
    "RiskChecksUnavailable",
]

CLOSE_MALFORMED = 4400
CLOSE_ORIGIN = 4403
CLOSE_OVERSIZE = 4413
CLOSE_TOO_FAST = 4429

_CLOSE_CODES = {
    "malformed": CLOSE_MALFORMED,
    "oversize": CLOSE_OVERSIZE,
    "too_fast": CLOSE_TOO_FAST,
    "origin": CLOSE_ORIGIN,
}


class BatchRejected(Exception):
    """A telemetry frame the socket must be closed for.

    `reason` is one of malformed, oversize, too_fast, origin (the counter and risk-reason
    suffix); `detail` is for tests and never contains the frame's content.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        if reason not in _CLOSE_CODES:
            raise ValueError(f"unknown rejection reason {reason!r}")
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}" if detail else reason)

    @property
    def close_code(self) -> int:
        return _CLOSE_CODES[self.reason]


class RiskChecksUnavailable(DropgateError):
    """The store behind the velocity limits (Redis) cannot be reached: the unlock is not
    charged (fail closed), and the client is told to retry."""

    code = "risk_checks_unavailable"
    http_status = 503
    default_message = "Payment checks are unavailable right now. Try again shortly."
    retry_after = 5
