from django.apps import AppConfig


class OpsConfig(AppConfig):
    """The operations console: the admin's front page. No models; it reads every app
    (ops.selectors) and no app imports it."""

    name = "ops"
    verbose_name = "Operations"
