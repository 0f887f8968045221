from django.apps import AppConfig


class PayoutsConfig(AppConfig):
    name = "channels_app.payouts"
    verbose_name = "Payouts"
    label = "payouts"
    default_auto_field = "django.db.models.BigAutoField"
