"""Allocation rounds at every stage, built through the services, for the API tests.

One call per stage (open, screening, review, ranking, decided), each with a proposal by the same
principal investigator, and the people of the permission matrix:

- `pi` applies; `other` is another applicant;
- `reviewer` sits on every panel and is assigned to the proposals in review and beyond;
- `auto_conflicted` sits on every panel but works at the PI's institution (an automatic conflict);
- `declared_conflicted` sits on every panel and declared a conflict with every proposal;
- `committee` chairs every call; `curator` keeps the inventory.

Text that must stay where it belongs carries a marker, so a test can look for it in any answer.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from moonvault.accounts.models import ApiToken, Role
from moonvault.accounts.services import api_token_create, institution_create, person_create
from moonvault.calls import services as calls
from moonvault.calls.models import Call, CallStatus, Proposal
from moonvault.catalog.models import IdConvention, Mission
from moonvault.review import services as review
from moonvault.review.models import Assignment
from tests.conftest import GRAM

MG = 1_000
ROLES = (
    "anonymous",
    "pi",
    "other",
    "reviewer",
    "auto_conflicted",
    "declared_conflicted",
    "committee",
    "curator",
)
CONFIDENTIAL = "CONFIDENTIAL-TO-COMMITTEE"
TO_APPLICANT = "NOTE-FOR-APPLICANT"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def pdf_upload(name: str = "plan.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


@dataclass
class Rounds:
    users: dict[str, User | None]
    reviewer2: User
    member: User
    calls: dict[str, Call] = field(default_factory=dict)
    proposals: dict[str, Proposal] = field(default_factory=dict)
    parts: dict[str, int] = field(default_factory=dict)
    assignment: Assignment | None = None

    @property
    def panel(self) -> list[User]:
        u = self.users
        return [u["reviewer"], self.reviewer2, u["auto_conflicted"], u["declared_conflicted"]]

    def ids(self) -> dict[str, int]:
        """Names for the path templates of the tests: {open_call}, {draft}, {item} …"""
        return {
            **{f"{name}_call": c.pk for name, c in self.calls.items()},
            **{name: p.pk for name, p in self.proposals.items()},
            **self.parts,
            "assignment": self.assignment.pk,
            "reviewer2": self.reviewer2.pk,
            "reviewer_id": self.users["reviewer"].pk,
            "ranked_item": self.proposals["ranked"].items.get().pk,
        }


def _person(username, first, last, institution, *roles):
    return person_create(
        username=username,
        password="x-Moon-2026-pass",
        email=f"{username}@example.org",
        first_name=first,
        last_name=last,
        institution=institution,
        roles=roles,
    ).user


def _call(chair, panel, title) -> Call:
    due = timezone.now() + timedelta(days=30)
    call = calls.call_create(
        actor=chair,
        title=title,
        missions=["CE5"],
        pools=["research"],
        forms=["scooped_regolith"],
        release_budget_ug=10 * GRAM,
        per_proposal_cap_ug=GRAM,
        proposals_due=due,
        review_due=due.date() + timedelta(days=30),
        decision_due=due.date() + timedelta(days=60),
        panel=panel,
        reviewers_per_proposal=2,
    )
    return calls.call_transition(actor=chair, call_id=call.pk, to_status=CallStatus.OPEN)


def _proposal(call, pi, stage) -> Proposal:
    proposal = calls.proposal_create(actor=pi, call_id=call.pk, title=f"TITLE-{stage}")
    calls.proposal_update(
        actor=pi,
        proposal_id=proposal.pk,
        abstract=f"ABSTRACT-{stage}",
        science_case="Solar-wind implanted water in Chang'e-5 glass beads.",
        keywords="space weathering, NanoSIMS",
        data_sharing_plan="Data deposited after one year.",
    )
    calls.method_add(
        actor=pi, proposal_id=proposal.pk, technique="NanoSIMS", destructive=True, mass_ug=100 * MG
    )
    calls.item_add(
        actor=pi,
        proposal_id=proposal.pk,
        mission="CE5",
        pool="research",
        form="scooped_regolith",
        requested_mass_ug=500 * MG,
        minimum_mass_ug=200 * MG,
    )
    return proposal


def _advance(chair, call, *statuses) -> None:
    for status in statuses:
        calls.call_transition(actor=chair, call_id=call.pk, to_status=status, reason="on time")


def _to_review(rounds: Rounds, stage: str) -> tuple[Call, Proposal]:
    """A call in review with the PI's eligible proposal, the reviewer assigned to it."""
    u = rounds.users
    chair = u["committee"]
    call = _call(chair, rounds.panel, f"CALL-{stage}")
    proposal = _proposal(call, u["pi"], stage)
    calls.proposal_submit(actor=u["pi"], proposal_id=proposal.pk)
    _advance(chair, call, CallStatus.CLOSED, CallStatus.SCREENING)
    calls.call_screen(actor=chair, call_id=call.pk)
    calls.proposal_screen_decide(actor=chair, proposal_id=proposal.pk, eligible=True)
    review.conflict_declare(
        actor=u["declared_conflicted"],
        proposal_id=proposal.pk,
        conflicted=True,
        reason="I examined the PI's thesis",
    )
    _advance(chair, call, CallStatus.REVIEW)
    assignment = review.assignment_add(
        actor=chair, proposal_id=proposal.pk, reviewer_id=u["reviewer"].pk
    )
    if stage == "review":
        rounds.assignment = assignment
    return call, proposal


