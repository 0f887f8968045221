"""Channels, accepted claims, settlements, the double-entry journal and platform keys.

Amounts are integer drops. Rows that record money are append-only: the journal refuses
updates and deletes, claims are never edited, and the admin shows all of them read-only.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from typing import Any, ClassVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models, transaction
from django.db.models import Q


class ChannelStatus(models.TextChoices):
    OPEN = "open", "open"
    CLOSING = "closing", "closing"  # the source asked to close (Expiration set) or CancelAfter near
    CLOSED = "closed", "closed"  # gone from the ledger


class ChannelQuerySet(models.QuerySet["Channel"]):
    def update(self, **kwargs: Any) -> int:
        """Update rows and re-seal them, so no ORM write leaves a stale integrity tag behind.

        With `mac` among the new values the caller sealed the new state itself and must pin
        the old `mac` in its filter (a compare-and-set). Otherwise, when a sealed field
        changes, the matching rows are locked, verified (a row that already fails its check is
        never re-sealed: that would launder tampering), updated and re-sealed in one
        transaction. Raises StateIntegrityError for a row that fails its check.
        """
        if "mac" in kwargs or not set(kwargs) & set(Channel.SEALED_FIELDS):
            return super().update(**kwargs)
        from channels_app.services.integrity import channel_verify

        with transaction.atomic(using=self.db):
            pks = [channel_verify(row).pk for row in self.select_for_update().order_by("pk")]
            count = super(ChannelQuerySet, self.filter(pk__in=pks)).update(**kwargs)
            plain = Channel._base_manager.using(self.db)
            for updated in plain.filter(pk__in=pks):
                plain.filter(pk=updated.pk).update(mac=updated.expected_mac())
        return count


class Channel(models.Model):
    """A reader's payment channel to the platform's settlement account, as last read from the ledger.

    The row is sealed: `mac` is an integrity tag over SEALED_FIELDS, written with every change
    (save() and the queryset's update() do it) and checked by channels_app.services.integrity
    before the row is used for a money decision.
    """

    SEALED_FIELDS: ClassVar[tuple[str, ...]] = (
        "channel_id",
        "owner_ref",
        "source_address",
        "destination_address",
        "destination_tag",
        "public_key",
        "amount_drops",
        "ledger_balance_drops",
        "accepted_drops",
        "settle_delay",
        "expiration",
        "cancel_after",
        "status",
    )

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

    objects = ChannelQuerySet.as_manager()

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(accepted_drops__lte=models.F("amount_drops")),
                name="channel_accepted_within_amount",
            ),
        ]
        permissions: ClassVar = [
            ("settle_channel", "Can redeem a channel's highest claim now (admin action)"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id[:12]}… ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Write the row sealed with a fresh integrity tag over this instance's sealed fields.

        An existing row is first re-read under its lock and verified: a row that already fails
        its check is never re-sealed, which would launder the change. Raises
        StateIntegrityError. (Recovery re-seals rebuilt rows explicitly, not through here.)
        """
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "mac"}
        if self._state.adding or kwargs.get("force_insert"):
            self.mac = self.expected_mac()
            super().save(*args, **kwargs)
            return
        from channels_app.services.integrity import channel_verify

        using = kwargs.get("using") or self._state.db
        with transaction.atomic(using=using):
            channel_verify(Channel._base_manager.using(using).select_for_update().get(pk=self.pk))
            self.mac = self.expected_mac()
            super().save(*args, **kwargs)

    def expected_mac(self, **changes: object) -> str:
        """The integrity tag of this row's sealed fields, with `changes` applied (not saved)."""
        values = [changes.get(name, getattr(self, name)) for name in self.SEALED_FIELDS]
        return integrity_tag("channel", *values)

    @property
    def unredeemed_drops(self) -> int:
        return max(0, self.accepted_drops - self.ledger_balance_drops)


@functools.lru_cache(maxsize=4)
def _integrity_key(kek_material: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"dropgate-row-integrity-v1"
    ).derive(kek_material.encode())


