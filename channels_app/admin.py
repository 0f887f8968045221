"""Admin for channels, claims, settlements, the journal and alerts. Money rows are read-only.

These are platform rows: a publisher's staff never see them (channels_app.adminkit). The two
doors that do something need their own permission and a verified second factor: "redeem now"
(`channels_app.settle_channel`) and "mark resolved" (`change_watchtoweralert`).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from channels_app.adminkit import RowScopeMixin, may_for_platform
from channels_app.models import (
    Channel,
    Claim,
    JournalEntry,
    JournalLine,
    KeyRecord,
    Settlement,
    WatchtowerAlert,
)


class ReadOnlyAdmin(RowScopeMixin, admin.ModelAdmin):
    """Rows that record money: viewable, never added, edited or deleted through the admin.
    Platform rows unless a subclass names their publisher (`publisher_key_lookup`)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ClaimInline(admin.TabularInline):
    model = Claim
    extra = 0
    fields = ("amount_drops", "increment_drops", "payee_ref", "reference", "accepted_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class SettlementInline(admin.TabularInline):
    model = Settlement
    extra = 0
    fields = ("tx_hash", "balance_drops", "close", "status", "engine_result", "ledger_index")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Channel)
class ChannelAdmin(ReadOnlyAdmin):
    list_display = (
        "channel_id",
        "owner_ref",
        "status",
        "amount_drops",
        "accepted_drops",
        "ledger_balance_drops",
        "unredeemed",
        "expiration",
        "registered_at",
    )
    list_filter = ("status",)
    search_fields = ("channel_id", "owner_ref", "source_address")
    inlines = (ClaimInline, SettlementInline)
    actions = ("settle_now",)

    @admin.display(description="unredeemed drops")
    def unredeemed(self, obj: Channel) -> int:
        return obj.unredeemed_drops

    def has_settle_permission(self, request: HttpRequest) -> bool:
        return may_for_platform(request, "channels_app.settle_channel")

    @admin.action(description="Redeem the highest claim now (queued)", permissions=("settle",))
    def settle_now(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        from channels_app.tasks import settle_channel

        for pk in queryset.values_list("pk", flat=True):
            settle_channel.delay(pk, "admin")
        messages.info(request, f"Queued settlement for {queryset.count()} channel(s).")


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    list_display = ("channel", "amount_drops", "increment_drops", "payee_ref", "accepted_at")
    list_filter = ("accepted_at",)
    search_fields = ("channel__channel_id", "payee_ref", "reference")
    exclude = ("mac",)


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdmin):
    list_display = (
        "tx_hash",
        "channel",
        "balance_drops",
        "close",
        "reason",
        "status",
        "engine_result",
        "created_at",
    )
    list_filter = ("status", "reason", "close")
    search_fields = ("tx_hash", "channel__channel_id")
    exclude = ("tx_blob",)


class JournalLineInline(admin.TabularInline):
    model = JournalLine
    extra = 0
    fields = ("account", "subaccount", "debit_drops", "credit_drops")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "reference", "memo")
    list_filter = ("kind", "created_at")
    search_fields = ("reference", "memo")
    inlines = (JournalLineInline,)


@admin.register(JournalLine)
class JournalLineAdmin(ReadOnlyAdmin):
    list_display = ("entry", "account", "subaccount", "debit_drops", "credit_drops")
    list_filter = ("account", "entry__kind")
    search_fields = ("subaccount", "entry__reference")


@admin.register(KeyRecord)
class KeyRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "purpose",
        "key_id",
        "algorithm",
        "address",
        "active",
        "created_at",
        "retired_at",
    )
    list_filter = ("purpose", "active")
    exclude = ("sealed",)


@admin.register(WatchtowerAlert)
class WatchtowerAlertAdmin(RowScopeMixin, admin.ModelAdmin):
    list_display = ("created_at", "level", "code", "channel", "unredeemed_drops", "resolved_at")
    list_filter = ("level", "code", "resolved_at")
    readonly_fields = ("channel", "level", "code", "message", "unredeemed_drops", "created_at")
    actions = ("mark_resolved",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_resolve_permission(self, request: HttpRequest) -> bool:
        return may_for_platform(request, "channels_app.change_watchtoweralert")

    @admin.action(description="Mark resolved", permissions=("resolve",))
    def mark_resolved(self, request: HttpRequest, queryset: QuerySet[WatchtowerAlert]) -> None:
        from channels_app import clock

        queryset.filter(resolved_at__isnull=True).update(resolved_at=clock.now())


# Key management registers its own read-only models (KeyEvent, KeySignature, PayoutsPause).
from channels_app.keys import admin as _keys_admin  # noqa: E402, F401
