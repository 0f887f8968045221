"""The 402 answer (x402 version 2) and the invoices bound to it.

An `exact` requirement carries an invoice: `extra.invoiceId` is an HMAC, under a key derived
from DROPGATE_KEK, over everything the requirement promises (publisher, article, amount,
destination, tag, network, expiry, a nonce and the buyer's operator). Nothing is stored when
a 402 is sent: an invoice proves itself when it comes back, and the AgentPayment row's unique
invoice refuses its second use.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.crypto import constant_time_compare
from x402.schemas import PaymentRequired, PaymentRequirements, ResourceInfo

from agents.exceptions import PaymentRefused
from agents.services.network import x402_network
from agents.services.pricing import agent_price
from agents.types import AgentPrice, Buyer, Offer
from channels_app import clock
from channels_app.keys.services import platform_address
from channels_app.models import integrity_tag
from paywall.models import Article

X402_VERSION = 2
SCHEME_EXACT = "exact"
SCHEME_PAYCHAN = "paychan"
ASSET_XRP = "XRP"


@dataclass(frozen=True)
class Invoice:
    """An exact requirement that came back and proved to be ours."""

    invoice_id: str
    amount_drops: int
    pay_to: str
    destination_tag: int
    expires_at: int  # Unix seconds
    network: str


def invoice_id_for(
    *,
    article: Article,
    amount_drops: int,
    pay_to: str,
    network: str,
    expires_at: int,
    nonce: str,
    operator_id: int | None,
) -> str:
    """The invoice id (64 upper-case hex digits, a valid XRPL InvoiceID) of these terms."""
    return integrity_tag(
        "x402-invoice-v1",
        article.publisher.key,
        article.pk,
        amount_drops,
        pay_to,
        article.publisher.destination_tag,
        network,
        expires_at,
        nonce,
        operator_id,
    ).upper()


def _requirements(
    *, article: Article, buyer: Buyer, price: AgentPrice, network: str, pay_to: str
) -> list[PaymentRequirements]:
    timeout = settings.DROPGATE_AGENT_QUOTE_SECONDS
    expires_at = int(clock.now().timestamp()) + timeout
    nonce = secrets.token_hex(8)
    tag = article.publisher.destination_tag
    invoice = invoice_id_for(
        article=article,
        amount_drops=int(price.drops),
        pay_to=pay_to,
        network=network,
        expires_at=expires_at,
        nonce=nonce,
        operator_id=buyer.operator_id,
    )
    exact = PaymentRequirements(
        scheme=SCHEME_EXACT,
        network=network,
        asset=ASSET_XRP,
        amount=str(int(price.drops)),
        pay_to=pay_to,
        max_timeout_seconds=timeout,
        extra={
            "destinationTag": tag,
            "invoiceId": invoice,
            "requireDestinationAccount": True,
            "expiresAt": expires_at,
            "nonce": nonce,
        },
    )
    paychan = PaymentRequirements(
        scheme=SCHEME_PAYCHAN,
        network=network,
        asset=ASSET_XRP,
        amount=str(int(price.drops)),
        pay_to=pay_to,
        max_timeout_seconds=timeout,
        extra={
            "claim": "Ed25519 or secp256k1 over CLM\\0 || channel id || cumulative drops (uint64 BE)",
            "minChannelDrops": settings.DROPGATE_MIN_CHANNEL_DROPS,
            "minSettleDelay": settings.DROPGATE_MIN_SETTLE_DELAY_SECONDS,
        },
    )
    return [exact, paychan]


def offer_build(*, article: Article, buyer: Buyer, resource_url: str) -> Offer:
    """The PaymentRequired of `article` for `buyer`: `exact` first, then `paychan`.

    Raises AgentsRefused or OperatorRefused when the publisher does not sell to this buyer,
    NetworkUnknown (503) when the ledger's network is not known yet.
    """
    price = agent_price(article=article, buyer=buyer)
    network = x402_network()
    required = PaymentRequired(
        x402_version=X402_VERSION,
        error="payment_required",
        resource=ResourceInfo(
            url=resource_url, description=article.title, mime_type="application/json"
        ),
        accepts=_requirements(
            article=article, buyer=buyer, price=price, network=network, pay_to=platform_address()
        ),
    )
    return Offer(
        payment_required=required.model_dump(by_alias=True, exclude_none=True, mode="json"),
        price=price,
    )


def _int_field(extra: dict[str, Any], name: str) -> int:
    value = extra.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PaymentRefused(f"The requirement's extra.{name} is missing.", code="invoice_invalid")
    return value


def invoice_check(
    *, accepted: PaymentRequirements, article: Article, buyer: Buyer, network: str
) -> Invoice:
    """The invoice of an `exact` requirement the agent sent back, once proved to be ours.

    Refuses (402) `invoice_invalid` when any promised term was changed or it was issued for
    another article or operator, `invoice_expired` after its expiry, `network_mismatch`.
    """
    if accepted.network != network:
        raise PaymentRefused(f"Payments here are on {network}.", code="network_mismatch")
    extra = dict(accepted.extra or {})
    expires_at = _int_field(extra, "expiresAt")
    tag = _int_field(extra, "destinationTag")
    nonce = extra.get("nonce")
    sent_invoice = extra.get("invoiceId")
    if not isinstance(nonce, str) or not isinstance(sent_invoice, str):
        raise PaymentRefused("The requirement has no invoice.", code="invoice_invalid")
    if not accepted.amount.isdigit() or accepted.asset != ASSET_XRP:
        raise PaymentRefused("The requirement's amount is not XRP drops.", code="invoice_invalid")
    amount = int(accepted.amount)
    expected = invoice_id_for(
        article=article,
        amount_drops=amount,
        pay_to=accepted.pay_to,
        network=network,
        expires_at=expires_at,
        nonce=nonce,
        operator_id=buyer.operator_id,
    )
    if tag != article.publisher.destination_tag or not constant_time_compare(
        expected, sent_invoice.upper()
    ):
        raise PaymentRefused(
            "The requirement was not issued here for this article.", code="invoice_invalid"
        )
    if expires_at <= int(clock.now().timestamp()):
        raise PaymentRefused("The requirement has expired; ask again.", code="invoice_expired")
    if accepted.pay_to != platform_address():
        raise PaymentRefused("The requirement's payTo is not ours.", code="invoice_invalid")
    return Invoice(
        invoice_id=expected,
        amount_drops=amount,
        pay_to=accepted.pay_to,
        destination_tag=tag,
        expires_at=expires_at,
        network=network,
    )
