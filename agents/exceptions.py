"""Errors of the machine door. Each has a stable code; a 402 among them also carries fresh
payment requirements so the agent can pay again."""

from __future__ import annotations

from channels_app.exceptions import DropgateError


class AgentError(DropgateError):
    code = "agent_error"
    http_status = 400


class PaymentMalformed(AgentError):
    code = "payment_malformed"
    default_message = "PAYMENT-SIGNATURE is not base64 JSON of an x402 version 2 PaymentPayload."


class PaymentRefused(AgentError):
    """A payment that parses but must not be taken. `code` names the rule; nothing was charged."""

    code = "payment_refused"
    http_status = 402


class PaymentReplayed(AgentError):
    code = "payment_replayed"
    http_status = 409
    default_message = "This payment was already used; sign a new one for a new requirement."


class PaymentPending(AgentError):
    code = "payment_pending"
    http_status = 503
    default_message = (
        "The payment was submitted but is not validated yet; send the same header again."
    )
    retry_after = 2


class AgentsRefused(AgentError):
    code = "agents_refused"
    http_status = 403
    default_message = "The publisher does not sell this article to agents."


class OperatorRefused(AgentError):
    code = "operator_refused"
    http_status = 403
    default_message = "The publisher does not sell to this crawler operator."


class SignatureInvalid(AgentError):
    code = "bot_signature_invalid"
    http_status = 401
    default_message = "The request's HTTP message signature does not verify."


class NetworkUnknown(AgentError):
    code = "network_unknown"
    http_status = 503
    default_message = "The ledger's NetworkID is not known yet; try again shortly."
    retry_after = 5
