"""One request at an article's machine URL: answer 402 with the offer, or take the payment in
PAYMENT-SIGNATURE and hand back the article. The door (agents.api) only parses and maps."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from django.db import transaction
from pydantic import ValidationError
from x402.schemas import PaymentPayload, SettleResponse

from agents.exceptions import AgentError, PaymentMalformed, PaymentRefused
from agents.models import AgentPayment
from agents.services import exact, paychan
from agents.services.network import x402_network
from agents.services.offers import (
    SCHEME_EXACT,
    SCHEME_PAYCHAN,
    X402_VERSION,
    invoice_check,
    offer_build,
)
from agents.services.pricing import agent_price
from agents.types import Buyer, Offer, Sale
from channels_app.exceptions import DropgateError
from fraud.services.decisions import risk_decide
from paywall import selectors
from paywall.models import Article, ArticleContent
from paywall.services.exceptions import (
    ArticleNotFound,
    ContentNotFound,
    PublisherInactive,
    RiskRefused,
    VelocityLimited,
)

MAX_HEADER_CHARS = 16_384


class X402Required(AgentError):
    """402 with the offer: no payment came, or the one that came was refused (`reason`)."""

    code = "payment_required"
    http_status = 402
    default_message = "This article is sold to agents: pay with one of `accepts`."

    def __init__(self, offer: Offer, *, reason: AgentError | None = None) -> None:
        super().__init__(reason.message if reason else None)
        if reason is not None:
            self.code = reason.code
        self.offer = offer


def article_for_sale(*, publisher_key: str, slug: str) -> tuple[Article, ArticleContent]:
    """The article and its paid body; ArticleNotFound, PublisherNotFound/Inactive, or
    ContentNotFound (nothing is sold that cannot be delivered)."""
    article = (
        Article.objects.select_related("publisher", "content")
        .filter(publisher__key=publisher_key, slug=slug)
        .first()
    )
    if article is None:
        selectors.publisher_get(key=publisher_key)  # PublisherNotFound / PublisherInactive
        raise ArticleNotFound()
    if not article.publisher.is_active:
        raise PublisherInactive()
    try:
        content = article.content
    except ArticleContent.DoesNotExist:
        raise ContentNotFound() from None
    return article, content


def payment_header_parse(header: str) -> PaymentPayload:
    """PAYMENT-SIGNATURE: base64 of an x402 version 2 PaymentPayload (JSON)."""
    if len(header) > MAX_HEADER_CHARS:
        raise PaymentMalformed("PAYMENT-SIGNATURE is too long.")
    try:
        data = json.loads(base64.b64decode(header.strip(), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise PaymentMalformed() from exc
    if not isinstance(data, dict):
        raise PaymentMalformed()
    if data.get("x402Version") != X402_VERSION:
        raise PaymentMalformed("Only x402 version 2 is accepted.", code="x402_version_unsupported")
    try:
        return PaymentPayload.model_validate(data)
    except ValidationError as exc:
        raise PaymentMalformed() from exc


def _risk(*, article: Article, buyer: Buyer, identity: str, channel: str, amount: int) -> int:
    """fraud's decision for an agent payment (category `agent`, its own velocity limits);
    raises VelocityLimited (429) or RiskRefused (403) before anything is charged."""
    decision = risk_decide(
        publisher_ref=article.publisher.key,
        reader_ref=identity[:64],
        article_ref=article.slug,
        channel_id=channel,
        amount_drops=amount,
        telemetry_session=None,
        user_agent=buyer.user_agent,
        client_ip=buyer.client_ip,
    )
    if decision.velocity_limit is not None:
        raise VelocityLimited(
            retry_after=decision.retry_after_seconds, limit=decision.velocity_limit
        )
    if decision.action == "refuse":
        raise RiskRefused()
    return int(decision.record_id) if decision.record_id is not None else 0


def _identity(buyer: Buyer, payer: str) -> str:
    return f"operator:{buyer.operator_name}" if buyer.verified else f"agent:{payer}"


def _pay_exact(
    *, payment: PaymentPayload, article: Article, buyer: Buyer, network: str
) -> AgentPayment:
    invoice = invoice_check(
        accepted=payment.accepted, article=article, buyer=buyer, network=network
    )
    checked = exact.exact_check(payload=payment.payload, invoice=invoice)
    existing = AgentPayment.objects.filter(tx_hash=checked.tx_hash).first()
    risk_id = None
    if existing is None:
        risk_id = _risk(
            article=article,
            buyer=buyer,
            identity=_identity(buyer, checked.payer),
            channel=checked.payer,
            amount=checked.amount_drops,
        )
    row = exact.exact_reserve(
        checked=checked,
        invoice=invoice,
        article=article,
        operator_id=buyer.operator_id,
        risk_decision_id=risk_id,
    )
    return exact.exact_settle(payment=row)


def _pay_paychan(
    *, payment: PaymentPayload, article: Article, buyer: Buyer, network: str, price: int
) -> AgentPayment:
    if payment.accepted.network != network:
        raise PaymentRefused(f"Payments here are on {network}.", code="network_mismatch")
    claim = paychan.paychan_parse(payment.payload)
    owner = paychan.paychan_channel_owner(claim)
    # The decision and the payment commit together: one durable commit (one fsync on the
    # embedded SQLite) per paid request. A refusal is raised after the block, so its
    # decision record is kept; a claim the claim path rejects rolls back only its savepoint.
    refused: DropgateError | None = None
    row: AgentPayment | None = None
    with transaction.atomic():
        try:
            risk_id = _risk(
                article=article,
                buyer=buyer,
                identity=f"operator:{buyer.operator_name}" if buyer.verified else owner,
                channel=claim.channel_id,
                amount=price,
            )
            row = paychan.paychan_pay(
                claim=claim,
                article=article,
                owner_ref=owner,
                price_drops=price,
                operator_id=buyer.operator_id,
                risk_decision_id=risk_id,
            )
        except DropgateError as exc:
            refused = exc
    if refused is not None:
        raise refused
    assert row is not None
    return row


def agent_purchase(
    *,
    publisher_key: str,
    slug: str,
    buyer: Buyer,
    payment_header: str | None,
    resource_url: str,
) -> Sale:
    """Sell `slug` to `buyer` for the payment in `payment_header`, or raise X402Required.

    A refused payment (PaymentRefused: its code names the rule) is raised as X402Required
    carrying that code and a fresh offer; malformed input is PaymentMalformed (400); the
    claim path's codes (ClaimRejected) and fraud's (RiskRefused 403, VelocityLimited 429)
    pass through; a ledger outage is LedgerUnavailable (503), a slow validation
    PaymentPending (503): sending the same header again finishes that payment.
    """
    article, content = article_for_sale(publisher_key=publisher_key, slug=slug)
    price = agent_price(article=article, buyer=buyer)
    if not payment_header:
        raise X402Required(offer_build(article=article, buyer=buyer, resource_url=resource_url))
    payment = payment_header_parse(payment_header)
    network = x402_network()
    try:
        if payment.accepted.scheme == SCHEME_EXACT:
            row = _pay_exact(payment=payment, article=article, buyer=buyer, network=network)
        elif payment.accepted.scheme == SCHEME_PAYCHAN:
            row = _pay_paychan(
                payment=payment,
                article=article,
                buyer=buyer,
                network=network,
                price=int(price.drops),
            )
        else:
            raise PaymentRefused(
                "Only the exact and paychan schemes are accepted.", code="scheme_unsupported"
            )
    except PaymentRefused as refused:
        offer = offer_build(article=article, buyer=buyer, resource_url=resource_url)
        raise X402Required(offer, reason=refused) from refused
    transaction_ref = row.tx_hash or f"{row.channel_id}:{row.claim_id}"
    settled = SettleResponse(
        success=True,
        transaction=transaction_ref,
        network=network,
        payer=row.payer,
        amount=str(row.amount_drops),
    )
    response: dict[str, Any] = settled.model_dump(by_alias=True, exclude_none=True, mode="json")
    return Sale(
        payment_id=row.pk,
        scheme=row.scheme,
        amount_drops=row.amount_drops,
        payment_response=response,
        content_html=content.body_html,
        title=article.title,
    )
