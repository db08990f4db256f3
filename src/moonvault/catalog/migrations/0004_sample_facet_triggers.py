"""Triggers that keep catalog_samplefacet exact, its first filling, and trigram indexes.

Triggers rather than code in the services, because samples are also written by bulk COPY
(custody/bulk.py), the admin and data migrations. PostgreSQL uses statement-level triggers with
transition tables: a COPY of a million rows changes the facet table once per statement, grouped,
instead of once per row. SQLite has only row-level triggers; each one touches at most two facet
rows. Facet rows whose count falls to zero are deleted, so the table always equals
`SELECT mission_id, form, pool, state, count(*), sum(mass_ug) FROM catalog_sample GROUP BY 1, 2, 3, 4`.
"""

from django.db import migrations

from moonvault.core.db import sql_by_vendor

FACET = "catalog_samplefacet"
KEY = "mission_id, form, pool, state"
UPSERT = (
    f"ON CONFLICT ({KEY}) DO UPDATE SET count = {FACET}.count + excluded.count, "
    f"mass_ug = {FACET}.mass_ug + excluded.mass_ug"
)
FILL = (
    f"INSERT INTO {FACET} ({KEY}, count, mass_ug) "
    f"SELECT {KEY}, count(*), sum(mass_ug) FROM catalog_sample GROUP BY {KEY}"
)

SQLITE = [
    f"""CREATE TRIGGER catalog_sample_facet_insert AFTER INSERT ON catalog_sample
       BEGIN
         INSERT INTO {FACET} ({KEY}, count, mass_ug)
           VALUES (NEW.mission_id, NEW.form, NEW.pool, NEW.state, 1, NEW.mass_ug) {UPSERT};
       END""",
    f"""CREATE TRIGGER catalog_sample_facet_delete AFTER DELETE ON catalog_sample
       BEGIN
         UPDATE {FACET} SET count = count - 1, mass_ug = mass_ug - OLD.mass_ug
           WHERE mission_id = OLD.mission_id AND form = OLD.form AND pool = OLD.pool
             AND state = OLD.state;
         DELETE FROM {FACET} WHERE mission_id = OLD.mission_id AND form = OLD.form
           AND pool = OLD.pool AND state = OLD.state AND count = 0;
       END""",
    f"""CREATE TRIGGER catalog_sample_facet_update
       AFTER UPDATE OF mission_id, form, pool, state, mass_ug ON catalog_sample
       WHEN OLD.mission_id IS NOT NEW.mission_id OR OLD.form IS NOT NEW.form
         OR OLD.pool IS NOT NEW.pool OR OLD.state IS NOT NEW.state
         OR OLD.mass_ug IS NOT NEW.mass_ug
       BEGIN
         UPDATE {FACET} SET count = count - 1, mass_ug = mass_ug - OLD.mass_ug
           WHERE mission_id = OLD.mission_id AND form = OLD.form AND pool = OLD.pool
             AND state = OLD.state;
         INSERT INTO {FACET} ({KEY}, count, mass_ug)
           VALUES (NEW.mission_id, NEW.form, NEW.pool, NEW.state, 1, NEW.mass_ug) {UPSERT};
         DELETE FROM {FACET} WHERE mission_id = OLD.mission_id AND form = OLD.form
           AND pool = OLD.pool AND state = OLD.state AND count = 0;
       END""",
]
SQLITE_REVERSE = [
    "DROP TRIGGER catalog_sample_facet_insert",
    "DROP TRIGGER catalog_sample_facet_delete",
    "DROP TRIGGER catalog_sample_facet_update",
]

# One function for the three triggers; each statement only names the transition tables its
# trigger defines, and PL/pgSQL plans a statement only when it first runs.
_PG_DELTA = {
    "INSERT": f"SELECT {KEY}, 1 AS n, mass_ug AS m FROM new_rows",
    "DELETE": f"SELECT {KEY}, -1 AS n, -mass_ug AS m FROM old_rows",
    "UPDATE": (
        f"SELECT {KEY}, 1 AS n, mass_ug AS m FROM new_rows "
        f"UNION ALL SELECT {KEY}, -1, -mass_ug FROM old_rows"
    ),
}


def _pg_apply(op: str) -> str:
    return f"""IF TG_OP = '{op}' THEN
        INSERT INTO {FACET} ({KEY}, count, mass_ug)
          SELECT {KEY}, sum(n), sum(m) FROM ({_PG_DELTA[op]}) AS delta
          GROUP BY {KEY} HAVING sum(n) <> 0 OR sum(m) <> 0
          {UPSERT};
        GET DIAGNOSTICS changed = ROW_COUNT;
      END IF;"""


POSTGRESQL = [
    f"""CREATE FUNCTION catalog_sample_facet_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE changed bigint := 0;
    BEGIN
      {_pg_apply("INSERT")}
      {_pg_apply("DELETE")}
      {_pg_apply("UPDATE")}
      IF changed > 0 THEN
        DELETE FROM {FACET} WHERE count = 0;
      END IF;
      RETURN NULL;
    END $$""",
    """CREATE TRIGGER catalog_sample_facet_insert AFTER INSERT ON catalog_sample
       REFERENCING NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION catalog_sample_facet_apply()""",
    """CREATE TRIGGER catalog_sample_facet_delete AFTER DELETE ON catalog_sample
       REFERENCING OLD TABLE AS old_rows
       FOR EACH STATEMENT EXECUTE FUNCTION catalog_sample_facet_apply()""",
    """CREATE TRIGGER catalog_sample_facet_update AFTER UPDATE ON catalog_sample
       REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
       FOR EACH STATEMENT EXECUTE FUNCTION catalog_sample_facet_apply()""",
    # Words inside classification, subtype and description: Django's icontains compares
    # UPPER(column::text) LIKE UPPER(pattern), which these indexes answer for 3+ characters.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """CREATE INDEX sample_classification_trgm ON catalog_sample
       USING gin ((UPPER(classification::text)) gin_trgm_ops)""",
    """CREATE INDEX sample_subtype_trgm ON catalog_sample
       USING gin ((UPPER(subtype::text)) gin_trgm_ops)""",
    """CREATE INDEX sample_description_trgm ON catalog_sample
       USING gin ((UPPER(description::text)) gin_trgm_ops)""",
]
POSTGRESQL_REVERSE = [
    "DROP INDEX sample_description_trgm",
    "DROP INDEX sample_subtype_trgm",
    "DROP INDEX sample_classification_trgm",
    "DROP TRIGGER catalog_sample_facet_update ON catalog_sample",
    "DROP TRIGGER catalog_sample_facet_delete ON catalog_sample",
    "DROP TRIGGER catalog_sample_facet_insert ON catalog_sample",
    "DROP FUNCTION catalog_sample_facet_apply()",
]


def fill(apps, schema_editor):
    schema_editor.execute(f"DELETE FROM {FACET}")
    schema_editor.execute(FILL)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_sample_facets")]

    operations = [
        migrations.RunPython(
            sql_by_vendor({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            sql_by_vendor({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
