"""The facet table also holds, per mission, form, pool and state, a row for every mass at once.

Its bucket is -1 (`catalog.facets.ALL_MASSES`). A search without a mass range reads those rows
alone, a few hundred, instead of summing thousands of bucket rows on every request. The
triggers of migration 0008 are replaced by the same triggers writing both rows.
"""

import importlib

from django.db import migrations, models

FACET = "catalog_samplefacet"
KEY = "mission_id, form, pool, state, bucket"
COLUMNS = "mission_id, form, pool, state"
previous = importlib.import_module("moonvault.catalog.migrations.0008_sample_facet_mass_bucket")
bucket = previous.bucket
UPSERT = previous.adding(KEY)


def sqlite_triggers() -> list[str]:
    def buckets(row: str) -> tuple[str, str]:
        return bucket(f"{row}.mass_ug"), "-1"

    match = (
        "mission_id = OLD.mission_id AND form = OLD.form AND pool = OLD.pool "
        "AND state = OLD.state AND bucket = "
    )
    remove = " ".join(
        f"UPDATE {FACET} SET count = count - 1, mass_ug = mass_ug - OLD.mass_ug "
        f"WHERE {match}{b}; DELETE FROM {FACET} WHERE {match}{b} AND count = 0;"
        for b in buckets("OLD")
    )
    add = " ".join(
        f"INSERT INTO {FACET} ({KEY}, count, mass_ug) VALUES (NEW.mission_id, NEW.form, "
        f"NEW.pool, NEW.state, {b}, 1, NEW.mass_ug) {UPSERT};"
        for b in buckets("NEW")
    )
    return previous.sqlite_triggers(add, remove, indent="           ")


def postgresql_function() -> str:
    def rows(table: str, sign: str) -> str:
        return " UNION ALL ".join(
            f"SELECT {COLUMNS}, {b}, {sign}1, {sign}mass_ug FROM {table}"
            for b in (bucket("mass_ug"), "-1")
        )

    delta = {
        "INSERT": rows("new_rows", ""),
        "DELETE": rows("old_rows", "-"),
        "UPDATE": rows("new_rows", "") + " UNION ALL " + rows("old_rows", "-"),
    }
    return previous.postgresql_function(KEY, delta)


def install(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        previous.drop_sqlite_triggers(apps, schema_editor)
        for statement in sqlite_triggers():
            schema_editor.execute(statement)
    elif vendor == "postgresql":
        schema_editor.execute(postgresql_function())
    schema_editor.execute(f"DELETE FROM {FACET}")
    for bucketed in (bucket("mass_ug"), "-1"):
        schema_editor.execute(
            f"INSERT INTO {FACET} ({KEY}, count, mass_ug) SELECT {COLUMNS}, {bucketed}, "
            f"count(*), sum(mass_ug) FROM catalog_sample GROUP BY 1, 2, 3, 4, 5"
        )


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        previous.drop_sqlite_triggers(apps, schema_editor)
    previous.install(bucketed=True)(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0009_sample_sort_indexes")]

    operations = [
        migrations.AddIndex(
            model_name="samplefacet",
            index=models.Index(fields=["bucket"], name="sample_facet_bucket"),
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
