"""An allocation round and the people in it.

The people come from several countries: a committee in China, applicants in Germany and the United
Kingdom, reviewers in the United States, Japan, France and Germany. `round_` is an open Chang'e-5
call; its methods drive proposals and the call to the stage a test needs (submitted, screened,
assigned, reviewed, ranked) through the same services the pages and the API call.
"""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils import timezone

from moonvault.accounts.models import Institution, Person, Role
from moonvault.calls.models import (
    Attachment,
    Call,
    CallStatus,
    CallTransition,
    Decision,
    DecisionItem,
    Method,
    PriorPublication,
    Proposal,
    ProposalAction,
    ProposalVersion,
    RequestedItem,
    Screening,
    TeamMember,
)
from moonvault.calls.services import (
    call_create,
    call_screen,
    call_transition,
    item_add,
    method_add,
    proposal_create,
    proposal_screen_decide,
    proposal_submit,
    proposal_update,
)
from moonvault.catalog.models import Form, Pool
from moonvault.core.errors import DomainError
from moonvault.review.models import Assignment, ConflictDeclaration, RankEntry, Review
from moonvault.review.services import assignment_add, review_submit
from tests.conftest import GRAM

MG = 1_000


@dataclass
class People:
    chair: User
    member: User
    pi: User
    other: User
    coi: User
    rev_us: User
    rev_jp: User
    rev_fr: User
    rev_de: User
    outsider: User
    curator: User

    @property
    def panel(self) -> list[User]:
        return [self.rev_us, self.rev_jp, self.rev_fr, self.rev_de]


# attribute: (institution, role, first name, last name)
PEOPLE = {
    "chair": ("naoc", Role.COMMITTEE, "Li", "Chunlai"),
    "member": ("naoc", Role.COMMITTEE, "Zhang", "Wei"),
    "pi": ("muenster", Role.APPLICANT, "Lena", "Vogel"),
    "other": ("open", Role.APPLICANT, "Tom", "Hughes"),
    "coi": ("pmo", Role.APPLICANT, "Chen", "Yu"),
    "rev_us": ("caltech", Role.REVIEWER, "Ann", "Reed"),
    "rev_jp": ("isas", Role.REVIEWER, "Ken", "Sato"),
    "rev_fr": ("ipgp", Role.REVIEWER, "Anne", "Moreau"),
    "rev_de": ("heidelberg", Role.REVIEWER, "Jan", "Berg"),
    "outsider": ("brown", Role.REVIEWER, "Sam", "Lee"),
    "curator": ("naoc", Role.CURATOR, "", ""),
}
INSTITUTIONS = {
    "naoc": ("National Astronomical Observatories", "CN"),
    "pmo": ("Purple Mountain Observatory", "CN"),
    "muenster": ("Münster Institute for Planetology", "DE"),
    "heidelberg": ("Heidelberg University", "DE"),
    "open": ("Open University", "GB"),
    "caltech": ("Caltech", "US"),
    "brown": ("Brown University", "US"),
    "isas": ("ISAS", "JP"),
    "ipgp": ("IPGP", "FR"),
}


def register(institutions, specs: dict[str, tuple]) -> dict[str, User]:
    """People with one role each, in a handful of queries. Every test registers a dozen, so this
    skips person_create's password hashing and per-person group bookkeeping; the role checks
    read the same groups."""
    groups = {role: Group.objects.get_or_create(name=role)[0] for _, role, *_ in specs.values()}
    users = User.objects.bulk_create(
        User(
            username=username,
            email=f"{username}@moonvault.example",
            first_name=first,
            last_name=last,
            is_staff=role == Role.CURATOR,
            password=make_password(None),
        )
        for username, (_, role, first, last) in specs.items()
    )
    Person.objects.bulk_create(
        Person(user=user, institution=institutions[place])
        for user, (place, *_) in zip(users, specs.values(), strict=True)
    )
    User.groups.through.objects.bulk_create(
        User.groups.through(user_id=user.pk, group_id=groups[role].pk)
        for user, (_, role, *_) in zip(users, specs.values(), strict=True)
    )
    return dict(zip(specs, users, strict=True))


@pytest.fixture
def institutions(db) -> dict[str, Institution]:
    rows = Institution.objects.bulk_create(
        Institution(name=name, country=country) for name, country in INSTITUTIONS.values()
    )
    return dict(zip(INSTITUTIONS, rows, strict=True))


@pytest.fixture
def people(institutions) -> People:
    return People(**register(institutions, PEOPLE))


@pytest.fixture
def make_call(people, mission_ce5):
    """A draft call by the chair; keyword arguments override call_create's."""

    def make(**overrides) -> Call:
        now = timezone.now()
        values = {
            "actor": people.chair,
            "title": "Chang'e-5 international round 2",
            "missions": ["CE5"],
            "pools": [Pool.RESEARCH],
            "forms": [Form.SCOOPED_REGOLITH, Form.POWDER, Form.THIN_SECTION, Form.ROCK_FRAGMENT],
            "release_budget_ug": 10 * GRAM,
            "per_proposal_cap_ug": GRAM,
            "proposals_due": now + timedelta(days=30),
            "review_due": (now + timedelta(days=60)).date(),
            "decision_due": (now + timedelta(days=90)).date(),
            "panel": people.panel,
            "reviewers_per_proposal": 2,
            "max_reviewer_load": 3,
        }
        values.update(overrides)
        return call_create(**values)

    return make


