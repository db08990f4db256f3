from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from moonvault.accounts.models import Institution, Person
from moonvault.allocation.models import Allocation
from moonvault.calls.models import Call, Proposal, RequestedItem
from moonvault.catalog.models import Form, Mission, Pool
from moonvault.catalog.services import ChildSpec, sample_split
from tests.conftest import GRAM

MG = 1_000


@pytest.fixture
def regolith(receive, mission_ce5):
    return receive("CE5C0400YJFM00505", mission_ce5, 2 * GRAM)


@pytest.fixture
def family(regolith):
    """The regolith split into two children, the first split again."""
    children = sample_split(
        actor=None,
        sample_id=regolith.pk,
        children=[ChildSpec(250_000), ChildSpec(1_500, form=Form.POWDER)],
        loss_ug=12,
        reason="first allocation round",
    )
    (grandchild,) = sample_split(actor=None, sample_id=children[0].pk, children=[ChildSpec(999)])
    return regolith, children, grandchild


@pytest.fixture
def apollo_rock(receive, mission_a17):
    return receive(
        "74001,6040", mission_a17, 40 * GRAM, form=Form.ROCK_FRAGMENT, pool=Pool.PERMANENT
    )


# Allocations of the release programme: (PI, mission, mass in mg, year of the decision). Every
# mass differs, so that no two groups tie and the order by mass is the whole order.
RELEASES = [
    ("pmo", "CE5", 1_100, 2021),
    ("pmo", "A17", 2_300, 2024),
    ("gig", "CE5", 700, 2022),
    ("paris", "CE5", 1_900, 2021),
    ("paris", "CE6", 600, 2025),
    ("brown", "A17", 3_100, 2023),
    ("brown", "CE6", 450, None),  # decided in the last 365 days
    ("mover", "CE5", 1_300, 2022),  # from Münster, who moves to Brown later
    ("mover", "A17", 820, 2024),
    ("unaffiliated", "CE6", 530, 2023),  # a person without an institution
    ("no-person", "CE5", 270, None),  # a user without a Person record
]


@dataclass
class ReleaseProgramme:
    institutions: dict[str, Institution]
    pis: dict[str, User]
    allocations: list[Allocation]


@pytest.fixture
def release_programme(receive, mission_ce5, mission_a17) -> ReleaseProgramme:
    """Allocations from three missions over five years to PIs at five institutions in four
    countries, one without an institution and one without a person record; each records its
    mission and the PI's institution and country, as the services do."""
    ce6 = Mission.objects.create(code="CE6", name="Chang'e-6", agency="CNSA", returned_mass_ug=0)
    missions = {"CE5": mission_ce5, "A17": mission_a17, "CE6": ce6}
    institutions = {
        key: Institution.objects.create(name=name, country=country)
        for key, name, country in [
            ("pmo", "Purple Mountain Observatory", "CN"),
            ("gig", "Institute of Geochemistry", "CN"),
            ("paris", "Université Paris Cité", "FR"),
            ("brown", "Brown University", "US"),
            ("munster", "University of Münster", "DE"),
        ]
    }
    chair = User.objects.create(username="release-chair")
    call = Call.objects.create(
        title="Release round",
        release_budget_ug=100 * GRAM,
        per_proposal_cap_ug=10 * GRAM,
        proposals_due=timezone.now(),
        review_due=timezone.localdate(),
        decision_due=timezone.localdate(),
        chair=chair,
        created_by=chair,
    )
    pis = {}
    for key in dict.fromkeys(pi for pi, *_rest in RELEASES):
        pis[key] = User.objects.create(username=f"pi-{key}")
        if key != "no-person":
            home = institutions.get("munster" if key == "mover" else key)
            Person.objects.create(user=pis[key], institution=home)
    allocations = []
    now = timezone.now()
    for n, (pi, code, mass_mg, year) in enumerate(RELEASES):
        proposal = Proposal.objects.create(call=call, pi=pis[pi], title=f"Release {n}")
        item = RequestedItem.objects.create(
            proposal=proposal, mission=missions[code], pool=Pool.RESEARCH, form=Form.POWDER
        )
        sample = receive(f"REL{n:04d}", missions[code], mass_mg * MG)
        person = Person.objects.filter(user=pis[pi]).first()
        institution = person.institution if person else None
        allocation = Allocation.objects.create(
            item=item,
            mission=item.mission,
            institution=institution,
            country=institution.country if institution else "",
            source=sample,
            sample=sample,
            mass_ug=mass_mg * MG,
            created_by=chair,
        )
        decided = now - timedelta(days=30) if year is None else datetime(year, 6, 1, tzinfo=UTC)
        Allocation.objects.filter(pk=allocation.pk).update(created_at=decided)
        allocations.append(allocation)
    return ReleaseProgramme(institutions=institutions, pis=pis, allocations=allocations)
