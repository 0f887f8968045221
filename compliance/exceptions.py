"""Compliance refusals. Each has a stable snake_case code and the HTTP status a door maps it
to; `details` is rendered beside code and message (paywall.errors). None charges anything."""

from __future__ import annotations

from typing import Any

from channels_app.exceptions import DropgateError

__all__ = [
    "ComplianceError",
    "ConsentRequired",
    "CountryConfirmationRequired",
    "InvalidCountry",
    "JurisdictionBlocked",
    "KycRefused",
    "ReaderLimitReached",
    "SarTransitionRefused",
]


class ComplianceError(DropgateError):
    code = "compliance_error"
    http_status = 400

    def __init__(
        self,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.details = details or {}


class JurisdictionBlocked(ComplianceError):
    """451 Unavailable For Legal Reasons: the reader's jurisdiction is blocked by a rule."""

    code = "jurisdiction_blocked"
    http_status = 451
    default_message = "This article cannot be sold where you are."


class CountryConfirmationRequired(ComplianceError):
    """The evidence of the reader's country conflicts (or is missing): the frame asks the
    reader to confirm one (POST /api/v1/readers/me/country) and retries."""

    code = "country_confirmation_required"
    http_status = 409
    default_message = "Please confirm the country you are in."


class ConsentRequired(ComplianceError):
    """428 Precondition Required: express consent to immediate access is needed first
    (POST /api/v1/readers/me/consent)."""

    code = "consent_required"
    http_status = 428
    default_message = (
        "Before the first article, confirm that you want immediate access and that you lose "
        "your right of withdrawal once it starts."
    )


class ReaderLimitReached(ComplianceError):
    code = "reader_limit_reached"
    http_status = 403
    default_message = "You have reached the amount that can be spent anonymously in 30 days."


class InvalidCountry(ComplianceError):
    code = "invalid_country"
    http_status = 400
    default_message = "Not an ISO 3166 country or region code."


class KycRefused(ComplianceError):
    code = "kyc_refused"
    http_status = 422


class SarTransitionRefused(ComplianceError):
    code = "sar_transition_refused"
    http_status = 409
