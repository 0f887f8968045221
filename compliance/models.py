"""Compliance records: rulebook versions, decisions (with the tax of each charge), consent and
country confirmations, publishers' policies and KYC, exchange rates, tax reports, AML cases
and legal holds.

Privacy: no IP address, user agent or fingerprint is stored here. A decision keeps the
country (and ISO 3166-2 region) it fixed and the *kinds* of evidence it had.
Money is integer drops; fiat is Decimal with its rate, the rate's source and its date.
Audit rows (decisions, consents, confirmations, KYC and case events) are append-only.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

__all__ = [
    "AppendOnly",
    "ConsentRecord",
    "CountryConfirmation",
    "DecisionRecord",
    "FxRate",
    "KycEvent",
    "LegalHold",
    "PublisherKyc",
    "PublisherPolicy",
    "RulebookVersion",
    "SarCase",
    "SarEvent",
    "TaxReport",
]


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise ValueError(f"{self.model.__name__} rows are append-only")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValueError(f"{self.model.__name__} rows are append-only")


class AppendOnly(models.Model):
    """Written once: saving an existing row, deleting one or bulk-updating is refused."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError(f"{type(self).__name__} rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(f"{type(self).__name__} rows are append-only")


class RulebookVersion(models.Model):
    """The content of each rulebook version the service has run with, kept when first seen
    so the admin can show any version and the difference between two."""

    version = models.CharField(max_length=32, unique=True)
    files = models.JSONField(help_text="File name → YAML text")
    rule_count = models.PositiveIntegerField()
    first_seen_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ("-first_seen_at", "-pk")

    def __str__(self) -> str:
        return f"rulebook {self.version} ({self.first_seen_at:%Y-%m-%d %H:%M})"


class Decision(models.TextChoices):
    ALLOW = "allow", "allow"
    BLOCK = "block", "block"
    CONFIRM_COUNTRY = "confirm_country", "confirm country"
    REFUSE = "refuse", "refused (consent, limit)"


class DecisionRecord(AppendOnly):
    """One compliance decision in the unlock path, with the rulebook version and rule ids.

    An allowed decision is written in the transaction that charges the claim (`claim_id`
    set), so a charged unlock always has exactly one, carrying its tax split; refusals are
    written on their own (nothing was charged). It is also the reader's receipt.
    """

    at = models.DateTimeField(db_index=True)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    code = models.CharField(max_length=48, blank=True, help_text="The refusal's stable code")
    publisher_ref = models.CharField(max_length=64, db_index=True)
    reader_ref = models.CharField(max_length=64)
    article_ref = models.CharField(max_length=200, blank=True)
    funding_address = models.CharField(max_length=40, blank=True)
    country = models.CharField(max_length=2, blank=True, db_index=True)
    region = models.CharField(max_length=6, blank=True)
    evidence_kinds = models.JSONField(default=list, blank=True)
    candidates = models.JSONField(default=list, blank=True)
    rules = models.JSONField(default=list, blank=True)
    rulebook_version = models.CharField(max_length=32)
    category = models.CharField(max_length=16, blank=True)
    gross_drops = models.PositiveBigIntegerField(default=0)
    net_drops = models.PositiveBigIntegerField(default=0)
    tax_drops = models.PositiveBigIntegerField(default=0)
    rate_percent = models.DecimalField(max_digits=7, decimal_places=4, null=True, blank=True)
    scheme = models.CharField(max_length=16, blank=True)
    eur_amount = models.DecimalField(max_digits=24, decimal_places=8, null=True, blank=True)
    eur_rate = models.DecimalField(
        max_digits=24, decimal_places=10, null=True, blank=True, help_text="EUR per XRP"
    )
    eur_rate_source = models.CharField(max_length=200, blank=True)
    eur_rate_date = models.DateField(null=True, blank=True)
    claim_id = models.BigIntegerField(null=True, blank=True, unique=True)
    claim_reference = models.CharField(max_length=128, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["funding_address", "at"], name="decision_funding_at"),
            models.Index(fields=["reader_ref", "at"], name="decision_reader_at"),
            models.Index(fields=["scheme", "at"], name="decision_scheme_at"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(claim_id__isnull=True) | Q(decision="allow"),
                name="decision_only_allowed_is_charged",
            ),
            models.CheckConstraint(
                condition=Q(claim_id__isnull=True)
                | Q(net_drops__lte=models.F("gross_drops"), tax_drops__lte=models.F("gross_drops")),
                name="decision_tax_within_gross",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} {self.country or '??'} {self.reader_ref} ({self.at:%Y-%m-%d})"


