"""Database helpers shared by the apps."""

from django.db import connection, models


class ByteOrderCharField(models.CharField):
    """A CharField compared byte by byte on PostgreSQL (collation "C").

    Identifier and genealogy-path prefix searches become index range scans only when the index
    orders strings by bytes; SQLite's default BINARY collation already does.
    """

    def db_parameters(self, connection):
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params


# Bulk writers replace SQLite's per-row triggers on the tables they load by one statement per
# batch. The trigger is dropped inside the writer's own transaction and created again before it
# commits: SQLite lets one writer at a time in, and readers see the schema as committed, so no
# other connection ever sees the table without its trigger.


def sqlite_trigger_suspend(name: str) -> str | None:
    """Inside a transaction: drop a SQLite trigger; returns its SQL, to restore it.

    None where there is nothing to suspend (PostgreSQL, or a database without the trigger).
    """
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [name])
        found = cursor.fetchone()
        if found is None:
            return None
        cursor.execute(f'DROP TRIGGER "{name}"')
    return found[0]


def sqlite_trigger_restore(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def sql_by_vendor(statements_by_vendor: dict[str, list[str]]):
    """A RunPython function that executes the statements given for the database's vendor."""

    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run
