from django.apps import AppConfig


class PaywallConfig(AppConfig):
    name = "paywall"
    verbose_name = "Paywall"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from corsheaders.signals import check_request_enabled

        from paywall.cors import cors_allowed

        # Strong reference: the receiver is a module function, and a stable uid makes a
        # second ready() (tests, autoreload) a no-op rather than a duplicate.
        check_request_enabled.connect(cors_allowed, dispatch_uid="paywall.cors.cors_allowed")
