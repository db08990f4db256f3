"""E-mail at each step that concerns a person, sent only once the change is committed."""

from datetime import date

import pytest

from moonvault.accounts.models import Person
from moonvault.calls.models import CallStatus
from moonvault.calls.services import (
    call_screen,
    call_transition,
    proposal_decide,
    proposal_return,
    proposal_screen_decide,
    proposal_submit,
)
from moonvault.review.services import assignment_add


@pytest.fixture
def committed(mailoutbox, django_capture_on_commit_callbacks):
    """Run an action as if its transaction committed, and return the mail it sent."""

    def run(action):
        mailoutbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            action()
        return list(mailoutbox)

    return run


def test_the_applicant_hears_that_the_proposal_was_received(round_, committed):
    proposal = round_.draft()
    (mail,) = committed(lambda: proposal_submit(actor=round_.people.pi, proposal_id=proposal.pk))
    assert mail.to == [round_.people.pi.email]
    assert mail.subject == "[Moonvault] Proposal received: Space weathering of Chang'e-5 regolith"
    assert mail.body == (
        "Your proposal to Chang'e-5 international round 2 was submitted (version 1)."
    )


def test_nothing_is_sent_before_the_transaction_commits(
    round_, mailoutbox, django_capture_on_commit_callbacks
):
    proposal = round_.draft()
    with django_capture_on_commit_callbacks() as callbacks:
        proposal_submit(actor=round_.people.pi, proposal_id=proposal.pk)
    assert (len(callbacks), mailoutbox) == (1, [])


def test_the_applicant_hears_why_the_proposal_was_returned(round_, committed):
    proposal = round_.submitted()
    (mail,) = committed(
        lambda: proposal_return(
            actor=round_.people.chair, proposal_id=proposal.pk, reason="Add a data-sharing date."
        )
    )
    assert mail.to == [round_.people.pi.email]
    assert mail.subject.startswith("[Moonvault] Proposal returned for changes:")
    assert mail.body.endswith("Add a data-sharing date.")


def test_the_applicants_hear_the_screening_result_with_the_reasons(round_, committed):
    eligible, ineligible = round_.submitted(), round_.submitted(round_.people.other)
    Person.objects.filter(user=round_.people.other).update(
        obligations_overdue_since=date(2026, 2, 1)
    )
    round_.to(CallStatus.CLOSED, CallStatus.SCREENING)
    assert committed(lambda: call_screen(actor=round_.people.chair, call_id=round_.call.pk)) == []

    (good,) = committed(
        lambda: proposal_screen_decide(
            actor=round_.people.chair, proposal_id=eligible.pk, eligible=True
        )
    )
    (bad,) = committed(
        lambda: proposal_screen_decide(
            actor=round_.people.chair,
            proposal_id=ineligible.pk,
            eligible=False,
        )
    )

    assert (good.to, bad.to) == ([round_.people.pi.email], [round_.people.other.email])
    assert good.subject == f"[Moonvault] Eligibility: {eligible.title}"
    assert good.body == "Your proposal passed eligibility screening and goes to review."
    assert bad.body == (
        "Your proposal was found ineligible: the PI has overdue loan obligations since 2026-02-01"
    )


def test_an_overridden_screening_tells_the_applicant_the_committees_reason(round_, committed):
    proposal = round_.submitted()
    round_.screened()
    (mail,) = committed(
        lambda: proposal_screen_decide(
            actor=round_.people.chair,
            proposal_id=proposal.pk,
            eligible=False,
            reason="the same team holds an unfinished Chang'e-5 loan",
        )
    )
    assert mail.body == (
        "Your proposal was found ineligible: the same team holds an unfinished Chang'e-5 loan"
    )


def test_a_reviewer_hears_of_an_assignment(round_, committed):
    proposal = round_.submitted()
    round_.in_review(proposal)
    (mail,) = committed(
        lambda: assignment_add(
            actor=round_.people.chair, proposal_id=proposal.pk, reviewer_id=round_.people.rev_jp.pk
        )
    )
    assert mail.to == [round_.people.rev_jp.email]
    assert mail.subject == f"[Moonvault] Review assigned: {proposal.title}"
    assert round_.call.review_due.isoformat() in mail.body


def test_the_applicant_hears_the_decision(round_, committed):
    proposal = round_.submitted()
    round_.ranked(proposal)
    item = proposal.items.get()
    silent = committed(
        lambda: proposal_decide(
            actor=round_.people.chair,
            proposal_id=proposal.pk,
            approved={item.pk: 200_000},
            reasons={item.pk: "ranked 1 of 1; the research pool had 0.2 g of powder left"},
        )
    )
    assert silent == [], "nobody hears of a decision before the committee publishes it"
    (mail,) = committed(
        lambda: call_transition(
            actor=round_.people.chair, call_id=round_.call.pk, to_status=CallStatus.DECIDED
        )
    )
    assert mail.to == [round_.people.pi.email]
    assert mail.subject == f"[Moonvault] Decision: {proposal.title}"
    assert "decision on your proposal: Partly approved." in mail.body
