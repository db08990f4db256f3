"""FixedQuery: a read compiled once, run with new parameters, answering as the ORM would."""

from decimal import Decimal

import pytest

from moonvault.catalog.models import Sample
from moonvault.core.db import FixedQuery
from tests.conftest import GRAM

COLUMNS = ("identifier", "pristine", "pristinity_pct", "created_at", "mass_ug", "location__code")


def by_identifier(identifier: str):
    return Sample.objects.filter(identifier=identifier).order_by().values_list(*COLUMNS)


@pytest.fixture
def two(receive, mission_ce5):
    first = receive("CE5C0001", mission_ce5, 2 * GRAM)
    second = receive("CE5C0002", mission_ce5, 3 * GRAM)
    Sample.objects.filter(pk=second.pk).update(pristine=False, pristinity_pct=Decimal("87.50"))
    return first, second


def test_the_query_is_built_once_and_each_call_binds_its_own_values(two, django_assert_num_queries):
    builds = []

    def build(identifier):
        builds.append(identifier)
        return by_identifier(identifier)

    query = FixedQuery(Sample, build, identifier=str)
    with django_assert_num_queries(1):
        assert [row[0] for row in query.rows(identifier="CE5C0001")] == ["CE5C0001"]
    with django_assert_num_queries(1):
        assert [row[0] for row in query.rows(identifier="CE5C0002")] == ["CE5C0002"]
    assert query.rows(identifier="no such sample") == []
    assert len(builds) == 1
    assert "CE5C000" not in builds[0]


def test_a_query_around_the_built_one_reads_from_it(two):
    """`around` counts or groups the built query's rows, with the parameters still in place."""
    query = FixedQuery(
        Sample,
        lambda least: Sample.objects.filter(mass_ug__gte=least).values("pk"),
        "SELECT COUNT(*) FROM ({}) AS matches",
        least=int,
    )
    assert query.rows(least=2 * GRAM) == [(2,)]
    assert query.rows(least=3 * GRAM) == [(1,)]
    assert query.rows(least=4 * GRAM) == [(0,)]


def test_rows_come_back_as_the_orm_gives_them(two):
    """Booleans, decimals and aware datetimes, through the ORM's own converters (SQLite stores
    them as integers and text); a join's column too."""
    query = FixedQuery(Sample, by_identifier, identifier=str)
    for sample in two:
        rows = query.rows(identifier=sample.identifier)
        assert rows == list(by_identifier(sample.identifier))
        assert isinstance(rows[0][1], bool)
        assert rows[0][3].tzinfo is not None
    assert query.rows(identifier="CE5C0002")[0][1:3] == (False, Decimal("87.50"))


def test_integer_parameters_and_constants_keep_their_places(two):
    second = two[1]
    query = FixedQuery(
        Sample,
        lambda least, most: (
            Sample.objects.filter(mass_ug__gte=least, mass_ug__lte=most, pristine=True)
            .order_by("identifier")
            .values_list("identifier", flat=True)
        ),
        least=int,
        most=int,
    )
    assert query.rows(least=GRAM, most=5 * GRAM) == [("CE5C0001",)]
    assert query.rows(least=3 * GRAM, most=3 * GRAM) == []
    Sample.objects.filter(pk=second.pk).update(pristine=True)
    assert query.rows(least=3 * GRAM, most=3 * GRAM) == [("CE5C0002",)]


@pytest.mark.django_db
def test_a_parameter_the_query_transforms_is_refused():
    """A prefix lookup binds the value with a wildcard appended: compiled with the stand-in, the
    query would keep looking for the stand-in's prefix, so it is refused instead of run."""
    query = FixedQuery(
        Sample,
        lambda prefix: Sample.objects.filter(identifier__startswith=prefix).values_list("id"),
        prefix=str,
    )
    with pytest.raises(ValueError, match=r"^prefix: transformed on its way into the query$"):
        query.rows(prefix="CE5")


@pytest.mark.django_db
def test_a_parameter_the_query_leaves_out_is_refused():
    query = FixedQuery(
        Sample,
        lambda identifier, least: Sample.objects.filter(identifier=identifier).values_list("id"),
        identifier=str,
        least=int,
    )
    with pytest.raises(ValueError, match=r"^least: not found in the query$"):
        query.rows(identifier="CE5C0001", least=0)
