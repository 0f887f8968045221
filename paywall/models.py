"""Publishers, their API keys, articles and paid content, exchange rates, readers and unlocks.

Money is integer drops in `PositiveBigIntegerField`; fiat is `Decimal` stored beside its rate,
the rate's source and the rate's time. Secrets (API keys, reader tokens) are stored only as
SHA-256 hashes of high-entropy random values. Readers are pseudonymous: no personal data.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from xrpl.core.addresscodec import is_valid_classic_address

from fraud.models.cases import AppendOnlyEvent, AppendOnlyQuerySet

UINT32_MAX = 2**32 - 1
PUBLISHER_KEY_RE = r"^pub_[A-Za-z0-9]{4,60}$"
CURRENCY_RE = r"^[A-Z]{3}$"


def validate_classic_address(value: str) -> None:
    if not is_valid_classic_address(value):
        raise ValidationError("Enter a classic XRPL address (r…).", code="invalid_address")


currency_validator = RegexValidator(CURRENCY_RE, "Enter a three-letter upper-case currency code.")


class Publisher(models.Model):
    """A site that sells articles. `key` is public: it is the script tag's `data-publisher`."""

    key = models.CharField(
        max_length=64, unique=True, validators=[RegexValidator(PUBLISHER_KEY_RE)]
    )
    name = models.CharField(max_length=200)
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text='Exact origins the snippet may call from, e.g. ["https://news.example"].',
    )
    destination_tag = models.PositiveBigIntegerField(
        unique=True,
        validators=[MinValueValidator(1), MaxValueValidator(UINT32_MAX)],
        help_text="DestinationTag of this publisher's readers' channels (uint32).",
    )
    payout_address = models.CharField(
        max_length=35,
        blank=True,
        validators=[validate_classic_address],
        help_text="Classic XRPL address that receives payouts. Blank: payouts are held.",
    )
    display_currency = models.CharField(
        max_length=3, default="USD", validators=[currency_validator]
    )
    fee_bps = models.PositiveIntegerField(
        validators=[MaxValueValidator(10_000)], help_text="Platform fee in basis points."
    )
    is_active = models.BooleanField(default=True)
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="publishers",
        help_text="Staff users who manage this publisher's own rows in the admin.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=Q(destination_tag__gte=1, destination_tag__lte=UINT32_MAX),
                name="publisher_destination_tag_uint32",
            ),
            models.CheckConstraint(
                condition=Q(fee_bps__lte=10_000), name="publisher_fee_bps_at_most_100pct"
            ),
        ]
        permissions: ClassVar = [
            (
                "view_all_publishers",
                "Platform staff: can see every publisher's rows in the admin",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"


class PublisherApiKey(models.Model):
    """A publisher's server credential `dgk_<prefix>_<secret>`. Only SHA-256(secret) is stored."""

    publisher = models.ForeignKey(Publisher, on_delete=models.CASCADE, related_name="api_keys")
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        permissions: ClassVar = [
            ("revoke_publisherapikey", "Can revoke a publisher API key"),
        ]

    def __str__(self) -> str:
        state = "revoked" if self.revoked_at else "active"
        return f"dgk_{self.prefix}_… ({state})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Article(models.Model):
    """A paid article. Priced in drops, or in fiat converted at unlock time; exactly one."""

    publisher = models.ForeignKey(Publisher, on_delete=models.PROTECT, related_name="articles")
    slug = models.SlugField(max_length=200)
    title = models.CharField(max_length=300)
    price_drops = models.PositiveBigIntegerField(null=True, blank=True)
    price_fiat = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    price_currency = models.CharField(max_length=3, blank=True, validators=[currency_validator])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["publisher", "slug"], name="article_unique_slug"),
            models.CheckConstraint(
                condition=(
                    Q(price_drops__gte=1, price_fiat__isnull=True, price_currency="")
                    | Q(
                        price_drops__isnull=True,
                        price_fiat__gt=0,
                        price_currency__regex=r"^[A-Z]{3}$",
                    )
                ),
                name="article_one_price",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.publisher.key}/{self.slug}"


class ArticleContent(models.Model):
    """The paid body. Stored already sanitised (nh3); served only with a valid grant."""

    article = models.OneToOneField(Article, on_delete=models.CASCADE, related_name="content")
    body_html = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"content of {self.article_id}"


class ExchangeRate(models.Model):
    """Fiat per 1 XRP at `as_of`, from `source`. Rows are history: a new rate is a new row.

    Rows without a publisher are the platform's (entered by admins); a publisher's own rows
    (from its API) apply to its own articles only and take precedence for them.
    """

    publisher = models.ForeignKey(
        Publisher, on_delete=models.CASCADE, null=True, blank=True, related_name="exchange_rates"
    )
    currency = models.CharField(max_length=3, validators=[currency_validator])
    rate = models.DecimalField(max_digits=20, decimal_places=8, help_text="Fiat per 1 XRP")
    source = models.CharField(max_length=200)
    as_of = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["currency", "publisher", "-as_of"], name="rate_lookup"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.rate} {self.currency}/XRP ({self.source}, {self.as_of:%Y-%m-%d %H:%M})"


