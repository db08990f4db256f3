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

Which of these ways a search takes (`sample_text_way`) depends on the database, on the text and,
for a page on SQLite, on how many samples hold it; the text itself reaches the SQL as given, and
the database makes the pattern or phrase of it, so that a search's query can be compiled once
per way (`moonvault.core.db.FixedQuery`).
"""

from django.db import DatabaseError, connection, transaction
from django.db.models import BooleanField, Q, QuerySet, Value
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
# The text as one phrase: in double quotes, its own double quotes doubled.
_PHRASE = """('"' || REPLACE(%s, '"', '""') || '"')"""
_MATCHES = f"SELECT rowid FROM {TABLE} WHERE {TABLE} MATCH {_PHRASE}"
# Joins the fields in PostgreSQL's search_text (migration 0012). A text holding it could match
# across two fields there, so such a text is compared with each field instead.
SEPARATOR = "\x1f"
# Qualified: the catalog's page joins each sample to its parent, another catalog_sample.
_SEARCH_TEXT = f'"{Sample._meta.db_table}"."search_text" '
# A B-tree entry holds at most 2,704 bytes, and a description has no length limit: the index of
# (mission, state, form, pool) that includes the search text (migration 0013) holds the samples
# whose text is at most this long; a second index lists the others. The conditions are written
# as the indexes' own, so that the planner can use them.
COVERED_BYTES = 2_000
_COVERED = f'octet_length("{Sample._meta.db_table}"."search_text") <= {COVERED_BYTES}'
_UNCOVERED = f'octet_length("{Sample._meta.db_table}"."search_text") > {COVERED_BYTES}'


# The ways of finding a text (see the module's docstring).
SEARCH_TEXT = "search text"
FIELDS_CONTAIN = "fields contain"
PHRASE = "phrase"


def sample_text_way(text: str, *, counting: bool) -> str:
    """How the samples containing `text` (stripped, not empty) are found, to count them or to
    page through them."""
    if connection.vendor == "postgresql":
        return SEARCH_TEXT if SEPARATOR not in text else FIELDS_CONTAIN
    if len(text) < INDEXED_MIN:
        return FIELDS_CONTAIN
    if counting:
        return PHRASE
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({_MATCHES} LIMIT {FEW_MATCHES + 1})", [text])
        (matches,) = cursor.fetchone()
    return FIELDS_CONTAIN if matches > FEW_MATCHES else PHRASE


def _contains(text: str, way: str) -> Q:
    if way == SEARCH_TEXT:
        # The database escapes and upper-cases the text, as Django writes `icontains` with an
        # expression; a constant, the pattern is folded before planning and the index serves it.
        pattern = connection.pattern_ops["icontains"].format(connection.pattern_esc.format("%s"))
        return Q(RawSQL(_SEARCH_TEXT + pattern, [text], output_field=BooleanField()))
    return (
        Q(classification__icontains=Value(text))
        | Q(subtype__icontains=Value(text))
        | Q(description__icontains=Value(text))
    )


def sample_text_filter(text: str, way: str | None = None) -> Q:
    """The samples whose describing fields contain `text` (stripped, not empty), for a page;
    `way` is `sample_text_way`'s for a page, found when not given."""
    way = way or sample_text_way(text, counting=False)
    if way == PHRASE:
        return Q(pk__in=RawSQL(_MATCHES, [text]))
    return _contains(text, way)


def _covered(covered: bool) -> Q:
    return Q(RawSQL(_COVERED if covered else _UNCOVERED, [], output_field=BooleanField()))


def sample_text_counted(samples: QuerySet, text: str, way: str | None = None) -> QuerySet:
    """`samples` narrowed to those containing `text`, for counting up to a limit (no filter may
    follow); `way` is `sample_text_way`'s for counting, found when not given. On SQLite the
    phrase's matches drive the query, one sample looked up by id per match. On PostgreSQL, as
    rows of FACET_COLUMNS: the samples whose search text the covering index holds are read from
    it alone, without the table, and those with a longer text through their own index."""
    way = way or sample_text_way(text, counting=True)
    if way == SEARCH_TEXT:
        # Unordered, and only the columns the covering index holds: each part of a union keeps
        # the order and the columns it is given, and would sort or read the table for them.
        matching = samples.filter(_contains(text, way)).order_by().values(*FACET_COLUMNS)
        return matching.filter(_covered(True)).union(matching.filter(_covered(False)), all=True)
    if way == FIELDS_CONTAIN:
        return samples.filter(_contains(text, way))
    sample_table = samples.model._meta.db_table
    return samples.extra(
        tables=[TABLE],
        where=[f"{TABLE} MATCH {_PHRASE}", f"{TABLE}.rowid = {sample_table}.id"],
        params=[text],
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
