"""Channels, accepted claims, settlements, the double-entry journal and platform keys.

Amounts are integer drops. Rows that record money are append-only: the journal refuses
updates and deletes, claims are never edited, and the admin shows all of them read-only.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q


class ChannelStatus(models.TextChoices):
    OPEN = "open", "open"
    CLOSING = "closing", "closing"  # the source asked to close (Expiration set) or CancelAfter near
    CLOSED = "closed", "closed"  # gone from the ledger


class Channel(models.Model):
    """A reader's payment channel to the platform's settlement account, as last read from the ledger."""

    channel_id = models.CharField(max_length=64, unique=True)
    owner_ref = models.CharField(max_length=64, db_index=True, help_text="Pseudonymous owner id")
    source_address = models.CharField(max_length=40, db_index=True)
    destination_address = models.CharField(max_length=40)
    destination_tag = models.PositiveBigIntegerField(null=True, blank=True)
    public_key = models.CharField(max_length=66)
    amount_drops = models.PositiveBigIntegerField(help_text="Total funded, per the ledger")
    ledger_balance_drops = models.PositiveBigIntegerField(
        default=0, help_text="Already paid out of the channel on the ledger"
    )
    accepted_drops = models.PositiveBigIntegerField(
        default=0, help_text="Highest claim amount the server accepted"
    )
    settle_delay = models.PositiveIntegerField()
    expiration = models.PositiveBigIntegerField(null=True, blank=True, help_text="Ripple epoch s")
    cancel_after = models.PositiveBigIntegerField(null=True, blank=True, help_text="Ripple epoch s")
    status = models.CharField(
        max_length=8, choices=ChannelStatus.choices, default=ChannelStatus.OPEN, db_index=True
    )
    registered_at = models.DateTimeField(auto_now_add=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    synced_ledger_index = models.PositiveBigIntegerField(null=True, blank=True)
    mac = models.CharField(
        max_length=64, blank=True, help_text="Integrity tag over the money fields (see integrity)"
    )

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(accepted_drops__lte=models.F("amount_drops")),
                name="channel_accepted_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id[:12]}… ({self.status})"

    @property
    def unredeemed_drops(self) -> int:
        return max(0, self.accepted_drops - self.ledger_balance_drops)


def integrity_tag(*parts: object) -> str:
    """HMAC over a row's money fields, so tampering in the database is detected on read."""
    key = hashlib.sha256(b"dropgate-row-mac:" + settings.SECRET_KEY.encode()).digest()
    message = "|".join(str(part) for part in parts).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class Claim(models.Model):
    """A claim the server accepted. One row per (channel, cumulative amount); never edited."""

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="claims")
    amount_drops = models.PositiveBigIntegerField()
    increment_drops = models.PositiveBigIntegerField()
    signature = models.CharField(max_length=144)
    payee_ref = models.CharField(max_length=64, db_index=True)
    reference = models.CharField(max_length=128)
    accepted_at = models.DateTimeField(auto_now_add=True, db_index=True)
    mac = models.CharField(max_length=64)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["channel", "amount_drops"], name="claim_unique_amount"),
        ]

    def __str__(self) -> str:
        return f"claim {self.amount_drops} on {self.channel_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("accepted claims are immutable")
        super().save(*args, **kwargs)

    def expected_mac(self, channel_id: str) -> str:
        return integrity_tag(channel_id, self.amount_drops, self.increment_drops, self.signature)


class SettlementStatus(models.TextChoices):
    PREPARED = "prepared", "prepared"  # signed and stored, not yet known to the ledger
    SUBMITTED = "submitted", "submitted"
    VALIDATED = "validated", "validated"  # in a validated ledger with tesSUCCESS
    FAILED = "failed", "failed"  # validated with a tec code, or expired unseen


IN_FLIGHT = (SettlementStatus.PREPARED, SettlementStatus.SUBMITTED)


