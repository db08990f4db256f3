"""A whole round through the services: from a call to allocated, ledger-recorded portions."""

import pytest
from django.utils import translation

from moonvault.accounts.models import Institution, Person
from moonvault.allocation.models import Allocation, AllocationPlan
from moonvault.allocation.services import mission_headroom, plan_apply, plan_decide, plan_propose
from moonvault.calls.models import ProposalStatus
from moonvault.catalog.models import Sample, State
from moonvault.core.errors import Conflict, DomainError
from moonvault.custody.verification import custody_verify
from moonvault.web.selectors import released_by_institution
from tests.conftest import GRAM
from tests.rounds import MG, run_round_to_ranking


def test_a_scarce_round_funds_by_rank_and_records_every_portion(mission_ce5, receive, round_people):
    call, committee, proposals, sources = run_round_to_ranking(
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
    call, committee, _, _ = run_round_to_ranking(
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
    call, committee, proposals, _ = run_round_to_ranking(
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


def test_each_outcome_keeps_its_english_explanation_and_the_message_to_translate(
    mission_ce5, receive, round_people
):
    call, committee, _, _ = run_round_to_ranking(
        mission_ce5, receive, round_people, requests_mg=[(1500, 1000), (1500, 1000), (1800, 1500)]
    )
    plan = plan_propose(actor=committee, call_id=call.pk)
    for outcome in plan.outcomes.all():
        assert outcome.ranked_of == 3
        # In English, the message filled in is the stored explanation word for word.
        assert outcome.explanation_shown == outcome.explanation
        with translation.override("zh-hans"):
            chinese = outcome.explanation_shown
        assert chinese.startswith(f"排名第 {outcome.rank} / 3；")
        assert "ranked" not in chinese


def test_applying_a_plan_records_the_mission_and_the_pi_institution_of_each_allocation(
    mission_ce5, receive, round_people
):
    call, committee, proposals, _ = run_round_to_ranking(
        mission_ce5, receive, round_people, requests_mg=[(1500, 1000), (1500, 1000), (1800, 1500)]
    )
    paris = proposals[0].pi.person.institution
    # The second PI has left their institution before the decision.
    Person.objects.filter(user=proposals[1].pi).update(institution=None)
    plan = plan_propose(actor=committee, call_id=call.pk)
    allocations = plan_apply(actor=committee, plan_id=plan.pk)
    recorded = {
        a.item.proposal_id: (a.mission_id, a.institution_id, a.country)
        for a in Allocation.objects.filter(pk__in=[a.pk for a in allocations])
    }
    assert recorded == {
        proposals[0].pk: (mission_ce5.pk, paris.pk, "FR"),
        proposals[1].pk: (mission_ce5.pk, None, ""),
    }
    # The first PI moves afterwards: what was released to Paris stays with Paris.
    Person.objects.filter(user=proposals[0].pi).update(
        institution=Institution.objects.get(country="DE")
    )
    rows = released_by_institution().rows
    assert {(r["institution"], r["country"], r["mass_ug"]) for r in rows} == {
        (paris.name, "FR", 1500 * MG),
        ("", "", 1500 * MG),
    }
