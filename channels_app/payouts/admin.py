"""Admin for the vault, sweeps, payouts and their approvals, holds, refunds and credits.

Money rows are read-only. The doors that change anything call one service each:
"approve as signer N" (payout_approve), "cancel" (payout_cancel), placing a hold (hold_place)
and "release" (hold_release). Each needs its own permission and a verified second factor,
and only platform staff hold them (channels_app.adminkit.may_for_platform): a publisher's staff
never approve, cancel, place or release, whatever they were given. The permissions are
`payouts.approve_payout` (one person gives only one of a payout's approvals),
`payouts.cancel_payout`, `payouts.add_payouthold` and `payouts.release_payouthold`.

Payouts, holds and refunds are a publisher's own rows (a publisher's staff see theirs, and only
see them); the vault, sweeps, batches, approvals and reader credit are platform rows.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from channels_app.adminkit import RowScopeMixin, may_for_platform
from channels_app.exceptions import DropgateError
from channels_app.payouts.models import (
    Payout,
    PayoutApproval,
    PayoutBatch,
    PayoutHold,
    ReaderCredit,
    ReaderCreditEntry,
    Refund,
    Sweep,
    TxState,
    VaultAccount,
)
from channels_app.payouts.services.holds import hold_place, hold_release
from channels_app.payouts.services.payouts import payout_approve, payout_cancel


class ReadOnlyAdmin(RowScopeMixin, admin.ModelAdmin):
    """Rows that record money: viewable, never added, edited or deleted through the admin.
    Platform rows unless a subclass names their publisher (`publisher_key_lookup`)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(VaultAccount)
class VaultAccountAdmin(ReadOnlyAdmin):
    list_display = ("address", "status", "quorum", "created_at", "ready_at")
    list_filter = ("status",)
    exclude = ("nonce",)


@admin.register(Sweep)
class SweepAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "amount_drops", "status", "engine_result", "tx_hash")
    list_filter = ("status", "created_at")
    search_fields = ("tx_hash",)
    exclude = ("tx_blob",)


class PayoutInline(ReadOnlyInline):
    model = Payout
    fields = ("publisher_ref", "destination", "amount_drops", "lane", "status", "tx_hash")
    readonly_fields = fields
    show_change_link = True


@admin.register(PayoutBatch)
class PayoutBatchAdmin(ReadOnlyAdmin):
    list_display = ("key", "created_at", "cutoff", "payout_count", "total_drops", "deferred_count")
    list_filter = ("created_at",)
    search_fields = ("key",)
    inlines = (PayoutInline,)

    @admin.display(description="deferred")
    def deferred_count(self, obj: PayoutBatch) -> int:
        return len(obj.deferred or [])


class ApprovalInline(ReadOnlyInline):
    model = PayoutApproval
    fields = ("signer_index", "signer_address", "approved_by", "created_at", "voided_reason")
    readonly_fields = fields