class ConsentRecord(AppendOnly):
    """A reader's express consent to immediate access for one publisher, acknowledging the loss
    of the right of withdrawal (CRD Art. 16(m)), for one version of the consent text."""

    reader_ref = models.CharField(max_length=64)
    publisher_ref = models.CharField(max_length=64)
    text_version = models.CharField(max_length=32)
    rule_id = models.CharField(max_length=64)
    rulebook_version = models.CharField(max_length=32)
    at = models.DateTimeField()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["reader_ref", "publisher_ref", "text_version"], name="consent_once"
            ),
        ]

    def __str__(self) -> str:
        return f"consent {self.reader_ref} → {self.publisher_ref} ({self.text_version})"


class CountryConfirmation(AppendOnly):
    """A reader's answer to `confirm_country`: the country (and region) it says it is in."""

    reader_ref = models.CharField(max_length=64, db_index=True)
    publisher_ref = models.CharField(max_length=64)
    country = models.CharField(max_length=2)
    region = models.CharField(max_length=6, blank=True)
    candidates = models.JSONField(default=list, blank=True)
    evidence_kinds = models.JSONField(default=list, blank=True)
    rulebook_version = models.CharField(max_length=32)
    at = models.DateTimeField()

    class Meta:
        ordering = ("-at", "-pk")

    def __str__(self) -> str:
        return f"{self.reader_ref} confirmed {self.country}"


class TaxCategory(models.TextChoices):
    STANDARD = "standard", "standard"
    E_PUBLICATION = "e_publication", "electronically supplied news and books"


class PublisherPolicy(models.Model):
    """A publisher's own compliance settings: countries it refuses to sell to, the tax
    category of its articles, and per-article exceptions."""

    publisher_ref = models.CharField(max_length=64, unique=True)
    blocked_countries = models.JSONField(
        default=list, blank=True, help_text='ISO 3166-1 codes, e.g. ["RU", "BY"]'
    )
    tax_category = models.CharField(
        max_length=16, choices=TaxCategory.choices, default=TaxCategory.STANDARD
    )
    article_tax_categories = models.JSONField(
        default=dict,
        blank=True,
        help_text='Article slug → category, e.g. {"my-ebook": "e_publication"}',
    )
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=150, blank=True)

    class Meta:
        verbose_name_plural = "publisher policies"

    def __str__(self) -> str:
        return f"policy of {self.publisher_ref}"


class KycTier(models.IntegerChoices):
    NONE = 0, "0 — none (no payouts)"
    BUSINESS = 1, "1 — business details verified"
    ADDRESS = 2, "2 — payout address ownership proven"


class PublisherKyc(models.Model):
    """A publisher's KYC: business details (tier 1) and proof it controls its payout address
    (tier 2). Changed only through compliance.services.kyc; every change is a KycEvent."""

    class AddressKind(models.TextChoices):
        SELF_HOSTED = "self_hosted", "self-hosted (unhosted) wallet"
        CUSTODIAL = "custodial", "account at a crypto-asset service provider"

    publisher_ref = models.CharField(max_length=64, unique=True)
    tier = models.PositiveSmallIntegerField(choices=KycTier.choices, default=KycTier.NONE)
    legal_name = models.CharField(max_length=200, blank=True)
    address = models.TextField(blank=True)
    country = models.CharField(max_length=2, blank=True)
    vat_id = models.CharField(max_length=32, blank=True, help_text="Compact form, validated")
    business_verified_at = models.DateTimeField(null=True, blank=True)
    payout_address = models.CharField(max_length=40, blank=True)
    address_kind = models.CharField(
        max_length=16, choices=AddressKind.choices, default=AddressKind.SELF_HOSTED
    )
    custodian_name = models.CharField(max_length=200, blank=True)
    proof_public_key = models.CharField(max_length=66, blank=True)
    proof_message = models.CharField(max_length=300, blank=True)
    proof_signature = models.CharField(max_length=200, blank=True)
    address_proven_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = "publisher KYC"
        verbose_name_plural = "publisher KYC"

    def __str__(self) -> str:
        return f"KYC {self.publisher_ref}: tier {self.tier}"


class KycEvent(AppendOnly):
    publisher_ref = models.CharField(max_length=64, db_index=True)
    action = models.CharField(max_length=32)
    actor = models.CharField(max_length=150)
    reason = models.CharField(max_length=500, blank=True)
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ("-at", "-pk")

    def __str__(self) -> str:
        return f"{self.action} {self.publisher_ref} by {self.actor}"


