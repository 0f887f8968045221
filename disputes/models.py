"""Disputes, the evidence they link to, their audit trail, appeals and exported bundles.

Modelled on Stripe's dispute object: a small set of statuses, a `due_by` deadline for the
current stage, evidence kept as *named links* to the records the rest of the product already
wrote (the unlock, its accepted claim and channel, the fraud decision and telemetry session,
the content deliveries, a key-compromise report) and never as copies, and every status change
an append-only `DisputeEvent` with its actor and reason.

Disputes change only through `disputes.services`; the admin and the API call those.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from channels_app.models import Channel, Claim
from channels_app.payouts.models import PayoutHold, Refund
from fraud.models.cases import AppendOnlyEvent, AppendOnlyQuerySet
from fraud.models.telemetry import RiskDecisionRecord, TelemetrySession
from paywall.models import Publisher, Reader, Unlock

__all__ = [
    "OPEN_STATUSES",
    "REASON_CLASS",
    "Appeal",
    "Dispute",
    "DisputeClass",
    "DisputeEvent",
    "DisputeEvidence",
    "DisputeReason",
    "DisputeReport",
    "DisputeStatus",
    "EvidenceBundle",
    "KeyCompromiseReport",
    "Side",
]

MAX_MESSAGE_CHARS = 2_000
MAX_STATEMENT_CHARS = 5_000


class DisputeReason(models.TextChoices):
    NOT_DELIVERED = "not_delivered", "not delivered"
    CHARGED_TWICE = "charged_twice", "charged twice"
    NOT_AS_DESCRIBED = "not_as_described", "not as described"
    ACCIDENTAL = "accidental", "accidental purchase"
    UNAUTHORIZED = "unauthorized", "unauthorized"


class DisputeClass(models.TextChoices):
    TECHNICAL = "technical", "technical"
    CONTENT = "content", "content"
    FRAUD = "fraud", "fraud"


REASON_CLASS: dict[str, str] = {
    DisputeReason.NOT_DELIVERED: DisputeClass.TECHNICAL,
    DisputeReason.CHARGED_TWICE: DisputeClass.TECHNICAL,
    DisputeReason.NOT_AS_DESCRIBED: DisputeClass.CONTENT,
    DisputeReason.ACCIDENTAL: DisputeClass.CONTENT,
    DisputeReason.UNAUTHORIZED: DisputeClass.FRAUD,
}


class DisputeStatus(models.TextChoices):
    NEEDS_RESPONSE = "needs_response", "needs the publisher's response"
    UNDER_REVIEW = "under_review", "under review"
    ESCALATED = "escalated", "escalated to an outside arbitrator"
    WON_BY_READER = "won_by_reader", "won by the reader"
    WON_BY_PUBLISHER = "won_by_publisher", "won by the publisher"


OPEN_STATUSES = (
    DisputeStatus.NEEDS_RESPONSE,
    DisputeStatus.UNDER_REVIEW,
    DisputeStatus.ESCALATED,
)
DECIDED_STATUSES = (DisputeStatus.WON_BY_READER, DisputeStatus.WON_BY_PUBLISHER)


class Side(models.TextChoices):
    READER = "reader", "reader"
    PUBLISHER = "publisher", "publisher"


class Dispute(models.Model):
    """A reader contests one unlock's charge.

    `due_by` is the deadline of the current stage: the publisher's answer (needs_response) or
    the admin queue's decision (under_review at tier 2); none once decided or escalated.
    `decided_by` is `auto`, `sla`, `publisher` or `reviewer:<name>`; `reasons` are the reason
    codes of the current status (the deciding votes, or why it was not decided).
    """

    unlock = models.ForeignKey(Unlock, on_delete=models.PROTECT, related_name="disputes")
    reader = models.ForeignKey(Reader, on_delete=models.PROTECT, related_name="disputes")
    publisher = models.ForeignKey(Publisher, on_delete=models.PROTECT, related_name="disputes")
    reason = models.CharField(max_length=24, choices=DisputeReason.choices)
    dispute_class = models.CharField(max_length=16, choices=DisputeClass.choices, db_index=True)
    message = models.TextField(blank=True, max_length=MAX_MESSAGE_CHARS)
    amount_drops = models.PositiveBigIntegerField(help_text="What the unlock charged")
    status = models.CharField(max_length=20, choices=DisputeStatus.choices, db_index=True)
    tier = models.PositiveSmallIntegerField(default=1)
    due_by = models.DateTimeField(null=True, blank=True, db_index=True)
    filed_at = models.DateTimeField(db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=80, blank=True)
    decided_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reasons = models.JSONField(default=list, blank=True)
    publisher_statement = models.TextField(blank=True, max_length=MAX_STATEMENT_CHARS)
    hold = models.ForeignKey(
        PayoutHold,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The payout hold on the disputed amount while the dispute is open",
    )
    refund = models.ForeignKey(
        Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    publisher_charged_drops = models.PositiveBigIntegerField(
        default=0,
        help_text="What the publisher bears for this dispute now (refunded, not reinstated)",
    )
    review_minutes = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ("-filed_at", "-pk")
        permissions: ClassVar = [("decide_dispute", "Can decide, escalate and route disputes")]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["unlock"],
                condition=Q(status__in=["needs_response", "under_review", "escalated"]),
                name="dispute_one_open_per_unlock",
            ),
            models.CheckConstraint(condition=Q(tier__in=[1, 2, 3]), name="dispute_tier_1_2_3"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["reader", "filed_at"], name="dispute_reader_filed"),
            models.Index(fields=["publisher", "status"], name="dispute_publisher_status"),
            models.Index(fields=["status", "due_by"], name="dispute_status_due"),
        ]

    def __str__(self) -> str:
        return f"dispute {self.pk}: {self.reason} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def winner(self) -> str | None:
        if self.status == DisputeStatus.WON_BY_READER:
            return Side.READER
        if self.status == DisputeStatus.WON_BY_PUBLISHER:
            return Side.PUBLISHER
        return None


class KeyCompromiseReport(AppendOnlyEvent, models.Model):
    """A reader said its claim key was compromised. Append-only.

    Unlocks charged after the report and disputed as `unauthorized` are the reader's
    (the Authentication resolver).
    """

    reader = models.ForeignKey(Reader, on_delete=models.PROTECT, related_name="+")
    public_key = models.CharField(max_length=66, help_text="The claim key reported")
    reported_at = models.DateTimeField(db_index=True)
    note = models.CharField(max_length=500, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ("reported_at", "pk")

    def __str__(self) -> str:
        return f"key compromise reported by {self.reader_id} at {self.reported_at:%Y-%m-%d %H:%M}"


class DisputeEvidence(models.Model):
    """Named links to the records a dispute rests on, fixed when it is filed.

    Deliveries are the unlock's `ContentDelivery` rows and settlements the channel's; dwell is
    the session's `ArticleView` of the article. Telemetry may be purged by its retention rule,
    so those links fall to null rather than block it.
    """

    dispute = models.OneToOneField(Dispute, on_delete=models.PROTECT, related_name="evidence")
    claim = models.ForeignKey(
        Claim, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    risk_decision = models.ForeignKey(
        RiskDecisionRecord, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    telemetry_session = models.ForeignKey(
        TelemetrySession, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    key_compromise_report = models.ForeignKey(
        KeyCompromiseReport, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    collected_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"evidence of dispute {self.dispute_id}"


class DisputeEvent(AppendOnlyEvent, models.Model):
    """One change to a dispute: who, when, from which status to which, and why. Append-only."""

    class Action(models.TextChoices):
        FILED = "filed", "filed"
        DECIDED = "decided", "decided"
        ROUTED = "routed", "routed"  # to the publisher or the admin queue
        RESPONDED = "responded", "publisher responded"
        ESCALATED = "escalated", "escalated"
        APPEALED = "appealed", "appealed"
        REFUNDED = "refunded", "refund issued"
        REFUND_FAILED = "refund_failed", "refund not issued yet"
        CHARGE_ADJUSTED = "charge_adjusted", "publisher charge adjusted"
        BUNDLE_EXPORTED = "bundle_exported", "evidence bundle exported"

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=80, help_text="auto, sla, reader:…, publisher:…")
    action = models.CharField(max_length=16, choices=Action.choices)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label} at {self.at:%Y-%m-%d %H:%M:%S}"


class Appeal(models.Model):
    """One side contests a decision. Once per side; it goes to a reviewer other than
    `excluded_reviewer` (whoever decided the appealed decision, if a person did)."""

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="appeals")
    side = models.CharField(max_length=10, choices=Side.choices)
    filed_at = models.DateTimeField()
    message = models.TextField(blank=True, max_length=MAX_MESSAGE_CHARS)
    appealed_status = models.CharField(max_length=20, help_text="The decision appealed")
    appealed_decided_by = models.CharField(max_length=80)
    excluded_reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    outcome_status = models.CharField(max_length=20, blank=True)
    overturned = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ("filed_at", "pk")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["dispute", "side"], name="appeal_once_per_side"),
        ]

    def __str__(self) -> str:
        return f"appeal of dispute {self.dispute_id} by the {self.side}"


class EvidenceBundle(AppendOnlyEvent, models.Model):
    """The evidence of an escalated dispute, exported for an outside arbitrator and signed
    with the platform's dispute-evidence key. `body` is the canonical JSON that was signed
    (after the domain prefix, see disputes.services.bundles)."""

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="bundles")
    created_at = models.DateTimeField()
    body = models.TextField()
    sha256 = models.CharField(max_length=64)
    key_id = models.CharField(max_length=32)
    algorithm = models.CharField(max_length=16)
    public_key = models.CharField(max_length=66)
    signature = models.CharField(max_length=160)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ("created_at", "pk")

    def __str__(self) -> str:
        return f"bundle of dispute {self.dispute_id} ({self.sha256[:12]}…)"


class DisputeReport(models.Model):
    """A month's dispute report as the report task last computed it."""

    period = models.CharField(max_length=7, unique=True, help_text="YYYY-MM")
    data = models.JSONField()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ("-period",)

    def __str__(self) -> str:
        return f"dispute report {self.period}"