def _approve_action(index: int) -> Any:
    def action(modeladmin: PayoutAdmin, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        for payout in queryset.order_by("pk"):
            try:
                result = payout_approve(
                    payout_id=payout.pk, signer_index=index, approved_by=request.user
                )
            except DropgateError as exc:
                messages.error(request, f"Payout {payout.pk}: {exc.message} ({exc.code})")
                continue
            messages.success(
                request, f"Payout {payout.pk}: approved as signer {index + 1}; now {result.status}."
            )

    action.__name__ = f"approve_as_signer_{index + 1}"
    return admin.action(
        description=f"Approve as signer {index + 1} (vault payouts)",
        permissions=("approve",),
    )(action)


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    publisher_key_lookup = "publisher_ref"
    list_display = (
        "pk",
        "publisher_ref",
        "amount_drops",
        "lane",
        "status",
        "approvals_given",
        "destination",
        "batch",
        "created_at",
    )
    list_filter = ("status", "lane", "created_at", "batch")
    search_fields = ("publisher_ref", "destination", "tx_hash")
    exclude = ("tx_blob",)
    inlines = (ApprovalInline,)
    actions = (
        _approve_action(0),
        _approve_action(1),
        _approve_action(2),
        "cancel",
    )

    @admin.display(description="approvals")
    def approvals_given(self, obj: Payout) -> str:
        if obj.lane != "vault":
            return "-"
        return str(obj.approvals.filter(voided_at__isnull=True).count())

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return may_for_platform(request, "payouts.approve_payout")

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return may_for_platform(request, "payouts.cancel_payout")

    @admin.action(
        description="Cancel (queued, or vault payouts still collecting approvals)",
        permissions=("cancel",),
    )
    def cancel(self, request: HttpRequest, queryset: QuerySet[Payout]) -> None:
        for payout in queryset.filter(status__in=(TxState.QUEUED, TxState.AWAITING_APPROVAL)):
            try:
                payout_cancel(payout_id=payout.pk, reason=f"cancelled by {request.user}")
            except DropgateError as exc:
                messages.error(request, f"Payout {payout.pk}: {exc.message}")
                continue
            messages.success(request, f"Payout {payout.pk} cancelled.")


@admin.register(PayoutApproval)
class PayoutApprovalAdmin(ReadOnlyAdmin):
    list_display = (
        "payout",
        "signer_index",
        "signer_address",
        "approved_by",
        "created_at",
        "voided_at",
    )
    list_filter = ("signer_index", "created_at", "voided_at")
    search_fields = ("signer_address", "payout__publisher_ref")


class HoldActiveFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "active"), ("released", "released")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[PayoutHold]
    ) -> QuerySet[PayoutHold]:
        if self.value() == "active":
            return queryset.filter(released_at__isnull=True)
        if self.value() == "released":
            return queryset.filter(released_at__isnull=False)
        return queryset


@admin.register(PayoutHold)
class PayoutHoldAdmin(RowScopeMixin, admin.ModelAdmin):
    publisher_key_lookup = "publisher_ref"
    list_display = (
        "publisher_ref",
        "amount_drops",
        "reason",
        "created_by",
        "created_at",
        "released_at",
    )
    list_filter = (HoldActiveFilter, "created_at")
    search_fields = ("publisher_ref", "reason")
    fields = ("publisher_ref", "amount_drops", "reason")
    actions = ("release",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return (
            "publisher_ref",
            "amount_drops",
            "reason",
            "created_by",
            "created_at",
            "released_at",
            "released_by",
            "release_note",
        )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields if obj is None else self.get_readonly_fields(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return may_for_platform(request, "payouts.add_payouthold")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a hold is placed and released, never edited

    def has_release_permission(self, request: HttpRequest) -> bool:
        return may_for_platform(request, "payouts.release_payouthold")

    def save_model(self, request: HttpRequest, obj: PayoutHold, form: Any, change: bool) -> None:
        if change:
            return
        placed = hold_place(
            publisher_ref=obj.publisher_ref,
            amount_drops=obj.amount_drops,
            reason=obj.reason,
            by=request.user,
        )
        obj.pk = placed.pk
        obj.created_at = placed.created_at

    @admin.action(description="Release the selected holds", permissions=("release",))
    def release(self, request: HttpRequest, queryset: QuerySet[PayoutHold]) -> None:
        for hold in queryset.filter(released_at__isnull=True):
            try:
                hold_release(hold_id=hold.pk, by=request.user, note=f"released by {request.user}")
            except DropgateError as exc:
                messages.error(request, f"Hold {hold.pk}: {exc.message}")
        messages.success(request, "Holds released.")


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    publisher_key_lookup = "publisher_ref"
    list_display = (
        "reference",
        "mode",
        "reader_ref",
        "publisher_ref",
        "amount_drops",
        "status",
        "created_at",
    )
    list_filter = ("mode", "status", "created_at")
    search_fields = ("reference", "reader_ref", "channel_id", "publisher_ref", "tx_hash")
    exclude = ("tx_blob",)


@admin.register(ReaderCredit)
class ReaderCreditAdmin(ReadOnlyAdmin):
    list_display = ("reader_ref", "balance_drops", "updated_at")
    search_fields = ("reader_ref",)


@admin.register(ReaderCreditEntry)
class ReaderCreditEntryAdmin(ReadOnlyAdmin):
    list_display = ("reader_ref", "kind", "amount_drops", "reference", "payee_ref", "created_at")
    list_filter = ("kind", "created_at")
    search_fields = ("reader_ref", "reference", "payee_ref")
