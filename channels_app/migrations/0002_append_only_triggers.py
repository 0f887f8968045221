"""Database-level guard: accepted claims and journal rows can never be updated in place.

Deletes stay possible at the database level (test flushes, disaster recovery) but the models
refuse them; updates are refused by the database itself, whoever connects.
"""

from django.db import migrations

TABLES = ("channels_app_journalentry", "channels_app_journalline", "channels_app_claim")


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(
            """
            CREATE OR REPLACE FUNCTION dropgate_refuse_update() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'rows of %% are append-only', TG_TABLE_NAME;
            END;
            $$ LANGUAGE plpgsql;
            """
        )
        for table in TABLES:
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION dropgate_refuse_update();"
            )
    elif vendor == "sqlite":
        for table in TABLES:
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
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS dropgate_refuse_update();")


class Migration(migrations.Migration):
    dependencies = [("channels_app", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers)]
