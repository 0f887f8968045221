"""Admin for fraud cases, their audit trail, and the telemetry behind them.

Cases are never added, edited or deleted here: detectors and the unlock path open them, and the
doors that change one call one service each: the actions hold / release / confirm / dismiss,
and on a case's page the assignee and a reviewer's note (case_assign, case_note). Evidence and
the audit trail are shown read-only. Telemetry sessions and risk decisions are read-only and
show features and scores, not the device or network hashes.

All of it is platform rows (channels_app.adminkit): a publisher's staff see none of it, and
cases about a publisher's own traffic are not shown to that publisher. The actions need
`fraud.change_fraudcase` and a verified second factor; release and dismiss make held revenue
payable, so they also need `payouts.release_payouthold`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from channels_app.admin import ReadOnlyAdmin
from channels_app.adminkit import RowScopeMixin, may_for_platform
from channels_app.exceptions import DropgateError
from fraud.models.cases import ArticleTrafficHour, FraudCase, FraudCaseEvent
from fraud.models.telemetry import RiskDecisionRecord, TelemetrySession
from fraud.services.cases import (
    case_assign,
    case_confirm,
    case_dismiss,
    case_hold,
    case_note,
    case_release,
)


class _JsonStyle:
    """The stylesheet behind `_pretty`'s class (fraud/static/fraud/admin.css)."""

    class Media:
        css: ClassVar = {"all": ("fraud/admin.css",)}


def _pretty(value: Any) -> str:
    return format_html(
        '<pre class="dropgate-json">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, default=str),
    )


class FraudCaseEventInline(admin.TabularInline):
    model = FraudCaseEvent
    extra = 0
    can_delete = False
    fields = ("at", "actor_label", "action", "details_pretty")
    readonly_fields = fields
    ordering = ("at", "pk")

    @admin.display(description="details")
    def details_pretty(self, obj: FraudCaseEvent) -> str:
        return _pretty(obj.details)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class FraudCaseForm(forms.ModelForm):
    note = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Added to the audit trail.",
    )

    class Meta:
        model = FraudCase
        fields = ("assignee",)


def _case_action(
    service: Callable[..., Any], verb: str, description: str, *, releases: bool = False
) -> Callable[[FraudCaseAdmin, HttpRequest, QuerySet[FraudCase]], None]:
    def action(
        modeladmin: FraudCaseAdmin, request: HttpRequest, queryset: QuerySet[FraudCase]
    ) -> None:
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                case = service(case_id=pk, by=request.user, note=f"{verb} in the admin")
            except DropgateError as exc:
                messages.error(request, f"Case {pk}: {exc.message} ({exc.code})")
                continue
            messages.success(request, f"Case {pk}: {case.status}.")

    action.__name__ = verb
    permission = "release_case" if releases else "act_on_case"
    return admin.action(description=description, permissions=(permission,))(action)


@admin.register(FraudCase)
class FraudCaseAdmin(RowScopeMixin, _JsonStyle, admin.ModelAdmin):
    form = FraudCaseForm
    list_display = (
        "pk",
        "kind",
        "status",
        "publisher_ref",
        "subject",
        "score",
        "held_drops",
        "at_stake_drops",
        "assignee",
        "opened_at",
    )
    list_filter = ("kind", "status", "publisher_ref", "opened_at")
    search_fields = ("publisher_ref", "subject")
    readonly_fields = (
        "kind",
        "status",
        "publisher_ref",
        "subject",
        "score",
        "at_stake_drops",
        "held_drops",
        "hold",
        "hold_ids",
        "reader_count",
        "readers_pretty",
        "evidence_pretty",
        "evidence_dropped",
        "opened_at",
        "updated_at",
        "closed_at",
    )
    fields = (*readonly_fields[:9], "assignee", "note", *readonly_fields[9:])
    inlines = (FraudCaseEventInline,)
    actions = (
        _case_action(case_hold, "hold", "Hold the revenue at stake"),
        _case_action(
            case_release, "release", "Release the held revenue (case stays open)", releases=True
        ),
        _case_action(case_confirm, "confirm", "Confirm as fraud (the hold stays)"),
        _case_action(
            case_dismiss, "dismiss", "Dismiss as a false alarm (releases the hold)", releases=True
        ),
    )

    def has_act_on_case_permission(self, request: HttpRequest) -> bool:
        return may_for_platform(request, "fraud.change_fraudcase")

    def has_release_case_permission(self, request: HttpRequest) -> bool:
        return self.has_act_on_case_permission(request) and may_for_platform(
            request, "payouts.release_payouthold"
        )

    @admin.display(description="readers")
    def reader_count(self, obj: FraudCase) -> int:
        return len(obj.reader_refs or [])

    @admin.display(description="reader refs")
    def readers_pretty(self, obj: FraudCase) -> str:
        return _pretty(obj.reader_refs)

    @admin.display(description="evidence")
    def evidence_pretty(self, obj: FraudCase) -> str:
        return _pretty(obj.evidence)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: FraudCase, form: Any, change: bool) -> None:
        # The form never saves the row: the assignee and the note go through the services.
        if "assignee" in form.changed_data:
            case_assign(case_id=obj.pk, assignee=form.cleaned_data["assignee"], by=request.user)
        note = form.cleaned_data.get("note", "").strip()
        if note:
            case_note(case_id=obj.pk, note=note, by=request.user)


@admin.register(FraudCaseEvent)
class FraudCaseEventAdmin(_JsonStyle, ReadOnlyAdmin):
    list_display = ("at", "case", "action", "actor_label")
    list_filter = ("action", "at")
    search_fields = ("case__publisher_ref", "case__subject", "actor_label")
    exclude = ("details",)
    readonly_fields = ("details_pretty",)

    @admin.display(description="details")
    def details_pretty(self, obj: FraudCaseEvent) -> str:
        return _pretty(obj.details)


@admin.register(ArticleTrafficHour)
class ArticleTrafficHourAdmin(ReadOnlyAdmin):
    list_display = ("hour", "publisher_ref", "article_ref", "views", "decisions")
    list_filter = ("hour",)
    search_fields = ("publisher_ref", "article_ref")


@admin.register(TelemetrySession)
class TelemetrySessionAdmin(_JsonStyle, ReadOnlyAdmin):
    list_display = (
        "public_id",
        "publisher_ref",
        "reader_ref",
        "category",
        "score",
        "events_count",
        "ua_family",
        "device_type",
        "updated_at",
    )
    list_filter = ("category", "device_type", "is_bot_ua", "created_at")
    search_fields = ("public_id", "publisher_ref", "reader_ref")
    fields = (
        "public_id",
        "publisher_ref",
        "reader_ref",
        "category",
        "score",
        "reasons",
        "features_pretty",
        "rejected",
        "events_count",
        "ua_family",
        "device_type",
        "is_bot_ua",
        "challenge_passed_at",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields

    @admin.display(description="features")
    def features_pretty(self, obj: TelemetrySession) -> str:
        return _pretty(obj.features)


@admin.register(RiskDecisionRecord)
class RiskDecisionRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "publisher_ref",
        "reader_ref",
        "article_ref",
        "action",
        "category",
        "score",
        "amount_drops",
    )
    list_filter = ("action", "category", "created_at")
    search_fields = ("publisher_ref", "reader_ref", "article_ref", "channel_id")
    fields = (
        "created_at",
        "publisher_ref",
        "reader_ref",
        "article_ref",
        "channel_id",
        "session",
        "action",
        "category",
        "score",
        "reasons",
        "amount_drops",
    )
    readonly_fields = fields
