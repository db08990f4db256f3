"""Demo allocation rounds: a decided Chang'e-5 round and an open Chang'e-6 round.

Everything goes through the services, so decisions, reviews and allocations in the demo are
recorded exactly as a committee's would be. The decided round's dates are moved into the past
afterwards, because a deadline can only be met while it lies ahead.
"""

from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from moonvault.accounts.models import Institution, Role
from moonvault.accounts.services import person_create
from moonvault.allocation.services import plan_apply, plan_decide, plan_propose
from moonvault.calls import services as calls
from moonvault.calls.models import Call, CallStatus, Proposal, ProposalStatus
from moonvault.catalog.models import Form, Pool
from moonvault.review import services as review
from moonvault.review.models import RankEntry
from moonvault.review.selectors import automatic_conflicts

MG = 1_000

# username, first, last, institution, expertise; passwords follow the demo rule (docs/demo.md).
ROUND_APPLICANTS = (
    ("applicant-fr", "Claire", "Moreau", "Université Paris Cité", "noble gases, space weathering"),
    ("applicant-gb", "James", "Carter", "The Open University", "oxygen isotopes, water"),
    ("applicant-us", "Maria", "Lopez", "NASA Johnson Space Center", "petrology, EPMA"),
    ("applicant-jp", "Haruto", "Sato", "Japan Aerospace Exploration Agency", "SIMS, chronology"),
    ("applicant-pk", "Ayesha", "Khan", "Institute of Space Technology", "spectroscopy, regolith"),
    ("applicant-br", "Lucas", "Silva", "Universidade de São Paulo", "magnetism, paleointensity"),
)
ROUND_REVIEWERS = (
    ("reviewer-us", "Emily", "Brooks", "NASA Johnson Space Center", "SIMS, isotopes, chronology"),
    ("reviewer-it", "Marco", "Rossi", "Istituto Nazionale di Fisica Nucleare", "noble gases"),
    ("reviewer-se", "Anna", "Lind", "Swedish Institute of Space Physics", "space weathering"),
)

# title, keywords, technique, destructive, items [(form, requested mg, minimum mg, units)]
PAST_PROPOSALS = (
    (
        "Age of the youngest mare basalts",
        "chronology, SIMS",
        "SIMS U-Pb",
        True,
        [(Form.SCOOPED_REGOLITH, 900, 500, 0)],
    ),
    (
        "Solar wind noble gases in Chang'e-5 soil",
        "noble gases, space weathering",
        "noble gas mass spectrometry",
        True,
        [(Form.SCOOPED_REGOLITH, 700, 400, 0)],
    ),
    (
        "Water in lunar apatite",
        "oxygen isotopes, water",
        "NanoSIMS",
        True,
        [(Form.POWDER, 800, 500, 0), (Form.THIN_SECTION, 0, 0, 1)],
    ),
    (
        "Petrography of Chang'e-5 basalt clasts",
        "petrology, EPMA",
        "EPMA",
        False,
        [(Form.SCOOPED_REGOLITH, 600, 300, 0)],
    ),
    (
        "Reflectance spectra of returned regolith",
        "spectroscopy, regolith",
        "VNIR spectroscopy",
        False,
        [(Form.SCOOPED_REGOLITH, 1200, 1000, 0)],
    ),
    (
        "Paleomagnetism of young basalt",
        "magnetism, paleointensity",
        "SQUID magnetometry",
        False,
        [(Form.SCOOPED_REGOLITH, 1500, 1000, 0)],
    ),
    (
        "Cosmic-ray exposure ages of regolith grains",
        "isotope geochemistry, chronology",
        "noble gas mass spectrometry",
        True,
        [(Form.SCOOPED_REGOLITH, 400, 300, 0)],
    ),
    (
        "Bulk chemistry of Chang'e-5 regolith",
        "geochemistry, XRF",
        "XRF",
        True,
        [(Form.SCOOPED_REGOLITH, 1500, 1400, 0)],
    ),
)


def demo_round_people(institutions: dict[str, Institution], password) -> dict[str, User]:
    people = {}
    for rows, role in ((ROUND_APPLICANTS, Role.APPLICANT), (ROUND_REVIEWERS, Role.REVIEWER)):
        for username, first, last, institution, expertise in rows:
            people[username] = person_create(
                username=username,
                password=password(role),
                email=f"{username}@example.org",
                first_name=first,
                last_name=last,
                institution=institutions[institution],
                roles=(role,),
                expertise=expertise,
            ).user
    return people