def _tag_part(part: object) -> bytes:
    if part is None:
        return b"N;"
    text = str(part).encode()
    return b"S%d:%s;" % (len(text), text)


def integrity_tag(*parts: object) -> str:
    """HMAC-SHA256 over a row's fields, so a change made behind the application's back shows.

    The key is derived with HKDF from DROPGATE_KEK under its own label: it is never stored in
    the database (whoever can write the rows cannot forge a tag) and it is not SECRET_KEY,
    which signs sessions and may be shared more widely. Parts are length-prefixed, and None
    differs from "", so two different rows never share a message. Compare tags with
    `constant_time_compare`.
    """
    key = _integrity_key(settings.DROPGATE_KEK)
    message = b"".join(_tag_part(part) for part in parts)
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
        """Insert the claim sealed with its integrity tag; an accepted claim is never updated."""
        if self.pk is not None:
            raise ValueError("accepted claims are immutable")
        self.mac = self.expected_mac(self.channel.channel_id)
        super().save(*args, **kwargs)

    def expected_mac(self, channel_id: str) -> str:
        """The integrity tag of this claim on the channel `channel_id` (64 hex digits)."""
        return integrity_tag(
            "claim",
            channel_id,
            self.amount_drops,
            self.increment_drops,
            self.signature,
            self.payee_ref,
        )


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


class AppendOnlyJournalRow:
    """Journal rows are written once: saving an existing row or deleting one is refused
    (the database refuses updates too, see the append-only trigger migration)."""

    pk: Any

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("the journal is append-only")
        super().save(*args, **kwargs)  # type: ignore[misc]

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("the journal is append-only")


class JournalEntry(AppendOnlyJournalRow, models.Model):
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
        SWEEP = "sweep", "hot-float sweep"
        CREDIT_APPLIED = "credit_applied", "reader credit applied"
        DISPUTE_REINSTATED = "dispute_reinstated", "publisher reinstated after a dispute"
        AGENT_PAYMENT = "agent_payment", "agent payment (x402 exact)"

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


class JournalLine(AppendOnlyJournalRow, models.Model):
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


