"""The paywall's domain errors. Each has a stable snake_case code and the HTTP status a door
maps it to (paywall.errors renders every `DropgateError` as the JSON error envelope).

Messages are for people and never hold a secret (no token, hash or key material).
"""

from __future__ import annotations

from typing import Any

from channels_app.exceptions import DropgateError

__all__ = [
    "ApiKeyInvalid",
    "ArticleNotFound",
    "ChannelNotFound",
    "ChannelNotOwned",
    "ChannelRetired",
    "ClaimKeyProofInvalid",
    "ClaimKeyProofRequired",
    "ClaimKeyRetired",
    "ClaimKeyUnchanged",
    "ContentNotFound",
    "ExchangeRateUnavailable",
    "GrantArticleMismatch",
    "GrantRevoked",
    "IdempotencyKeyReused",
    "InvalidInput",
    "InvalidPublicKey",
    "OriginNotAllowed",
    "PaymentRequired",
    "PublisherInactive",
    "PublisherMismatch",
    "PublisherNotFound",
    "ReaderTokenInvalid",
    "RegistrationChallengeExpired",
    "RegistrationChallengeInvalid",
    "RegistrationChallengeUnavailable",
    "RegistrationChallengeUsed",
    "RiskChallenge",
    "RiskRefused",
    "VelocityLimited",
]


class InvalidInput(DropgateError):
    """Input that is well-formed JSON but breaks a domain rule (bad price, bad origin...)."""

    code = "invalid_request"
    http_status = 400
    default_message = "The request is invalid."


class InvalidPublicKey(InvalidInput):
    code = "invalid_public_key"
    default_message = "The claim public key must be 66 hex digits starting ED, 02 or 03."


class PublisherNotFound(DropgateError):
    code = "publisher_not_found"
    http_status = 404
    default_message = "No such publisher."


class PublisherInactive(DropgateError):
    code = "publisher_inactive"
    http_status = 403
    default_message = "This publisher is not active."


class ArticleNotFound(DropgateError):
    code = "article_not_found"
    http_status = 404
    default_message = "No such article."


class ContentNotFound(DropgateError):
    code = "content_not_found"
    http_status = 404
    default_message = "The publisher has not provided this article's content yet."


class ChannelNotFound(DropgateError):
    code = "channel_not_found"
    http_status = 404
    default_message = "No such channel among this reader's channels."


class ChannelNotOwned(DropgateError):
    code = "channel_not_owned"
    http_status = 403
    default_message = "The channel does not belong to this reader."


class ChannelRetired(DropgateError):
    code = "channel_retired"
    http_status = 409
    default_message = (
        "The channel's key was rotated out: it is being closed. Open a channel for the new key."
    )


class ClaimKeyProofInvalid(DropgateError):
    code = "claim_key_proof_invalid"
    http_status = 422
    default_message = "The proof is not the new key's signature over the rotation message."


class ClaimKeyProofRequired(DropgateError):
    code = "claim_key_proof_required"
    http_status = 400
    default_message = (
        "A reader is registered with a proof of its claim key: GET /api/v1/readers/challenge, "
        "then send `challenge` and `proof` (the key's signature over the registration message)."
    )


class RegistrationChallengeInvalid(DropgateError):
    code = "registration_challenge_invalid"
    http_status = 422
    default_message = "The registration challenge is not one this service gave for this site."


class RegistrationChallengeExpired(DropgateError):
    code = "registration_challenge_expired"
    http_status = 422
    default_message = "The registration challenge expired: ask for a new one."


class RegistrationChallengeUsed(DropgateError):
    code = "registration_challenge_used"
    http_status = 409
    default_message = "The registration challenge was already used: ask for a new one."


class RegistrationChallengeUnavailable(DropgateError):
    """The store that makes challenges single-use cannot be reached: fail closed."""

    code = "registration_unavailable"
    http_status = 503
    default_message = "Readers cannot be registered right now. Try again shortly."
    retry_after = 5


class ClaimKeyUnchanged(DropgateError):
    code = "claim_key_unchanged"
    http_status = 409
    default_message = "The new claim key is the reader's current key."


class ClaimKeyRetired(DropgateError):
    code = "claim_key_retired"
    http_status = 409
    default_message = "This claim key was already rotated out and cannot be used again."


class ClaimKeyIsFundingKey(DropgateError):
    code = "claim_key_is_funding_key"
    http_status = 400
    default_message = (
        "The claim key must not be the key of the account that funds the reader's channels."
    )


class OriginNotAllowed(DropgateError):
    code = "origin_not_allowed"
    http_status = 403
    default_message = "This site is not one of the publisher's allowed origins."


class PublisherMismatch(DropgateError):
    code = "publisher_mismatch"
    http_status = 403
    default_message = "The reader belongs to another publisher's site."


class ReaderTokenInvalid(DropgateError):
    code = "reader_token_invalid"
    http_status = 401
    default_message = "The reader token is not valid."


class ApiKeyInvalid(DropgateError):
    code = "api_key_invalid"
    http_status = 401
    default_message = "The API key is not valid or has been revoked."


class GrantArticleMismatch(DropgateError):
    code = "grant_article_mismatch"
    http_status = 403
    default_message = "The access grant is for another article."


class GrantRevoked(DropgateError):
    code = "grant_revoked"
    http_status = 403
    default_message = "The access grant no longer matches a paid unlock."


class ExchangeRateUnavailable(DropgateError):
    code = "exchange_rate_unavailable"
    http_status = 503
    default_message = "No exchange rate is known for this article's currency."
    retry_after = 60


class IdempotencyKeyReused(DropgateError):
    code = "idempotency_key_reused"
    http_status = 422
    default_message = "This Idempotency-Key was already used for another article."


class PaymentRequired(DropgateError):
    """HTTP 402: the article is not paid for and no claim came with the request.

    `details` (rendered beside code and message) says what to pay, so an agent can pay over
    plain HTTP instead of being blocked.
    """

    code = "payment_required"
    http_status = 402
    default_message = "This article must be paid for: send a signed claim."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.details = details or {}


class RiskRefused(DropgateError):
    """The fraud checks refuse this unlock (the SDK shows state `blocked`, reason `risk`)."""

    code = "risk_refused"
    http_status = 403
    default_message = "This unlock was refused by the risk checks."


class RiskChallenge(DropgateError):
    """The reader must pass a challenge first; `details` carries it (`{"challenge": {...}}`)."""

    code = "risk_challenge"
    http_status = 403
    default_message = "Complete the challenge, then unlock again."

    def __init__(self, message: str | None = None, *, challenge: dict[str, Any]):
        super().__init__(message)
        self.details = {"challenge": challenge}


class VelocityLimited(DropgateError):
    """Too many payments too fast for this reader, channel, device or publisher."""

    code = "velocity_limited"
    http_status = 429
    default_message = "Too many unlocks in a short time; retry later."

    def __init__(self, message: str | None = None, *, retry_after: int, limit: str = ""):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))
        self.details = {"retry_after": self.retry_after, "limit": limit or None}
