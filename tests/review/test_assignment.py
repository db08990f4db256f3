"""Manual reviewer assignment by the call's chair, within the call's limits."""

import pytest

from moonvault.calls.models import CallStatus
from moonvault.calls.services import proposal_screen_decide
from moonvault.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from moonvault.review.models import Assignment
from moonvault.review.services import assignment_add, assignment_remove
from tests.calls.conftest import Round, refused


@pytest.fixture
def proposals(round_):
    """Three proposals under review; two reviewers each, three proposals at most per reviewer."""
    people = round_.people
    chosen = [round_.submitted(), round_.submitted(people.other), round_.submitted(people.coi)]
    round_.in_review(*chosen)
    return chosen


def assign(round_, proposal, reviewer, actor=None):
    return assignment_add(
        actor=actor or round_.people.chair, proposal_id=proposal.pk, reviewer_id=reviewer.pk
    )


def test_the_chair_assigns_a_panel_member(round_, proposals):
    assignment = assign(round_, proposals[0], round_.people.rev_us)
    assert (assignment.proposal, assignment.reviewer) == (proposals[0], round_.people.rev_us)
    assert (assignment.assigned_by, assignment.source) == (
        round_.people.chair,
        Assignment.Source.MANUAL,
    )


@pytest.mark.parametrize("who", ["member", "pi", "rev_us", "curator"])
def test_only_the_chair_assigns(round_, proposals, who):
    with refused(PermissionDenied, field=None):
        assign(round_, proposals[0], round_.people.rev_jp, actor=getattr(round_.people, who))


def test_only_panel_members_can_be_assigned(round_, proposals):
    with refused(DomainError, field="reviewer", message="not on the call's panel"):
        assign(round_, proposals[0], round_.people.outsider)


def test_no_reviewer_takes_more_than_the_maximum_load(make_call, people):
    tight = Round(make_call(max_reviewer_load=2), people)
    tight.to(CallStatus.OPEN)
    chosen = [tight.submitted(), tight.submitted(people.other), tight.submitted(people.coi)]
    tight.in_review(*chosen)
    tight.assign(chosen[0], people.rev_us)
    tight.assign(chosen[1], people.rev_us)
    with refused(Conflict, field="reviewer", message="already has 2 proposals, the call's maximum"):
        assign(tight, chosen[2], people.rev_us)
    assert len(tight.assign(chosen[2], people.rev_jp)) == 1


def test_each_proposal_gets_at_most_the_calls_number_of_reviewers(round_, proposals):
    assign(round_, proposals[0], round_.people.rev_us)
    assign(round_, proposals[0], round_.people.rev_jp)
    with refused(Conflict, field="proposal", message="already has 2 reviewers"):
        assign(round_, proposals[0], round_.people.rev_fr)


def test_a_reviewer_is_assigned_to_a_proposal_once(round_, proposals):
    assign(round_, proposals[0], round_.people.rev_us)
    with refused(Conflict, field="reviewer", message="already assigned"):
        assign(round_, proposals[0], round_.people.rev_us)


def test_assignment_happens_only_in_review_and_only_for_eligible_proposals(round_):
    people = round_.people
    eligible, ineligible = round_.submitted(), round_.submitted(people.other)
    round_.screened(eligible)
    with refused(Conflict, field="status", message="while the call is in review"):
        assign(round_, eligible, people.rev_us)
    proposal_screen_decide(
        actor=people.chair, proposal_id=ineligible.pk, eligible=False, reason="out of scope"
    )
    round_.to(CallStatus.REVIEW)
    with refused(Conflict, field="proposal", message="only eligible proposals"):
        assign(round_, ineligible, people.rev_us)
    with refused(NotFound, field="proposal"):
        assignment_add(actor=people.chair, proposal_id=ineligible.pk + 100, reviewer_id=1)


def test_the_chair_removes_an_assignment_until_its_review_is_in(round_, proposals):
    people = round_.people
    first = assign(round_, proposals[0], people.rev_us)
    second = assign(round_, proposals[0], people.rev_jp)
    with refused(PermissionDenied, field=None):
        assignment_remove(actor=people.member, assignment_id=first.pk)

    assignment_remove(actor=people.chair, assignment_id=first.pk)
    assert list(proposals[0].assignments.all()) == [second]

    round_.review(proposals[0], people.rev_jp, 4)
    with refused(Conflict, field="assignment", message="already submitted"):
        assignment_remove(actor=people.chair, assignment_id=second.pk)
    with refused(NotFound, field="assignment"):
        assignment_remove(actor=people.chair, assignment_id=first.pk)
