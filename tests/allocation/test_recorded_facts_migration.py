"""Migration 0003 fills the recorded mission, institution and country of the allocations made
before it, from the joins the transparency tables read until then."""

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from moonvault.allocation.models import Allocation
from tests.web.conftest import release_programme

__all__ = ["release_programme"]
pytestmark = pytest.mark.django_db

MIGRATION = "moonvault.allocation.migrations.0003_allocation_recorded_facts"


def recorded() -> dict[int, tuple]:
    return {
        a.pk: (a.mission_id, a.institution_id, a.country) for a in Allocation.objects.order_by("pk")
    }


def from_joins() -> dict[int, tuple]:
    facts = {}
    for a in Allocation.objects.select_related("item__proposal__pi__person__institution"):
        person = getattr(a.item.proposal.pi, "person", None)
        institution = person.institution if person else None
        facts[a.pk] = (
            a.item.mission_id,
            institution.pk if institution else None,
            institution.country if institution else "",
        )
    return facts


def test_the_back_fill_records_each_allocation_from_the_joins(release_programme):
    expected = recorded()
    assert expected == from_joins()
    # As the columns were added: every allocation of one mission and none of an institution.
    other = release_programme.allocations[0].mission_id
    Allocation.objects.update(mission_id=other, institution=None, country="")
    assert recorded() != expected
    importlib.import_module(MIGRATION).record_facts(apps, SimpleNamespace(connection=connection))
    assert recorded() == expected
    # Both kinds of PI without an institution are among them.
    assert sum(1 for _m, institution, country in expected.values() if not country) == 2
