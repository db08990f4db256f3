"""The facet table equals a GROUP BY of the samples after any mix of writes."""

import random

import pytest
from django.core.management import call_command

from moonvault.catalog.facets import (
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
    (row,) = SampleFacet.objects.all()
    assert (row.form, row.pool, row.state, row.count, row.mass_ug) == (
        Form.SCOOPED_REGOLITH,
        Pool.RESEARCH,
        State.STORED,
        1,
        2 * GRAM,
    )


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
    assert len(sample_facets_drift()) == 2
    assert sample_facets_rebuild() == 2
    assert_exact()


def test_the_rebuild_command_reports_and_repairs(receive, mission_ce5, capsys):
    receive("CE5C0001", mission_ce5, 2 * GRAM)
    SampleFacet.objects.update(count=5)
    call_command("rebuild-facets", "--check")
    assert "1 facet row differs" in capsys.readouterr().out
    call_command("rebuild-facets")
    assert_exact()
    call_command("rebuild-facets", "--check")
    assert "exact" in capsys.readouterr().out


def test_facet_counts_from_the_table_equal_counts_from_the_query(receive, mission_ce5, mission_a17):
    generate(samples=200, seed=5, events_per_sample=3, batch_events=400)
    receive("74001", mission_a17, 30 * GRAM, form=Form.ROCK_FRAGMENT, pool=Pool.PERMANENT)
    for filters in [
        SampleFilters(),
        SampleFilters(state="stored"),
        SampleFilters(mission="A17", pool="permanent"),
        SampleFilters(form="powder", pool="research", state="stored"),
        SampleFilters(mission="NOPE"),
    ]:
        table = sample_search_counts(filters=filters)
        # A mass range that every sample passes forces the counting query.
        query = sample_search_counts(
            filters=SampleFilters(**{**filters.__dict__, "mass_min_ug": 0})
        )
        assert (table.source, query.source) == ("table", "query")
        assert table.total == query.total
        assert table.facets == query.facets
