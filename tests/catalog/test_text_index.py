"""Text search through an index: SQLite's trigram FTS5 table, PostgreSQL's trigram GIN index on
its upper-cased search column.

The indexed search must find exactly what a plain case-insensitive substring test over
classification, subtype and description finds, after every kind of write: one sample at a time
(triggers), field updates, bulk loads (trigger suspended, one statement per batch).
"""

import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from moonvault.catalog import selectors, text_index
from moonvault.catalog.generator import CLASSIFICATIONS, generate
from moonvault.catalog.models import Sample
from moonvault.catalog.selectors import (
    SampleFilters,
    sample_search,
    sample_search_counts,
    sample_search_rows,
)
from moonvault.catalog.text_index import (
    TABLE,
    sample_text_counted,
    sample_text_exact,
    sample_text_filter,
)
from moonvault.core.db import FixedQuery
from tests.conftest import GRAM

pytestmark = pytest.mark.django_db

sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own text index")
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's own text index"
)

TEXTS = {
    "A": ("Mare basalt", "ilmenite", 'Coarse-grained, 50% plagioclase; "vesicular" top'),
    "B": ("Regolith breccia", "", "Clasts of basalt and anorthosite_rich glass"),
    "C": ("Soil", "", "嫦娥五号 玄武岩 fines"),
}


@pytest.fixture
def described(mission_ce5, receive):
    for suffix, (classification, subtype, description) in TEXTS.items():
        sample = receive(f"CE5-TXT-{suffix}", mission_ce5, GRAM)
        sample.classification, sample.subtype, sample.description = (
            classification,
            subtype,
            description,
        )
        sample.save()


def plain(text: str) -> set[str]:
    """What a substring test over the three fields gives, in Python."""
    folded = text.casefold()
    return {
        f"CE5-TXT-{suffix}"
        for suffix, fields in TEXTS.items()
        if any(folded in field.casefold() for field in fields)
    }


def found(text: str) -> set[str]:
    """What a page's filter finds; on SQLite through the set of matches (few of them)."""
    return set(Sample.objects.filter(sample_text_filter(text)).values_list("identifier", flat=True))


def counted(text: str) -> int:
    """How many samples counting finds: on SQLite, the matches joined to the samples; on
    PostgreSQL, those the covering index holds and those it does not."""
    return sample_text_counted(Sample.objects.all(), text).count()


def walked(text: str, monkeypatch) -> set[str]:
    """What a page's filter finds when the matches are too many to take as a set."""
    monkeypatch.setattr(text_index, "FEW_MATCHES", 0)
    return found(text)


@pytest.mark.parametrize(
    "text",
    [
        "basalt",
        "BASALT",
        "mare bas",
        "grained, 50%",
        "50%",
        "e_r",
        "_rich",
        '"vesicular"',
        'r" top',
        "玄武岩",
        "五号 玄",
        "ilm",
        "il",
        "s",
        "anorthosite",
        "olivine",
        "t a",
        # The end of one field and the start of the next are not one text.
        "basaltilmenite",
        "basalt ilmenite",
        "basalt\x1filmenite",
        "\x1f",
    ],
)
def test_the_index_finds_what_a_substring_test_finds(described, text, monkeypatch):
    assert found(text) == plain(text)
    assert counted(text) == len(plain(text))
    assert walked(text, monkeypatch) == plain(text)


