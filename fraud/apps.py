from django.apps import AppConfig


class FraudConfig(AppConfig):
    name = "fraud"
    verbose_name = "Fraud"
    default_auto_field = "django.db.models.BigAutoField"