class KeyRecord(models.Model):
    """A platform key. Only channels_app.keys reads `sealed` or signs with a key.

    Where the private key lives is `keystore`: `software` (sealed with AES-GCM on this row),
    `pkcs11` (inside the HSM, found by `key_id`; `sealed` is empty) or `hd` (derived at
    `derivation_path` from the `hd_master` seed; `sealed` is empty). A key is *pending*
    (made, not yet in force: a rotation waits for the ledger, or a pre-published token key
    waits in the JWKS until `published_at` + DROPGATE_TOKEN_KEY_PREPUBLISH_SECONDS), *active*,
    *retired* (replaced; a token key still verifies until `verify_until`) or *revoked*
    (refused everywhere).
    """

    class Purpose(models.TextChoices):
        SETTLEMENT = "settlement", "settlement account (master key)"
        SETTLEMENT_REGULAR = "settlement_regular", "settlement regular key (redeems claims)"
        PAYOUT_SIGNER = "payout_signer", "payout vault signer"
        PAYOUT_VAULT = "payout_vault", "payout vault account (master key)"
        REFUND = "refund", "refund account"
        ACCESS_TOKEN = "access_token", "access-token signing"
        BLIND_TOKEN = "blind_token", "blind-token issuing (reserved)"
        HD_MASTER = "hd_master", "HD master seed"
        PUBLISHER = "publisher", "per-publisher key"
        DISPUTE_EVIDENCE = "dispute_evidence", "dispute evidence signing"

    class Store(models.TextChoices):
        SOFTWARE = "software", "software (sealed)"
        PKCS11 = "pkcs11", "PKCS#11 HSM"
        HD = "hd", "HD-derived"

    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    slot = models.PositiveIntegerField(
        default=0, help_text="Payout signer index, or a publisher key's derivation index"
    )
    owner_ref = models.CharField(max_length=64, blank=True, db_index=True)
    key_id = models.CharField(max_length=32, unique=True)
    keystore = models.CharField(max_length=16, choices=Store.choices, default=Store.SOFTWARE)
    derivation_path = models.CharField(max_length=64, blank=True)
    algorithm = models.CharField(max_length=16)
    public_key = models.CharField(max_length=66)
    address = models.CharField(max_length=40, blank=True)
    sealed = models.BinaryField(editable=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    verify_until = models.DateTimeField(
        null=True, blank=True, help_text="A retired token key verifies grants until then"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="A token key is in the JWKS from then on"
    )
    destroyed_at = models.DateTimeField(
        null=True, blank=True, help_text="Key material erased (sealed bytes or HSM objects)"
    )
    pending_tx = models.JSONField(
        default=dict, blank=True, help_text="The ledger transaction a pending key waits for"
    )

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["purpose", "slot"],
                condition=Q(active=True),
                name="key_one_active_per_purpose_slot",
            ),
            models.UniqueConstraint(
                fields=["purpose", "slot"],
                condition=Q(active=False, retired_at__isnull=True, revoked_at__isnull=True),
                name="key_one_pending_per_purpose_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose} key {self.key_id}"

    def __repr__(self) -> str:
        return f"<KeyRecord {self.purpose} {self.key_id}>"

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.active:
            return "active"
        if self.retired_at is not None:
            return "retired"
        return "pending"


class KeyEvent(models.Model):
    """The audit trail of key management: creation, rotation, revocation, hardening, pauses.

    Append-only, like the journal.
    """

    class Action(models.TextChoices):
        CREATED = "created", "created"
        ACTIVATED = "activated", "activated"
        PREPUBLISHED = "prepublished", "pre-published"
        ROTATED = "rotated", "rotated"
        ROTATION_FAILED = "rotation_failed", "rotation failed"
        REVOKED = "revoked", "revoked"
        DESTROYED = "destroyed", "material destroyed"
        HARDENED = "hardened", "account hardened"
        DRILL = "compromise_drill", "compromise drill"
        PAYOUTS_PAUSED = "payouts_paused", "payouts paused"
        PAYOUTS_RESUMED = "payouts_resumed", "payouts resumed"

    purpose = models.CharField(max_length=24, db_index=True)
    key_id = models.CharField(max_length=32, blank=True, db_index=True)
    new_key_id = models.CharField(max_length=32, blank=True)
    action = models.CharField(max_length=24, choices=Action.choices, db_index=True)
    actor = models.CharField(max_length=64)
    at = models.DateTimeField(db_index=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-at", "-pk")

    def __str__(self) -> str:
        return f"{self.action} {self.purpose} {self.key_id}".strip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("key events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("key events are append-only")


class KeySignature(models.Model):
    """One ledger transaction a platform key signed, so a compromise report can list them.

    Single-signed rows carry the final `tx_hash`; a multisignature's hash is only known once
    every signer has signed, so those rows are found by (account, sequence).
    """

    key_id = models.CharField(max_length=32, db_index=True)
    purpose = models.CharField(max_length=24)
    tx_type = models.CharField(max_length=40)
    account = models.CharField(max_length=40)
    sequence = models.PositiveBigIntegerField(null=True, blank=True)
    tx_hash = models.CharField(max_length=64, blank=True, db_index=True)
    multisign = models.BooleanField(default=False)
    signed_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.tx_type} {self.tx_hash or self.sequence} by {self.key_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("signature records are append-only")
        super().save(*args, **kwargs)


class PayoutsPause(models.Model):
    """One row (pk=1): whether payouts are paused, and why. The payouts engine reads it
    through `channels_app.keys.services.payouts_paused()`."""

    paused = models.BooleanField(default=False)
    reason = models.CharField(max_length=255, blank=True)
    changed_by = models.CharField(max_length=64, blank=True)
    changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "payouts pause"

    def __str__(self) -> str:
        return f"payouts {'paused' if self.paused else 'running'}"


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