@dataclass
class Round:
    call: Call
    people: People

    def to(self, *statuses: str, actor=None) -> Call:
        for status in statuses:
            self.call = call_transition(
                actor=actor or self.people.chair,
                call_id=self.call.pk,
                to_status=status,
                reason=f"moving on to {status}",
            )
        return self.call

    def draft(self, pi=None, *, title="Space weathering of Chang'e-5 regolith") -> Proposal:
        """A proposal with every required part, ready to submit."""
        pi = pi or self.people.pi
        proposal = proposal_create(actor=pi, call_id=self.call.pk, title=title)
        proposal_update(
            actor=pi,
            proposal_id=proposal.pk,
            abstract="Nanophase iron in young mare soil.",
            science_case="Chang'e-5 soil is 2 billion years old; its rims record the solar wind.",
            keywords="space weathering, TEM",
            data_sharing_plan="Data to the lunar sample archive within a year.",
        )
        method_add(
            actor=pi, proposal_id=proposal.pk, technique="TEM", destructive=True, mass_ug=50 * MG
        )
        item_add(
            actor=pi,
            proposal_id=proposal.pk,
            mission="CE5",
            pool=Pool.RESEARCH,
            form=Form.POWDER,
            requested_mass_ug=400 * MG,
            minimum_mass_ug=100 * MG,
        )
        return Proposal.objects.get(pk=proposal.pk)

    def submitted(self, pi=None, **kwargs) -> Proposal:
        proposal = self.draft(pi, **kwargs)
        return proposal_submit(actor=proposal.pi, proposal_id=proposal.pk)

    def screened(self, *eligible: Proposal) -> None:
        """Close the call, screen it and confirm the given proposals as eligible."""
        self.to(CallStatus.CLOSED, CallStatus.SCREENING)
        call_screen(actor=self.people.chair, call_id=self.call.pk)
        for proposal in eligible:
            proposal_screen_decide(actor=self.people.member, proposal_id=proposal.pk, eligible=True)

    def in_review(self, *proposals: Proposal) -> None:
        self.screened(*proposals)
        self.to(CallStatus.REVIEW)

    def assign(self, proposal: Proposal, *reviewers: User) -> list[Assignment]:
        return [
            assignment_add(actor=self.people.chair, proposal_id=proposal.pk, reviewer_id=r.pk)
            for r in reviewers
        ]

    def review(
        self, proposal: Proposal, reviewer: User, merit, feasibility=None, justification=None
    ):
        return review_submit(
            actor=reviewer,
            proposal_id=proposal.pk,
            merit=merit,
            feasibility=merit if feasibility is None else feasibility,
            justification=merit if justification is None else justification,
            comments_to_applicant="Clear case; the mass is well argued.",
            comments_to_committee="Strong team.",
        )

    def ranked(self, *proposals: Proposal) -> None:
        """Take the proposals through screening and review (two reviews each) into ranking."""
        self.in_review(*proposals)
        for proposal in proposals:
            self.assign(proposal, self.people.rev_us, self.people.rev_jp)
            self.review(proposal, self.people.rev_us, 4)
            self.review(proposal, self.people.rev_jp, 3)
        self.to(CallStatus.RANKING)


@pytest.fixture
def round_(make_call, people) -> Round:
    """An open call with a panel of four: two reviewers per proposal, three proposals each."""
    call = make_call()
    call = call_transition(
        actor=people.chair, call_id=call.pk, to_status=CallStatus.OPEN, reason="announced"
    )
    return Round(call, people)


# Rows a refused action must neither add nor remove (their counts and highest ids tell).
TRACKED = (
    CallTransition,
    TeamMember,
    Method,
    RequestedItem,
    PriorPublication,
    Attachment,
    ProposalVersion,
    ProposalAction,
    Decision,
    DecisionItem,
    ConflictDeclaration,
    Assignment,
    Review,
)


def round_state():
    """Everything an allocation round writes, to show that a refused action changed nothing."""
    tallies = ", ".join(
        f"(SELECT COUNT(*) FROM {t}), (SELECT MAX(id) FROM {t})"
        for t in (model._meta.db_table for model in TRACKED)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {tallies}")
        rows = cursor.fetchone()
    return (
        rows,
        sorted(Call.objects.values_list("id", "status", "proposals_due", "forms", "pools")),
        sorted(Proposal.objects.values_list("id", "status", "title", "abstract", "all_or_nothing")),
        sorted(Screening.objects.values_list("id", "eligible", "reason")),
        sorted(RankEntry.objects.values_list("proposal_id", "final_rank", "reason")),
    )


@contextmanager
def refused(error, *, field, message=""):
    """The action inside must raise exactly `error` about `field` and change nothing."""
    before = round_state()
    with pytest.raises(DomainError) as caught:
        yield caught
    assert type(caught.value) is error, caught.value.message
    assert [p.field for p in caught.value.problems] == [field], caught.value.message
    assert message in caught.value.message
    assert round_state() == before
