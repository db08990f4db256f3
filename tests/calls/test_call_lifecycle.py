"""A call's lifecycle: each step an explicit, recorded action by the committee, in order only."""

from datetime import timedelta

import pytest
from django.utils import timezone

from moonvault.calls.models import Call, CallStatus, CallTransition, ProposalStatus, ProposalVersion
from moonvault.calls.services import (
    call_extend_deadline,
    call_set_panel,
    call_transition,
    proposal_decide,
    proposal_submit,
    proposal_withdraw,
)
from moonvault.core.errors import Conflict, DomainError, PermissionDenied
from tests.calls.conftest import Round, refused

FLOW = [
    CallStatus.OPEN,
    CallStatus.CLOSED,
    CallStatus.SCREENING,
    CallStatus.REVIEW,
    CallStatus.RANKING,
    CallStatus.DECIDED,
    CallStatus.CLOSED_OUT,
]


def set_status(call, status):
    Call.objects.filter(pk=call.pk).update(status=status)


def test_a_call_goes_through_every_status_and_each_step_records_who_when_and_why(make_call, people):
    call = make_call()
    assert call.status == CallStatus.DRAFT
    r = Round(call, people)
    before = timezone.now()
    r.to(CallStatus.OPEN, actor=people.member)
    proposal = r.submitted()
    r.screened(proposal)
    r.to(CallStatus.REVIEW)
    r.assign(proposal, people.rev_us, people.rev_jp)
    r.review(proposal, people.rev_us, 4)
    r.review(proposal, people.rev_jp, 5)
    r.to(CallStatus.RANKING, actor=people.member)
    item = proposal.items.get()
    proposal_decide(
        actor=people.chair,
        proposal_id=proposal.pk,
        approved={item.pk: item.requested_mass_ug},
        reasons={},
    )
    r.to(CallStatus.DECIDED, CallStatus.CLOSED_OUT)

    call.refresh_from_db()
    assert call.status == CallStatus.CLOSED_OUT
    rows = list(call.transitions.all())
    assert [(t.from_status, t.to_status) for t in rows] == list(
        zip([CallStatus.DRAFT, *FLOW[:-1]], FLOW, strict=True)
    )
    assert [t.action for t in rows] == [
        "open",
        "close",
        "start screening",
        "start review",
        "start ranking",
        "publish decisions",
        "close out",
    ]
    assert [t.actor for t in rows] == [people.member] + [people.chair] * 3 + [people.member] + [
        people.chair
    ] * 2
    assert [t.reason for t in rows] == [f"moving on to {s}" for s in FLOW]
    assert all(before <= t.at <= timezone.now() for t in rows)
    assert [t.at for t in rows] == sorted(t.at for t in rows)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (CallStatus.DRAFT, CallStatus.REVIEW),
        (CallStatus.DRAFT, CallStatus.CLOSED),
        (CallStatus.DRAFT, CallStatus.DRAFT),
        (CallStatus.OPEN, CallStatus.SCREENING),
        (CallStatus.CLOSED, CallStatus.OPEN),
        (CallStatus.SCREENING, CallStatus.RANKING),
        (CallStatus.RANKING, CallStatus.REVIEW),
        (CallStatus.DECIDED, CallStatus.OPEN),
        (CallStatus.CLOSED_OUT, CallStatus.OPEN),
        (CallStatus.OPEN, "archived"),
    ],
)
def test_a_transition_out_of_order_is_refused_naming_the_status(make_call, people, current, target):
    call = make_call()
    set_status(call, current)
    label = CallStatus(current).label.lower()
    with refused(Conflict, field="status", message=f"a call that is {label} can only move to"):
        call_transition(actor=people.chair, call_id=call.pk, to_status=target, reason="skip")


def test_the_refusal_says_where_the_call_may_go_and_that_a_closed_out_call_goes_nowhere(
    make_call, people
):
    call = make_call()
    with pytest.raises(Conflict, match=r"can only move to: Open$"):
        call_transition(actor=people.chair, call_id=call.pk, to_status=CallStatus.REVIEW)
    set_status(call, CallStatus.CLOSED_OUT)
    with pytest.raises(Conflict, match=r"can only move to: nothing$"):
        call_transition(actor=people.chair, call_id=call.pk, to_status=CallStatus.OPEN)


