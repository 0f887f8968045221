"""Database-level guard: a dispute's audit trail, key-compromise reports and exported evidence
bundles can never be updated in place.

The models refuse updates and deletes (fraud.models.cases.AppendOnlyEvent); the database
refuses updates too, whoever connects. It reuses channels_app's trigger function on
PostgreSQL (channels_app migration 0002 creates it and owns it).
"""

from django.db import migrations

TABLES = ("disputes_disputeevent", "disputes_keycompromisereport", "disputes_evidencebundle")


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION dropgate_refuse_update();"
            )
        elif vendor == "sqlite":
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'rows of {table} are append-only'); END;"
            )


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table in TABLES:
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only;")


class Migration(migrations.Migration):
    dependencies = [
        ("disputes", "0001_initial"),
        ("channels_app", "0002_append_only_triggers"),
    ]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
