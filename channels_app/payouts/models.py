"""The vault, sweeps, payout batches and payouts, multisign approvals, holds, refunds, credits.

Amounts are integer drops. Every row that sends XRP stores its signed transaction (blob and
hash) *before* it is submitted and is resolved by that hash afterwards, as settlements are, so
a crash between submit and the database update never causes a second, different payment.
Money rows are never edited through the admin; they change only through the services.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q


class Lane(models.TextChoices):
    HOT = "hot", "hot (settlement account)"
    VAULT = "vault", "vault (2-of-3 multisign)"


class TxState(models.TextChoices):
    QUEUED = "queued", "queued"  # amount reserved; no transaction signed yet
    AWAITING_APPROVAL = "awaiting_approval", "awaiting approval"  # vault: collecting signatures
    PREPARED = "prepared", "prepared"  # signed and stored, not yet known to the ledger
    SUBMITTED = "submitted", "submitted"
    VALIDATED = "validated", "validated"  # in a validated ledger with tesSUCCESS
    FAILED = "failed", "failed"  # tec, refused, expired or superseded: nothing was paid
    CANCELLED = "cancelled", "cancelled"  # by an admin, before any signature counted
    CREDITED = "credited", "credited"  # refunds in credit mode


# States that still reserve their amount (a new plan must not pay it again).
OPEN_STATES = (
    TxState.QUEUED,
    TxState.AWAITING_APPROVAL,
    TxState.PREPARED,
    TxState.SUBMITTED,
)
# States whose transaction may be in, or may yet reach, the ledger.
IN_FLIGHT_STATES = (TxState.PREPARED, TxState.SUBMITTED)
FINAL_STATES = (TxState.VALIDATED, TxState.FAILED, TxState.CANCELLED, TxState.CREDITED)


class VaultAccount(models.Model):
    """The cold account: master key disabled, spent only by 2 of its 3 signers."""

    class Custody(models.TextChoices):
        # The SignerList names keys the key service holds (the sandbox and demo default).
        SERVER = "server", "server-held signer keys"
        # The SignerList names registered approvers' own keys; the server holds none of them.
        APPROVERS = "approvers", "offline approvers' keys"

    class Status(models.TextChoices):
        SETTING_UP = "setting_up", "setting up"
        READY = "ready", "ready"
        # A signer is being replaced (vault_signer_rotate): nothing is prepared or approved.
        ROTATING = "rotating", "rotating a signer"
        RETIRED = "retired", "retired"

    address = models.CharField(max_length=40, unique=True)
    nonce = models.CharField(
        max_length=32, blank=True, help_text="Names the interim set-up key (no secret)"
    )
    signer_addresses = models.JSONField(help_text="SignerList accounts, by signer index")
    quorum = models.PositiveSmallIntegerField()
    custody = models.CharField(max_length=10, choices=Custody.choices, default=Custody.SERVER)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SETTING_UP)
    funding_tx = models.CharField(max_length=64, blank=True)
    setup_txs = models.JSONField(default=list, blank=True, help_text="SignerListSet, AccountSet")
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["quorum"],
                condition=~Q(status="retired"),
                name="vault_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"vault {self.address} ({self.status})"


class LedgerTransfer(models.Model):
    """The fields of an XRP payment the platform signs, stores, submits and resolves by hash."""

    lane = models.CharField(max_length=8, choices=Lane.choices, default=Lane.HOT)
    source_address = models.CharField(max_length=40, blank=True)
    destination = models.CharField(max_length=40)
    amount_drops = models.PositiveBigIntegerField()
    status = models.CharField(
        max_length=20, choices=TxState.choices, default=TxState.QUEUED, db_index=True
    )
    tx_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    tx_blob = models.TextField(blank=True)
    sequence = models.PositiveBigIntegerField(null=True, blank=True)
    last_ledger_sequence = models.PositiveBigIntegerField(null=True, blank=True)
    fee_drops = models.PositiveBigIntegerField(default=0)
    engine_result = models.CharField(max_length=32, blank=True)
    ledger_index = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_multisigned(self) -> bool:
        return self.lane == Lane.VAULT


class Sweep(LedgerTransfer):
    """Hot float above the cap moved to the vault."""

    vault = models.ForeignKey(VaultAccount, on_delete=models.PROTECT, related_name="sweeps")

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["lane"],
                condition=Q(status__in=["queued", "awaiting_approval", "prepared", "submitted"]),
                name="sweep_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"sweep {self.amount_drops} ({self.status})"


class PayoutBatch(models.Model):
    """One planning run. Publishers' payouts are planned once per key."""

    key = models.CharField(max_length=64, unique=True)
    cutoff = models.DateTimeField(help_text="Revenue accepted after this was still in holdback")
    holdback_seconds = models.PositiveBigIntegerField()
    publishers_considered = models.PositiveIntegerField(default=0)
    payout_count = models.PositiveIntegerField(default=0)
    total_drops = models.PositiveBigIntegerField(default=0)
    deferred = models.JSONField(
        default=list, blank=True, help_text="Publishers not paid now, with the reason"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "payout batches"

    def __str__(self) -> str:
        return f"batch {self.key}"


class Payout(LedgerTransfer):
    """One publisher's payout in a batch. At most one open payout per publisher."""

    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="payouts")
    publisher_ref = models.CharField(max_length=64, db_index=True)
    vault = models.ForeignKey(
        VaultAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="payouts"
    )
    tx_json = models.JSONField(
        null=True, blank=True, help_text="Vault lane: the autofilled, unsigned transaction"
    )
    cancelled_reason = models.CharField(max_length=255, blank=True)
    failed_attempts = models.JSONField(
        default=list,
        blank=True,
        help_text="Vault lane: transactions that could never apply (signer list changed); "
        "the payout was re-collected after each",
    )

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["publisher_ref"],
                condition=Q(status__in=["queued", "awaiting_approval", "prepared", "submitted"]),
                name="payout_one_open_per_publisher",
            ),
            # The vault pays one payout at a time, so its sequence never has a gap.
            models.UniqueConstraint(
                fields=["lane"],
                condition=Q(
                    lane="vault", status__in=["awaiting_approval", "prepared", "submitted"]
                ),
                name="payout_one_vault_in_progress",
            ),
            models.CheckConstraint(condition=Q(amount_drops__gte=1), name="payout_positive"),
        ]
        permissions: ClassVar = [
            ("approve_payout", "Can approve vault payouts as a signer"),
            ("cancel_payout", "Can cancel a payout before it reaches the ledger"),
        ]

    def __str__(self) -> str:
        return f"payout {self.amount_drops} to {self.publisher_ref} ({self.status})"


