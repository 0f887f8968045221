"""Compliance in the Django admin: the rulebook and its versions (with a diff), decisions and
receipts, consent and confirmations, publishers' policies and KYC, exchange rates, tax reports
(generate and download), SAR cases (work them through their states, export the filing) and
legal holds.

Doors only: every change goes through a compliance service; audit rows are read-only.
Custom pages need the model's `change` permission (reports: `add`), like the admin's own.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from channels_app.admin import ReadOnlyAdmin
from channels_app.adminkit import RowScopeMixin, may_for_platform, publisher_scope
from channels_app.exceptions import DropgateError
from compliance.models import (
    ConsentRecord,
    CountryConfirmation,
    DecisionRecord,
    FxRate,
    KycEvent,
    LegalHold,
    PublisherKyc,
    PublisherPolicy,
    RulebookVersion,
    SarCase,
    SarEvent,
    SarStatus,
    TaxReport,
)
from compliance.rules import rulebook
from compliance.services.fx import fx_rate_record
from compliance.services.kyc import kyc_tier_set
from compliance.services.publishers import publisher_policy_set
from compliance.services.reports import SCHEMES, tax_report_generate
from compliance.services.rulebook import rulebook_version_ensure
from compliance.services.sar import SAR_TRANSITIONS, sar_export, sar_export_csv, sar_transition


def _require(request: HttpRequest, model: type, action: str = "change") -> None:
    """A compliance page is a platform door: the model's `action` permission, a verified
    second factor, and platform staff (a publisher's staff never see compliance work)."""
    meta = model._meta  # type: ignore[attr-defined]
    if not may_for_platform(request, f"{meta.app_label}.{action}_{meta.model_name}"):
        raise PermissionDenied


# --- Rulebook ---------------------------------------------------------------------------------


@admin.register(RulebookVersion)
class RulebookVersionAdmin(ReadOnlyAdmin):
    list_display = ("version", "first_seen_at", "rule_count", "is_running", "diff_link")
    change_list_template = "admin/compliance/rulebookversion/change_list.html"

    @admin.display(boolean=True, description="running")
    def is_running(self, obj: RulebookVersion) -> bool:
        return obj.version == rulebook().version

    @admin.display(description="diff")
    def diff_link(self, obj: RulebookVersion) -> str:
        previous = (
            RulebookVersion.objects.filter(first_seen_at__lt=obj.first_seen_at)
            .order_by("-first_seen_at")
            .first()
        )
        if previous is None:
            return "—"
        url = reverse("admin:compliance_rulebook_diff", args=[previous.version, obj.version])
        return format_html('<a href="{}">against {}</a>', url, previous.version)

    def get_urls(self) -> list[Any]:
        return [
            path(
                "current/",
                self.admin_site.admin_view(self.current_view),
                name="compliance_rulebook_current",
            ),
            path(
                "diff/<str:old>/<str:new>/",
                self.admin_site.admin_view(self.diff_view),
                name="compliance_rulebook_diff",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        rulebook_version_ensure()
        return super().changelist_view(request, extra_context)

    def current_view(self, request: HttpRequest) -> TemplateResponse:
        _require(request, RulebookVersion, "view")
        book = rulebook_version_ensure()
        rules = [
            {
                "id": rule.id,
                "kind": rule.kind,
                "title": rule.title,
                "file": rule.file,
                "effective_from": rule.effective_from,
                "effective_to": rule.effective_to,
                "values": [
                    {
                        "from": v.effective_from,
                        "value": v.value,
                        "law": v.source.law,
                        "article": v.source.article,
                        "url": v.source.url,
                    }
                    for v in rule.values
                ],
            }
            for rule in sorted(book.rules.values(), key=lambda r: (r.file, r.id))
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Rulebook {book.version}",
            "book": book,
            "rules": rules,
            "references": list(book.references.values()),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/compliance/rulebook_current.html", context)

    def diff_view(self, request: HttpRequest, old: str, new: str) -> TemplateResponse:
        _require(request, RulebookVersion, "view")
        before = get_object_or_404(RulebookVersion, version=old)
        after = get_object_or_404(RulebookVersion, version=new)
        lines: list[str] = []
        for name in sorted(set(before.files) | set(after.files)):
            lines += difflib.unified_diff(
                (before.files.get(name) or "").splitlines(),
                (after.files.get(name) or "").splitlines(),
                fromfile=f"{old}/{name}",
                tofile=f"{new}/{name}",
                lineterm="",
            )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Rulebook {old} → {new}",
            "diff": "\n".join(lines) or "(no differences)",
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/compliance/rulebook_diff.html", context)


# --- Decisions, consent, confirmations ---------------------------------------------------------


@admin.register(DecisionRecord)
class DecisionRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "at",
        "decision",
        "code",
        "publisher_ref",
        "reader_ref",
        "country",
        "category",
        "gross_drops",
        "tax_drops",
        "rate_percent",
        "scheme",
        "rulebook_version",
    )
    list_filter = ("decision", "code", "scheme", "country")
    search_fields = ("reader_ref", "publisher_ref", "claim_reference", "funding_address")
    date_hierarchy = "at"


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ("at", "reader_ref", "publisher_ref", "text_version", "rule_id")
    search_fields = ("reader_ref", "publisher_ref")


@admin.register(CountryConfirmation)
class CountryConfirmationAdmin(ReadOnlyAdmin):
    list_display = ("at", "reader_ref", "publisher_ref", "country", "region", "candidates")
    search_fields = ("reader_ref",)


# --- Publishers: policy and KYC ----------------------------------------------------------------


class PublisherPolicyForm(forms.ModelForm):
    class Meta:
        model = PublisherPolicy
        fields = ("publisher_ref", "blocked_countries", "tax_category", "article_tax_categories")


@admin.register(PublisherPolicy)
class PublisherPolicyAdmin(RowScopeMixin, admin.ModelAdmin):
    publisher_key_lookup = "publisher_ref"
    form = PublisherPolicyForm
    list_display = (
        "publisher_ref",
        "blocked_countries",
        "tax_category",
        "updated_at",
        "updated_by",
    )
    search_fields = ("publisher_ref",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A publisher's staff change their own policy; only platform staff start one (the
        # publisher_ref is free text).
        return super().has_add_permission(request) and publisher_scope(request) is None

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("publisher_ref",) if obj is not None else ()

    def save_model(
        self, request: HttpRequest, obj: PublisherPolicy, form: Any, change: bool
    ) -> None:
        try:
            saved = publisher_policy_set(
                publisher_ref=obj.publisher_ref,
                actor=f"admin:{request.user.get_username()}",
                blocked_countries=list(obj.blocked_countries or []),
                tax_category=obj.tax_category,
                article_tax_categories=dict(obj.article_tax_categories or {}),
            )
        except DropgateError as exc:
            raise forms.ValidationError(exc.message) from exc
        obj.pk = saved.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class KycTierForm(forms.Form):
    tier = forms.TypedChoiceField(choices=[(0, "0"), (1, "1"), (2, "2")], coerce=int)
    reason = forms.CharField(widget=forms.Textarea, max_length=500)


@admin.register(PublisherKyc)
class PublisherKycAdmin(ReadOnlyAdmin):
    list_display = (
        "publisher_ref",
        "tier",
        "legal_name",
        "country",
        "vat_id",
        "payout_address",
        "address_kind",
        "address_proven_at",
        "tier_link",
    )
    list_filter = ("tier", "address_kind", "country")
    search_fields = ("publisher_ref", "legal_name", "vat_id", "payout_address")

    @admin.display(description="tier")
    def tier_link(self, obj: PublisherKyc) -> str:
        return format_html(
            '<a href="{}">set tier…</a>', reverse("admin:compliance_kyc_tier", args=[obj.pk])
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/tier/",
                self.admin_site.admin_view(self.tier_view),
                name="compliance_kyc_tier",
            ),
            *super().get_urls(),
        ]

    def tier_view(self, request: HttpRequest, pk: int) -> Any:
        _require(request, PublisherKyc, "change")
        row = get_object_or_404(PublisherKyc, pk=pk)
        form = KycTierForm(request.POST or None, initial={"tier": row.tier})
        if request.method == "POST" and form.is_valid():
            try:
                kyc_tier_set(
                    publisher_ref=row.publisher_ref,
                    tier=form.cleaned_data["tier"],
                    actor=f"admin:{request.user.get_username()}",
                    reason=form.cleaned_data["reason"],
                )
            except DropgateError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"{row.publisher_ref}: tier set.")
                return HttpResponseRedirect(reverse("admin:compliance_publisherkyc_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"KYC tier of {row.publisher_ref}",
            "form": form,
            "events": KycEvent.objects.filter(publisher_ref=row.publisher_ref)[:50],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/compliance/form.html", context)


@admin.register(KycEvent)
class KycEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "publisher_ref", "action", "actor", "reason")
    search_fields = ("publisher_ref",)


# --- Exchange rates and tax reports ------------------------------------------------------------


class FxRateForm(forms.ModelForm):
    class Meta:
        model = FxRate
        fields = ("base", "quote", "rate", "as_of", "source")


@admin.register(FxRate)
class FxRateAdmin(RowScopeMixin, admin.ModelAdmin):
    form = FxRateForm
    list_display = ("as_of", "base", "quote", "rate", "source", "recorded_at")
    list_filter = ("base", "quote", "source")
    date_hierarchy = "as_of"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: FxRate, form: Any, change: bool) -> None:
        try:
            saved = fx_rate_record(
                base=obj.base, quote=obj.quote, rate=obj.rate, as_of=obj.as_of, source=obj.source
            )
        except DropgateError as exc:
            raise forms.ValidationError(exc.message) from exc
        obj.pk = saved.pk


class TaxReportForm(forms.Form):
    scheme = forms.ChoiceField(
        choices=[(name, f"{name} ({code})") for name, (code, _, _) in SCHEMES.items()]
    )
    period = forms.RegexField(regex=r"^\d{4}Q[1-4]$", help_text="e.g. 2026Q3")


@admin.register(TaxReport)
class TaxReportAdmin(ReadOnlyAdmin):
    list_display = (
        "scheme",
        "period",
        "currency",
        "generated_at",
        "generated_by",
        "totals_tax",
        "journal_ok",
        "downloads",
    )
    list_filter = ("scheme", "period")
    change_list_template = "admin/compliance/taxreport/change_list.html"

    @admin.display(description="tax")
    def totals_tax(self, obj: TaxReport) -> str:
        return str(obj.totals.get(f"tax_{obj.currency.lower()}", ""))

    @admin.display(boolean=True, description="= journal")
    def journal_ok(self, obj: TaxReport) -> bool:
        return bool(obj.totals.get("journal_matches"))

    @admin.display(description="download")
    def downloads(self, obj: TaxReport) -> str:
        return format_html(
            '<a href="{}">CSV</a> · <a href="{}">JSON</a>',
            reverse("admin:compliance_taxreport_download", args=[obj.pk, "csv"]),
            reverse("admin:compliance_taxreport_download", args=[obj.pk, "json"]),
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "generate/",
                self.admin_site.admin_view(self.generate_view),
                name="compliance_taxreport_generate",
            ),
            path(
                "<int:pk>/download.<str:fmt>",
                self.admin_site.admin_view(self.download_view),
                name="compliance_taxreport_download",
            ),
            *super().get_urls(),
        ]

    def generate_view(self, request: HttpRequest) -> Any:
        _require(request, TaxReport, "add")
        form = TaxReportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                report = tax_report_generate(
                    scheme=form.cleaned_data["scheme"],
                    period=form.cleaned_data["period"],
                    actor=f"admin:{request.user.get_username()}",
                )
            except DropgateError as exc:
                messages.error(request, f"{exc.code}: {exc.message}")
            else:
                messages.success(request, f"{report.scheme} {report.period} generated.")
                return HttpResponseRedirect(reverse("admin:compliance_taxreport_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Generate a tax report",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/compliance/form.html", context)

    def download_view(self, request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
        _require(request, TaxReport, "view")
        report = get_object_or_404(TaxReport, pk=pk)
        name = f"tax-report-{report.scheme}-{report.period}"
        if fmt == "csv":
            response = HttpResponse(report.csv, content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
            return response
        body = {
            "scheme": report.scheme,
            "period": report.period,
            "currency": report.currency,
            "fx": report.fx,
            "rows": report.rows,
            "totals": report.totals,
            "rulebook_version": report.rulebook_version,
            "generated_at": report.generated_at.isoformat(),
        }
        response = HttpResponse(json.dumps(body, indent=2), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{name}.json"'
        return response


# --- SAR cases and legal holds -----------------------------------------------------------------


class SarTransitionForm(forms.Form):
    to_status = forms.ChoiceField(choices=SarStatus.choices)
    reason = forms.CharField(widget=forms.Textarea, max_length=1000)
    filing_reference = forms.CharField(
        max_length=100, required=False, help_text="The FIU's reference, when filing."
    )


class SarEventInline(admin.TabularInline):
    model = SarEvent
    extra = 0
    can_delete = False
    fields = ("at", "actor_label", "action", "from_status", "to_status", "reason")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SarCase)
class SarCaseAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "rule_id",
        "subject_kind",
        "subject",
        "status",
        "opened_at",
        "updated_at",
        "case_actions",
    )
    list_filter = ("status", "rule_id")
    search_fields = ("subject", "publisher_ref", "filing_reference")
    inlines = (SarEventInline,)
    readonly_fields = (
        "rule_id",
        "subject_kind",
        "subject",
        "publisher_ref",
        "status",
        "summary",
        "evidence",
        "reader_refs",
        "funding_addresses",
        "channel_ids",
        "rulebook_version",
        "filing_reference",
        "opened_at",
        "updated_at",
        "closed_at",
    )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="actions")
    def case_actions(self, obj: SarCase) -> str:
        return format_html(
            '<a href="{}">move…</a> · <a href="{}">export JSON</a> · <a href="{}">CSV</a>',
            reverse("admin:compliance_sarcase_transition", args=[obj.pk]),
            reverse("admin:compliance_sarcase_export", args=[obj.pk, "json"]),
            reverse("admin:compliance_sarcase_export", args=[obj.pk, "csv"]),
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:pk>/transition/",
                self.admin_site.admin_view(self.transition_view),
                name="compliance_sarcase_transition",
            ),
            path(
                "<int:pk>/export.<str:fmt>",
                self.admin_site.admin_view(self.export_view),
                name="compliance_sarcase_export",
            ),
            *super().get_urls(),
        ]

    def transition_view(self, request: HttpRequest, pk: int) -> Any:
        _require(request, SarCase, "change")
        case = get_object_or_404(SarCase, pk=pk)
        form = SarTransitionForm(request.POST or None)
        to_status = form.fields["to_status"]
        assert isinstance(to_status, forms.ChoiceField)
        to_status.choices = [(s, SarStatus(s).label) for s in SAR_TRANSITIONS.get(case.status, ())]
        if request.method == "POST" and form.is_valid():
            try:
                sar_transition(
                    case_id=case.pk,
                    to_status=form.cleaned_data["to_status"],
                    reason=form.cleaned_data["reason"],
                    filing_reference=form.cleaned_data.get("filing_reference") or "",
                    actor=request.user,
                )
            except DropgateError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"Case {case.pk} moved.")
                return HttpResponseRedirect(
                    reverse("admin:compliance_sarcase_change", args=[case.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Case {case.pk} ({case.status}): {case.summary}",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/compliance/form.html", context)

    def export_view(self, request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
        _require(request, SarCase, "change")
        export = sar_export(case_id=get_object_or_404(SarCase, pk=pk).pk, actor=request.user)
        if fmt == "csv":
            response = HttpResponse(sar_export_csv(export), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="sar-{pk}.csv"'
            return response
        response = HttpResponse(json.dumps(export, indent=2), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="sar-{pk}.json"'
        return response


@admin.register(LegalHold)
class LegalHoldAdmin(ReadOnlyAdmin):
    list_display = ("subject_kind", "subject", "reason", "case", "placed_at", "until")
    list_filter = ("subject_kind",)
    search_fields = ("subject",)