@pytest.mark.parametrize("few", [0, 2_000])
def test_text_searches_are_compiled_once_per_way_and_find_what_a_substring_test_finds(
    described, monkeypatch, few
):
    """The text is a parameter of the compiled queries, as given: the database escapes it into
    its pattern or phrase, so texts with wildcards, quotes or other scripts share them."""
    monkeypatch.setattr(text_index, "FEW_MATCHES", few)
    compiled = []
    compile_ = FixedQuery._compile

    def counted_compile(query, using):
        compiled.append(query)
        return compile_(query, using)

    monkeypatch.setattr(FixedQuery, "_compile", counted_compile)
    selectors._page_query.cache_clear()
    selectors._counting_query.cache_clear()
    # Each held by a sample or two: one way of finding them on each database and for each FEW.
    for n, text in enumerate(["basalt", "50%", "e_r", '"vesicular"', "玄武岩", 'r" top']):
        filters = SampleFilters(text=text)
        counts = sample_search_counts(filters=filters)
        rows = sample_search_rows(filters=filters, offset=0, limit=10, counts=counts)
        assert {row["identifier"] for row in rows} == plain(text), text
        assert (counts.total, counts.exact) == (len(plain(text)), True)
        # The page, the count and the grouping of the facets, compiled for the first text only.
        assert len(compiled) == 3, (n, text)


def test_a_long_description_is_kept_found_and_counted(described, mission_a17):
    # Some 13 KB that do not compress, then the words looked for: longer than any B-tree entry.
    noise = " ".join(hashlib.sha256(str(n).encode()).hexdigest() for n in range(200))
    sample = Sample.objects.get(identifier="CE5-TXT-C")
    sample.description = f"{noise} shocked plagioclase rim"
    sample.save()
    assert found("shocked plagioclase") == {"CE5-TXT-C"}
    assert (counted("shocked plagioclase"), counted("plagioclase")) == (1, 2)
    for mission, total in (("CE5", 1), ("A17", 0)):
        filters = SampleFilters(text="Shocked plagioclase", mission=mission, state="stored")
        counts = sample_search_counts(filters=filters)
        assert (counts.total, counts.exact) == (total, True)
        assert [s.identifier for s in sample_search(filters=filters)] == ["CE5-TXT-C"][:total]


def test_a_changed_field_is_found_by_its_new_text_only(described):
    sample = Sample.objects.get(identifier="CE5-TXT-C")
    sample.description = "Orange volcanic glass"
    sample.save()
    assert found("orange glass") == set()
    assert found("orange volcanic") == {"CE5-TXT-C"}
    assert found("玄武岩") == set()
    # A bulk UPDATE, which no model method sees, is indexed as well.
    Sample.objects.filter(identifier="CE5-TXT-A").update(subtype="high-Ti")
    assert found("high-ti") == {"CE5-TXT-A"}
    assert found("ilmenite") == set()
    assert sample_text_exact()