@pytest.mark.parametrize("who", ["pi", "rev_us", "curator", None])
def test_only_a_committee_member_moves_a_call(round_, who):
    actor = getattr(round_.people, who) if who else None
    with refused(PermissionDenied, field=None, message="committee"):
        call_transition(actor=actor, call_id=round_.call.pk, to_status=CallStatus.CLOSED)


def test_opening_a_call_whose_deadline_has_passed_is_refused(make_call, people):
    call = make_call()
    Call.objects.filter(pk=call.pk).update(proposals_due=timezone.now() - timedelta(minutes=1))
    with refused(Conflict, field="proposals_due", message="deadline has passed"):
        call_transition(actor=people.chair, call_id=call.pk, to_status=CallStatus.OPEN)


def test_review_is_refused_while_proposals_await_screening(round_):
    screened, waiting = round_.submitted(), round_.submitted(round_.people.other)
    round_.screened(screened)
    with refused(Conflict, field="status", message="1 submitted proposal(s) still await"):
        round_.to(CallStatus.REVIEW)
    waiting.refresh_from_db()
    assert waiting.status == ProposalStatus.SUBMITTED


def test_review_is_refused_without_a_panel(round_):
    round_.screened(round_.submitted())
    call_set_panel(actor=round_.people.chair, call_id=round_.call.pk, reviewers=[])
    with refused(Conflict, field="panel", message="no review panel"):
        round_.to(CallStatus.REVIEW)


def test_ranking_is_refused_while_an_assigned_review_is_missing(round_):
    proposal = round_.submitted()
    round_.in_review(proposal)
    round_.assign(proposal, round_.people.rev_us, round_.people.rev_jp)
    round_.review(proposal, round_.people.rev_us, 4)
    with refused(Conflict, field="status", message="1 assigned review(s) are not submitted"):
        round_.to(CallStatus.RANKING)


def test_ranking_is_refused_while_a_proposal_under_review_has_no_reviewer(round_):
    reviewed, forgotten = round_.submitted(), round_.submitted(round_.people.other)
    round_.in_review(reviewed, forgotten)
    round_.assign(reviewed, round_.people.rev_us)
    round_.review(reviewed, round_.people.rev_us, 4)
    with refused(Conflict, field="status", message="1 proposal(s) under review have no reviewer"):
        round_.to(CallStatus.RANKING)


def test_a_withdrawn_proposal_does_not_hold_up_ranking(round_):
    reviewed, withdrawn = round_.submitted(), round_.submitted(round_.people.other)
    round_.in_review(reviewed, withdrawn)
    round_.assign(reviewed, round_.people.rev_us)
    round_.assign(withdrawn, round_.people.rev_jp)
    round_.review(reviewed, round_.people.rev_us, 4)
    proposal_withdraw(actor=round_.people.other, proposal_id=withdrawn.pk, reason="moved lab")
    assert round_.to(CallStatus.RANKING).status == CallStatus.RANKING


def test_decisions_cannot_be_published_while_a_ranked_proposal_is_undecided(round_):
    decided, undecided = round_.submitted(), round_.submitted(round_.people.other)
    round_.ranked(decided, undecided)
    item = decided.items.get()
    proposal_decide(
        actor=round_.people.chair,
        proposal_id=decided.pk,
        approved={item.pk: 0},
        reasons={item.pk: "ranked 2 of 2; the research pool is spent"},
    )
    with refused(Conflict, field="status", message="1 ranked proposal(s) have no decision"):
        round_.to(CallStatus.DECIDED)


def test_a_submission_after_the_deadline_is_refused(round_):
    proposal = round_.draft()
    Call.objects.filter(pk=round_.call.pk).update(
        proposals_due=timezone.now() - timedelta(seconds=1)
    )
    with refused(Conflict, field="call", message="deadline has passed"):
        proposal_submit(actor=round_.people.pi, proposal_id=proposal.pk)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.DRAFT
    assert not ProposalVersion.objects.exists()


