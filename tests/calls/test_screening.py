"""Eligibility screening: automatic checks with reasons, then a committee decision on each."""

from datetime import date

import pytest

from moonvault.accounts.models import Person
from moonvault.calls.models import Call, CallStatus, ProposalStatus, Screening
from moonvault.calls.services import (
    call_screen,
    eligibility_checks,
    item_add,
    proposal_create,
    proposal_screen_decide,
)
from moonvault.catalog.models import Form, Pool
from moonvault.core.errors import Conflict, DomainError, PermissionDenied
from tests.calls.conftest import MG, refused


def results(proposal) -> dict[str, tuple[bool, str]]:
    return {c["rule"]: (c["passed"], c["message"]) for c in eligibility_checks(proposal)}


def test_a_sound_proposal_passes_every_check_with_its_reason(round_):
    assert results(round_.submitted()) == {
        "offered": (True, "every requested item is offered by the call"),
        "mass_cap": (True, "requested 400000 µg of at most 1000000 µg"),
        "obligations": (True, "the PI has no overdue loan report or return"),
        "complete": (True, "all required fields are complete"),
    }


def test_items_the_call_no_longer_offers_fail_the_offered_check(round_):
    proposal = round_.submitted()
    # The committee narrowed the offer after the proposal was drafted.
    Call.objects.filter(pk=round_.call.pk).update(forms=[Form.SCOOPED_REGOLITH])
    proposal.call.refresh_from_db()
    assert results(proposal)["offered"] == (
        False,
        "1 item(s) ask for a mission, pool or form the call does not offer",
    )


def test_a_total_above_the_per_proposal_cap_fails_the_mass_check(round_):
    proposal = round_.draft()
    item_add(
        actor=round_.people.pi,
        proposal_id=proposal.pk,
        mission="CE5",
        pool=Pool.RESEARCH,
        form=Form.SCOOPED_REGOLITH,
        requested_mass_ug=700 * MG,
        minimum_mass_ug=700 * MG,
    )
    assert results(proposal)["mass_cap"] == (False, "requested 1100000 µg of at most 1000000 µg")


def test_a_pi_with_overdue_loan_obligations_fails_the_obligations_check(round_):
    proposal = round_.submitted()
    Person.objects.filter(user=round_.people.pi).update(obligations_overdue_since=date(2026, 3, 31))
    proposal.pi.person.refresh_from_db()
    assert results(proposal)["obligations"] == (
        False,
        "the PI has overdue loan obligations since 2026-03-31",
    )


def test_an_incomplete_proposal_fails_the_completeness_check_with_every_missing_part(round_):
    proposal = proposal_create(actor=round_.people.pi, call_id=round_.call.pk, title="Glass beads")
    passed, message = results(proposal)["complete"]
    assert not passed
    assert message == (
        "abstract is required; science case is required; data-sharing plan is required; "
        "describe at least one method; request at least one sample item"
    )


def screen(round_):
    round_.to(CallStatus.CLOSED, CallStatus.SCREENING)
    screenings = call_screen(actor=round_.people.chair, call_id=round_.call.pk)
    return {s.proposal_id: s for s in screenings}


def test_screening_records_the_checks_of_every_submitted_proposal(round_):
    sound, overdue = round_.submitted(), round_.submitted(round_.people.other)
    draft = proposal_create(actor=round_.people.coi, call_id=round_.call.pk, title="never sent")
    Person.objects.filter(user=round_.people.other).update(
        obligations_overdue_since=date(2026, 1, 15)
    )

    screenings = screen(round_)

    assert set(screenings) == {sound.pk, overdue.pk}
    assert not Screening.objects.filter(proposal=draft).exists()
    assert screenings[sound.pk].automatic_eligible is True
    assert screenings[overdue.pk].automatic_eligible is False
    assert [c["rule"] for c in screenings[overdue.pk].checks if not c["passed"]] == ["obligations"]
    assert all(s.eligible is None and s.decided_by is None for s in screenings.values())


