"""The genesis head row, and triggers that make custody events append-only in the database."""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER custody_event_no_update BEFORE UPDATE ON custody_custodyevent
       BEGIN SELECT RAISE(ABORT, 'custody events are append-only'); END""",
    """CREATE TRIGGER custody_event_no_delete BEFORE DELETE ON custody_custodyevent
       BEGIN SELECT RAISE(ABORT, 'custody events are append-only'); END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER custody_event_no_update",
    "DROP TRIGGER custody_event_no_delete",
]
POSTGRESQL = [
    """CREATE FUNCTION custody_event_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'custody events are append-only'; END $$""",
    """CREATE TRIGGER custody_event_append_only BEFORE UPDATE OR DELETE ON custody_custodyevent
       FOR EACH ROW EXECUTE FUNCTION custody_event_refuse()""",
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER custody_event_append_only ON custody_custodyevent",
    "DROP FUNCTION custody_event_refuse()",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


def create_head(apps, schema_editor):
    apps.get_model("custody", "LedgerHead").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("custody", "0001_initial")]

    operations = [
        migrations.RunPython(create_head, migrations.RunPython.noop),
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}),
        ),
    ]
