from django.apps import AppConfig


class PaywallConfig(AppConfig):
    name = "paywall"
    default_auto_field = "django.db.models.BigAutoField"