def _draft(pi: User, call: Call, title, keywords, technique, destructive, items) -> Proposal:
    proposal = calls.proposal_create(actor=pi, call_id=call.pk, title=title)
    calls.proposal_update(
        actor=pi,
        proposal_id=proposal.pk,
        abstract=f"{title}: what the returned samples can tell that remote sensing cannot.",
        science_case="The samples are the only ground truth for the youngest lunar volcanism.",
        keywords=keywords,
        data_sharing_plan="Data deposited openly twelve months after publication.",
        prior_results="Previous work on Apollo samples.",
    )
    first_mass = next((req for form, req, _, _ in items if req), 0)
    calls.method_add(
        actor=pi,
        proposal_id=proposal.pk,
        technique=technique,
        destructive=destructive,
        mass_ug=first_mass * MG // 2 if destructive else 0,
    )
    for form, requested, minimum, units in items:
        calls.item_add(
            actor=pi,
            proposal_id=proposal.pk,
            mission=call.missions.first().code,
            pool=Pool.RESEARCH,
            form=form,
            requested_mass_ug=requested * MG,
            minimum_mass_ug=minimum * MG,
            units=units,
        )
    return proposal


def demo_past_round(*, committee: User, applicants: list[User], reviewers: list[User]) -> Call:
    """A first Chang'e-5 round taken all the way to its decisions and allocations."""
    now = timezone.now()
    call = calls.call_create(
        actor=committee,
        title="Chang'e-5 lunar samples: first international round",
        title_zh="嫦娥五号月球样品第一批国际申请",
        description="Research-pool regolith and powders from Oceanus Procellarum.",
        missions=["CE5"],
        pools=[Pool.RESEARCH],
        forms=[Form.SCOOPED_REGOLITH, Form.POWDER, Form.THIN_SECTION],
        release_budget_ug=4_500 * MG,
        per_proposal_cap_ug=1_500 * MG,
        proposals_due=now + timedelta(days=1),
        review_due=(now + timedelta(days=2)).date(),
        decision_due=(now + timedelta(days=3)).date(),
        panel=reviewers,
        reviewers_per_proposal=2,
        max_reviewer_load=5,
        country_share_cap_pct=40,
    )
    calls.call_transition(actor=committee, call_id=call.pk, to_status=CallStatus.OPEN)
    proposals = []
    for pi, spec in zip(applicants, PAST_PROPOSALS, strict=True):
        proposal = _draft(pi, call, *spec)
        calls.proposal_submit(actor=pi, proposal_id=proposal.pk)
        proposals.append(proposal)
    for status in (CallStatus.CLOSED, CallStatus.SCREENING):
        calls.call_transition(actor=committee, call_id=call.pk, to_status=status)
    calls.call_screen(actor=committee, call_id=call.pk)
    for proposal in proposals:
        calls.proposal_screen_decide(actor=committee, proposal_id=proposal.pk, eligible=True)
    calls.call_transition(actor=committee, call_id=call.pk, to_status=CallStatus.REVIEW)
    review.conflict_declare(
        actor=reviewers[1],
        proposal_id=proposals[0].pk,
        conflicted=True,
        reason="I co-supervise a student of the principal investigator.",
    )
    for reviewer in reviewers:
        for proposal in proposals[1:]:
            # Reviewers conflicted by the rules never see the proposal, so they declare nothing.
            if not automatic_conflicts(reviewer=reviewer, proposal=proposal):
                review.conflict_declare(actor=reviewer, proposal_id=proposal.pk, conflicted=False)
    assignments = review.assignment_run(actor=committee, call_id=call.pk)
    scores = {p.pk: 5 - n * 0.6 for n, p in enumerate(proposals)}
    for n, assignment in enumerate(assignments):
        base = scores[assignment.proposal_id]
        harsh = 1 if assignment.reviewer == reviewers[2] else 0
        merit = max(1, min(5, round(base) - harsh))
        review.review_submit(
            actor=assignment.reviewer,
            proposal_id=assignment.proposal_id,
            merit=merit,
            feasibility=max(1, min(5, round(base - 0.3) - harsh)),
            justification=max(1, min(5, merit - n % 2)),
            comments_to_applicant="A clear question and a realistic plan for the mass asked.",
            comments_to_committee="Strong team; the mass could be trimmed.",
        )
    calls.call_transition(actor=committee, call_id=call.pk, to_status=CallStatus.RANKING)
    order = list(RankEntry.objects.filter(call=call).order_by("final_rank"))
    if len(order) > 2:
        ids = [e.proposal_id for e in order]
        ids[1], ids[2] = ids[2], ids[1]
        review.ranking_set(
            actor=committee,
            call_id=call.pk,
            order=ids,
            reasons={
                ids[1]: "the committee favours the far more sample-efficient method",
                ids[2]: "moved down to make room for the more sample-efficient method",
            },
        )
    plan = plan_propose(actor=committee, call_id=call.pk)
    plan_apply(actor=committee, plan_id=plan.pk)
    plan_decide(
        actor=committee,
        plan_id=plan.pk,
        comment="Thank you for applying; the full reviews are below.",
    )
    calls.call_transition(
        actor=committee,
        call_id=call.pk,
        to_status=CallStatus.DECIDED,
        reason="decisions published after the committee meeting",
    )
    past = now - timedelta(days=420)
    Call.objects.filter(pk=call.pk).update(
        proposals_due=past,
        review_due=(past + timedelta(days=45)).date(),
        decision_due=(past + timedelta(days=60)).date(),
    )
    return call


