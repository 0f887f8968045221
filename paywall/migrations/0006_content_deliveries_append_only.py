"""Database-level guard: content deliveries (dispute evidence) can never be updated in place.

The model refuses updates and deletes (fraud.models.cases.AppendOnlyEvent); the database
refuses updates too, whoever connects. It reuses channels_app's trigger function on
PostgreSQL (channels_app migration 0002 creates it and owns it).
"""

from django.db import migrations

TABLE = "paywall_contentdelivery"


def create_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION dropgate_refuse_update();"
        )
    elif vendor == "sqlite":
        schema_editor.execute(
            f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE ON {TABLE} "
            f"BEGIN SELECT RAISE(ABORT, 'rows of {TABLE} are append-only'); END;"
        )


def drop_trigger(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only ON {TABLE};")
    elif vendor == "sqlite":
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {TABLE}_append_only;")


class Migration(migrations.Migration):
    dependencies = [
        ("paywall", "0005_unlock_risk_decision_contentdelivery"),
        ("channels_app", "0002_append_only_triggers"),
    ]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