class Settlement(models.Model):
    """One PaymentChannelClaim the platform signed. Stored before it is submitted."""

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="settlements")
    balance_drops = models.PositiveBigIntegerField(help_text="Cumulative amount redeemed")
    close = models.BooleanField(default=False)
    reason = models.CharField(max_length=32)
    tx_hash = models.CharField(max_length=64, unique=True)
    tx_blob = models.TextField()
    sequence = models.PositiveBigIntegerField()
    last_ledger_sequence = models.PositiveBigIntegerField()
    fee_drops = models.PositiveBigIntegerField()
    status = models.CharField(max_length=10, choices=SettlementStatus.choices, db_index=True)
    engine_result = models.CharField(max_length=32, blank=True)
    ledger_index = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["channel"],
                condition=Q(status__in=["prepared", "submitted"]),
                name="settlement_one_in_flight_per_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"settle {self.balance_drops} on {self.channel_id} ({self.status})"


class JournalEntry(models.Model):
    """A balanced set of journal lines. (kind, reference) is unique, which makes posting idempotent."""

    class Kind(models.TextChoices):
        PLATFORM_FUNDING = "platform_funding", "platform funding"
        CLAIM_ACCEPTED = "claim_accepted", "claim accepted"
        FEE = "fee", "platform fee"
        CLAIM_REDEEMED = "claim_redeemed", "claim redeemed"
        NETWORK_FEE = "network_fee", "network fee"
        CLAIM_WRITTEN_OFF = "claim_written_off", "claim written off"
        HOLDBACK = "holdback", "holdback"
        PAYOUT = "payout", "payout"
        REFUND = "refund", "refund"
        TAX = "tax", "tax"

    kind = models.CharField(max_length=24, choices=Kind.choices, db_index=True)
    reference = models.CharField(max_length=128)
    memo = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "journal entries"
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["kind", "reference"], name="journal_entry_idempotent"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("the journal is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("the journal is append-only")


class JournalLine(models.Model):
    """One side of an entry: a debit or a credit, in drops, on an account and sub-account."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.CharField(max_length=48, db_index=True)
    subaccount = models.CharField(max_length=96, blank=True, db_index=True)
    debit_drops = models.PositiveBigIntegerField(default=0)
    credit_drops = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=(Q(debit_drops=0) & Q(credit_drops__gt=0))
                | (Q(credit_drops=0) & Q(debit_drops__gt=0)),
                name="journal_line_one_sided",
            ),
        ]

    def __str__(self) -> str:
        side = f"Dr {self.debit_drops}" if self.debit_drops else f"Cr {self.credit_drops}"
        return f"{self.account}:{self.subaccount} {side}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("the journal is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("the journal is append-only")


class KeyRecord(models.Model):
    """A platform key, encrypted at rest by the keystore. Only channels_app.keys reads `sealed`."""

    class Purpose(models.TextChoices):
        SETTLEMENT = "settlement", "settlement (redeems claims)"
        ACCESS_TOKEN = "access_token", "access-token signing"

    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    key_id = models.CharField(max_length=32, unique=True)
    algorithm = models.CharField(max_length=16)
    public_key = models.CharField(max_length=66)
    address = models.CharField(max_length=40, blank=True)
    sealed = models.BinaryField(editable=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["purpose"], condition=Q(active=True), name="key_one_active_per_purpose"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} key {self.key_id}"

    def __repr__(self) -> str:
        return f"<KeyRecord {self.purpose} {self.key_id}>"


class WatchtowerAlert(models.Model):
    """Something the watchtower could not make safe in time, for an admin to act on."""

    class Level(models.TextChoices):
        WARNING = "warning", "warning"
        CRITICAL = "critical", "critical"

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="alerts")
    level = models.CharField(max_length=8, choices=Level.choices)
    code = models.CharField(max_length=48)
    message = models.TextField()
    unredeemed_drops = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["channel", "code"],
                condition=Q(resolved_at__isnull=True),
                name="alert_one_open_per_channel_code",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.level}: {self.code} on {self.channel_id}"


# Payouts and refunds live in their own app (channels_app.payouts, label "payouts").
