"""The facet table equals a GROUP BY of the samples after any mix of writes."""

import random
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from moonvault.catalog import facets, selectors
from moonvault.catalog.facets import (
    ALL_MASSES,
    MassSplit,
    bucket_bounds,
    mass_bucket,
    mass_split,
    sample_facets_drift,
    sample_facets_grouped,
    sample_facets_rebuild,
    sample_facets_stored,
)
from moonvault.catalog.generator import generate
from moonvault.catalog.models import Form, Pool, Sample, SampleFacet, State
from moonvault.catalog.selectors import SampleFilters, sample_search_counts
from moonvault.catalog.services import (
    ChildSpec,
    sample_consume,
    sample_mark_lost,
    sample_reassign_pool,
    sample_split,
    sample_weigh,
)
from moonvault.core.errors import DomainError
from tests.conftest import GRAM

pytestmark = pytest.mark.django_db


def assert_exact():
    assert sample_facets_drift() == []
    assert sample_facets_stored() == sample_facets_grouped()


def test_receiving_a_sample_counts_it(receive, mission_ce5):
    receive("CE5C0001", mission_ce5, 2 * GRAM)
    # One row for its mass bucket, one for every mass at once.
    rows = SampleFacet.objects.order_by("bucket")
    assert [(r.bucket, r.form, r.pool, r.state, r.count, r.mass_ug) for r in rows] == [
        (bucket, Form.SCOOPED_REGOLITH, Pool.RESEARCH, State.STORED, 1, 2 * GRAM)
        for bucket in (ALL_MASSES, mass_bucket(2 * GRAM))
    ]


