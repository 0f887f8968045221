"""Fraud cases, evidence and their audit trail; the aggregates the detectors keep.

A case names what was found (kind, publisher, subject), carries its evidence as an append-only
list and, while it holds revenue, the payout hold it placed through
`channels_app.payouts.services.holds`. Cases change only through `fraud.services.cases`;
every change writes a `FraudCaseEvent`, and events are never edited or deleted.
"""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from channels_app.payouts.models import PayoutHold

__all__ = [
    "OPEN_CASE_STATUSES",
    "ArticleTrafficHour",
    "FraudCase",
    "FraudCaseEvent",
    "FraudCaseKind",
    "FraudCaseStatus",
    "FraudLock",
]


class FraudCaseKind(models.TextChoices):
    RISKY_UNLOCK = "risky_unlock", "risky unlock"
    SYNTHETIC_TRAFFIC = "synthetic_traffic", "synthetic traffic"
    ACCOUNT_FARMING = "account_farming", "account farming"
    VELOCITY = "velocity", "payment velocity"
    CONTENT_MANIPULATION = "content_manipulation", "content manipulation"


class FraudCaseStatus(models.TextChoices):
    OPEN = "open", "open"  # found, no revenue held
    HOLDING = "holding", "holding revenue"
    RELEASED = "released", "released (still open)"  # an admin released the hold; not concluded
    CONFIRMED = "confirmed", "confirmed fraud"  # closed; the hold stays
    DISMISSED = "dismissed", "dismissed"  # closed; any hold released


# A case in one of these takes new evidence; confirmed and dismissed cases are closed.
OPEN_CASE_STATUSES = (FraudCaseStatus.OPEN, FraudCaseStatus.HOLDING, FraudCaseStatus.RELEASED)


class FraudCase(models.Model):
    """One finding about one publisher's revenue. At most one open case per (kind, publisher,
    subject): new evidence is appended to it instead of opening another."""

    kind = models.CharField(max_length=24, choices=FraudCaseKind.choices, db_index=True)
    status = models.CharField(
        max_length=12,
        choices=FraudCaseStatus.choices,
        default=FraudCaseStatus.OPEN,
        db_index=True,
    )
    publisher_ref = models.CharField(max_length=64, db_index=True)
    subject = models.CharField(
        max_length=255, help_text="What the case is about, e.g. article:<slug> or reader:<ref>"
    )
    score = models.FloatField(null=True, blank=True, help_text="Highest score seen, in [0, 1]")
    reader_refs = models.JSONField(default=list, blank=True)
    evidence = models.JSONField(
        default=list, blank=True, help_text="Append-only entries, each with `at` and `source`"
    )
    evidence_dropped = models.PositiveIntegerField(
        default=0, help_text="Entries not kept once the evidence list was full"
    )
    at_stake_drops = models.PositiveBigIntegerField(
        default=0, help_text="Publisher revenue the evidence concerns, all time"
    )
    held_drops = models.PositiveBigIntegerField(
        default=0, help_text="What the current hold keeps back (0: no hold)"
    )
    hold = models.ForeignKey(
        PayoutHold,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The current payout hold",
    )
    hold_ids = models.JSONField(
        default=list, blank=True, help_text="Every payout hold this case placed, in order"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    opened_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["kind", "publisher_ref", "subject"],
                condition=Q(status__in=["open", "holding", "released"]),
                name="fraud_case_one_open_per_subject",
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["publisher_ref", "status"])]

    def __str__(self) -> str:
        return f"case {self.pk}: {self.kind} {self.subject} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_CASE_STATUSES


class AppendOnlyEvent:
    """Audit rows are written once: saving an existing row or deleting one is refused.

    Shared by every audit trail that is not the journal (fraud cases, disputes, content
    deliveries); pair it with `AppendOnlyQuerySet` and a database trigger (see the fraud
    migration 0002) so bulk writes and other connections are refused too.
    """

    pk: Any

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)  # type: ignore[misc]

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"{type(self).__name__} rows are append-only")


_Row = TypeVar("_Row", bound=models.Model)


class AppendOnlyQuerySet(models.QuerySet[_Row]):
    """Bulk writes would go around the model's guard, so the queryset refuses them too."""

    def update(self, **kwargs: Any) -> int:
        raise ValueError(f"{self.model.__name__} rows are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValueError(f"{self.model.__name__} rows are append-only")


class FraudCaseEvent(AppendOnlyEvent, models.Model):
    """One change to a case: who (a user, or the detector named in `actor_label`), when, what."""

    class Action(models.TextChoices):
        OPENED = "opened", "opened"
        EVIDENCE = "evidence", "evidence added"
        HOLD_PLACED = "hold_placed", "hold placed"
        HOLD_EXTENDED = "hold_extended", "hold extended"
        HOLD_RELEASED = "hold_released", "hold released"
        CONFIRMED = "confirmed", "confirmed"
        DISMISSED = "dismissed", "dismissed"
        ASSIGNED = "assigned", "assigned"
        NOTE = "note", "note"

    case = models.ForeignKey(FraudCase, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(max_length=64, help_text="The user, or the detector")
    action = models.CharField(max_length=16, choices=Action.choices)
    details = models.JSONField(default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label} at {self.at:%Y-%m-%d %H:%M:%S}"


class ArticleTrafficHour(models.Model):
    """An article's traffic in one UTC hour: the content detector's seasonal baseline.

    Recomputed from telemetry (views) and risk decisions for recent hours on every scan, so a
    rerun overwrites a row with the same numbers.
    """

    publisher_ref = models.CharField(max_length=64)
    article_ref = models.CharField(max_length=200)
    hour = models.DateTimeField(help_text="Start of the UTC hour")
    views = models.PositiveIntegerField(default=0)
    decisions = models.PositiveIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["publisher_ref", "article_ref", "hour"], name="fraud_traffic_hour_once"
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["hour"])]

    def __str__(self) -> str:
        return f"{self.article_ref} {self.hour:%Y-%m-%d %H}h: {self.views}/{self.decisions}"


class FraudLock(models.Model):
    """Rows to serialise the detectors and case writers (see fraud.lock_objects)."""

    name = models.CharField(max_length=32, primary_key=True)

    def __str__(self) -> str:
        return self.name