@postgresql_only
def test_postgresql_finds_text_through_the_trigram_index_of_its_search_column(described):
    sql, params = (
        Sample.objects.filter(sample_text_filter("plagioclase"))
        .values("pk")
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        # On a few rows any plan is cheap: leave the planner no way but through an index
        # condition, which only an index on the text can give.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "sample_search_text_trgm" in plan


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_postgresql_counts_a_text_with_a_mission_from_one_index_alone():
    generate(samples=5_000, seed=3, events_per_sample=1, batch_events=5_000)
    mission = Sample.objects.values_list("mission__code", flat=True).first()
    filters = SampleFilters(text="breccia", mission=mission, state="stored")
    _counts, queries = counts_and_queries(filters)
    # The total, with the mission; the other count is of the text alone, for the facets.
    (sql,) = [sql for sql in queries if sql.startswith("SELECT COUNT(*)") and mission in sql]
    with connection.cursor() as cursor:
        # VACUUM marks the pages all visible, as on a settled inventory: the count then reads
        # the mission's entries of the index, which holds every column it tests, and not the
        # table.
        cursor.execute("VACUUM ANALYZE catalog_sample")
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using sample_facets_text" in plan, plan


@pytest.mark.parametrize("few", [0, 2_000])
def test_text_combines_with_the_other_filters(described, mission_a17, receive, monkeypatch, few):
    monkeypatch.setattr(text_index, "FEW_MATCHES", few)
    other = receive("74001,6040", mission_a17, GRAM)
    Sample.objects.filter(pk=other.pk).update(classification="Volcanic glass beads")
    everything = sample_search(filters=SampleFilters(text="glass"))
    assert {s.identifier for s in everything} == {"CE5-TXT-B", "74001,6040"}
    only_a17 = SampleFilters(text="glass", mission="A17")
    assert [s.identifier for s in sample_search(filters=only_a17)] == ["74001,6040"]
    counts = sample_search_counts(filters=only_a17)
    assert (counts.total, counts.exact, counts.source) == (1, True, "query")
    by_mission = {o.value: o.count for o in counts.facets["mission"]}
    assert (by_mission["CE5"], by_mission["A17"]) == (1, 1)
    with_prefix = sample_search_counts(filters=SampleFilters(text="glass", q="CE5-TXT"))
    assert with_prefix.total == 1


def counts_and_queries(filters: SampleFilters) -> tuple:
    with CaptureQueriesContext(connection) as queries:
        counts = sample_search_counts(filters=filters)
    return counts, [query["sql"] for query in queries.captured_queries]


def test_a_mission_that_does_not_exist_matches_nothing_without_counting(described, monkeypatch):
    # More text matches than the limit, so that the total would be counted with the mission.
    monkeypatch.setattr(selectors, "COUNT_LIMIT", 1)
    counts, queries = counts_and_queries(SampleFilters(text="basalt", mission="NOPE"))
    assert (counts.total, counts.exact, counts.source) == (0, True, "query")
    assert not [sql for sql in queries if "NOPE" in sql]
    assert sample_search(filters=SampleFilters(text="basalt", mission="NOPE")).count() == 0


def test_past_the_limit_with_every_filter_the_matches_are_not_grouped(described, monkeypatch):
    monkeypatch.setattr(selectors, "COUNT_LIMIT", 1)
    counts, queries = counts_and_queries(SampleFilters(text="basalt", mission="CE5"))
    assert (counts.total, counts.exact) == (1, False)
    assert {option.count for options in counts.facets.values() for option in options} == {None}
    assert not [sql for sql in queries if "GROUP BY" in sql]
    # Within the limit with every filter, the facets are grouped and counted as before.
    monkeypatch.setattr(selectors, "COUNT_LIMIT", 2)
    counts, queries = counts_and_queries(SampleFilters(text="basalt", mission="CE5"))
    assert (counts.total, counts.exact) == (2, True)
    assert {o.value: o.count for o in counts.facets["mission"]}["CE5"] == 2


def test_bulk_generated_samples_are_indexed_and_the_trigger_is_back(db, receive, mission_ce5):
    generate(samples=300, seed=5, events_per_sample=2, batch_events=200)
    present = set(Sample.objects.values_list("classification", flat=True))
    assert len(present & set(CLASSIFICATIONS)) > 1
    for classification in present & set(CLASSIFICATIONS):
        word = classification.split()[-1]
        expected = Sample.objects.filter(
            Q(classification__icontains=word)
            | Q(subtype__icontains=word)
            | Q(description__icontains=word)
        ).count()
        assert Sample.objects.filter(sample_text_filter(word)).count() == expected
    assert sample_text_exact()
    # The per-row trigger is back: a sample received afterwards is found at once.
    later = receive("CE5-LATER", mission_ce5, GRAM)
    Sample.objects.filter(pk=later.pk).update(description="late arrival")
    assert found("late arr") == {"CE5-LATER"}


@sqlite_only
def test_the_repair_command_reports_and_rebuilds_a_damaged_index(described):
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {TABLE} ({TABLE}) VALUES ('delete-all')")
    assert found("basalt") == set()
    out = StringIO()
    call_command("rebuild-facets", "--check", stdout=out)
    assert "the text index differs from the samples" in out.getvalue()
    out = StringIO()
    call_command("rebuild-facets", stdout=out)
    assert "text index rebuilt" in out.getvalue()
    assert found("basalt") == {"CE5-TXT-A", "CE5-TXT-B"}
    out = StringIO()
    call_command("rebuild-facets", "--check", stdout=out)
    assert "the text index is exact" in out.getvalue()
