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

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse

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
    SignerListChange,
    SignerListSignature,
    Sweep,
    TxState,
    VaultAccount,
    VaultApprover,
)
from channels_app.payouts.services.approvers import (
    approver_key_check,
    signing_request,
    signing_requests_open,
    vault_approver_register,
    vault_signature_submit,
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


# The largest signature file an approver uploads (a few hundred bytes in practice).
_SIGNATURE_FILE_MAX_BYTES = 8_192


class SignatureUploadForm(forms.Form):
    signature = forms.FileField(help_text="The file `dropgate_approver.py sign` wrote")


@admin.register(VaultAccount)
class VaultAccountAdmin(ReadOnlyAdmin):
    """The vault, and its signing page: the requests waiting for approvers' offline
    signatures (download the unsigned blob; upload a signature file). Both need
    `payouts.approve_payout`, a verified second factor and platform staff."""

    list_display = ("address", "custody", "status", "quorum", "created_at", "ready_at")
    list_filter = ("status", "custody")
    exclude = ("nonce",)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "signing/",
                self.admin_site.admin_view(self.signing_view),
                name="payouts_vaultaccount_signing",
            ),
            path(
                "signing/<str:ref>/download/",
                self.admin_site.admin_view(self.download_view),
                name="payouts_vaultaccount_signing_download",
            ),
            *super().get_urls(),
        ]

    def _require_approver(self, request: HttpRequest) -> None:
        if not may_for_platform(request, "payouts.approve_payout"):
            raise PermissionDenied

    def signing_view(self, request: HttpRequest) -> HttpResponse:
        self._require_approver(request)
        form = SignatureUploadForm()
        if request.method == "POST":
            form = SignatureUploadForm(request.POST, request.FILES)
            if form.is_valid():
                self._upload(request, form.cleaned_data["signature"])
                return HttpResponseRedirect(reverse("admin:payouts_vaultaccount_signing"))
        try:
            requests = signing_requests_open()
        except DropgateError as exc:
            messages.error(request, f"{exc.message} ({exc.code})")
            requests = []
        context = {
            **self.admin_site.each_context(request),
            "title": "Vault signing requests",
            "opts": self.model._meta,
            "requests": requests,
            "form": form,
        }
        return TemplateResponse(request, "admin/payouts/vault_signing.html", context)

    def _upload(self, request: HttpRequest, upload: Any) -> None:
        try:
            if upload.size > _SIGNATURE_FILE_MAX_BYTES:
                raise ValueError("the file is too large")
            document = json.loads(upload.read().decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            messages.error(request, "That is not a signature file (signature_document_malformed).")
            return
        try:
            outcome = vault_signature_submit(document=document, by=request.user)
        except DropgateError as exc:
            messages.error(request, f"Refused: {exc.message} ({exc.code})")
            return
        messages.success(
            request,
            f"Signature of {outcome.account} taken for {outcome.ref}: "
            f"{outcome.signatures} of {outcome.quorum}; now {outcome.status}.",
        )

    def download_view(self, request: HttpRequest, ref: str) -> HttpResponse:
        self._require_approver(request)
        try:
            document = signing_request(ref).document()
        except DropgateError as exc:
            return JsonResponse(
                {"error": {"code": exc.code, "message": exc.message}}, status=exc.http_status
            )
        response = HttpResponse(
            json.dumps(document, indent=2) + "\n", content_type="application/json"
        )
        response["Content-Disposition"] = f'attachment; filename="{ref}.json"'
        return response


class VaultApproverForm(forms.ModelForm):
    class Meta:
        model = VaultApprover
        fields = ("name", "user", "public_key", "proof")
        help_texts = {
            "public_key": "From `dropgate_approver.py register` (66 hex digits)",
            "proof": "From the same output: the key's signature over its registration",
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("public_key") and data.get("proof"):
            try:
                approver_key_check(public_key=data["public_key"], proof=data["proof"])
            except DropgateError as exc:
                raise forms.ValidationError(f"{exc.message} ({exc.code})") from exc
        return data


@admin.register(VaultApprover)
class VaultApproverAdmin(RowScopeMixin, admin.ModelAdmin):
    """Approvers' public keys. Registering one needs `payouts.add_vaultapprover` and a
    verified second factor (platform staff); nothing is edited or deleted here: an approver
    leaves the SignerList only by a SignerListSet the current approvers sign."""

    form = VaultApproverForm
    list_display = ("name", "account", "status", "user", "registered_by", "registered_at")
    list_filter = ("status",)
    search_fields = ("name", "account", "public_key")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return (
            "name",
            "user",
            "account",
            "public_key",
            "proof",
            "status",
            "registered_by",
            "registered_at",
            "activated_at",
            "retired_at",
        )

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ("name", "user", "public_key", "proof")
        return self.get_readonly_fields(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return may_for_platform(request, "payouts.add_vaultapprover")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: VaultApprover, form: Any, change: bool) -> None:
        if change:
            return
        made = vault_approver_register(
            name=obj.name,
            public_key=obj.public_key,
            proof=obj.proof,
            user=obj.user,
            by=request.user,
        )
        obj.pk = made.pk
        obj.account = made.account


class SignerListSignatureInline(ReadOnlyInline):
    model = SignerListSignature
    fields = ("approver", "signing_pub_key", "uploaded_by", "created_at")
    readonly_fields = fields


@admin.register(SignerListChange)
class SignerListChangeAdmin(ReadOnlyAdmin):
    list_display = ("pk", "status", "retiring", "joining", "last_ledger_sequence", "created_at")
    list_filter = ("status", "created_at")
    exclude = ("tx_blob",)
    inlines = (SignerListSignatureInline,)


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
    fields = (
        "signer_index",
        "signer_address",
        "approver",
        "approved_by",
        "uploaded_by",
        "created_at",
        "voided_reason",
    )
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