def demo_open_round(*, committee: User, applicants: list[User], reviewers: list[User]) -> Call:
    """A Chang'e-6 round open for proposals: one submitted, one draft in progress."""
    now = timezone.now()
    call = calls.call_create(
        actor=committee,
        title="Chang'e-6 far-side samples: international round 2026",
        title_zh="嫦娥六号月球背面样品2026年国际申请",
        description="The first far-side samples, from the Apollo basin in South Pole–Aitken.",
        missions=["CE6"],
        pools=[Pool.RESEARCH],
        forms=[Form.SCOOPED_REGOLITH, Form.POWDER, Form.PARTICLE],
        release_budget_ug=3_000 * MG,
        per_proposal_cap_ug=1_000 * MG,
        intent_due=(now + timedelta(days=20)).date(),
        proposals_due=now + timedelta(days=60),
        review_due=(now + timedelta(days=100)).date(),
        decision_due=(now + timedelta(days=130)).date(),
        panel=reviewers,
        reviewers_per_proposal=2,
        max_reviewer_load=6,
        same_country_conflict=True,
    )
    calls.call_transition(actor=committee, call_id=call.pk, to_status=CallStatus.OPEN)
    submitted = _draft(
        applicants[0],
        call,
        "Far-side mantle sources from basalt fragments",
        "chronology, SIMS",
        "SIMS Pb-Pb",
        True,
        [(Form.SCOOPED_REGOLITH, 600, 400, 0)],
    )
    # The committee account co-investigates: when the call is screened, the services refuse to
    # let it screen, rank or decide this proposal, and say another committee member must.
    calls.team_member_add(
        actor=applicants[0], proposal_id=submitted.pk, user=committee, name="", country=""
    )
    calls.proposal_submit(actor=applicants[0], proposal_id=submitted.pk)
    draft = calls.proposal_create(
        actor=applicants[1], call_id=call.pk, title="Volatiles in far-side glass beads"
    )
    calls.proposal_update(actor=applicants[1], proposal_id=draft.pk, keywords="volatiles")
    return call


def demo_rounds(*, institutions, users: dict[str, User], password) -> dict:
    people = demo_round_people(institutions, password)
    applicants = [people[row[0]] for row in ROUND_APPLICANTS] + [users[Role.APPLICANT]]
    reviewers = [users[Role.REVIEWER]] + [people[row[0]] for row in ROUND_REVIEWERS]
    committee = users[Role.COMMITTEE]
    # The first applicant also sends a second, much larger proposal, which the round declines.
    past = demo_past_round(
        committee=committee, applicants=[*applicants, applicants[0]], reviewers=reviewers
    )
    current = demo_open_round(
        committee=committee, applicants=[applicants[0], users[Role.APPLICANT]], reviewers=reviewers
    )
    approved = list(
        past.proposals.filter(
            status__in=[ProposalStatus.APPROVED, ProposalStatus.PARTIALLY_APPROVED]
        ).order_by("rank__final_rank")
    )
    return {"past": past, "open": current, "approved": approved, "people": people}
