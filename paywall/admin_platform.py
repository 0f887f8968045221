"""The third-party admins the project shows (users and groups, Celery beat's schedules, TOTP
devices), re-registered as platform rows with permissions on every action. See
channels_app.adminkit and tests/test_admin_security.py."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet
from django.http import HttpRequest
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from django_otp.plugins.otp_totp.models import TOTPDevice

from channels_app.adminkit import RowScopeMixin, may, otp_verified


class PlatformUserAdmin(RowScopeMixin, UserAdmin):  # type: ignore[type-arg]
    pass


class PlatformGroupAdmin(RowScopeMixin, GroupAdmin):
    pass


class PlatformIntervalScheduleAdmin(RowScopeMixin, beat_admin.IntervalScheduleAdmin):
    pass


class PlatformSolarScheduleAdmin(RowScopeMixin, beat_admin.SolarScheduleAdmin):
    pass


class PlatformClockedScheduleAdmin(RowScopeMixin, beat_admin.ClockedScheduleAdmin):
    pass


class PlatformCrontabScheduleAdmin(RowScopeMixin, beat_admin.CrontabScheduleAdmin):
    pass


class PlatformPeriodicTaskAdmin(RowScopeMixin, beat_admin.PeriodicTaskAdmin):
    """Celery beat's tasks. Its actions shipped without permissions: here enabling and
    disabling need `change_periodictask`, and running a task at once (the payout batch, a key
    rotation) is for superusers, with a verified second factor either way. Its change form's
    inline script (a live crontab description) would break the admin's Content-Security-Policy,
    so the plain form is used; the description is still shown for a saved task."""

    change_form_template = "admin/change_form.html"

    def has_toggle_permission(self, request: HttpRequest) -> bool:
        return may(request, "django_celery_beat.change_periodictask")

    def has_run_permission(self, request: HttpRequest) -> bool:
        return otp_verified(request) and bool(request.user.is_superuser)

    @admin.action(description="Enable selected tasks", permissions=("toggle",))
    def enable_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        super().enable_tasks(request, queryset)

    @admin.action(description="Disable selected tasks", permissions=("toggle",))
    def disable_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        super().disable_tasks(request, queryset)

    @admin.action(description="Toggle activity of selected tasks", permissions=("toggle",))
    def toggle_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        super().toggle_tasks(request, queryset)

    @admin.action(description="Run selected tasks now", permissions=("run",))
    def run_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        super().run_tasks(request, queryset)


class TOTPDeviceAdmin(RowScopeMixin, admin.ModelAdmin):
    """Staff TOTP devices: who has one and when it was last used; never the secret. Devices
    are enrolled with `manage.py staff_otp_enrol`; deleting one (a lost phone) makes its user
    enrol again before they can sign in."""

    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_filter = ("confirmed",)
    search_fields = ("user__username",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at", "throttling_failure_count")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may(request, "otp_totp.delete_totpdevice")


def register_platform_admins(site: admin.AdminSite) -> None:
    """Replace the registrations Django, Celery beat and django-otp made with the above."""
    replacements: list[tuple[Any, type[admin.ModelAdmin]]] = [  # type: ignore[type-arg]
        (User, PlatformUserAdmin),
        (Group, PlatformGroupAdmin),
        (PeriodicTask, PlatformPeriodicTaskAdmin),
        (IntervalSchedule, PlatformIntervalScheduleAdmin),
        (SolarSchedule, PlatformSolarScheduleAdmin),
        (CrontabSchedule, PlatformCrontabScheduleAdmin),
        (ClockedSchedule, PlatformClockedScheduleAdmin),
        (TOTPDevice, TOTPDeviceAdmin),
    ]
    for model, model_admin in replacements:
        if site.is_registered(model):
            site.unregister(model)
        site.register(model, model_admin)
