"""SQLite: a trigram full-text index on the samples' describing fields.

PostgreSQL answers `icontains` on classification, subtype and description from the trigram GIN
indexes of migration 0004; SQLite had to read every sample. An FTS5 table with the trigram
tokenizer finds any substring of three characters or more, case-insensitively, and keeps no copy
of the text (`content=` points at the samples). Triggers keep it in step with every writer,
bulk loads included; an update that leaves the three fields alone does not touch it.
"""

from django.db import migrations

from moonvault.core.db import sql_by_vendor

TEXT = "catalog_sample_text"
COLUMNS = "classification, subtype, description"


def _values(row: str) -> str:
    return f"{row}.classification, {row}.subtype, {row}.description"


FORWARD = [
    f"""CREATE VIRTUAL TABLE {TEXT} USING fts5({COLUMNS}, content='catalog_sample',
       content_rowid='id', tokenize='trigram')""",
    f"INSERT INTO {TEXT} ({TEXT}) VALUES ('rebuild')",
    f"""CREATE TRIGGER {TEXT}_insert AFTER INSERT ON catalog_sample
       BEGIN
         INSERT INTO {TEXT} (rowid, {COLUMNS}) VALUES (NEW.id, {_values("NEW")});
       END""",
    f"""CREATE TRIGGER {TEXT}_delete AFTER DELETE ON catalog_sample
       BEGIN
         INSERT INTO {TEXT} ({TEXT}, rowid, {COLUMNS}) VALUES ('delete', OLD.id, {_values("OLD")});
       END""",
    f"""CREATE TRIGGER {TEXT}_update AFTER UPDATE OF {COLUMNS} ON catalog_sample
       WHEN OLD.classification IS NOT NEW.classification OR OLD.subtype IS NOT NEW.subtype
         OR OLD.description IS NOT NEW.description
       BEGIN
         INSERT INTO {TEXT} ({TEXT}, rowid, {COLUMNS}) VALUES ('delete', OLD.id, {_values("OLD")});
         INSERT INTO {TEXT} (rowid, {COLUMNS}) VALUES (NEW.id, {_values("NEW")});
       END""",
]
REVERSE = [
    f"DROP TRIGGER {TEXT}_update",
    f"DROP TRIGGER {TEXT}_delete",
    f"DROP TRIGGER {TEXT}_insert",
    f"DROP TABLE {TEXT}",
]


class Migration(migrations.Migration):
    dependencies = [("catalog", "0010_sample_facet_totals")]

    operations = [migrations.RunPython(sql_by_vendor({"sqlite": FORWARD}), sql_by_vendor({"sqlite": REVERSE}))]