class VaultApprover(models.Model):
    """A person who approves vault transactions with a key only they hold.

    The server stores the public key and its address (the SignerList entry), never a secret.
    The address is the key's own (its master key), which rippled accepts for a signer whether
    or not that account exists on the ledger. `proof` is the key's signature over
    `approver_proof_message`, checked at registration, so a mistyped or foreign key is never
    installed in the vault's SignerList.
    """

    class Status(models.TextChoices):
        REGISTERED = "registered", "registered (not in the SignerList)"
        ACTIVE = "active", "in the vault's SignerList"
        RETIRED = "retired", "retired (replaced in the SignerList)"

    name = models.CharField(max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The approver's admin account, if any (for the audit)",
    )
    account = models.CharField(max_length=40, unique=True)
    public_key = models.CharField(max_length=66, unique=True)
    proof = models.CharField(max_length=144)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.REGISTERED)
    registered_by = models.CharField(max_length=64, blank=True)
    registered_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"approver {self.name} ({self.account}, {self.status})"


class PayoutApproval(models.Model):
    """One signer's multisign signature over a vault payout's exact transaction."""

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="approvals")
    approver = models.ForeignKey(
        VaultApprover,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Offline custody: the registered approver whose key signed",
    )
    uploaded_by = models.CharField(
        max_length=64, blank=True, help_text="Offline custody: who brought the signature in"
    )
    signer_index = models.PositiveSmallIntegerField()
    signer_address = models.CharField(max_length=40)
    signing_pub_key = models.CharField(max_length=66)
    txn_signature = models.CharField(max_length=144)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Kept for the audit, never counted again: the signer was rotated out, or the transaction
    # it signed can no longer apply (the payout is then re-collected).
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["payout", "signer_index"],
                condition=Q(voided_at__isnull=True),
                name="approval_one_per_signer",
            ),
            models.UniqueConstraint(
                fields=["payout", "approved_by"],
                condition=Q(voided_at__isnull=True),
                name="approval_one_per_person",
            ),
        ]

    def __str__(self) -> str:
        return f"signer {self.signer_index + 1} on payout {self.payout_id}"


