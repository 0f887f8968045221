"""Admin for publishers, keys, articles, rates, readers and unlocks.

Site admins (superusers) and platform staff (`paywall.view_all_publishers`) see everything. A
publisher's staff users (Publisher.users) see and edit only their own publisher's rows
(channels_app.adminkit, the same rule for every app's admin). Every write goes through paywall.services; money rows
(unlocks) and readers are read-only here, and no secret or hash is ever shown.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from channels_app.adminkit import RowScopeMixin, may, publisher_scope, scope_rows
from paywall.admin_platform import register_platform_admins
from paywall.models import (
    Article,
    ArticleContent,
    ExchangeRate,
    Publisher,
    PublisherApiKey,
    Reader,
    ReaderKeyRotation,
    Unlock,
)
from paywall.services.articles import article_upsert, price_validate
from paywall.services.exceptions import InvalidInput
from paywall.services.pricing import exchange_rate_set
from paywall.services.publishers import (
    api_key_create,
    api_key_revoke,
    origin_normalise,
    publisher_create,
    publisher_update,
)
from paywall.types import Price


def _own(request: HttpRequest, queryset: QuerySet[Any], path: str) -> QuerySet[Any]:
    """Everything for site admins and platform staff; a publisher's staff see only their
    publishers' rows (channels_app.adminkit.publisher_scope)."""
    return scope_rows(request, queryset, f"{path}key")


class OwnRowsMixin(RowScopeMixin):
    """Restricts the changelist and the publisher choices to the user's own publishers."""

    publisher_key_lookup: str | None = "publisher__key"

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "publisher":
            kwargs["queryset"] = _own(request, Publisher.objects.all(), "")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


# --- Publishers ------------------------------------------------------------------------------


