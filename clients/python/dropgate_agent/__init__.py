"""Buy Dropgate articles over HTTP 402 (x402 v2) with the XRPL `exact` scheme or `paychan`."""

from dropgate_agent.client import AgentClient, PaymentError, SpendLimitExceeded

__all__ = ["AgentClient", "PaymentError", "SpendLimitExceeded"]
