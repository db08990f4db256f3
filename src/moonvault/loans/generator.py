"""A generated sharing programme on a generated inventory, for benchmarks and scale tests.

Institutions, their people (applicants, reviewers, a committee chair and a curator), allocation
rounds in every status, proposals in every status with their requested items, screening,
conflict declarations, reviewer assignments, reviews, ranking and decisions, and research loans
in every status with their items, the allocations that set their samples aside, and their
shipments. Loans lend the generated samples their custody history already sends out: allocated
samples wait for an agreement or its signature, samples in transit are on a shipped loan, samples
on loan are on an active loan or one whose remnants are packed to come back. Returned and closed
loans lend stored samples, and their history is appended to the ledger (shipped, received by the
borrower, shipped back, returned), so `moonvault verify` passes.

Rows go in with `bulk_create`, one round at a time, and the samples to lend are read in
batches, so memory stays bounded whatever the size; everything runs inside
`catalog.generator.generate`'s transaction (its `then`). Rounds are dated from today: the newest
is a draft, the open one closes in two months, and each older one closed months before the
next; the appended custody events keep the ledger's own clock.
"""

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.utils import timezone

from moonvault.accounts.models import Institution, Person, Role
from moonvault.accounts.services import role_groups_ensure
from moonvault.allocation.models import Allocation
from moonvault.calls.models import (
    Call,
    CallStatus,
    Decision,
    DecisionItem,
    Proposal,
    ProposalStatus,
    ProposalVersion,
    RequestedItem,
    Screening,
)
from moonvault.catalog.generator import GENERATED_MISSIONS
from moonvault.catalog.models import Form, Mission, Pool, Sample, State
from moonvault.custody.bulk import BulkLedger
from moonvault.custody.models import EventKind
from moonvault.loans.models import Loan, LoanItem, Shipment, ShipmentItem
from moonvault.review.models import Assignment, ConflictDeclaration, RankEntry, Review

MG = 1_000
PROPOSALS_PER_ROUND = 250
REVIEWERS_PER_PROPOSAL = 3
# Countries of the generated institutions (ISO 3166-1 alpha-2).
COUNTRIES = ["CN", "US", "FR", "GB", "DE", "JP", "IT", "IN", "BR", "PK", "AU", "CA", "KR", "SE"]
TECHNIQUES = ["SIMS U-Pb", "NanoSIMS", "noble gas mass spectrometry", "EPMA", "LA-ICP-MS"]
# The rounds, newest first: the newest round is a draft, then one in each status of a round's
# life (CallStatus lists them in its order), and every older round is closed out.
NEWEST_ROUNDS = [status for status in CallStatus if status != CallStatus.CLOSED_OUT]
# The statuses of a round's proposals, in the proportions drawn.
PROPOSAL_MIX = {
    CallStatus.OPEN: [ProposalStatus.DRAFT, ProposalStatus.SUBMITTED],
    CallStatus.CLOSED: [ProposalStatus.SUBMITTED] * 9 + [ProposalStatus.WITHDRAWN],
    CallStatus.SCREENING: [ProposalStatus.SUBMITTED] * 6
    + [ProposalStatus.RETURNED, ProposalStatus.INELIGIBLE],
    CallStatus.REVIEW: [ProposalStatus.UNDER_REVIEW] * 9 + [ProposalStatus.INELIGIBLE],
    CallStatus.RANKING: [ProposalStatus.RANKED] * 9 + [ProposalStatus.INELIGIBLE],
    CallStatus.DECIDED: [ProposalStatus.APPROVED] * 3
    + [ProposalStatus.PARTIALLY_APPROVED] * 2
    + [ProposalStatus.DECLINED] * 3
    + [ProposalStatus.INELIGIBLE, ProposalStatus.WITHDRAWN],
}
PROPOSAL_MIX[CallStatus.CLOSED_OUT] = PROPOSAL_MIX[CallStatus.DECIDED]
SCREENED = frozenset(
    {
        ProposalStatus.RETURNED,
        ProposalStatus.INELIGIBLE,
        ProposalStatus.UNDER_REVIEW,
        ProposalStatus.RANKED,
        *PROPOSAL_MIX[CallStatus.DECIDED],
    }
) - {ProposalStatus.WITHDRAWN}
REVIEWED = frozenset(
    {
        ProposalStatus.UNDER_REVIEW,
        ProposalStatus.RANKED,
        ProposalStatus.APPROVED,
        ProposalStatus.PARTIALLY_APPROVED,
        ProposalStatus.DECLINED,
    }
)
DECIDED = frozenset(
    {ProposalStatus.APPROVED, ProposalStatus.PARTIALLY_APPROVED, ProposalStatus.DECLINED}
)
# Loans in the order they are made, and the state of the samples each one lends.
LOAN_CYCLE = [
    (Loan.Status.AGREEMENT, State.ALLOCATED),
    (Loan.Status.SIGNED, State.ALLOCATED),
    (Loan.Status.SHIPPED, State.IN_TRANSIT),
    (Loan.Status.ACTIVE, State.ON_LOAN),
    (Loan.Status.RETURNING, State.ON_LOAN),
    (Loan.Status.RETURNED, State.STORED),
    (Loan.Status.CLOSED, State.STORED),
]
# Days from today to the proposals' deadline of the newest rounds, and between older ones.
DEADLINE_DAYS = {
    CallStatus.DRAFT: 120,
    CallStatus.OPEN: 60,
    CallStatus.CLOSED: -10,
    CallStatus.SCREENING: -20,
    CallStatus.REVIEW: -40,
    CallStatus.RANKING: -70,
    CallStatus.DECIDED: -100,
}
ROUND_EVERY_DAYS = 120
BATCH = 5_000


