"""A complete allocation round, run through the services, for tests that start after it."""

from datetime import timedelta

from django.utils import timezone

from moonvault.calls import services as calls
from moonvault.calls.models import CallStatus
from moonvault.catalog.models import Form, Pool
from moonvault.review import services as review
from tests.conftest import GRAM

MG = 1_000


def run_round_to_ranking(
    mission_ce5, receive, round_people, *, requests_mg, receive_sources: bool = True
):
    """`receive_sources=False` runs a further round on the samples an earlier one received."""
    committee, applicants, reviewers = round_people
    sources = [
        receive(f"CE5C0400YJFM0050{i}", mission_ce5, 2 * GRAM, form=Form.SCOOPED_REGOLITH)
        for i in range(2 if receive_sources else 0)
    ]
    now = timezone.now()
    call = calls.call_create(
        actor=committee,
        title="Chang'e-5 international round",
        missions=["CE5"],
        pools=[Pool.RESEARCH],
        forms=[Form.SCOOPED_REGOLITH],
        release_budget_ug=3 * GRAM,
        per_proposal_cap_ug=2 * GRAM,
        proposals_due=now + timedelta(days=30),
        review_due=(now + timedelta(days=60)).date(),
        decision_due=(now + timedelta(days=90)).date(),
        panel=reviewers,
        reviewers_per_proposal=2,
        max_reviewer_load=3,
    )
    calls.call_transition(actor=committee, call_id=call.pk, to_status=CallStatus.OPEN)
    proposals = []
    for pi, (requested, minimum) in zip(applicants, requests_mg, strict=True):
        p = calls.proposal_create(actor=pi, call_id=call.pk, title=f"Isotopes by {pi.username}")
        calls.proposal_update(
            actor=pi,
            proposal_id=p.pk,
            abstract="Abstract.",
            science_case="Why.",
            data_sharing_plan="Open data after 12 months.",
            keywords="isotopes, SIMS",
        )
        calls.method_add(
            actor=pi, proposal_id=p.pk, technique="SIMS", destructive=True, mass_ug=minimum * MG
        )
        calls.item_add(
            actor=pi,
            proposal_id=p.pk,
            mission="CE5",
            pool=Pool.RESEARCH,
            form=Form.SCOOPED_REGOLITH,
            requested_mass_ug=requested * MG,
            minimum_mass_ug=minimum * MG,
        )
        calls.proposal_submit(actor=pi, proposal_id=p.pk)
        proposals.append(p)
    for status in (CallStatus.CLOSED, CallStatus.SCREENING):
        calls.call_transition(actor=committee, call_id=call.pk, to_status=status)
    calls.call_screen(actor=committee, call_id=call.pk)
    for p in proposals:
        calls.proposal_screen_decide(actor=committee, proposal_id=p.pk, eligible=True)
    calls.call_transition(actor=committee, call_id=call.pk, to_status=CallStatus.REVIEW)
    assigned = review.assignment_run(actor=committee, call_id=call.pk)
    assert len(assigned) == 2 * len(proposals)
    for n, a in enumerate(assigned):
        score = 5 - (a.proposal_id - proposals[0].pk)  # the first proposal scores best
        review.review_submit(
            actor=a.reviewer,
            proposal_id=a.proposal_id,
            merit=score,
            feasibility=score,
            justification=max(score - n % 2, 1),
            comments_to_applicant="Clear plan.",
        )
    calls.call_transition(actor=committee, call_id=call.pk, to_status=CallStatus.RANKING)
    return call, committee, proposals, sources
