"""Telemetry sessions, article views and risk decisions.

Paywall rows are named by reference strings (publisher key, reader public id, article slug),
never by foreign keys: fraud never imports paywall. Raw telemetry events are never stored;
a session keeps only the features computed from them and the score.
"""

from __future__ import annotations

from django.db import models

__all__ = ["ArticleView", "RiskDecisionRecord", "TelemetrySession"]

CATEGORY_CHOICES = [
    ("human", "human"),
    ("bot", "bot"),
    ("agent", "agent"),
    ("unknown", "unknown"),
]
ACTION_CHOICES = [
    ("allow", "allow"),
    ("challenge", "challenge"),
    ("refuse", "refuse"),
    ("hold", "hold"),
]


class TelemetrySession(models.Model):
    """One page's telemetry socket session (resumable after a reconnect)."""

    public_id = models.CharField(max_length=40, unique=True)
    publisher_ref = models.CharField(max_length=64, db_index=True)
    # Blank until the first unlock that names the session binds it; bound once.
    reader_ref = models.CharField(max_length=64, blank=True, default="", db_index=True)
    fingerprint_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    network_prefix = models.CharField(max_length=64, blank=True, default="", db_index=True)
    ua_family = models.CharField(max_length=64, blank=True, default="")
    device_type = models.CharField(max_length=16, blank=True, default="")
    is_bot_ua = models.BooleanField(default=False)
    features = models.JSONField(default=dict, blank=True)
    score = models.FloatField(default=0.0)
    reasons = models.JSONField(default=list, blank=True)
    category = models.CharField(max_length=16, choices=CATEGORY_CHOICES, default="unknown")
    events_count = models.PositiveBigIntegerField(default=0)
    rejected = models.JSONField(default=dict, blank=True)
    challenge_passed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["publisher_ref", "created_at"])]

    def __str__(self) -> str:
        return self.public_id


class ArticleView(models.Model):
    """Dwell on one article within one session (one row per session and article, updated)."""

    session = models.ForeignKey(TelemetrySession, on_delete=models.CASCADE, related_name="views")
    publisher_ref = models.CharField(max_length=64)
    article_ref = models.CharField(max_length=200)
    visible_ms = models.PositiveBigIntegerField(default=0)
    words = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["session", "article_ref"], name="fraud_articleview_session_article"
            )
        ]
        indexes = [models.Index(fields=["publisher_ref", "article_ref", "created_at"])]

    def __str__(self) -> str:
        return f"{self.session_id}:{self.article_ref}"


class RiskDecisionRecord(models.Model):
    """Every decision `risk_decide` made, with what it was based on."""

    publisher_ref = models.CharField(max_length=64, db_index=True)
    reader_ref = models.CharField(max_length=64, db_index=True)
    article_ref = models.CharField(max_length=200)
    channel_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    session = models.ForeignKey(
        TelemetrySession,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="decisions",
    )
    fingerprint_hash = models.CharField(max_length=64, blank=True, default="", db_index=True)
    network_prefix = models.CharField(max_length=64, blank=True, default="")
    action = models.CharField(max_length=16, choices=ACTION_CHOICES)
    score = models.FloatField()
    reasons = models.JSONField(default=list, blank=True)
    category = models.CharField(max_length=16, choices=CATEGORY_CHOICES)
    amount_drops = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.action} {self.reader_ref} {self.article_ref}"
