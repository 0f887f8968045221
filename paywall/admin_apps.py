"""The admin app with the project's site (kept apart from paywall.apps, whose one AppConfig
Django picks by default)."""

from django.contrib.admin.apps import AdminConfig


class DropgateAdminConfig(AdminConfig):
    """django.contrib.admin with the project's site: a second factor for every staff user."""

    default_site = "paywall.admin_site.DropgateAdminSite"
