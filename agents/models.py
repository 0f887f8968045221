"""Agents and crawlers that pay over HTTP 402: per-article agent policy, verified crawler
operators and their keys, the publishers' per-operator policy, and every agent payment.

Money is integer drops. An `AgentPayment` row is written before a presigned blob is submitted,
so a payment the ledger may have applied is never forgotten; its unique invoice and hash refuse
a replay.
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.db.models import Q

from paywall.models import Article, Publisher


class AgentAccess(models.TextChoices):
    ALLOW = "allow", "allow"
    REFUSE = "refuse", "refuse"


class ArticleAgentPolicy(models.Model):
    """Whether agents may buy an article, and at what price (None: the article's own price).

    An article without a row is sold to agents at its own price.
    """

    article = models.OneToOneField(Article, on_delete=models.CASCADE, related_name="agent_policy")
    access = models.CharField(max_length=8, choices=AgentAccess.choices, default=AgentAccess.ALLOW)
    price_drops = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="What an agent pays, in drops. Blank: the article's price."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "article agent policies"
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(price_drops__isnull=True) | Q(price_drops__gte=1),
                name="agent_policy_price_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"agents {self.access} on {self.article_id}"


class CrawlerOperator(models.Model):
    """A crawler operator that signs its requests (Web Bot Auth), e.g. a search engine.

    `user_agent_token` is what its crawlers put in User-Agent; a request that claims it without
    a valid signature is treated as unverified, never as the operator.
    """

    name = models.SlugField(max_length=64, unique=True)
    display_name = models.CharField(max_length=200)
    user_agent_token = models.CharField(max_length=100, blank=True)
    key_directory_url = models.URLField(
        blank=True, help_text="Its /.well-known/http-message-signatures-directory"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.display_name or self.name


class CrawlerKey(models.Model):
    """An Ed25519 public key of an operator, found by its JWK thumbprint (the signature's keyid)."""

    operator = models.ForeignKey(CrawlerOperator, on_delete=models.CASCADE, related_name="keys")
    keyid = models.CharField(max_length=64, unique=True, help_text="RFC 7638 JWK thumbprint")
    public_key = models.CharField(max_length=64, help_text="Raw Ed25519 key, hex")
    not_after = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.operator_id}:{self.keyid[:12]}…"


class OperatorPolicy(models.Model):
    """A publisher's decision about one verified operator: allow (at a price) or refuse."""

    publisher = models.ForeignKey(
        Publisher, on_delete=models.CASCADE, related_name="crawler_policies"
    )
    operator = models.ForeignKey(CrawlerOperator, on_delete=models.CASCADE, related_name="policies")
    access = models.CharField(max_length=8, choices=AgentAccess.choices, default=AgentAccess.ALLOW)
    price_drops = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="Price per article for this operator. Blank: the agent price.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "operator policies"
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["publisher", "operator"], name="operator_policy_once_per_publisher"
            ),
            models.CheckConstraint(
                condition=Q(price_drops__isnull=True) | Q(price_drops__gte=1),
                name="operator_policy_price_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.publisher_id}: {self.operator_id} {self.access}"


class AgentPayment(models.Model):
    """One article sold to an agent, by `exact` (a presigned Payment) or `paychan` (a claim)."""

    class Scheme(models.TextChoices):
        EXACT = "exact", "exact (presigned XRPL Payment)"
        PAYCHAN = "paychan", "paychan (payment-channel claim)"

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "submitted, not yet validated"
        PAID = "paid", "paid"
        FAILED = "failed", "failed"

    scheme = models.CharField(max_length=8, choices=Scheme.choices)
    status = models.CharField(max_length=10, choices=Status.choices, db_index=True)
    publisher = models.ForeignKey(
        Publisher, on_delete=models.PROTECT, related_name="agent_payments"
    )
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="agent_payments")
    payer = models.CharField(max_length=64, db_index=True, help_text="Paying XRPL account")
    operator = models.ForeignKey(
        CrawlerOperator,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        help_text="The verified crawler operator, when the request was signed",
    )
    amount_drops = models.PositiveBigIntegerField()
    fee_drops = models.PositiveBigIntegerField(default=0)
    invoice_id = models.CharField(max_length=64, blank=True)
    tx_hash = models.CharField(max_length=64, blank=True)
    tx_blob = models.TextField(blank=True)
    last_ledger_sequence = models.PositiveBigIntegerField(null=True, blank=True)
    ledger_index = models.PositiveBigIntegerField(null=True, blank=True)
    engine_result = models.CharField(max_length=32, blank=True)
    channel_id = models.CharField(max_length=64, blank=True)
    claim_id = models.BigIntegerField(null=True, blank=True)
    risk_decision_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar = [
            # A failed blob frees its invoice (the agent may sign again); a submitted or paid
            # one holds it, and a transaction is taken at most once in any state.
            models.UniqueConstraint(
                fields=["invoice_id"],
                condition=Q(scheme="exact") & ~Q(status="failed"),
                name="agent_payment_invoice_once",
            ),
            models.UniqueConstraint(
                fields=["tx_hash"], condition=~Q(tx_hash=""), name="agent_payment_tx_once"
            ),
            models.UniqueConstraint(
                fields=["claim_id"],
                condition=Q(claim_id__isnull=False),
                name="agent_payment_claim_once",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["publisher", "status", "created_at"], name="agent_pay_pub_status"),
        ]

    def __str__(self) -> str:
        return f"{self.scheme} {self.amount_drops} drops for {self.article_id} ({self.status})"
