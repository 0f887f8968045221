"""Domain errors. Each carries a stable snake_case code and the HTTP status a door maps it to."""

from __future__ import annotations

from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError


class DropgateError(Exception):
    """Base of every error a client may see. `message` never contains secrets."""

    code = "error"
    http_status = 400
    default_message = "The request could not be completed."
    retry_after: int | None = None

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message or self.default_message
        if code is not None:
            self.code = code
        super().__init__(self.message)


class LedgerUnavailable(DropgateError):
    code = "ledger_unavailable"
    http_status = 503
    default_message = "The XRP Ledger cannot be reached right now. Try again shortly."
    retry_after = 5


# Outages a task retries with backoff rather than fails on: the ledger, or the database while
# it restarts (its pooled connections are checked on the next attempt).
TRANSIENT_OUTAGES: tuple[type[Exception], ...] = (
    LedgerUnavailable,
    DatabaseOperationalError,
    DatabaseInterfaceError,
)


class ClaimRejected(DropgateError):
    """A claim that must not be accepted. `code` names the rule that failed."""

    code = "claim_rejected"
    http_status = 422


class ChannelRejected(DropgateError):
    """A channel that cannot be registered. `code` names the check that failed."""

    code = "channel_rejected"
    http_status = 422


class NotFound(DropgateError):
    code = "not_found"
    http_status = 404
    default_message = "No such resource."


class Conflict(DropgateError):
    code = "conflict"
    http_status = 409