class SignerListChange(models.Model):
    """A SignerListSet of the vault waiting for (offline) signatures of the current quorum.

    Replacing an approver is such a change: the approvers in the SignerList sign it offline
    (the server holds none of their keys). It expires with its LastLedgerSequence.
    """

    class Status(models.TextChoices):
        COLLECTING = "collecting", "collecting signatures"
        SUBMITTED = "submitted", "submitted"
        VALIDATED = "validated", "validated"
        FAILED = "failed", "failed on the ledger"
        EXPIRED = "expired", "expired unsigned"
        CANCELLED = "cancelled", "cancelled"

    vault = models.ForeignKey(VaultAccount, on_delete=models.PROTECT, related_name="+")
    retiring = models.ForeignKey(
        VaultApprover, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    joining = models.ForeignKey(
        VaultApprover, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    signer_addresses = models.JSONField(help_text="The new SignerList, by signer index")
    tx_json = models.JSONField(help_text="The unsigned SignerListSet, every field fixed")
    sequence = models.PositiveBigIntegerField()
    last_ledger_sequence = models.PositiveBigIntegerField()
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.COLLECTING, db_index=True
    )
    tx_hash = models.CharField(max_length=64, blank=True)
    tx_blob = models.TextField(blank=True, help_text="The multisigned transaction, once at quorum")
    engine_result = models.CharField(max_length=32, blank=True)
    fee_drops = models.PositiveBigIntegerField(default=0)
    requested_by = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["vault"],
                condition=Q(status__in=["collecting", "submitted"]),
                name="signer_list_change_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"signer list change {self.pk} ({self.status})"


class SignerListSignature(models.Model):
    """One approver's offline multisign signature over a SignerListChange's exact transaction."""

    change = models.ForeignKey(
        SignerListChange, on_delete=models.PROTECT, related_name="signatures"
    )
    approver = models.ForeignKey(VaultApprover, on_delete=models.PROTECT, related_name="+")
    signing_pub_key = models.CharField(max_length=66)
    txn_signature = models.CharField(max_length=144)
    uploaded_by = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["change", "approver"], name="signer_list_signature_one_per_approver"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.approver_id} on signer list change {self.change_id}"


class PayoutHold(models.Model):
    """Revenue an admin holds back from payouts (fraud review, a dispute). Null amount: all."""

    publisher_ref = models.CharField(max_length=64, db_index=True)
    amount_drops = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Leave empty to hold everything"
    )
    reason = models.CharField(max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True, db_index=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    release_note = models.CharField(max_length=255, blank=True)

    class Meta:
        permissions: ClassVar = [
            ("release_payouthold", "Can release a payout hold (held revenue becomes payable)"),
        ]

    def __str__(self) -> str:
        amount = "all" if self.amount_drops is None else f"{self.amount_drops} drops"
        return f"hold {amount} of {self.publisher_ref}"


class RefundMode(models.TextChoices):
    LEDGER = "ledger", "XRP back on the ledger"
    CREDIT = "credit", "credit for future reads"


class Refund(LedgerTransfer):
    """A refund to a reader, by reference (idempotent). Ledger mode pays the channel's source."""

    reference = models.CharField(max_length=128, unique=True)
    mode = models.CharField(max_length=8, choices=RefundMode.choices)
    reader_ref = models.CharField(max_length=64, db_index=True)
    channel_id = models.CharField(max_length=64, db_index=True)
    publisher_ref = models.CharField(
        max_length=64, blank=True, help_text="Charged publisher; blank: the platform pays"
    )
    reason = models.CharField(max_length=255)
    failed_attempts = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"refund {self.reference} ({self.mode}, {self.status})"


class ReaderCredit(models.Model):
    """A reader's spendable credit, from credit-mode refunds. Changed with F() only."""

    reader_ref = models.CharField(max_length=64, unique=True)
    balance_drops = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"credit {self.balance_drops} of {self.reader_ref}"


class ReaderCreditEntry(models.Model):
    """History of a reader's credit: grants (refunds) and uses (unlocks), one per reference."""

    class Kind(models.TextChoices):
        GRANT = "grant", "grant"
        USE = "use", "use"

    reader_ref = models.CharField(max_length=64, db_index=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount_drops = models.PositiveBigIntegerField()
    reference = models.CharField(max_length=128)
    payee_ref = models.CharField(max_length=64, blank=True)
    fee_drops = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "reader credit entries"
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["kind", "reference"], name="credit_entry_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_drops} ({self.reader_ref})"


class PayoutLock(models.Model):
    """Rows to serialise planning against resolution (see lock_objects)."""

    name = models.CharField(max_length=16, primary_key=True)

    def __str__(self) -> str:
        return self.name