def test_the_committee_confirms_the_automatic_result_without_a_reason(round_):
    sound, overdue = round_.submitted(), round_.submitted(round_.people.other)
    Person.objects.filter(user=round_.people.other).update(
        obligations_overdue_since=date(2026, 1, 15)
    )
    screen(round_)

    accepted = proposal_screen_decide(
        actor=round_.people.member, proposal_id=sound.pk, eligible=True
    )
    rejected = proposal_screen_decide(
        actor=round_.people.chair, proposal_id=overdue.pk, eligible=False
    )

    assert (accepted.eligible, accepted.decided_by, accepted.reason) == (
        True,
        round_.people.member,
        "",
    )
    assert accepted.decided_at is not None
    assert (rejected.eligible, rejected.decided_by) == (False, round_.people.chair)
    sound.refresh_from_db()
    overdue.refresh_from_db()
    assert (sound.status, overdue.status) == (
        ProposalStatus.UNDER_REVIEW,
        ProposalStatus.INELIGIBLE,
    )
    assert [(a.action, a.actor) for a in overdue.actions.all()][-1] == (
        "ineligible",
        round_.people.chair,
    )


@pytest.mark.parametrize("overdue_pi", [False, True])
def test_overriding_the_automatic_result_needs_a_reason_that_is_recorded(round_, overdue_pi):
    proposal = round_.submitted()
    if overdue_pi:
        Person.objects.filter(user=round_.people.pi).update(
            obligations_overdue_since=date(2026, 1, 15)
        )
    screen(round_)
    override = overdue_pi  # the automatic result is "ineligible" when the PI is overdue
    with refused(DomainError, field="reason", message="needs a reason"):
        proposal_screen_decide(
            actor=round_.people.chair, proposal_id=proposal.pk, eligible=override
        )

    reason = "report received by post on 2 Feb" if override else "duplicate of proposal 12"
    screening = proposal_screen_decide(
        actor=round_.people.chair, proposal_id=proposal.pk, eligible=override, reason=reason
    )

    assert (screening.automatic_eligible, screening.eligible, screening.reason) == (
        not override,
        override,
        reason,
    )
    proposal.refresh_from_db()
    expected = ProposalStatus.UNDER_REVIEW if override else ProposalStatus.INELIGIBLE
    assert proposal.status == expected
    last = proposal.actions.last()
    assert (last.action, last.reason) == (
        "eligible" if override else "ineligible",
        reason,
    )


def test_a_screening_decision_needs_the_automatic_checks_first_and_is_taken_once(round_):
    proposal = round_.submitted()
    round_.to(CallStatus.CLOSED, CallStatus.SCREENING)
    with refused(Conflict, field="proposal", message="run the automatic checks first"):
        proposal_screen_decide(actor=round_.people.chair, proposal_id=proposal.pk, eligible=True)
    call_screen(actor=round_.people.chair, call_id=round_.call.pk)
    proposal_screen_decide(actor=round_.people.chair, proposal_id=proposal.pk, eligible=True)
    with refused(Conflict, field="proposal", message="not awaiting screening"):
        proposal_screen_decide(actor=round_.people.chair, proposal_id=proposal.pk, eligible=False)


def test_screening_happens_only_while_the_call_is_in_screening(round_):
    proposal = round_.submitted()
    with refused(Conflict, field="status", message="not in eligibility screening"):
        call_screen(actor=round_.people.chair, call_id=round_.call.pk)
    with refused(Conflict, field="proposal", message="not awaiting screening"):
        proposal_screen_decide(actor=round_.people.chair, proposal_id=proposal.pk, eligible=True)


@pytest.mark.parametrize("who", ["pi", "rev_us", "curator"])
def test_only_the_committee_screens(round_, who):
    proposal = round_.submitted()
    screen(round_)
    actor = getattr(round_.people, who)
    with refused(PermissionDenied, field=None):
        call_screen(actor=actor, call_id=round_.call.pk)
    with refused(PermissionDenied, field=None):
        proposal_screen_decide(actor=actor, proposal_id=proposal.pk, eligible=True)
