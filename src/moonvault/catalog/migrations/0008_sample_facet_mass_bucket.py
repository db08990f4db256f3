"""The facet table gains a mass bucket, so that a mass range is counted from it too.

A sample's bucket is 0 for no mass, else 3 × (digits − 1) + 1, 2 or 3 for a leading digit of 1,
2-4 or 5-9: bucket edges fall on 1, 2 and 5 × 10^k µg, the round figures people type (1 g,
500 mg, 20 µg). The same
expression runs in the triggers, the first filling and catalog/facets.py (`mass_bucket`). The
triggers of migration 0004 are replaced by the same triggers with the bucket in their key.
"""

from django.db import migrations, models

FACET = "catalog_samplefacet"


def bucket(mass: str) -> str:
    lead = f"SUBSTR(CAST({mass} AS TEXT), 1, 1)"
    return (
        f"CASE WHEN {mass} <= 0 THEN 0 ELSE 3 * (LENGTH(CAST({mass} AS TEXT)) - 1) "
        f"+ CASE WHEN {lead} < '2' THEN 1 WHEN {lead} < '5' THEN 2 ELSE 3 END END"
    )


def adding(key: str) -> str:
    """The upsert clause that adds a row's count and mass to the facet row of its key."""
    return (
        f"ON CONFLICT ({key}) DO UPDATE SET count = {FACET}.count + excluded.count, "
        f"mass_ug = {FACET}.mass_ug + excluded.mass_ug"
    )


def sqlite_triggers(add: str, remove: str, *, indent: str) -> list[str]:
    """SQLite's three row triggers around the statements that add NEW's counts and remove
    OLD's; `indent` keeps each migration's SQL text as it was first written."""
    lines = [
        (
            "CREATE TRIGGER catalog_sample_facet_insert AFTER INSERT ON catalog_sample",
            f"BEGIN {add} END",
        ),
        (
            "CREATE TRIGGER catalog_sample_facet_delete AFTER DELETE ON catalog_sample",
            f"BEGIN {remove} END",
        ),
        (
            "CREATE TRIGGER catalog_sample_facet_update",
            "AFTER UPDATE OF mission_id, form, pool, state, mass_ug ON catalog_sample",
            "WHEN OLD.mission_id IS NOT NEW.mission_id OR OLD.form IS NOT NEW.form",
            "  OR OLD.pool IS NOT NEW.pool OR OLD.state IS NOT NEW.state",
            "  OR OLD.mass_ug IS NOT NEW.mass_ug",
            f"BEGIN {remove} {add} END",
        ),
    ]
    return [f"\n{indent}".join(trigger) for trigger in lines]


def statements(vendor: str, *, bucketed: bool) -> list[str]:
    """The triggers, with or without the bucket (without: as migration 0004 made them)."""
    key = "mission_id, form, pool, state" + (", bucket" if bucketed else "")
    upsert = adding(key)
    if vendor == "sqlite":

        def values(row: str) -> str:
            return f"{row}.mission_id, {row}.form, {row}.pool, {row}.state" + (
                f", {bucket(f'{row}.mass_ug')}" if bucketed else ""
            )

        def match(row: str) -> str:
            return (
                f"mission_id = {row}.mission_id AND form = {row}.form AND pool = {row}.pool "
                f"AND state = {row}.state"
                + (f" AND bucket = {bucket(f'{row}.mass_ug')}" if bucketed else "")
            )

        remove = (
            f"UPDATE {FACET} SET count = count - 1, mass_ug = mass_ug - OLD.mass_ug "
            f"WHERE {match('OLD')}; DELETE FROM {FACET} WHERE {match('OLD')} AND count = 0;"
        )
        add = (
            f"INSERT INTO {FACET} ({key}, count, mass_ug) "
            f"VALUES ({values('NEW')}, 1, NEW.mass_ug) {upsert};"
        )
        return sqlite_triggers(add, remove, indent="               ")
    select = "mission_id, form, pool, state" + (f", {bucket('mass_ug')}" if bucketed else "")
    delta = {
        "INSERT": f"SELECT {select}, 1 AS n, mass_ug AS m FROM new_rows",
        "DELETE": f"SELECT {select}, -1 AS n, -mass_ug AS m FROM old_rows",
        "UPDATE": (
            f"SELECT {select}, 1 AS n, mass_ug AS m FROM new_rows "
            f"UNION ALL SELECT {select}, -1, -mass_ug FROM old_rows"
        ),
    }
    return [postgresql_function(key, delta)]


