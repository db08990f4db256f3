"""A whole round through the services: from a call to allocated, ledger-recorded portions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from moonvault.accounts.models import Role
from moonvault.accounts.services import institution_create, person_create
from moonvault.allocation.models import Allocation, AllocationPlan
from moonvault.allocation.services import mission_headroom, plan_apply, plan_decide, plan_propose
from moonvault.calls import services as calls
from moonvault.calls.models import CallStatus, ProposalStatus
from moonvault.catalog.models import Form, Pool, Sample, State
from moonvault.core.errors import Conflict, DomainError
from moonvault.custody.verification import custody_verify
from moonvault.review import services as review
from tests.conftest import GRAM

MG = 1_000


@pytest.fixture
def round_people(db):
    cn = institution_create(name="Purple Mountain Observatory", country="CN")
    fr = institution_create(name="Université Paris Cité", country="FR")
    de = institution_create(name="University of Münster", country="DE")
    us = institution_create(name="Brown University", country="US")
    committee = person_create(
        username="chair", password="x-Chair-2026!", roles=(Role.COMMITTEE,), institution=cn
    ).user
    applicants = [
        person_create(
            username=f"pi{i}",
            password="x-Pi-2026!",
            email=f"pi{i}@example.org",
            roles=(Role.APPLICANT,),
            institution=inst,
        ).user
        for i, inst in enumerate([fr, de, us])
    ]
    reviewers = [
        person_create(
            username=f"rev{i}",
            password="x-Rev-2026!",
            email=f"rev{i}@example.org",
            roles=(Role.REVIEWER,),
            institution=inst,
            expertise=kw,
        ).user
        for i, (inst, kw) in enumerate(
            [(cn, "sims, isotopes"), (us, "epma, petrology"), (fr, "noble gas, isotopes")]
        )
    ]
    return committee, applicants, reviewers


def _run_round_to_ranking(mission_ce5, receive, round_people, *, requests_mg):
    committee, applicants, reviewers = round_people
    sources = [
        receive(f"CE5C0400YJFM0050{i}", mission_ce5, 2 * GRAM, form=Form.SCOOPED_REGOLITH)
        for i in range(2)
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


def test_a_scarce_round_funds_by_rank_and_records_every_portion(mission_ce5, receive, round_people):
    call, committee, proposals, sources = _run_round_to_ranking(
        mission_ce5, receive, round_people, requests_mg=[(1500, 1000), (1500, 1000), (1800, 1500)]
    )
    plan = plan_propose(actor=committee, call_id=call.pk)
    outcomes = {o.item.proposal_id: o for o in plan.outcomes.all()}
    assert outcomes[proposals[0].pk].status == "full"
    assert outcomes[proposals[0].pk].funded_mass_ug == 1500 * MG
    assert outcomes[proposals[2].pk].status == "unfunded"
    assert outcomes[proposals[2].pk].explanation.startswith("ranked 3 of 3")
    assert plan.funded_mass_ug <= call.release_budget_ug

    allocations = plan_apply(actor=committee, plan_id=plan.pk)
    assert sum(a.mass_ug for a in allocations) == plan.funded_mass_ug
    for allocation in allocations:
        assert allocation.sample.state == State.ALLOCATED
        assert allocation.sample.parent_id in {s.pk for s in sources}
    report = custody_verify()
    assert report.ok, report.problems

    with pytest.raises(Conflict):
        plan_apply(actor=committee, plan_id=plan.pk)
    assert Allocation.objects.count() == len(allocations)

    assert plan_decide(actor=committee, plan_id=plan.pk) == 3
    proposals[0].refresh_from_db()
    proposals[2].refresh_from_db()
    assert proposals[0].status == ProposalStatus.APPROVED
    assert proposals[2].status == ProposalStatus.DECLINED
    assert "ranked 3 of 3" in proposals[2].items.get().decision.reason


def test_the_reserve_policy_caps_what_a_plan_may_release(mission_ce5, receive, round_people):
    mission_ce5.returned_mass_ug = 4 * GRAM
    mission_ce5.reserve_pct = 75
    mission_ce5.save()
    call, committee, _, _ = _run_round_to_ranking(
        mission_ce5, receive, round_people, requests_mg=[(800, 500), (800, 500), (800, 500)]
    )
    assert mission_headroom(mission_ce5) == GRAM
    plan = plan_propose(actor=committee, call_id=call.pk)
    assert plan.funded_mass_ug + plan.splits * plan.handling_loss_ug <= GRAM
    reasons = {o.reason for o in plan.outcomes.all() if o.status != "full"}
    assert reasons & {"reserve", "source_exhausted"}
    plan_apply(actor=committee, plan_id=plan.pk)
    assert mission_headroom(mission_ce5) >= 0


def test_excluded_and_pinned_items_change_the_plan(mission_ce5, receive, round_people):
    call, committee, proposals, _ = _run_round_to_ranking(
        mission_ce5, receive, round_people, requests_mg=[(1500, 1000), (1500, 1000), (1800, 1500)]
    )
    last_item = proposals[2].items.get()
    first_item = proposals[0].items.get()
    plan = plan_propose(
        actor=committee, call_id=call.pk, pinned=[last_item.pk], excluded=[first_item.pk]
    )
    outcomes = {o.item_id: o for o in plan.outcomes.all()}
    assert outcomes[last_item.pk].status == "full"
    assert outcomes[first_item.pk].reason == "excluded"
    assert AllocationPlan.objects.filter(call=call).count() == 1

    with pytest.raises(DomainError) as refused:
        plan_propose(actor=committee, call_id=call.pk, pinned=[999_999])
    assert refused.value.problems[0].field == "pinned"
    assert Sample.objects.filter(state=State.ALLOCATED).count() == 0
