"""People with each role, an open call, and a round driven through its lifecycle by the services."""

from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from moonvault.accounts.models import Role
from moonvault.accounts.services import institution_create, person_create
from moonvault.calls import services as calls
from moonvault.calls.models import Call, CallStatus, Proposal
from moonvault.catalog.models import Form, Pool
from moonvault.review import services as review
from tests.conftest import GRAM

PASSWORD = "moon-dust-and-basalt-42"
MG = 1_000


@pytest.fixture
def people(db, mission_ce5):
    naoc = institution_create(name="National Astronomical Observatories", country="CN")
    ipgp = institution_create(name="Institut de physique du globe", country="FR")
    brown = institution_create(name="Brown University", country="US")
    ucl = institution_create(name="University College London", country="GB")

    def person(username, role, institution, **extra):
        return person_create(
            username=username,
            password=PASSWORD,
            email=f"{username}@example.org",
            first_name=username.title(),
            institution=institution,
            roles=(role,),
            **extra,
        ).user

    return SimpleNamespace(
        applicant=person("amelie", Role.APPLICANT, ipgp),
        other_applicant=person("oliver", Role.APPLICANT, brown),
        reviewer=person("rosa", Role.REVIEWER, ucl),
        reviewer2=person("ravi", Role.REVIEWER, naoc),
        # Same institution as the applicant: automatically conflicted.
        conflicted=person("claude", Role.REVIEWER, ipgp),
        committee=person("chen", Role.COMMITTEE, naoc),
        curator=person("cui", Role.CURATOR, naoc),
    )


def log_in(client, user: User):
    client.force_login(user)
    return client


@pytest.fixture
def open_call(people) -> Call:
    call = calls.call_create(
        actor=people.committee,
        title="Chang'e-5 international round",
        missions=["CE5"],
        pools=[Pool.RESEARCH],
        forms=[Form.SCOOPED_REGOLITH, Form.THIN_SECTION],
        release_budget_ug=10 * GRAM,
        per_proposal_cap_ug=2 * GRAM,
        proposals_due=timezone.now() + timedelta(days=30),
        review_due=(timezone.now() + timedelta(days=60)).date(),
        decision_due=(timezone.now() + timedelta(days=90)).date(),
        panel=[people.reviewer, people.reviewer2, people.conflicted],
        reviewers_per_proposal=2,
        max_reviewer_load=5,
    )
    return calls.call_transition(
        actor=people.committee, call_id=call.pk, to_status=CallStatus.OPEN, reason="ready"
    )


def complete_proposal(call: Call, pi: User, title: str = "Space weathering of glass") -> Proposal:
    proposal = calls.proposal_create(actor=pi, call_id=call.pk, title=title)
    calls.proposal_update(
        actor=pi,
        proposal_id=proposal.pk,
        abstract="Nanophase iron in agglutinates.",
        science_case="Compare near-side and far-side weathering rims.",
        data_sharing_plan="Data deposited within a year.",
    )
    calls.method_add(
        actor=pi, proposal_id=proposal.pk, technique="TEM", destructive=True, mass_ug=MG
    )
    calls.item_add(
        actor=pi,
        proposal_id=proposal.pk,
        mission="CE5",
        pool=Pool.RESEARCH,
        form=Form.SCOOPED_REGOLITH,
        requested_mass_ug=500 * MG,
        minimum_mass_ug=100 * MG,
    )
    return proposal


@dataclass
class Round:
    call: Call
    proposal: Proposal
    second: Proposal


def advance(actor, call: Call, *statuses: str) -> None:
    for status in statuses:
        calls.call_transition(actor=actor, call_id=call.pk, to_status=status, reason="on schedule")


@pytest.fixture
def round_in_screening(people, open_call) -> Round:
    """Two submitted proposals, the call in screening with the automatic checks run."""
    first = complete_proposal(open_call, people.applicant)
    second = complete_proposal(open_call, people.other_applicant, "Volatiles in basalt")
    for p in (first, second):
        calls.proposal_submit(actor=p.pi, proposal_id=p.pk)
    advance(people.committee, open_call, CallStatus.CLOSED, CallStatus.SCREENING)
    calls.call_screen(actor=people.committee, call_id=open_call.pk)
    return Round(open_call, first, second)


@pytest.fixture
def round_in_review(people, round_in_screening) -> Round:
    r = round_in_screening
    for p in (r.proposal, r.second):
        calls.proposal_screen_decide(actor=people.committee, proposal_id=p.pk, eligible=True)
    advance(people.committee, r.call, CallStatus.REVIEW)
    return r


def review_everything(people, r: Round) -> None:
    """rosa and ravi review both proposals; rosa scores the first one higher."""
    for reviewer in (people.reviewer, people.reviewer2):
        for proposal, score in ((r.proposal, 5), (r.second, 3)):
            review.assignment_add(
                actor=people.committee, proposal_id=proposal.pk, reviewer_id=reviewer.pk
            )
            review.review_submit(
                actor=reviewer,
                proposal_id=proposal.pk,
                merit=score,
                feasibility=score,
                justification=4,
                comments_to_applicant=f"Comment for the applicant from {reviewer.username}",
                comments_to_committee=f"Confidential note from {reviewer.username}",
            )


@pytest.fixture
def round_in_ranking(people, round_in_review) -> Round:
    review_everything(people, round_in_review)
    advance(people.committee, round_in_review.call, CallStatus.RANKING)
    return round_in_review
