"""Words anywhere in a sample's classification, subtype or description, found through an index.

PostgreSQL keeps the three fields upper-cased in one generated column, `search_text`, joined by
SEPARATOR, with a trigram GIN index on it (migration 0012): the text, upper-cased, is looked for
there. Upper-casing each row's fields at search time cost most of a search that counts many
matches. SQLite has no such index type, so migration 0011 gives it an FTS5 table with the
trigram tokenizer, kept by triggers; a text of three characters or more becomes a phrase query
on it. Both find the text as a substring of any one field, whatever its case.

On SQLite the index is used two ways, because a phrase query yields its samples in id order:
- counting (`sample_text_counted`) joins the phrase's matches to the samples and stops after the
  count limit, however many samples contain the text;
- a page in some sort order (`sample_text_filter`) takes the matches as a set when there are
  few; when there are many, walking the sort order and testing each sample's text reaches a
  page sooner than collecting and sorting every match (a seventh of 1,000,000 samples say
  "basalt": 0.3 s through the set, milliseconds by walking).
"""

from django.db import DatabaseError, connection, transaction
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL

from moonvault.catalog.facets import FACET_COLUMNS
from moonvault.catalog.models import Sample

TABLE = "catalog_sample_text"
INSERT_TRIGGER = "catalog_sample_text_insert"
FIELDS = ("classification", "subtype", "description")
# The trigram tokenizer indexes runs of three characters; a shorter text matches no phrase.
INDEXED_MIN = 3
# Up to this many matches a page takes them as a set; more, and it walks the sort order, which
# reads at most about 50 / (matches / samples) samples for a page of 50.
FEW_MATCHES = 2_000
_MATCHES = f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH %s"
# Joins the fields in PostgreSQL's search_text (migration 0012). A text holding it could match
# across two fields there, so such a text is compared with each field instead.
SEPARATOR = "\x1f"
# Qualified: the catalog's page joins each sample to its parent, another catalog_sample.
_SEARCH_TEXT = f'"{Sample._meta.db_table}"."search_text" LIKE UPPER(%s)'
# A B-tree entry holds at most 2,704 bytes, and a description has no length limit: the index of
# (mission, state, form, pool) that includes the search text (migration 0013) holds the samples
# whose text is at most this long; a second index lists the others. The conditions are written
# as the indexes' own, so that the planner can use them.
COVERED_BYTES = 2_000
_COVERED = f'octet_length("{Sample._meta.db_table}"."search_text") <= {COVERED_BYTES}'
_UNCOVERED = f'octet_length("{Sample._meta.db_table}"."search_text") > {COVERED_BYTES}'


def _indexed(text: str) -> bool:
    return connection.vendor == "sqlite" and len(text) >= INDEXED_MIN


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _contains(text: str) -> Q:
    if connection.vendor == "postgresql" and SEPARATOR not in text:
        pattern = f"%{connection.ops.prep_for_like_query(text)}%"
        return Q(RawSQL(_SEARCH_TEXT, [pattern], output_field=BooleanField()))
    return (
        Q(classification__icontains=text)
        | Q(subtype__icontains=text)
        | Q(description__icontains=text)
    )


def sample_text_filter(text: str) -> Q:
    """The samples whose describing fields contain `text` (stripped, not empty), for a page."""
    if not _indexed(text):
        return _contains(text)
    phrase = _phrase(text)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({_MATCHES} LIMIT {FEW_MATCHES + 1})", [phrase])
        (matches,) = cursor.fetchone()
    if matches > FEW_MATCHES:
        return _contains(text)
    return Q(pk__in=RawSQL(_MATCHES, [phrase]))


def _covered(covered: bool) -> Q:
    return Q(RawSQL(_COVERED if covered else _UNCOVERED, [], output_field=BooleanField()))


def sample_text_counted(samples: QuerySet, text: str) -> QuerySet:
    """`samples` narrowed to those containing `text`, for counting up to a limit (no filter may
    follow). On SQLite the phrase's matches drive the query, one sample looked up by id per
    match. On PostgreSQL, as rows of FACET_COLUMNS: the samples whose search text the covering
    index holds are read from it alone, without the table, and those with a longer text
    through their own index."""
    if connection.vendor == "postgresql" and SEPARATOR not in text:
        # Unordered, and only the columns the covering index holds: each part of a union keeps
        # the order and the columns it is given, and would sort or read the table for them.
        matching = samples.filter(_contains(text)).order_by().values(*FACET_COLUMNS)
        return matching.filter(_covered(True)).union(matching.filter(_covered(False)), all=True)
    if not _indexed(text):
        return samples.filter(_contains(text))
    sample_table = samples.model._meta.db_table
    return samples.extra(
        tables=[TABLE],
        where=[f"{TABLE} MATCH %s", f"{TABLE}.rowid = {sample_table}.id"],
        params=[_phrase(text)],
    )


def sample_text_add(rows) -> None:
    """Index inserted samples on SQLite: rows of (id, classification, subtype, description).

    For bulk writers that suspended the insert trigger: one prepared statement for the batch
    costs a seventh of what the trigger costs per row.
    """
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {TABLE} (rowid, {', '.join(FIELDS)}) VALUES (%s, %s, %s, %s)", rows
        )


def sample_text_exact() -> bool:
    """Whether SQLite's text index holds exactly the samples' text (always so on PostgreSQL)."""
    if connection.vendor != "sqlite":
        return True
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {TABLE} ({TABLE}, rank) VALUES ('integrity-check', 1)")
    except DatabaseError:
        return False
    return True


def sample_text_rebuild() -> bool:
    """Index every sample's text again on SQLite, for repairs; False on PostgreSQL, whose
    indexes the database itself maintains."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} ({TABLE}) VALUES ('rebuild')")
    return True
