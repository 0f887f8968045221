from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Compliance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Parse and validate the rulebook at start: a bad file stops the process here, naming
        # the file and the rule, instead of failing the first unlock. No database access.
        from compliance.rules import rulebook

        rulebook()