def test_random_service_operations_keep_the_facet_table_exact(
    receive, mission_ce5, mission_a17, cabinet
):
    rng = random.Random(20240602)
    receive("CE5C0001", mission_ce5, 20 * GRAM)
    receive("74001", mission_a17, 30 * GRAM, form=Form.ROCK_FRAGMENT, pool=Pool.PERMANENT)
    for _ in range(60):
        live = list(
            Sample.objects.filter(state=State.STORED, mass_ug__gt=10).values_list("id", "mass_ug")
        )
        sample_id, mass = rng.choice(live)
        action = rng.choice(["split", "split", "weigh", "consume", "lost", "pool"])
        try:
            if action == "split":
                portion = max(1, mass // rng.randint(3, 6))
                sample_split(
                    actor=None,
                    sample_id=sample_id,
                    children=[
                        ChildSpec(portion, form=rng.choice([Form.POWDER, Form.THIN_SECTION])),
                        ChildSpec(portion, pool=rng.choice(Pool.values)),
                    ],
                    loss_ug=rng.randint(0, 5),
                )
            elif action == "weigh":
                sample_weigh(actor=None, sample_id=sample_id, measured_ug=mass + rng.randint(-3, 3))
            elif action == "consume":
                sample_consume(
                    actor=None, sample_id=sample_id, mass_ug=max(1, mass // 10), technique="SIMS"
                )
            elif action == "lost":
                sample_mark_lost(actor=None, sample_id=sample_id, reason="not found in stock check")
            else:
                sample_reassign_pool(
                    actor=None, sample_id=sample_id, pool=rng.choice(Pool.values), reason="policy"
                )
        except DomainError:
            pass  # a refused operation changes nothing, which the check below also proves
        assert_exact()
    generate(samples=300, seed=3, events_per_sample=4, batch_events=400)
    assert_exact()
    assert SampleFacet.objects.filter(count=0).count() == 0


def test_multi_row_updates_and_deletes_keep_the_facet_table_exact(mission_ce5, facility):
    rows = [
        Sample(
            identifier=f"X{i}",
            mission=mission_ce5,
            path=f"{i:07d}",
            form=Form.POWDER,
            pool=Pool.RESEARCH,
            state=State.STORED,
            location=facility,
            mass_ug=i + 1,
        )
        for i in range(10)
    ]
    Sample.objects.bulk_create(rows)
    assert_exact()
    Sample.objects.filter(mass_ug__lte=4).update(state=State.LOST, location=None)
    assert_exact()
    Sample.objects.filter(mass_ug__gt=8).update(mass_ug=100, pool=Pool.BACKUP)
    assert_exact()
    Sample.objects.filter(state=State.LOST).delete()
    assert_exact()
    Sample.objects.all().delete()
    assert SampleFacet.objects.count() == 0


def test_the_rebuild_repairs_a_damaged_table(receive, mission_ce5):
    receive("CE5C0001", mission_ce5, 2 * GRAM)
    receive("CE5C0002", mission_ce5, 3 * GRAM, form=Form.POWDER)
    SampleFacet.objects.filter(form=Form.POWDER).delete()
    SampleFacet.objects.update(count=99)
    assert len(sample_facets_drift()) == 4
    assert sample_facets_rebuild() == 4
    assert_exact()


def test_the_rebuild_command_reports_and_repairs(receive, mission_ce5, capsys):
    receive("CE5C0001", mission_ce5, 2 * GRAM)
    SampleFacet.objects.update(count=5)
    call_command("rebuild-facets", "--check")
    assert "2 facet rows differ" in capsys.readouterr().out
    call_command("rebuild-facets")
    assert_exact()
    call_command("rebuild-facets", "--check")
    assert "exact" in capsys.readouterr().out


def brute_force(filters: SampleFilters) -> tuple[int, dict[str, dict[str, int]]]:
    """The total and the non-zero facet counts, from every sample one by one."""
    samples = list(
        Sample.objects.values(
            "identifier", "mission__code", "form", "pool", "state", "mass_ug", "classification"
        )
    )

    def passes(s, skip=""):
        chosen = {"mission": ("mission__code", filters.mission)} | {
            name: (name, getattr(filters, name)) for name in ("form", "pool", "state")
        }
        return (
            all(not v or s[col] == v for name, (col, v) in chosen.items() if name != skip)
            and (filters.mass_min_ug is None or s["mass_ug"] >= filters.mass_min_ug)
            and (filters.mass_max_ug is None or s["mass_ug"] <= filters.mass_max_ug)
            and s["identifier"].startswith(filters.q)
            and filters.text.lower() in s["classification"].lower()
        )

    facets = {
        name: dict(Counter(s[column] for s in samples if passes(s, skip=name)))
        for name, column in (
            ("mission", "mission__code"),
            ("form", "form"),
            ("pool", "pool"),
            ("state", "state"),
        )
    }
    return sum(passes(s) for s in samples), facets


def nonzero(counts) -> dict[str, dict[str, int]]:
    return {
        name: {o.value: o.count for o in options if o.count}
        for name, options in counts.facets.items()
    }


def test_facet_counts_equal_counting_every_sample_under_any_filter_mix(
    receive, mission_ce5, mission_a17
):
    generate(samples=300, seed=5, events_per_sample=3, batch_events=400)
    receive("74001", mission_a17, 30 * GRAM, form=Form.ROCK_FRAGMENT, pool=Pool.PERMANENT)
    masses = sorted(Sample.objects.values_list("mass_ug", flat=True))
    rng = random.Random(7)
    cases = [
        # (filters, where the counts come from)
        (SampleFilters(), "table"),
        (SampleFilters(state="stored"), "table"),
        (SampleFilters(mission="A17", pool="permanent"), "table"),
        (SampleFilters(form="powder", pool="research", state="stored"), "table"),
        (SampleFilters(mission="NOPE"), "table"),
        # Ranges that begin and end on bucket edges (1 g and up; 20 mg to 4.999… g; nothing).
        (SampleFilters(mass_min_ug=GRAM), "table"),
        (SampleFilters(form="powder", mass_min_ug=20_000, mass_max_ug=5 * GRAM - 1), "table"),
        (SampleFilters(mass_min_ug=0, mass_max_ug=0), "table"),
        # Ranges that do not: the edge buckets come from the samples.
        (SampleFilters(mass_min_ug=masses[100], mass_max_ug=masses[250]), None),
        (SampleFilters(state="stored", mass_max_ug=masses[150]), None),
        (SampleFilters(mass_min_ug=1_500_001, mass_max_ug=1_500_002), "query"),
        (SampleFilters(q="CE5"), "query"),
        (SampleFilters(q="CE5", mission="CE5", mass_min_ug=masses[50]), "query"),
        (SampleFilters(text="basalt"), "query"),
    ]
    cases += [
        (SampleFilters(mass_min_ug=min(a, b), mass_max_ug=max(a, b)), None)
        for a, b in ((rng.choice(masses), rng.choice(masses)) for _ in range(12))
    ]
    for filters, source in cases:
        counts = sample_search_counts(filters=filters)
        total, facets = brute_force(filters)
        assert (counts.total, counts.exact) == (total, True), filters
        assert nonzero(counts) == {
            name: {v: n for v, n in found.items() if n} for name, found in facets.items()
        }, filters
        if source is not None:
            assert counts.source == source, filters
        assert counts.source in ("table", "query", "table+query")
    assert {counts.source for counts in (sample_search_counts(filters=f) for f, _ in cases)} == {
        "table",
        "query",
        "table+query",
    }


@pytest.mark.parametrize(
    ("mass", "bucket"),
    [
        (0, 0),
        (1, 1),
        (2, 2),
        (4, 2),
        (5, 3),
        (9, 3),
        (10, 4),
        (19, 4),
        (20, 5),
        (49, 5),
        (50, 6),
        (99, 6),
        (100, 7),
        (10**6, 19),
        (2**63 - 1, 57),
    ],
)
def test_mass_buckets_begin_on_round_figures(mass, bucket):
    assert mass_bucket(mass) == bucket
    low, high = bucket_bounds(bucket)
    assert low <= mass <= high
    assert mass_bucket(low) == mass_bucket(high) == bucket
    assert mass_bucket(high + 1) == bucket + 1


def test_a_mass_range_splits_into_whole_buckets_and_edges():
    assert mass_split(GRAM, None) == MassSplit(buckets=(19, 57), edges=())
    # 2 mg to 19.999 mg are whole buckets (2-4.999, 5-9.999 and 10-19.999 mg).
    assert mass_split(1_500, 25_000) == MassSplit(
        buckets=(11, 13), edges=((1_500, 1_999), (20_000, 25_000))
    )
    assert mass_split(1_500, 1_700) == MassSplit(buckets=None, edges=((1_500, 1_700),))
    assert mass_split(None, 0) == MassSplit(buckets=(0, 0), edges=())


def test_counting_stops_at_the_limit(receive, mission_ce5, monkeypatch):
    for i in range(5):
        receive(f"CE5C000{i}", mission_ce5, (i + 1) * GRAM)
    receive("CE5P0001", mission_ce5, GRAM, form=Form.POWDER)
    monkeypatch.setattr(selectors, "COUNT_LIMIT", 5)
    # Six samples start with CE5: more than the limit, counting stops.
    over = sample_search_counts(filters=SampleFilters(q="CE5"))
    assert (over.total, over.exact, over.source) == (5, False, "query")
    assert {o.count for options in over.facets.values() for o in options} == {None}
    # One powder among them: the total is exact, the options (counted without the form) are not.
    one = sample_search_counts(filters=SampleFilters(q="CE5", form="powder"))
    assert (one.total, one.exact) == (1, True)
    assert {o.count for o in one.facets["form"]} == {None}
    # Filters the facet table answers are exact at any size.
    everything = sample_search_counts(filters=SampleFilters(mass_min_ug=GRAM))
    assert (everything.total, everything.exact, everything.source) == (6, True, "table")
    # Exactly the limit is still counted in full.
    five = sample_search_counts(filters=SampleFilters(q="CE5C"))
    assert (five.total, five.exact) == (5, True)
    assert {o.value: o.count for o in five.facets["form"]}["scooped_regolith"] == 5


def test_matches_past_the_limit_are_counted_and_not_grouped(receive, mission_ce5, monkeypatch):
    for i in range(6):
        receive(f"CE5C000{i}", mission_ce5, GRAM)
    monkeypatch.setattr(selectors, "COUNT_LIMIT", 5)

    def queries(filters):
        with CaptureQueriesContext(connection) as captured:
            counts = sample_search_counts(filters=filters)
        return counts, [q["sql"] for q in captured.captured_queries]

    over, over_queries = queries(SampleFilters(q="CE5C"))
    assert not over.exact
    assert not [sql for sql in over_queries if "GROUP BY" in sql]
    within, within_queries = queries(SampleFilters(q="CE5C0001"))
    assert (within.total, within.exact) == (1, True)
    assert len([sql for sql in within_queries if "GROUP BY" in sql]) == 1
    none, none_queries = queries(SampleFilters(q="CE6"))
    assert (none.total, none.exact) == (0, True)
    assert not [sql for sql in none_queries if "GROUP BY" in sql]


@pytest.mark.parametrize("mass_min_ug", [None, GRAM])
def test_a_search_reads_the_facet_rows_from_one_index_alone(mass_min_ug):
    """Every search reads the rows of a bucket (no mass range) or sums a range of buckets: the
    facet index holds every column either read needs, so the table itself is not read."""
    with CaptureQueriesContext(connection) as queries:
        facets.facet_table_rows(buckets=mass_split(mass_min_ug, None).buckets)
    (sql,) = [q["sql"] for q in queries.captured_queries]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A test table is a few rows, which any plan reads cheaply: leave the planner only
            # the indexes.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute(f"EXPLAIN {sql}")
            expected = "Index Only Scan using sample_facet_bucket_counts"
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            expected = "USING COVERING INDEX sample_facet_bucket_counts"
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    assert expected in plan, plan