def _review(reviewer, proposal, merit=4) -> None:
    review.review_submit(
        actor=reviewer,
        proposal_id=proposal.pk,
        merit=merit,
        feasibility=5,
        justification=3,
        comments_to_applicant=f"{TO_APPLICANT}: a clear science case.",
        comments_to_committee=f"{CONFIDENTIAL}: the PI's lab had a contamination incident.",
    )


def build_rounds() -> Rounds:
    Mission.objects.create(
        code="CE5",
        name="Chang'e-5",
        agency="CNSA",
        returned_mass_ug=1731 * GRAM,
        id_convention=IdConvention.SUFFIX,
    )
    home = institution_create(name="Freie Universität Berlin", country="DE")
    users = {
        "anonymous": None,
        "pi": _person("pi_lindqvist", "Astrid", "Lindqvist", home, Role.APPLICANT),
        "other": _person(
            "other_moreau",
            "Camille",
            "Moreau",
            institution_create(name="Université Paris Cité", country="FR"),
            Role.APPLICANT,
        ),
        "reviewer": _person(
            "rev_okafor",
            "Chidi",
            "Okafor",
            institution_create(name="Open University", country="GB"),
            Role.REVIEWER,
        ),
        "auto_conflicted": _person("rev_schmidt", "Jonas", "Schmidt", home, Role.REVIEWER),
        "declared_conflicted": _person(
            "rev_sato",
            "Haruki",
            "Sato",
            institution_create(name="Kyoto University", country="JP"),
            Role.REVIEWER,
        ),
        "committee": _person(
            "chair_wang",
            "Wei",
            "Wang",
            institution_create(name="Lunar Sample Committee", country="CN"),
            Role.COMMITTEE,
        ),
        "curator": _person("curator_diaz", "Lucía", "Díaz", None, Role.CURATOR),
    }
    rounds = Rounds(
        users=users,
        reviewer2=_person(
            "rev_tanaka",
            "Yuki",
            "Tanaka",
            institution_create(name="University of Tokyo", country="JP"),
            Role.REVIEWER,
        ),
        member=_person("member_li", "Na", "Li", None, Role.COMMITTEE),
    )
    chair, pi = users["committee"], users["pi"]

    open_call = _call(chair, rounds.panel, "CALL-open")
    draft = _proposal(open_call, pi, "draft")
    rounds.parts = {
        "team_member": calls.team_member_add(
            actor=pi,
            proposal_id=draft.pk,
            name="Ada Byron",
            email="ada@example.org",
            institution_name="University College London",
            country="GB",
        ).pk,
        "method": draft.methods.get().pk,
        "item": draft.items.get().pk,
        "doi": calls.doi_add(actor=pi, proposal_id=draft.pk, doi="10.1038/s41586-021-04100-2").pk,
        "attachment": calls.attachment_add(
            actor=pi, proposal_id=draft.pk, uploaded=pdf_upload()
        ).pk,
    }

    screening_call = _call(chair, rounds.panel, "CALL-screening")
    submitted = _proposal(screening_call, pi, "submitted")
    calls.proposal_submit(actor=pi, proposal_id=submitted.pk)
    _advance(chair, screening_call, CallStatus.CLOSED, CallStatus.SCREENING)
    calls.call_screen(actor=chair, call_id=screening_call.pk)
    review.conflict_declare(
        actor=users["declared_conflicted"],
        proposal_id=submitted.pk,
        conflicted=True,
        reason="the PI is my co-editor",
    )

    review_call, under_review = _to_review(rounds, "review")

    ranking_call, ranked = _to_review(rounds, "ranked")
    _review(users["reviewer"], ranked)
    _advance(chair, ranking_call, CallStatus.RANKING)

    decided_call, decided = _to_review(rounds, "decided")
    _review(users["reviewer"], decided)
    _advance(chair, decided_call, CallStatus.RANKING)
    calls.proposal_decide(
        actor=chair,
        proposal_id=decided.pk,
        approved={decided.items.get().pk: 300 * MG},
        reasons={decided.items.get().pk: "ranked 2 of 2; 0.2 g of the research pool was left"},
        comment="Approved in part.",
    )
    _advance(chair, decided_call, CallStatus.DECIDED)

    rounds.calls = {
        "open": open_call,
        "screening": screening_call,
        "review": review_call,
        "ranking": ranking_call,
        "decided": decided_call,
    }
    rounds.proposals = {
        "draft": draft,
        "submitted": submitted,
        "under_review": under_review,
        "ranked": ranked,
        "decided": decided,
    }
    return rounds


def rounds_in_one_transaction(django_db_setup, django_db_blocker, tmp_path_factory):
    """Build the rounds once for a test module, inside a transaction rolled back at its end.

    Each test runs in a savepoint within it (pytest-django's `db`), so what a test changes is
    undone before the next; building every stage for each of hundreds of cases would be slow.
    Use as `rounds = pytest.fixture(scope="module")(rounds_in_one_transaction)`.
    """
    media = tmp_path_factory.mktemp("media")
    # A fast hash: nine people are created, and their passwords are not what is tested.
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media, PASSWORD_HASHERS=fast),
        transaction.atomic(),
    ):
        yield build_rounds()
        transaction.set_rollback(True)


def login(client, user) -> None:
    """Act as `user` through the browser session; None stays anonymous."""
    if user is not None:
        client.force_login(user)


def bearer(user, scope=ApiToken.Scope.WRITE) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=user, name='s', scope=scope)}"}
