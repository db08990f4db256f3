"""The release tables group what each allocation records when it is made (its mission, the PI's
institution and country then): they equal the joins they read before (allocation → requested
item → proposal → PI → person → institution), and mass released to an institution stays with it
when the PI moves."""

from datetime import timedelta

import pytest
from django.db.models import Count, Sum
from django.db.models.functions import ExtractYear
from django.utils import timezone

from moonvault.accounts.models import Person
from moonvault.allocation.models import Allocation
from moonvault.catalog.models import Mission
from moonvault.web import selectors as pages

pytestmark = pytest.mark.django_db

PI_INSTITUTION = "item__proposal__pi__person__institution"
# Each release table's key columns, and the fields the joins read them from.
BY_JOINS = {
    "released-by-mission": [("mission", "item__mission__code")],
    "released-by-country": [("country", f"{PI_INSTITUTION}__country")],
    "released-by-institution": [
        ("institution", f"{PI_INSTITUTION}__name"),
        ("country", f"{PI_INSTITUTION}__country"),
    ],
}
SELECTORS = {
    "released-by-mission": pages.released_by_mission,
    "released-by-country": pages.released_by_country,
    "released-by-institution": pages.released_by_institution,
}


def by_joins(slug: str) -> list[dict]:
    """The table as it was read until the facts were recorded: grouped over the joins."""
    keys = BY_JOINS[slug]
    fields = [field for _key, field in keys]
    rows = (
        Allocation.objects.values(*fields)
        .annotate(mass_ug=Sum("mass_ug"), allocations=Count("id"))
        .order_by("-mass_ug", *fields)
    )
    return [
        {
            **{key: "" if row[field] is None else row[field] for key, field in keys},
            "mass_ug": row["mass_ug"],
            "allocations": row["allocations"],
        }
        for row in rows
    ]


def by_year(allocations) -> list[dict]:
    rows = (
        allocations.annotate(year=ExtractYear("created_at"))
        .values("year")
        .annotate(mass_ug=Sum("mass_ug"), allocations=Count("id"))
        .order_by("year")
    )
    return [dict(row) for row in rows]


def released_last_year() -> dict[str, int]:
    since = timezone.now() - pages.RELEASE_RATE_WINDOW
    return {
        code: sum(
            a.mass_ug
            for a in Allocation.objects.filter(item__mission__code=code, created_at__gte=since)
        )
        for code in Mission.objects.values_list("code", flat=True)
    }


def test_each_release_table_equals_the_joins(release_programme):
    for slug, build in SELECTORS.items():
        expected = by_joins(slug)
        assert build().rows == expected, slug
        if slug != "released-by-mission":
            first = build(limit=2)
            assert (first.rows, first.total) == (expected[:2], len(expected)), slug
    # The programme has what the tables must tell apart.
    institutions = pages.released_by_institution().rows
    assert {"", "CN", "FR", "US", "DE"} == {r["country"] for r in institutions}
    assert {"institution": "", "country": "", "mass_ug": 800_000, "allocations": 2} in institutions
    assert len(pages.released_by_country().rows) == 5
    assert len(pages.released_by_mission().rows) == 3


def test_the_years_the_remaining_table_and_the_mission_accounts_equal_the_joins(
    release_programme,
):
    assert pages.released_by_year().rows == by_year(Allocation.objects.all())
    assert len(pages.released_by_year().rows) == 6
    for mission in Mission.objects.all():
        mine = Allocation.objects.filter(item__mission=mission)
        assert pages.released_by_year(mission=mission).rows == by_year(mine)
        allocated = pages.mission_accounting(mission=mission).allocated_ug
        assert allocated == sum(a.mass_ug for a in mine)
    remaining = {r["mission"]: r["released_last_year_ug"] for r in pages.mission_remaining().rows}
    assert remaining == released_last_year()
    assert remaining["CE6"] == 450_000
    assert remaining["CE5"] == 270_000


def test_mass_released_to_an_institution_stays_with_it_when_the_pi_moves(release_programme):
    before = {slug: build().rows for slug, build in SELECTORS.items()}
    years = pages.released_by_year().rows
    brown = release_programme.institutions["brown"]
    Person.objects.filter(user=release_programme.pis["mover"]).update(institution=brown)
    Person.objects.filter(user=release_programme.pis["unaffiliated"]).update(institution=brown)
    for slug, build in SELECTORS.items():
        assert build().rows == before[slug], slug
    assert pages.released_by_year().rows == years
    # The joins follow the PIs to their new institution; the released mass does not.
    assert by_joins("released-by-country") != before["released-by-country"]
    germany = [r for r in before["released-by-country"] if r["country"] == "DE"]
    assert germany == [{"country": "DE", "mass_ug": 2_120_000, "allocations": 2}]
    assert "DE" not in {r["country"] for r in by_joins("released-by-country")}


def test_a_year_of_releases_counts_only_the_last_365_days(release_programme):
    now = timezone.now()
    rows = {r["mission"]: r for r in pages.mission_remaining(now=now + timedelta(days=400)).rows}
    assert all(row["released_last_year_ug"] == 0 for row in rows.values())
    assert all(row["research_years"] == "" for row in rows.values())
