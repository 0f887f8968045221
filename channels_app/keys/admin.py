"""Admin for the key audit trail, the signature log and the payouts pause. All read-only:
keys change only through the key-management service (commands and tasks), never a form."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from channels_app.adminkit import RowScopeMixin
from channels_app.models import KeyEvent, KeySignature, PayoutsPause


class _ReadOnly(RowScopeMixin, admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(KeyEvent)
class KeyEventAdmin(_ReadOnly):
    list_display = ("at", "action", "purpose", "key_id", "new_key_id", "actor")
    list_filter = ("action", "purpose")
    search_fields = ("key_id", "new_key_id", "actor")


@admin.register(KeySignature)
class KeySignatureAdmin(_ReadOnly):
    list_display = ("signed_at", "key_id", "purpose", "tx_type", "account", "sequence", "tx_hash")
    list_filter = ("purpose", "tx_type", "multisign")
    search_fields = ("key_id", "tx_hash", "account")


@admin.register(PayoutsPause)
class PayoutsPauseAdmin(_ReadOnly):
    list_display = ("paused", "reason", "changed_by", "changed_at")
