"""The admin app with the project's site (kept apart from ops.apps, whose one AppConfig Django
picks by default)."""

from django.contrib.admin.apps import AdminConfig


class DropgateAdminConfig(AdminConfig):
    """django.contrib.admin with the project's site: a second factor for every staff user, and
    the operations console as its front page."""

    default_site = "ops.admin_site.ConsoleAdminSite"
