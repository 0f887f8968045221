"""Admin doors of the agents app: publishers see and set their own agent and operator
policies and read their agent sales; crawler operators and their keys are platform rows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from agents.exceptions import AgentError
from agents.models import (
    AgentPayment,
    ArticleAgentPolicy,
    CrawlerKey,
    CrawlerOperator,
    OperatorPolicy,
)
from agents.services.botauth import operator_keys_refresh
from channels_app.adminkit import RowScopeMixin, scope_rows
from paywall.models import Article, Publisher


@admin.register(ArticleAgentPolicy)
class ArticleAgentPolicyAdmin(RowScopeMixin, admin.ModelAdmin):
    publisher_key_lookup = "article__publisher__key"
    list_display = ("article", "access", "price_drops", "updated_at")
    list_filter = ("access",)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "article":
            kwargs["queryset"] = scope_rows(request, Article.objects.all(), "publisher__key")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(OperatorPolicy)
class OperatorPolicyAdmin(RowScopeMixin, admin.ModelAdmin):
    publisher_key_lookup = "publisher__key"
    list_display = ("publisher", "operator", "access", "price_drops", "updated_at")
    list_filter = ("access", "operator")

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "publisher":
            kwargs["queryset"] = scope_rows(request, Publisher.objects.all(), "key")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CrawlerKeyInline(admin.TabularInline):
    model = CrawlerKey
    extra = 0
    readonly_fields = ("keyid", "public_key", "created_at")
    fields = ("keyid", "public_key", "not_after", "revoked_at", "created_at")


@admin.register(CrawlerOperator)
class CrawlerOperatorAdmin(RowScopeMixin, admin.ModelAdmin):
    publisher_key_lookup = None  # platform rows
    list_display = ("name", "display_name", "user_agent_token", "key_directory_url", "is_active")
    inlines = (CrawlerKeyInline,)
    actions = ("refresh_keys",)

    @admin.action(description="Read the key directory again", permissions=["change"])
    def refresh_keys(self, request: HttpRequest, queryset: QuerySet[CrawlerOperator]) -> None:
        for operator in queryset:
            try:
                count = operator_keys_refresh(operator=operator)
            except AgentError as exc:
                self.message_user(request, f"{operator}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{operator}: {count} key(s) in force.")


@admin.register(AgentPayment)
class AgentPaymentAdmin(RowScopeMixin, admin.ModelAdmin):
    publisher_key_lookup = "publisher__key"
    list_display = (
        "created_at",
        "publisher",
        "article",
        "scheme",
        "status",
        "amount_drops",
        "payer",
    )
    list_filter = ("scheme", "status")
    search_fields = ("payer", "tx_hash", "invoice_id", "channel_id")
    exclude = ("tx_blob",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