@dataclass
class ProgrammeReport:
    institutions: int = 0
    people: int = 0
    calls: int = 0
    proposals: int = 0
    reviews: int = 0
    loans: int = 0
    loans_by_status: dict[str, int] = field(default_factory=dict)


@dataclass
class _People:
    chair: User
    curator: User
    applicants: list[tuple[int, int]]  # (user id, institution id)
    reviewers: list[tuple[int, int]]
    country: dict[int, str]  # institution id -> country


def programme_generate(
    *,
    writer: BulkLedger,
    rng,
    clock: Callable[[], datetime],
    seed: int,
    proposals: int,
    institutions: int,
) -> ProgrammeReport:
    """Append `proposals` proposals in rounds of PROPOSALS_PER_ROUND (at least one round in each
    status), from applicants of `institutions` institutions, and loans to the approved ones."""
    report = ProgrammeReport()
    writer.written()
    people = _people(rng, seed, proposals, institutions, report)
    missions = list(Mission.objects.filter(code__in=[m[0] for m in GENERATED_MISSIONS]))
    rounds = max(len(NEWEST_ROUNDS) + 1, math.ceil(proposals / PROPOSALS_PER_ROUND) + 1)
    old = rounds - len(NEWEST_ROUNDS)
    statuses = [CallStatus.CLOSED_OUT] * old + NEWEST_ROUNDS[::-1]
    # Every round but the draft receives proposals, as evenly as they divide.
    size, extra = divmod(proposals, rounds - 1)
    today = timezone.now()
    lending = _Lending(writer, rng, clock, seed, people)
    for number, status in enumerate(statuses):
        count = 0 if status == CallStatus.DRAFT else size + (number < extra)
        days = DEADLINE_DAYS.get(status, DEADLINE_DAYS[CallStatus.DECIDED])
        due = today + timedelta(days=days - ROUND_EVERY_DAYS * max(0, old - number))
        call = _call(rng, seed, number + 1, status, due, count, people, missions)
        report.calls += 1
        lending.lend(_proposals(rng, call, count, due, people, report), due)
    report.loans, report.loans_by_status = lending.made, lending.by_status
    return report


