"""The disputes app's domain errors, each with a stable code and the HTTP status a door maps
it to (paywall.errors renders every DropgateError as the JSON error envelope)."""

from __future__ import annotations

from channels_app.exceptions import DropgateError

__all__ = [
    "AppealRefused",
    "DisputeConflict",
    "DisputeExists",
    "DisputeInvalid",
    "DisputeNotFound",
    "DisputeWindowClosed",
    "ReviewerConflict",
    "UnlockNotFound",
]


class DisputeInvalid(DropgateError):
    """Input that breaks a rule of the dispute forms (unknown reason, message too long)."""

    code = "invalid_request"
    http_status = 400
    default_message = "The dispute request is invalid."


class UnlockNotFound(DropgateError):
    code = "unlock_not_found"
    http_status = 404
    default_message = "No such unlock of yours."


class DisputeNotFound(DropgateError):
    code = "dispute_not_found"
    http_status = 404
    default_message = "No such dispute."


class DisputeExists(DropgateError):
    code = "dispute_exists"
    http_status = 409
    default_message = "This unlock already has an open dispute (or was refunded)."


class DisputeWindowClosed(DropgateError):
    code = "dispute_window_closed"
    http_status = 422
    default_message = "This unlock is too old to dispute."


class DisputeConflict(DropgateError):
    """The dispute is not in a state that allows this (`dispute_decided`, …)."""

    code = "dispute_conflict"
    http_status = 409
    default_message = "The dispute is not in a state that allows this."


class AppealRefused(DropgateError):
    """`appeal_exists` (409), `appeal_not_needed` (409), `dispute_not_decided` (409),
    `appeal_window_closed` (422)."""

    code = "appeal_refused"
    http_status = 409
    default_message = "The appeal is refused."


class ReviewerConflict(DropgateError):
    code = "reviewer_conflict"
    http_status = 409
    default_message = "An appeal goes to a reviewer other than the one who decided."