class OriginsField(forms.Field):
    """Allowed origins, one per line, normalised as a browser sends them."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:
        lines = [line.strip() for line in str(value or "").splitlines() if line.strip()]
        try:
            return [origin_normalise(line) for line in lines]
        except InvalidInput as exc:
            raise forms.ValidationError(exc.message) from exc


class PublisherForm(forms.ModelForm):
    allowed_origins = OriginsField(
        required=False, help_text="One origin per line, e.g. https://news.example"
    )

    class Meta:
        model = Publisher
        fields = (
            "name",
            "allowed_origins",
            "payout_address",
            "display_currency",
            "fee_bps",
            "is_active",
            "users",
        )


@admin.register(Publisher)
class PublisherAdmin(RowScopeMixin, admin.ModelAdmin):
    publisher_key_lookup = "key"
    form = PublisherForm
    list_display = ("name", "key", "destination_tag", "display_currency", "fee_bps", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "key")
    readonly_fields = ("key", "destination_tag", "created_at")
    filter_horizontal = ("users",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        fields = tuple(self.readonly_fields)
        if not request.user.is_superuser:
            # A publisher's staff cannot change the platform's fee or who may manage it.
            fields += ("fee_bps", "users", "is_active")
        return fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_superuser)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"fee_bps": settings.DROPGATE_PLATFORM_FEE_BPS}

    def save_model(self, request: HttpRequest, obj: Publisher, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            publisher_update(
                publisher=obj,
                name=data.get("name"),
                allowed_origins=data.get("allowed_origins"),
                payout_address=data.get("payout_address"),
                display_currency=data.get("display_currency"),
                fee_bps=data.get("fee_bps"),
                is_active=data.get("is_active"),
            )
            return
        created = publisher_create(
            name=data["name"],
            allowed_origins=data.get("allowed_origins") or [],
            payout_address=data.get("payout_address") or "",
            display_currency=data.get("display_currency") or "USD",
            fee_bps=data.get("fee_bps"),
        )
        obj.pk, obj.key, obj.destination_tag = created.pk, created.key, created.destination_tag
        obj.created_at = created.created_at
        obj._state.adding = False

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if request.user.is_superuser:
            super().save_related(request, form, formsets, change)


@admin.register(PublisherApiKey)
class PublisherApiKeyAdmin(OwnRowsMixin, admin.ModelAdmin):
    list_display = ("__str__", "publisher", "label", "created_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "label", "publisher__key", "publisher__name")
    fields = ("publisher", "label", "prefix", "created_at", "revoked_at")
    actions = ("revoke",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ("prefix", "created_at", "revoked_at")
        return ("publisher", "label", "prefix", "created_at", "revoked_at")

    def save_model(
        self, request: HttpRequest, obj: PublisherApiKey, form: Any, change: bool
    ) -> None:
        if change:
            return
        issued = api_key_create(publisher=obj.publisher, label=obj.label)
        obj.pk, obj.prefix = issued.api_key.pk, issued.api_key.prefix
        obj._state.adding = False
        messages.warning(
            request,
            f"New API key (shown only now, copy it): {issued.token}",
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return may(request, "paywall.add_publisherapikey")

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return may(request, "paywall.revoke_publisherapikey")

    @admin.action(description="Revoke the selected keys", permissions=("revoke",))
    def revoke(self, request: HttpRequest, queryset: QuerySet[PublisherApiKey]) -> None:
        for api_key in queryset:
            api_key_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: keys stay for the audit trail


# --- Articles and rates ----------------------------------------------------------------------


class ArticleForm(forms.ModelForm):
    body_html = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 16}),
        strip=False,
        help_text="The paid body. Sanitised on save: scripts, handlers and styles are removed.",
    )

    class Meta:
        model = Article
        fields = ("publisher", "slug", "title", "price_drops", "price_fiat", "price_currency")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            content = ArticleContent.objects.filter(article=self.instance).first()
            self.fields["body_html"].initial = content.body_html if content else ""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        price = Price(
            drops=data.get("price_drops"),
            fiat=data.get("price_fiat"),
            currency=data.get("price_currency") or "",
        )
        try:
            price_validate(price)
        except InvalidInput as exc:
            raise forms.ValidationError(exc.message) from exc
        return data


@admin.register(Article)
class ArticleAdmin(OwnRowsMixin, admin.ModelAdmin):
    form = ArticleForm
    list_display = ("slug", "title", "publisher", "price_drops", "price_fiat", "price_currency")
    list_filter = ("publisher",)
    search_fields = ("slug", "title")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("publisher", "slug") if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Article, form: Any, change: bool) -> None:
        data = form.cleaned_data
        body = data.get("body_html") or ""
        has_content = change and ArticleContent.objects.filter(article=obj).exists()
        result = article_upsert(
            publisher=obj.publisher,
            slug=obj.slug,
            title=data["title"],
            price=Price(
                drops=data.get("price_drops"),
                fiat=data.get("price_fiat"),
                currency=data.get("price_currency") or "",
            ),
            body_html=body if body or has_content else None,
        )
        obj.pk = result.article.pk
        obj._state.adding = False


@admin.register(ExchangeRate)
class ExchangeRateAdmin(OwnRowsMixin, admin.ModelAdmin):
    """Rates are history: add a new row to change a rate; rows are never edited."""

    list_display = ("currency", "rate", "source", "as_of", "publisher")
    list_filter = ("currency",)
    fields = ("publisher", "currency", "rate", "source", "as_of")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.fields if obj is not None else ()

    def get_form(
        self, request: HttpRequest, obj: Any | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        if obj is None and publisher_scope(request) is not None and "publisher" in form.base_fields:
            # Only site admins set platform-wide rates; a publisher's staff set their own.
            form.base_fields["publisher"].required = True
        return form

    def save_model(self, request: HttpRequest, obj: ExchangeRate, form: Any, change: bool) -> None:
        if change:
            return
        saved = exchange_rate_set(
            currency=obj.currency,
            rate=obj.rate,
            source=obj.source,
            as_of=obj.as_of,
            publisher=obj.publisher,
        )
        obj.pk, obj.created_at = saved.pk, saved.created_at
        obj._state.adding = False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_superuser)


# --- Readers and unlocks (read-only) ---------------------------------------------------------


class ReadOnlyAdmin(OwnRowsMixin, admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Reader)
class ReaderAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "publisher", "claim_key_proven", "created_at")
    list_filter = ("publisher", "claim_key_proven")
    search_fields = ("public_id",)
    fields = ("public_id", "publisher", "claim_public_key", "claim_key_proven", "created_at")


@admin.register(ReaderKeyRotation)
class ReaderKeyRotationAdmin(ReadOnlyAdmin):
    """The audit trail of readers' claim-key rotations (public keys only)."""

    publisher_key_lookup = "reader__publisher__key"
    list_display = ("at", "reader", "old_public_key", "new_public_key")
    search_fields = ("reader__public_id", "old_public_key", "new_public_key")
    fields = ("reader", "old_public_key", "new_public_key", "old_channel_ids", "at")


@admin.register(Unlock)
class UnlockAdmin(ReadOnlyAdmin):
    publisher_key_lookup = "article__publisher__key"
    list_display = (
        "created_at",
        "article",
        "reader",
        "amount_drops",
        "fiat_amount",
        "fiat_currency",
    )
    list_filter = ("article__publisher",)
    search_fields = ("reader__public_id", "article__slug", "channel_id")
    fields = (
        "reader",
        "article",
        "amount_drops",
        "fiat_amount",
        "fiat_currency",
        "rate",
        "rate_source",
        "rate_as_of",
        "channel_id",
        "claim_id",
        "claim_reference",
        "created_at",
    )


# --- Platform-wide admins (users, Celery beat, TOTP devices) ---------------------------------
# paywall is the last app in INSTALLED_APPS, so the registrations it replaces exist by now.
register_platform_admins(admin.site)