def test_a_submission_to_a_closed_call_is_refused_even_before_the_deadline(round_):
    proposal = round_.draft()
    round_.to(CallStatus.CLOSED)
    with refused(Conflict, field="call", message="submissions are closed"):
        proposal_submit(actor=round_.people.pi, proposal_id=proposal.pk)


def test_an_extension_records_old_and_new_deadlines_and_reopens_a_closed_call(round_):
    people = round_.people
    proposal = round_.draft()
    old = timezone.now() - timedelta(hours=2)
    Call.objects.filter(pk=round_.call.pk).update(proposals_due=old)
    round_.to(CallStatus.CLOSED)
    new = timezone.now() + timedelta(days=7)

    call = call_extend_deadline(
        actor=people.member,
        call_id=round_.call.pk,
        proposals_due=new,
        reason="courier strike in the applicants' region",
    )

    assert call.status == CallStatus.OPEN
    call.refresh_from_db()
    assert (call.status, call.proposals_due) == (CallStatus.OPEN, new)
    extension = call.transitions.last()
    assert (extension.from_status, extension.to_status) == (CallStatus.CLOSED, CallStatus.OPEN)
    assert (extension.action, extension.actor) == ("extend deadline", people.member)
    assert extension.reason == (
        f"courier strike in the applicants' region (was {old.isoformat()}, now {new.isoformat()})"
    )
    assert proposal_submit(actor=people.pi, proposal_id=proposal.pk).status == "submitted"


def test_an_extension_of_an_open_call_keeps_it_open(round_):
    new = round_.call.proposals_due + timedelta(days=3)
    call = call_extend_deadline(
        actor=round_.people.chair, call_id=round_.call.pk, proposals_due=new, reason="holidays"
    )
    extension = CallTransition.objects.filter(call=call).last()
    assert (extension.from_status, extension.to_status) == (CallStatus.OPEN, CallStatus.OPEN)
    assert call.status == CallStatus.OPEN


@pytest.mark.parametrize(
    ("shift", "reason", "field", "message"),
    [
        (timedelta(days=3), "  ", "reason", "needs a reason"),
        (timedelta(0), "holidays", "proposals_due", "later than the current one"),
        (-timedelta(days=1), "holidays", "proposals_due", "later than the current one"),
        (timedelta(days=45), "holidays", "proposals_due", "after the review deadline"),
    ],
)
def test_an_extension_needs_a_reason_and_a_later_date_before_the_reviews(
    round_, shift, reason, field, message
):
    with refused(DomainError, field=field, message=message):
        call_extend_deadline(
            actor=round_.people.chair,
            call_id=round_.call.pk,
            proposals_due=round_.call.proposals_due + shift,
            reason=reason,
        )


def test_a_closed_call_is_not_reopened_on_a_deadline_that_has_passed(round_):
    long_ago = timezone.now() - timedelta(days=10)
    Call.objects.filter(pk=round_.call.pk).update(proposals_due=long_ago)
    round_.to(CallStatus.CLOSED)
    with refused(DomainError, field="proposals_due", message="has already passed"):
        call_extend_deadline(
            actor=round_.people.chair,
            call_id=round_.call.pk,
            proposals_due=long_ago + timedelta(days=5),
            reason="late applicants",
        )


def test_the_deadline_cannot_move_once_screening_started(round_):
    round_.to(CallStatus.CLOSED, CallStatus.SCREENING)
    with refused(Conflict, field="proposals_due", message="can no longer change"):
        call_extend_deadline(
            actor=round_.people.chair,
            call_id=round_.call.pk,
            proposals_due=round_.call.proposals_due + timedelta(days=1),
            reason="late applicants",
        )


def test_only_the_committee_extends_a_deadline(round_):
    with refused(PermissionDenied, field=None):
        call_extend_deadline(
            actor=round_.people.pi,
            call_id=round_.call.pk,
            proposals_due=round_.call.proposals_due + timedelta(days=1),
            reason="I need more time",
        )
