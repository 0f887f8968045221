"""Admin for disputes: the review queue, the evidence on one page, and the report.

- **Queue:** open disputes first, the nearest SLA deadline (`due_by`) first; filter "decided" or
  "all" to see the rest.
- **A dispute's page:** the evidence read from its linked records (charge, claim and key,
  deliveries, fraud decision and dwell, settlement, what the resolvers say now), the audit
  trail, appeals and exported bundles; and the review form: decide for the reader or the
  publisher (with the minutes spent), escalate to an outside arbitrator, ask the publisher.
- **Report:** `Disputes → Disputes → Report` (server-rendered charts, no script).

Every door calls one service (disputes.services.review); the appeal rules (a different
reviewer) are enforced there. Changing anything needs `disputes.decide_dispute`; the admin
site itself is staff-only. Nothing is added or deleted here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import F, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from channels_app import clock
from channels_app.admin import ReadOnlyAdmin
from channels_app.adminkit import RowScopeMixin, may_for_platform
from channels_app.exceptions import DropgateError
from disputes.evidence import evidence_summary
from disputes.models import (
    OPEN_STATUSES,
    Appeal,
    Dispute,
    DisputeEvent,
    DisputeReport,
    EvidenceBundle,
    KeyCompromiseReport,
)
from disputes.services.bundles import bundle_document
from disputes.services.reports import disputes_report, period_bounds, previous_period
from disputes.services.review import dispute_ask_publisher, dispute_decide, dispute_escalate

DECIDE_PERMISSION = "disputes.decide_dispute"


def _pretty(value: Any) -> str:
    return format_html(
        '<pre style="white-space: pre-wrap; margin: 0">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, default=str),
    )


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DisputeEventInline(_ReadOnlyInline):
    model = DisputeEvent
    fields = ("at", "actor_label", "action", "from_status", "to_status", "reason", "details_pretty")
    readonly_fields = fields
    ordering = ("at", "pk")

    @admin.display(description="details")
    def details_pretty(self, obj: DisputeEvent) -> str:
        return _pretty(obj.details)


class AppealInline(_ReadOnlyInline):
    model = Appeal
    fields = (
        "side",
        "filed_at",
        "appealed_status",
        "appealed_decided_by",
        "excluded_reviewer",
        "message",
        "decided_at",
        "outcome_status",
        "overturned",
    )
    readonly_fields = fields


class EvidenceBundleInline(_ReadOnlyInline):
    model = EvidenceBundle
    fields = ("created_at", "sha256", "key_id", "public_key", "download")
    readonly_fields = fields

    @admin.display(description="signed bundle")
    def download(self, obj: EvidenceBundle) -> str:
        url = reverse("admin:disputes_dispute_bundle", args=[obj.pk])
        return format_html('<a href="{}">download (JSON)</a>', url)


class QueueFilter(admin.SimpleListFilter):
    """Open disputes by default (the review queue); decided ones or all on demand."""

    title = "queue"
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "open (by deadline)"), ("decided", "decided"), ("all", "all")]

    def value(self) -> str:
        return str(super().value() or "open")

    def choices(self, changelist: Any) -> Any:
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Dispute]) -> QuerySet[Dispute]:
        if self.value() == "open":
            return queryset.filter(status__in=OPEN_STATUSES)
        if self.value() == "decided":
            return queryset.exclude(status__in=OPEN_STATUSES)
        return queryset


class DisputeReviewForm(forms.ModelForm):
    """The review form on a dispute's page; the service does the rest (and refuses)."""

    ACTIONS = (
        ("", "—"),
        ("decide_reader", "Decide for the reader (refund)"),
        ("decide_publisher", "Decide for the publisher (nothing moves)"),
        ("escalate", "Escalate to an outside arbitrator (signed evidence bundle)"),
        ("ask_publisher", "Ask the publisher to respond"),
    )
    review_action = forms.ChoiceField(choices=ACTIONS, required=False, label="action")
    minutes = forms.IntegerField(
        min_value=0, max_value=24 * 60, required=False, help_text="Review minutes spent (cost)."
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    class Meta:
        model = Dispute
        fields: tuple[str, ...] = ()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if str(data.get("review_action", "")).startswith("decide") and data.get("minutes") is None:
            self.add_error("minutes", "Say how many minutes the review took.")
        return data


def _bulk_action(
    service: Callable[..., Dispute], verb: str, description: str
) -> Callable[[DisputeAdmin, HttpRequest, QuerySet[Dispute]], None]:
    def action(modeladmin: DisputeAdmin, request: HttpRequest, queryset: QuerySet[Dispute]) -> None:
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                dispute = service(dispute_id=pk, by=request.user, note=f"{verb} in the admin")
            except DropgateError as exc:
                messages.error(request, f"Dispute {pk}: {exc.message} ({exc.code})")
                continue
            messages.success(request, f"Dispute {pk}: {dispute.status}.")

    action.__name__ = verb
    return admin.action(description=description, permissions=("decide",))(action)


@admin.register(Dispute)
class DisputeAdmin(RowScopeMixin, admin.ModelAdmin):
    """Platform rows: disputes are decided by platform staff; a publisher answers its own
    through the publisher API."""

    form = DisputeReviewForm
    list_display = (
        "pk",
        "status",
        "tier",
        "due_by",
        "reason",
        "dispute_class",
        "publisher",
        "reader",
        "amount_drops",
        "decided_by",
        "filed_at",
    )
    list_filter = (QueueFilter, "status", "dispute_class", "reason", "tier", "publisher")
    search_fields = ("reader__public_id", "publisher__key", "unlock__article__slug")
    list_select_related = ("publisher", "reader")
    readonly_fields = (
        "status",
        "tier",
        "due_by",
        "reason",
        "dispute_class",
        "message",
        "amount_drops",
        "publisher",
        "reader",
        "unlock",
        "filed_at",
        "decided_at",
        "decided_by",
        "reasons",
        "publisher_statement",
        "refund",
        "hold",
        "publisher_charged_drops",
        "review_minutes",
        "evidence_page",
    )
    fieldsets = (
        ("Review", {"fields": ("review_action", "minutes", "note")}),
        ("Dispute", {"fields": readonly_fields[:-1]}),
        ("Evidence", {"fields": ("evidence_page",)}),
    )
    inlines = (DisputeEventInline, AppealInline, EvidenceBundleInline)
    actions = (
        _bulk_action(dispute_escalate, "escalate", "Escalate to an outside arbitrator"),
        _bulk_action(dispute_ask_publisher, "ask_publisher", "Ask the publisher to respond"),
    )

    def get_ordering(self, request: HttpRequest) -> Any:
        return (F("due_by").asc(nulls_last=True), "filed_at", "pk")

    @admin.display(description="evidence (read from the linked records)")
    def evidence_page(self, obj: Dispute) -> str:
        if obj.pk is None:
            return "—"
        summary = evidence_summary(obj)
        return mark_safe(  # noqa: S308 - an autoescaping template renders every value
            render_to_string(
                "admin/disputes/evidence.html",
                {"e": summary, "raw": json.dumps(summary, indent=2, sort_keys=True, default=str)},
            )
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_staff) and may_for_platform(request, DECIDE_PERMISSION)

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return self.has_change_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_staff) and (
            super().has_view_permission(request, obj) or self.has_change_permission(request, obj)
        )

    def save_model(self, request: HttpRequest, obj: Dispute, form: Any, change: bool) -> None:
        # The form never saves the row: the review action goes through the services.
        action = form.cleaned_data.get("review_action") or ""
        note = (form.cleaned_data.get("note") or "").strip()
        try:
            if action in ("decide_reader", "decide_publisher"):
                decided = dispute_decide(
                    dispute_id=obj.pk,
                    reviewer=request.user,
                    winner=action.removeprefix("decide_"),
                    note=note,
                    minutes=int(form.cleaned_data.get("minutes") or 0),
                )
                messages.success(request, f"Dispute {obj.pk}: {decided.status}.")
            elif action == "escalate":
                dispute_escalate(dispute_id=obj.pk, by=request.user, note=note)
                messages.success(request, f"Dispute {obj.pk}: escalated; bundle exported.")
            elif action == "ask_publisher":
                dispute_ask_publisher(dispute_id=obj.pk, by=request.user, note=note)
                messages.success(request, f"Dispute {obj.pk}: waiting for the publisher.")
        except DropgateError as exc:
            messages.error(request, f"Dispute {obj.pk}: {exc.message} ({exc.code})")

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "report/",
                self.admin_site.admin_view(self.report_view),
                name="disputes_dispute_report",
            ),
            path(
                "bundle/<int:bundle_id>/",
                self.admin_site.admin_view(self.bundle_view),
                name="disputes_dispute_bundle",
            ),
            *super().get_urls(),
        ]

    def bundle_view(self, request: HttpRequest, bundle_id: int) -> HttpResponse:
        if not self._may_see_reports(request):
            return HttpResponse(status=403)
        bundle = get_object_or_404(EvidenceBundle, pk=bundle_id)
        response = JsonResponse(bundle_document(bundle), json_dumps_params={"indent": 2})
        response["Content-Disposition"] = (
            f'attachment; filename="dispute-{bundle.dispute_id}-bundle-{bundle.pk}.json"'
        )
        return response

    def _may_see_reports(self, request: HttpRequest) -> bool:
        """Bundles and reports: platform staff who may view disputes."""
        return self.has_change_permission(request) or (
            self.has_view_permission(request) and may_for_platform(request, "disputes.view_dispute")
        )

    def report_view(self, request: HttpRequest) -> HttpResponse:
        if not self._may_see_reports(request):
            return HttpResponse(status=403)
        period = request.GET.get("period") or f"{clock.now():%Y-%m}"
        try:
            period_bounds(period)
        except DropgateError:
            period = previous_period()
        report = disputes_report(period=period)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Dispute report {period}",
            "opts": self.model._meta,
            "period": period,
            "report": report,
            "charts": _charts(report),
            "stored": DisputeReport.objects.order_by("-period")[:24],
            "raw": json.dumps(report, indent=2, sort_keys=True),
        }
        return TemplateResponse(request, "admin/disputes/report.html", context)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {**(extra_context or {}), "report_url": reverse("admin:disputes_dispute_report")}
        return super().changelist_view(request, extra_context=extra)