def postgresql_function(key: str, delta: dict[str, str]) -> str:
    """The trigger function: each operation's rows of (key, n, m) summed into the facet table.

    CREATE OR REPLACE: the triggers of migration 0004 keep calling this one function.
    """
    upsert = adding(key)
    groups = ", ".join(str(i) for i in range(1, key.count(",") + 2))
    apply = "\n".join(
        f"""IF TG_OP = '{op}' THEN
            INSERT INTO {FACET} ({key}, count, mass_ug)
              SELECT {key}, sum(n), sum(m) FROM ({delta[op]}) AS delta ({key}, n, m)
              GROUP BY {groups} HAVING sum(n) <> 0 OR sum(m) <> 0
              {upsert};
            GET DIAGNOSTICS changed = ROW_COUNT;
          END IF;"""
        for op in delta
    )
    return f"""CREATE OR REPLACE FUNCTION catalog_sample_facet_apply() RETURNS trigger
        LANGUAGE plpgsql AS $$
        DECLARE changed bigint := 0;
        BEGIN
          {apply}
          IF changed > 0 THEN
            DELETE FROM {FACET} WHERE count = 0;
          END IF;
          RETURN NULL;
        END $$"""


def drop_sqlite_triggers(apps, schema_editor):
    # Before the facet table is rebuilt: SQLite refuses to rename a table into place while a
    # trigger names a table that is missing.
    if schema_editor.connection.vendor == "sqlite":
        for name in ("insert", "delete", "update"):
            schema_editor.execute(f"DROP TRIGGER catalog_sample_facet_{name}")


def uninstall(apps, schema_editor):
    # Emptied too, so that the unique key without the bucket can come back; the first operation's
    # reverse fills the table again.
    drop_sqlite_triggers(apps, schema_editor)
    schema_editor.execute(f"DELETE FROM {FACET}")


def install(*, bucketed: bool):
    """The triggers, and the table filled again from the samples."""

    def run(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor in ("sqlite", "postgresql"):
            for statement in statements(vendor, bucketed=bucketed):
                schema_editor.execute(statement)
        key = "mission_id, form, pool, state" + (", bucket" if bucketed else "")
        select = "mission_id, form, pool, state" + (f", {bucket('mass_ug')}" if bucketed else "")
        groups = ", ".join(str(i) for i in range(1, key.count(",") + 2))
        schema_editor.execute(f"DELETE FROM {FACET}")
        schema_editor.execute(
            f"INSERT INTO {FACET} ({key}, count, mass_ug) "
            f"SELECT {select}, count(*), sum(mass_ug) FROM catalog_sample GROUP BY {groups}"
        )

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0007_sample_state_index")]

    operations = [
        migrations.RunPython(drop_sqlite_triggers, install(bucketed=False), elidable=False),
        migrations.RemoveConstraint(model_name="samplefacet", name="sample_facet_unique"),
        migrations.AddField(
            model_name="samplefacet",
            name="bucket",
            field=models.SmallIntegerField(default=0),
        ),
        migrations.AddConstraint(
            model_name="samplefacet",
            constraint=models.UniqueConstraint(
                fields=("mission", "form", "pool", "state", "bucket"), name="sample_facet_unique"
            ),
        ),
        migrations.RunPython(install(bucketed=True), uninstall, elidable=False),
    ]