class Reader(models.Model):
    """A pseudonymous reader of one publisher's site: an id, a claim key and a token hash."""

    public_id = models.CharField(max_length=40, unique=True)
    publisher = models.ForeignKey(Publisher, on_delete=models.PROTECT, related_name="readers")
    claim_public_key = models.CharField(max_length=66)
    # The key signed a registration or rotation proof. Readers registered before proofs were
    # required have False: anyone could have registered one with a key read off the ledger.
    claim_key_proven = models.BooleanField(default=False)
    token_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.public_id


class ReaderKeyRotation(models.Model):
    """Audit row: a reader replaced its claim key. Append-only.

    The channels still open under the old key (`old_channel_ids`) were asked to be settled and
    closed at `at`; claims on them are refused from then on. A key is used once per reader.
    """

    reader = models.ForeignKey(Reader, on_delete=models.PROTECT, related_name="key_rotations")
    old_public_key = models.CharField(max_length=66)
    new_public_key = models.CharField(max_length=66)
    old_channel_ids = models.JSONField(default=list, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ("-at", "-pk")
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["reader", "new_public_key"], name="reader_key_rotation_key_once"
            ),
            models.CheckConstraint(
                condition=~Q(old_public_key=models.F("new_public_key")),
                name="reader_key_rotation_changes_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reader_id}: {self.old_public_key[:10]}… → {self.new_public_key[:10]}…"


class Unlock(models.Model):
    """A reader paid for an article once. Re-entries issue new grants without a new row."""

    reader = models.ForeignKey(Reader, on_delete=models.PROTECT, related_name="unlocks")
    article = models.ForeignKey(Article, on_delete=models.PROTECT, related_name="unlocks")
    amount_drops = models.PositiveBigIntegerField()
    fiat_amount = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    fiat_currency = models.CharField(max_length=3, blank=True)
    rate = models.DecimalField(max_digits=20, decimal_places=8, null=True, blank=True)
    rate_source = models.CharField(max_length=200, blank=True)
    rate_as_of = models.DateTimeField(null=True, blank=True)
    channel_id = models.CharField(max_length=64)
    claim_id = models.BigIntegerField(help_text="channels_app Claim accepted for this unlock")
    claim_reference = models.CharField(max_length=128)
    risk_decision_id = models.BigIntegerField(
        null=True, blank=True, help_text="fraud RiskDecisionRecord this charge was decided by"
    )
    idempotency_key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["reader", "article"], name="unlock_once_per_reader"),
            models.UniqueConstraint(
                fields=["reader", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="unlock_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reader_id} → {self.article_id} ({self.amount_drops} drops)"


class ContentDelivery(AppendOnlyEvent, models.Model):
    """One attempt to serve an unlock's paid body: evidence for a later dispute. Append-only.

    Written by the delivery code itself (paywall.services.content) for every request that
    holds a valid grant backed by an unlock: a success (200, the body's size and SHA-256, the
    article's visible time in the unlocking telemetry session at that moment) or a failure
    (its status and error code: the body missing, a server error). An unlock without any row
    was never fetched.
    """

    unlock = models.ForeignKey(Unlock, on_delete=models.PROTECT, related_name="deliveries")
    at = models.DateTimeField(db_index=True)
    status = models.PositiveSmallIntegerField(help_text="HTTP status of the answer")
    bytes = models.PositiveIntegerField(default=0, help_text="UTF-8 bytes of the body served")
    sha256 = models.CharField(max_length=64, blank=True, help_text="of the body served")
    error_code = models.CharField(max_length=48, blank=True)
    grant_id = models.CharField(max_length=64, blank=True, help_text="jti of the grant used")
    dwell_ms_at = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="The article's visible ms in the unlocking telemetry session when served",
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ("at", "pk")
        indexes: ClassVar = [models.Index(fields=["unlock", "at"], name="delivery_unlock_at")]

    def __str__(self) -> str:
        return f"delivery {self.status} of unlock {self.unlock_id} at {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def ok(self) -> bool:
        return self.status == 200


class FaucetGrant(models.Model):
    """The demo faucet paid a reader's funding address. At most once per reader and per address.

    The row is written before the payment (the unique constraints decide races) and removed
    again only if the payment certainly failed; `tx_hash` is filled in once it succeeded.
    """

    reader = models.OneToOneField(Reader, on_delete=models.PROTECT, related_name="faucet_grant")
    address = models.CharField(max_length=35, unique=True, validators=[validate_classic_address])
    amount_drops = models.PositiveBigIntegerField()
    tx_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"faucet {self.amount_drops} drops → {self.address}"
