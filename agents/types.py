"""Value objects of the machine door."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from paywall.types import Drops


@dataclass(frozen=True)
class Buyer:
    """Who is asking: a verified crawler operator (Web Bot Auth), or an anonymous agent.

    `claimed_crawler` is set when User-Agent names a known operator without a valid signature:
    such a request is treated as an anonymous agent, never as that operator.
    """

    operator_id: int | None = None
    operator_name: str = ""
    claimed_crawler: str = ""
    user_agent: str = ""
    client_ip: str = ""

    @property
    def verified(self) -> bool:
        return self.operator_id is not None


@dataclass(frozen=True)
class AgentPrice:
    """What this buyer pays for this article (drops), and the basis."""

    drops: Drops
    basis: str  # "article", "agent_policy" or "operator_policy"


@dataclass(frozen=True)
class Offer:
    """One 402 answer: the x402 PaymentRequired object (wire form) for an article."""

    payment_required: dict[str, Any]
    price: AgentPrice


@dataclass(frozen=True)
class Sale:
    """A paid request: what to serve, and the x402 settlement response (wire form)."""

    payment_id: int
    scheme: str
    amount_drops: int
    payment_response: dict[str, Any]
    content_html: str
    title: str
    extra: dict[str, Any] = field(default_factory=dict)