BAR_WIDTH = 360


def _charts(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Stacked bars (reader / publisher / open) per group, as SVG geometry for the template."""
    charts = []
    titles = {
        "by_class": "Outcomes by class",
        "by_tier": "Outcomes by tier",
        "by_publisher": "Outcomes by publisher",
        "by_reader": "Outcomes by reader (new vs returning)",
    }
    for key, title in titles.items():
        groups = report["outcomes"][key]
        largest = max((g["disputes"] for g in groups.values()), default=0) or 1
        rows = []
        for index, (name, group) in enumerate(groups.items()):
            scale = BAR_WIDTH / largest
            reader_w = round(group["won_by_reader"] * scale, 1)
            publisher_w = round(group["won_by_publisher"] * scale, 1)
            open_w = round(group["open"] * scale, 1)
            rows.append(
                {
                    "name": name,
                    "y": index * 26,
                    "text_y": index * 26 + 14,
                    "reader_w": reader_w,
                    "publisher_x": reader_w,
                    "publisher_w": publisher_w,
                    "open_x": round(reader_w + publisher_w, 1),
                    "open_w": open_w,
                    "label_x": round(reader_w + publisher_w + open_w + 6, 1),
                    "group": group,
                }
            )
        charts.append(
            {
                "title": title,
                "rows": rows,
                "height": max(26, len(rows) * 26),
                "width": BAR_WIDTH + 160,
            }
        )
    return charts


@admin.register(DisputeEvent)
class DisputeEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "dispute", "action", "actor_label", "from_status", "to_status", "reason")
    list_filter = ("action", "at")
    search_fields = ("actor_label", "reason")
    exclude = ("details",)
    readonly_fields = ("details_pretty",)

    @admin.display(description="details")
    def details_pretty(self, obj: DisputeEvent) -> str:
        return _pretty(obj.details)


@admin.register(KeyCompromiseReport)
class KeyCompromiseReportAdmin(ReadOnlyAdmin):
    list_display = ("reported_at", "reader", "public_key")
    search_fields = ("reader__public_id", "public_key")


@admin.register(EvidenceBundle)
class EvidenceBundleAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "dispute", "sha256", "key_id")
    exclude = ("body",)


@admin.register(DisputeReport)
class DisputeReportAdmin(ReadOnlyAdmin):
    list_display = ("period", "computed_at")
    exclude = ("data",)
    readonly_fields = ("data_pretty",)

    @admin.display(description="report")
    def data_pretty(self, obj: DisputeReport) -> str:
        return _pretty(obj.data)