def _people(rng, seed: int, proposals: int, institutions: int, report) -> _People:
    role_groups_ensure()
    made = Institution.objects.bulk_create(
        [
            Institution(
                name=f"Generated institute {seed}-{n:05d}", country=COUNTRIES[n % len(COUNTRIES)]
            )
            for n in range(1, max(1, institutions) + 1)
        ],
        batch_size=BATCH,
    )
    report.institutions = len(made)
    country = {i.pk: i.country for i in made}
    institution_ids = list(country)
    groups = {g.name: g for g in Group.objects.filter(name__in=[r.value for r in Role])}
    # An applicant submits about five proposals; a reviewer reviews about fifteen.
    kinds = [
        ("applicant", Role.APPLICANT, max(2, proposals // 5)),
        ("reviewer", Role.REVIEWER, max(REVIEWERS_PER_PROPOSAL + 1, proposals // 50)),
        ("chair", Role.COMMITTEE, 1),
        ("curator", Role.CURATOR, 1),
    ]
    by_kind: dict[str, list[tuple[int, int]]] = {}
    memberships = []
    for kind, role, count in kinds:
        users = []
        for start in range(0, count, BATCH):
            batch = [
                User(
                    username=f"gen{seed}-{kind}-{n:06d}",
                    first_name=kind.capitalize(),
                    last_name=f"{n:06d}",
                    email=f"gen{seed}-{kind}-{n:06d}@example.org",
                    password=make_password(None),
                    is_staff=role == Role.CURATOR,
                )
                for n in range(start + 1, min(count, start + BATCH) + 1)
            ]
            users += User.objects.bulk_create(batch)
        pairs = [(u.pk, rng.choice(institution_ids)) for u in users]
        Person.objects.bulk_create(
            [
                Person(user_id=user_id, institution_id=inst, expertise=rng.choice(TECHNIQUES))
                for user_id, inst in pairs
            ],
            batch_size=BATCH,
        )
        memberships += [
            User.groups.through(user_id=u.pk, group_id=groups[role.value].pk) for u in users
        ]
        by_kind[kind] = pairs
        report.people += len(users)
        if kind in ("chair", "curator"):
            by_kind[kind + "_user"] = users
    User.groups.through.objects.bulk_create(memberships, batch_size=BATCH)
    return _People(
        chair=by_kind["chair_user"][0],
        curator=by_kind["curator_user"][0],
        applicants=by_kind["applicant"],
        reviewers=by_kind["reviewer"],
        country=country,
    )


def _call(rng, seed, number, status, due, count, people: _People, missions) -> Call:
    panel_size = min(
        len(people.reviewers),
        max(REVIEWERS_PER_PROPOSAL + 1, math.ceil(count * REVIEWERS_PER_PROPOSAL / 8)),
    )
    call = Call.objects.create(
        title=f"Generated round {seed}-{number}",
        description="Research-pool portions of the generated missions.",
        status=status,
        pools=[Pool.RESEARCH],
        forms=[Form.POWDER, Form.THIN_SECTION, Form.PARTICLE],
        release_budget_ug=max(1, count) * 500 * MG,
        per_proposal_cap_ug=2_000 * MG,
        proposals_due=due,
        review_due=(due + timedelta(days=45)).date(),
        decision_due=(due + timedelta(days=60)).date(),
        chair=people.chair,
        reviewers_per_proposal=REVIEWERS_PER_PROPOSAL,
        max_reviewer_load=max(8, math.ceil(count * REVIEWERS_PER_PROPOSAL / max(1, panel_size))),
        created_by=people.chair,
    )
    call.missions.set(missions)
    call.panel.set([user_id for user_id, _inst in rng.sample(people.reviewers, panel_size)])
    return call


def _proposals(rng, call: Call, count: int, due, people: _People, report) -> list[tuple]:
    """The round's proposals (at most PROPOSALS_PER_ROUND) and everything about them; returns
    the approved ones as (proposal, PI, PI's institution, requested item), for loans."""
    if not count:
        return []
    panel = list(call.panel.values_list("id", "person__institution_id"))
    missions = list(call.missions.values_list("id", flat=True))
    drawn = [
        (rng.choice(PROPOSAL_MIX[call.status]), rng.choice(people.applicants)) for _ in range(count)
    ]
    made = Proposal.objects.bulk_create(
        [
            Proposal(
                call=call,
                pi_id=pi,
                title=f"{rng.choice(TECHNIQUES)} of generated sample material, {call.pk}-{n}",
                abstract="What the sample can tell about the Moon's history.",
                keywords=rng.choice(TECHNIQUES),
                status=status,
                submitted_at=None if status == ProposalStatus.DRAFT else due,
            )
            for n, (status, (pi, _inst)) in enumerate(drawn, start=1)
        ],
        batch_size=BATCH,
    )
    items = RequestedItem.objects.bulk_create(
        [
            RequestedItem(
                proposal=p,
                mission_id=rng.choice(missions),
                pool=Pool.RESEARCH,
                form=Form.POWDER,
                requested_mass_ug=(mass := rng.randint(100, 2_000) * MG),
                minimum_mass_ug=mass // 2,
                justification="The mass the method needs, with a repeat.",
            )
            for p in made
        ],
        batch_size=BATCH,
    )
    ProposalVersion.objects.bulk_create(
        [
            ProposalVersion(
                proposal=p, number=1, content={"title": p.title}, submitted_at=p.submitted_at
            )
            for p in made
            if p.submitted_at
        ],
        batch_size=BATCH,
    )
    Screening.objects.bulk_create(
        [
            Screening(
                proposal=p,
                checks=[],
                automatic_eligible=True,
                eligible=p.status != ProposalStatus.INELIGIBLE,
                decided_by=people.chair,
                decided_at=due,
                reason="outside the call" if p.status == ProposalStatus.INELIGIBLE else "",
            )
            for p in made
            if p.status in SCREENED
        ],
        batch_size=BATCH,
    )
    institution_of = {p.pk: inst for p, (_status, (_pi, inst)) in zip(made, drawn, strict=True)}
    reviewed = [(p, institution_of[p.pk]) for p in made if p.status in REVIEWED]
    _ranks(call, _reviews(rng, call, reviewed, panel, people, report), people)
    approved = _decisions(made, items, people)
    report.proposals += len(made)
    return [
        (p, p.pi_id, institution_of[p.pk], item)
        for p, item in zip(made, items, strict=True)
        if p.pk in approved
    ]


def _reviews(rng, call, reviewed, panel, people: _People, report) -> dict[int, float]:
    """Three reviewers of the panel per proposal, none from the PI's institution; all reviews
    are in except for half the proposals of a round still in review."""
    assignments, declarations, scores = [], [], {}
    for proposal, pi_institution in reviewed:
        eligible = [r for r in panel if r[1] != pi_institution] or panel
        for reviewer, _inst in rng.sample(eligible, min(REVIEWERS_PER_PROPOSAL, len(eligible))):
            declarations.append(
                ConflictDeclaration(proposal=proposal, reviewer_id=reviewer, conflicted=False)
            )
            assignments.append(
                Assignment(
                    proposal=proposal,
                    reviewer_id=reviewer,
                    source=Assignment.Source.OPTIMIZER,
                    assigned_by=people.chair,
                )
            )
    ConflictDeclaration.objects.bulk_create(declarations, batch_size=BATCH)
    made = Assignment.objects.bulk_create(assignments, batch_size=BATCH)
    reviews = []
    for assignment in made:
        if call.status == CallStatus.REVIEW and assignment.proposal_id % 2:
            continue
        merit, feasibility, justification = (rng.randint(1, 5) for _ in range(3))
        reviews.append(
            Review(
                assignment=assignment,
                merit=merit,
                feasibility=feasibility,
                justification=justification,
                comments_to_applicant="A clear question; the mass asked is justified.",
            )
        )
        scores.setdefault(assignment.proposal_id, []).append(
            (merit + feasibility + justification) / 3
        )
    Review.objects.bulk_create(reviews, batch_size=BATCH)
    report.reviews += len(reviews)
    if call.status in (CallStatus.OPEN, CallStatus.CLOSED, CallStatus.SCREENING, CallStatus.REVIEW):
        return {}
    return {pid: sum(s) / len(s) for pid, s in scores.items()}


def _ranks(call: Call, means: dict[int, float], people: _People) -> None:
    order = sorted(means, key=lambda pid: (-means[pid], pid))
    RankEntry.objects.bulk_create(
        [
            RankEntry(
                proposal_id=pid,
                call=call,
                computed_rank=rank,
                final_rank=rank,
                raw_mean=means[pid],
                corrected_mean=means[pid],
                spread=0.0,
                set_by=people.chair,
            )
            for rank, pid in enumerate(order, start=1)
        ],
        batch_size=BATCH,
    )


def _decisions(made, items, people: _People) -> set[int]:
    """Decisions on the decided proposals; the ids of those approved, in full or in part."""
    decided = [(p, i) for p, i in zip(made, items, strict=True) if p.status in DECIDED]
    decisions = Decision.objects.bulk_create(
        [
            Decision(
                proposal=p,
                outcome=p.status,
                comment="Thank you for applying; the reviews are below.",
                decided_by=people.chair,
            )
            for p, _item in decided
        ]
    )
    approved = set()
    rows = []
    for decision, (proposal, item) in zip(decisions, decided, strict=True):
        mass = {
            ProposalStatus.APPROVED: item.requested_mass_ug,
            ProposalStatus.PARTIALLY_APPROVED: item.minimum_mass_ug,
        }.get(proposal.status, 0)
        rows.append(DecisionItem(decision=decision, item=item, approved_mass_ug=mass))
        if mass:
            approved.add(proposal.pk)
    DecisionItem.objects.bulk_create(rows, batch_size=BATCH)
    return approved


class _Portion(NamedTuple):
    """A sample to lend."""

    id: int
    mass: int
    location: int | None
    parent: int | None


class _Lending:
    """Loans to approved proposals, each lending one to three research-pool samples in the state
    its status needs, taken in id order; a status whose samples have run out is skipped."""

    def __init__(self, writer: BulkLedger, rng, clock, seed: int, people: _People):
        self.writer, self.rng, self.clock = writer, rng, clock
        self.seed, self.curator, self.chair = seed, people.curator, people.chair
        self.country = people.country
        self.cycle = itertools.cycle(LOAN_CYCLE)
        self.waiting: dict[str, list[tuple]] = {state: [] for _status, state in LOAN_CYCLE}
        self.after = dict.fromkeys(self.waiting, 0)  # the last sample id read, by state
        self.made = 0
        self.by_status: dict[str, int] = {}

    def lend(self, approved: list[tuple], due: datetime) -> None:
        """Loans to a round's `approved` proposals (PROPOSALS_PER_ROUND at most), with their
        items, shipments and, for those back, the custody events."""
        lent, allocations = [], []
        for proposal, pi, institution, item in approved:
            for _ in range(len(LOAN_CYCLE)):
                status, state = next(self.cycle)
                samples = self._take(state, self.rng.randint(1, 3))
                if samples:
                    lent.append(
                        (self._loan(proposal, pi, institution, status, samples, due), samples)
                    )
                    # Each portion lent was set aside for the approved item, split off its
                    # parent, recording the item's mission and the PI's institution.
                    allocations += [
                        Allocation(
                            item=item,
                            mission_id=item.mission_id,
                            institution_id=institution,
                            country=self.country[institution],
                            source_id=s.parent or s.id,
                            sample_id=s.id,
                            mass_ug=s.mass,
                            created_by=self.chair,
                        )
                        for s in samples
                    ]
                    break
        Loan.objects.bulk_create([loan for loan, _samples in lent], batch_size=BATCH)
        LoanItem.objects.bulk_create(
            [
                LoanItem(loan=loan, sample_id=s.id, lent_mass_ug=s.mass)
                for loan, samples in lent
                for s in samples
            ],
            batch_size=BATCH,
        )
        made = Allocation.objects.bulk_create(allocations, batch_size=BATCH)
        # Released after the decision, as the dashboard counts them by year.
        Allocation.objects.filter(pk__in=[a.pk for a in made]).update(
            created_at=due + timedelta(days=70)
        )
        shipped = []
        for loan, samples in lent:
            self.by_status[loan.status] = self.by_status.get(loan.status, 0) + 1
            if loan.status in (Loan.Status.AGREEMENT, Loan.Status.SIGNED):
                continue
            outbound = Shipment.Status.SHIPPED if loan.status == Loan.Status.SHIPPED else None
            shipped.append((self._shipment(loan, Shipment.Direction.OUTBOUND, outbound), samples))
            if loan.status == Loan.Status.RETURNING:
                back = self._shipment(loan, Shipment.Direction.RETURN, Shipment.Status.PACKED)
                shipped.append((back, samples))
            if loan.status in (Loan.Status.RETURNED, Loan.Status.CLOSED):
                shipped.append((self._shipment(loan, Shipment.Direction.RETURN, None), samples))
                self._history(loan, samples)
        Shipment.objects.bulk_create([shipment for shipment, _samples in shipped], batch_size=BATCH)
        ShipmentItem.objects.bulk_create(
            [
                ShipmentItem(
                    shipment=shipment,
                    sample_id=s.id,
                    mass_sent_ug=s.mass,
                    mass_received_ug=s.mass if shipment.received_at else None,
                )
                for shipment, samples in shipped
                for s in samples
            ],
            batch_size=BATCH,
        )

    def _take(self, state: str, count: int) -> list["_Portion"]:
        """Up to `count` samples in `state` not lent yet."""
        waiting = self.waiting[state]
        if len(waiting) < count and self.after[state] is not None:
            read = [
                _Portion(*row)
                for row in Sample.objects.filter(
                    state=state, pool=Pool.RESEARCH, pk__gt=self.after[state]
                )
                .exclude(loan_items__isnull=False)
                .order_by("pk")
                .values_list("pk", "mass_ug", "location_id", "parent_id")[:BATCH]
            ]
            waiting += read
            self.after[state] = read[-1].id if len(read) == BATCH else None
        taken, self.waiting[state] = waiting[:count], waiting[count:]
        return taken

    def _loan(self, proposal, pi, institution, status, samples, due) -> Loan:
        self.made += 1
        starts = (due + timedelta(days=90)).date()
        signed = status != Loan.Status.AGREEMENT
        return Loan(
            number=f"G{self.seed}-{self.made:07d}",
            proposal=proposal,
            pi_id=pi,
            institution_id=institution,
            official_name="Generated authorized official",
            allowed_techniques=proposal.keywords,
            destructive_allowed=True,
            destructive_max_ug=sum(s.mass for s in samples) // 2,
            starts_on=starts,
            ends_on=starts + timedelta(days=730),
            inventory_due=starts + timedelta(days=365),
            usage_report_due=starts + timedelta(days=365),
            return_due=starts + timedelta(days=730),
            acknowledgement="Samples provided by the generated repository.",
            status=status,
            signed_by_name="Generated authorized official" if signed else "",
            signed_at=due + timedelta(days=80) if signed else None,
            closed_at=due + timedelta(days=800) if status == Loan.Status.CLOSED else None,
            created_by=self.curator,
        )

    def _shipment(self, loan: Loan, direction: str, status: str | None) -> Shipment:
        """A shipment of the loan's samples; `status` None: received."""
        received = status is None
        return Shipment(
            loan=loan,
            direction=direction,
            status=status or Shipment.Status.RECEIVED,
            container_code=f"{loan.number}-{direction[:3].upper()}",
            seal_number=f"S{loan.number}{direction[0].upper()}",
            nitrogen_purged=True,
            courier="Generated courier",
            tracking_number=f"T{loan.number}{direction[0].upper()}",
            packed_by=self.curator,
            shipped_at=None if status == Shipment.Status.PACKED else loan.signed_at,
            received_at=loan.signed_at if received else None,
            received_by=self.curator if received else None,
            seal_intact=True if received else None,
        )

    def _history(self, loan, samples) -> None:
        """The custody events of a loan that went out and came back, appended to the ledger."""
        for sample in samples:
            for kind, state, place in (
                (EventKind.SHIPPED, State.IN_TRANSIT, None),
                (EventKind.DELIVERED, State.ON_LOAN, None),
                (EventKind.SHIPPED, State.IN_TRANSIT, None),
                (EventKind.RETURNED, State.STORED, sample.location),
            ):
                self.writer.add_event(
                    sample_id=sample.id,
                    kind=kind,
                    operation=self.writer.new_operation(),
                    recorded_at=self.clock(),
                    state_after=state,
                    location_after_id=place,
                    data={"loan": loan.number},
                )
