"""A committee member on a proposal's team takes no part in deciding it; the others still can."""

import pytest

from moonvault.allocation.services import plan_propose
from moonvault.calls.models import CallStatus, ProposalStatus, TeamMember
from moonvault.calls.services import (
    call_screen,
    proposal_decide,
    proposal_return,
    proposal_screen_decide,
    proposal_submit,
    team_member_add,
)
from moonvault.core.errors import Conflict
from moonvault.review.services import assignment_add, ranking_set
from tests.calls.conftest import refused


def on_team(proposal) -> str:
    return f"you are on the team of proposal {proposal.pk}"


@pytest.fixture
def ranked(round_):
    """Two ranked proposals; the committee member then joins the first one's team.

    The team is normally fixed once submitted, so the row is written directly: the rule must
    hold whatever the team holds when the committee acts."""
    people = round_.people
    own, other = round_.submitted(), round_.submitted(people.other)
    round_.ranked(own, other)
    TeamMember.objects.create(
        proposal=own, user=people.member, name="Zhang Wei", country="CN", institution_name="NAOC"
    )
    return own, other


def full(proposal) -> dict[int, int]:
    return {item.pk: item.requested_mass_ug for item in proposal.items.all()}


def test_a_team_member_cannot_decide_the_proposal_but_can_decide_the_others(round_, ranked):
    own, other = ranked
    member, chair = round_.people.member, round_.people.chair
    with refused(Conflict, field="proposal", message=on_team(own)):
        proposal_decide(actor=member, proposal_id=own.pk, approved=full(own), reasons={})
    decided = proposal_decide(actor=member, proposal_id=other.pk, approved=full(other), reasons={})
    assert decided.outcome == ProposalStatus.APPROVED
    decided = proposal_decide(actor=chair, proposal_id=own.pk, approved=full(own), reasons={})
    assert (decided.outcome, decided.decided_by) == (ProposalStatus.APPROVED, chair)


def test_a_co_investigator_listed_by_email_only_is_recognised(round_):
    people = round_.people
    own = round_.submitted()
    round_.ranked(own)
    TeamMember.objects.create(
        proposal=own,
        email=people.member.email.upper(),
        name="W. Zhang",
        country="CN",
        institution_name="NAOC",
    )
    with refused(Conflict, field="proposal", message=on_team(own)):
        proposal_decide(actor=people.member, proposal_id=own.pk, approved=full(own), reasons={})


def test_a_team_member_cannot_set_the_order_of_a_ranking_holding_the_proposal(round_, ranked):
    own, other = ranked
    with refused(Conflict, field="proposal", message=on_team(own)):
        ranking_set(
            actor=round_.people.member, call_id=round_.call.pk, order=[own.pk, other.pk], reasons={}
        )
    entries = ranking_set(
        actor=round_.people.chair,
        call_id=round_.call.pk,
        order=[other.pk, own.pk],
        reasons={other.pk: "the committee prefers the volatile study", own.pk: "moved down"},
    )
    assert [e.proposal_id for e in entries] == [other.pk, own.pk]


def test_a_team_member_cannot_propose_an_allocation_plan_for_the_call(round_, ranked):
    own, _other = ranked
    with refused(Conflict, field="proposal", message=on_team(own)):
        plan_propose(
            actor=round_.people.member, call_id=round_.call.pk, pinned=[own.items.get().pk]
        )


def test_a_team_member_cannot_return_or_screen_the_proposal(round_):
    people = round_.people
    own = round_.draft()
    team_member_add(actor=people.pi, proposal_id=own.pk, user=people.member, name="", country="")
    proposal_submit(actor=people.pi, proposal_id=own.pk)
    with refused(Conflict, field="proposal", message=on_team(own)):
        proposal_return(actor=people.member, proposal_id=own.pk, reason="add a data plan")

    round_.to(CallStatus.CLOSED, CallStatus.SCREENING)
    call_screen(actor=people.member, call_id=round_.call.pk)
    with refused(Conflict, field="proposal", message=on_team(own)):
        proposal_screen_decide(actor=people.member, proposal_id=own.pk, eligible=True)
    screening = proposal_screen_decide(actor=people.chair, proposal_id=own.pk, eligible=True)
    assert screening.decided_by == people.chair


def test_a_chair_on_the_team_cannot_pick_the_proposal_s_reviewers(round_):
    people = round_.people
    own = round_.draft()
    team_member_add(actor=people.pi, proposal_id=own.pk, user=people.chair, name="", country="")
    proposal_submit(actor=people.pi, proposal_id=own.pk)
    round_.in_review(own)
    with refused(Conflict, field="proposal", message=on_team(own)):
        assignment_add(actor=people.chair, proposal_id=own.pk, reviewer_id=people.rev_us.pk)