class FxRate(models.Model):
    """An exchange rate: `rate` units of `quote` per 1 `base`, on `as_of`, from `source`.

    ECB reference rates are stored as base EUR (e.g. 1 EUR = 1.0836 USD). XRP is not an ECB
    currency: XRP rates (base XRP) come from a recorded market source — an admin or
    `manage.py fx_rate_record`, or the paywall's own exchange rates — and say which.
    """

    base = models.CharField(max_length=8)
    quote = models.CharField(max_length=8)
    rate = models.DecimalField(max_digits=28, decimal_places=12)
    as_of = models.DateField(db_index=True)
    source = models.CharField(max_length=200)
    recorded_at = models.DateTimeField()

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["base", "quote", "as_of", "source"], name="fx_once"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="fx_rate_positive"),
        ]
        indexes: ClassVar = [models.Index(fields=["base", "quote", "-as_of"], name="fx_lookup")]

    def __str__(self) -> str:
        return f"1 {self.base} = {self.rate} {self.quote} ({self.as_of}, {self.source})"


class TaxReport(models.Model):
    """A generated tax return for one scheme and period. Regenerating adds a new row."""

    scheme = models.CharField(max_length=16)
    period = models.CharField(max_length=8, help_text="e.g. 2026Q3")
    period_start = models.DateField()
    period_end = models.DateField()
    generated_at = models.DateTimeField(db_index=True)
    generated_by = models.CharField(max_length=150)
    rulebook_version = models.CharField(max_length=32)
    currency = models.CharField(max_length=3)
    fx = models.JSONField(default=dict, help_text="The rates used, with their sources and dates")
    rows = models.JSONField(default=list)
    totals = models.JSONField(default=dict)
    csv = models.TextField()

    class Meta:
        ordering = ("-generated_at", "-pk")
        indexes: ClassVar = [models.Index(fields=["scheme", "period"], name="tax_report_lookup")]

    def __str__(self) -> str:
        return f"{self.scheme} {self.period} ({self.generated_at:%Y-%m-%d %H:%M})"


class SarStatus(models.TextChoices):
    OPEN = "open", "open"
    INVESTIGATING = "investigating", "investigating"
    FILED = "filed", "filed with the FIU"
    CLOSED_NO_ACTION = "closed_no_action", "closed, no action"


OPEN_SAR_STATUSES = (SarStatus.OPEN, SarStatus.INVESTIGATING)


class SarCase(models.Model):
    """A suspicious-activity case opened by a monitoring rule. Its status changes only
    through compliance.services.sar (open → investigating → filed | closed_no_action), each
    change a SarEvent with its actor and reason."""

    rule_id = models.CharField(max_length=64, db_index=True)
    subject_kind = models.CharField(max_length=16, help_text="reader, funding or publisher")
    subject = models.CharField(max_length=96)
    publisher_ref = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(
        max_length=16, choices=SarStatus.choices, default=SarStatus.OPEN, db_index=True
    )
    summary = models.CharField(max_length=500)
    evidence = models.JSONField(default=list, blank=True, help_text="Append-only entries")
    reader_refs = models.JSONField(default=list, blank=True)
    funding_addresses = models.JSONField(default=list, blank=True)
    channel_ids = models.JSONField(default=list, blank=True)
    rulebook_version = models.CharField(max_length=32)
    filing_reference = models.CharField(max_length=100, blank=True)
    opened_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "SAR case"
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["rule_id", "subject_kind", "subject"],
                condition=Q(status__in=["open", "investigating"]),
                name="sar_one_open_per_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"SAR {self.pk}: {self.rule_id} {self.subject_kind}:{self.subject} ({self.status})"


class SarEvent(AppendOnly):
    case = models.ForeignKey(SarCase, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=150)
    action = models.CharField(max_length=24)
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16, blank=True)
    reason = models.CharField(max_length=1000, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("at", "pk")

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_label}"


class LegalHold(models.Model):
    """Records about a subject that must be kept until `until` (AML record keeping): erasure
    and retention jobs consult `compliance.selectors.legal_hold_active` and keep them.

    Subjects: `reader` (reader ref), `funding` (funding address), `publisher`, `channel`.
    A hold is never deleted; its `until` only moves later.
    """

    subject_kind = models.CharField(max_length=16)
    subject = models.CharField(max_length=96)
    reason = models.CharField(max_length=300)
    case = models.ForeignKey(
        SarCase, on_delete=models.PROTECT, null=True, blank=True, related_name="holds"
    )
    rule_id = models.CharField(max_length=64)
    placed_at = models.DateTimeField()
    until = models.DateField(null=True, blank=True, help_text="Empty: while the case is open")

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["subject_kind", "subject", "case"], name="legal_hold_once_per_case"
            ),
        ]
        indexes: ClassVar = [models.Index(fields=["subject_kind", "subject"], name="hold_lookup")]

    def __str__(self) -> str:
        return f"hold {self.subject_kind}:{self.subject} until {self.until or 'case closed'}"

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("legal holds are never deleted")
