"""Conflicts of interest: every automatic rule, declarations, and what a conflict hides."""

from datetime import date

import pytest

from moonvault.accounts.models import Role
from moonvault.calls.models import Call
from moonvault.calls.services import proposal_return, proposal_submit, team_member_add
from moonvault.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from moonvault.loans.models import Authorship, Publication
from moonvault.review.models import Assignment, ConflictDeclaration
from moonvault.review.selectors import (
    automatic_conflicts,
    is_conflicted,
    proposal_for_reviewer,
    proposal_team_view,
)
from moonvault.review.services import assignment_add, conflict_declare
from tests.calls.conftest import refused, register

TODAY = date(2026, 6, 1)
ON_TEAM = "is on the proposal's team"
SAME_INSTITUTION = "shares an institution with the team"
SAME_COUNTRY = "is from the same country as the team (the call's policy)"


def coauthored(year):
    return f"co-authored a publication with the team within {year} years"


@pytest.fixture
def proposal(round_):
    """PI in Münster (DE); co-investigators: a registered user in Nanjing (CN) and a name-only
    researcher in Nancy (FR). No panel member is related to them."""
    people = round_.people
    draft = round_.draft()
    team_member_add(actor=people.pi, proposal_id=draft.pk, user=people.coi, name="", country="")
    team_member_add(
        actor=people.pi,
        proposal_id=draft.pk,
        name="Marie Laurent",
        email="m.laurent@univ-lorraine.example",
        institution_name="Université de Lorraine",
        country="FR",
    )
    return proposal_submit(actor=people.pi, proposal_id=draft.pk)


def add_member(round_, proposal, **values):
    """Have the committee return the proposal so that its PI adds a co-investigator."""
    values = {"name": "Extra Member", "country": "GB", "institution_name": "Elsewhere", **values}
    people = round_.people
    proposal_return(actor=people.chair, proposal_id=proposal.pk, reason="complete the team")
    team_member_add(actor=people.pi, proposal_id=proposal.pk, **values)
    proposal_submit(actor=people.pi, proposal_id=proposal.pk)


def publish(year, *authors):
    publication = Publication.objects.create(title="Chang'e-5 basalt ages", year=year)
    for position, user in enumerate(authors):
        Authorship.objects.create(
            publication=publication, user=user, name=user.get_full_name(), position=position
        )


def test_an_unrelated_panel_member_has_no_conflict(round_, proposal):
    for reviewer in round_.people.panel:
        assert automatic_conflicts(reviewer=reviewer, proposal=proposal, today=TODAY) == []
        assert not is_conflicted(reviewer=reviewer, proposal=proposal)


def test_a_reviewer_on_the_team_as_a_registered_user_is_conflicted(round_, proposal):
    rev_us = round_.people.rev_us
    add_member(round_, proposal, user=rev_us, name="", country="", institution_name="")
    # Registered with their own institution, they also share it with the team.
    assert automatic_conflicts(reviewer=rev_us, proposal=proposal) == [ON_TEAM, SAME_INSTITUTION]


def test_a_reviewer_on_the_team_by_email_only_is_conflicted(round_, proposal):
    rev_jp = round_.people.rev_jp
    add_member(
        round_, proposal, name="K. Sato", email=rev_jp.email.upper(), institution_name="JAXA"
    )
    assert automatic_conflicts(reviewer=rev_jp, proposal=proposal) == [ON_TEAM]
    assert automatic_conflicts(reviewer=round_.people.rev_fr, proposal=proposal) == []


def test_a_reviewer_from_the_institution_of_a_co_investigator_is_conflicted(
    round_, proposal, institutions
):
    add_member(round_, proposal, name="Paul Martin", institution=institutions["ipgp"])
    assert automatic_conflicts(reviewer=round_.people.rev_fr, proposal=proposal) == [
        SAME_INSTITUTION
    ]


def test_a_reviewer_from_the_pis_institution_is_conflicted(round_, proposal, institutions):
    specs = {"colleague": ("muenster", Role.REVIEWER, "Eva", "Klein")}
    colleague = register(institutions, specs)["colleague"]
    assert automatic_conflicts(reviewer=colleague, proposal=proposal) == [SAME_INSTITUTION]


@pytest.mark.parametrize(
    ("years_ago", "conflicted"),
    [(0, True), (2, True), (3, True), (4, False), (10, False)],
)
@pytest.mark.parametrize("coauthor", ["pi", "coi"])
def test_co_authorship_with_a_team_member_is_a_conflict_within_the_calls_window(
    round_, proposal, coauthor, years_ago, conflicted
):
    rev_jp = round_.people.rev_jp
    publish(TODAY.year - years_ago, getattr(round_.people, coauthor), rev_jp)
    expected = [coauthored(3)] if conflicted else []
    assert automatic_conflicts(reviewer=rev_jp, proposal=proposal, today=TODAY) == expected


def test_the_co_authorship_window_is_the_calls_setting(round_, proposal):
    rev_jp = round_.people.rev_jp
    publish(TODAY.year - 6, round_.people.coi, rev_jp)
    assert automatic_conflicts(reviewer=rev_jp, proposal=proposal, today=TODAY) == []
    Call.objects.filter(pk=round_.call.pk).update(coauthor_window_years=8)
    proposal.call.refresh_from_db()
    assert automatic_conflicts(reviewer=rev_jp, proposal=proposal, today=TODAY) == [coauthored(8)]


def test_publications_without_the_reviewer_or_without_the_team_are_no_conflict(round_, proposal):
    people = round_.people
    publish(TODAY.year, people.rev_jp, people.rev_fr)
    publish(TODAY.year, people.coi, people.other)
    for reviewer in (people.rev_jp, people.rev_fr):
        assert automatic_conflicts(reviewer=reviewer, proposal=proposal, today=TODAY) == []


def test_the_same_country_is_a_conflict_only_when_the_calls_policy_says_so(round_, proposal):
    people = round_.people
    assert automatic_conflicts(reviewer=people.rev_de, proposal=proposal) == []
    Call.objects.filter(pk=round_.call.pk).update(same_country_conflict=True)
    proposal.call.refresh_from_db()
    # Heidelberg shares Germany with the PI; IPGP shares France with the name-only co-investigator.
    assert automatic_conflicts(reviewer=people.rev_de, proposal=proposal) == [SAME_COUNTRY]
    assert automatic_conflicts(reviewer=people.rev_fr, proposal=proposal) == [SAME_COUNTRY]
    assert automatic_conflicts(reviewer=people.rev_jp, proposal=proposal) == []
    assert automatic_conflicts(reviewer=people.rev_us, proposal=proposal) == []


def test_a_declared_conflict_needs_a_reason_and_is_recorded(round_, proposal):
    rev_jp = round_.people.rev_jp
    with refused(DomainError, field="reason", message="say what the conflict is"):
        conflict_declare(actor=rev_jp, proposal_id=proposal.pk, conflicted=True, reason=" ")
    declaration = conflict_declare(
        actor=rev_jp, proposal_id=proposal.pk, conflicted=True, reason="  Marie is my student. "
    )
    assert (declaration.conflicted, declaration.reason) == (True, "Marie is my student.")
    assert is_conflicted(reviewer=rev_jp, proposal=proposal)
    assert automatic_conflicts(reviewer=rev_jp, proposal=proposal) == []


def test_declaring_no_conflict_is_recorded_and_a_reviewer_declares_once(round_, proposal):
    rev_fr = round_.people.rev_fr
    conflict_declare(actor=rev_fr, proposal_id=proposal.pk, conflicted=False)
    assert ConflictDeclaration.objects.get(reviewer=rev_fr).conflicted is False
    assert not is_conflicted(reviewer=rev_fr, proposal=proposal)
    with refused(Conflict, field="proposal", message="already declared"):
        conflict_declare(actor=rev_fr, proposal_id=proposal.pk, conflicted=True, reason="oops")


def test_only_panel_members_declare_and_an_automatic_conflict_hides_the_proposal(round_, proposal):
    people = round_.people
    with refused(PermissionDenied, field=None, message="reviewer"):
        conflict_declare(actor=people.member, proposal_id=proposal.pk, conflicted=False)
    with refused(NotFound, field="proposal"):
        conflict_declare(actor=people.outsider, proposal_id=proposal.pk, conflicted=False)
    publish(TODAY.year, people.pi, people.rev_us)
    with refused(NotFound, field="proposal"):
        conflict_declare(actor=people.rev_us, proposal_id=proposal.pk, conflicted=False)


def test_a_declared_conflict_withdraws_an_assignment_not_yet_reviewed(round_, proposal):
    round_.in_review(proposal)
    (assignment,) = round_.assign(proposal, round_.people.rev_jp)
    conflict_declare(
        actor=round_.people.rev_jp, proposal_id=proposal.pk, conflicted=True, reason="my student"
    )
    assert not Assignment.objects.filter(pk=assignment.pk).exists()


@pytest.mark.parametrize("how", ["declared", "team", "institution", "coauthor", "country"])
def test_a_conflicted_reviewer_is_never_assigned_and_never_sees_the_proposal(
    round_, proposal, institutions, how
):
    people = round_.people
    reviewer = people.rev_fr
    if how == "declared":
        conflict_declare(actor=reviewer, proposal_id=proposal.pk, conflicted=True, reason="rival")
    if how == "team":
        add_member(round_, proposal, name="A. Moreau", email=reviewer.email)
    if how == "institution":
        add_member(round_, proposal, name="Paul Martin", institution=institutions["ipgp"])
    if how == "coauthor":
        publish(date.today().year, people.coi, reviewer)
    if how == "country":
        Call.objects.filter(pk=round_.call.pk).update(same_country_conflict=True)
    round_.in_review(proposal)
    proposal.refresh_from_db()

    assert is_conflicted(reviewer=reviewer, proposal=proposal)
    with refused(Conflict, field="reviewer", message="conflict of interest"):
        assignment_add(actor=people.chair, proposal_id=proposal.pk, reviewer_id=reviewer.pk)
    for look in (proposal_team_view, proposal_for_reviewer):
        with pytest.raises(NotFound, match=f"^proposal {proposal.pk} does not exist$"):
            look(reviewer=reviewer, proposal_id=proposal.pk)


def test_an_unconflicted_panel_member_sees_title_and_team_then_the_assigned_proposal(
    round_, proposal
):
    people = round_.people
    view = proposal_team_view(reviewer=people.rev_jp, proposal_id=proposal.pk)
    assert (view.proposal_id, view.title) == (proposal.pk, proposal.title)
    assert view.team == [
        ("Lena Vogel", "", "PI"),
        ("Chen Yu", "Purple Mountain Observatory", "CN"),
        ("Marie Laurent", "Université de Lorraine", "FR"),
    ]
    with pytest.raises(NotFound):
        proposal_for_reviewer(reviewer=people.rev_jp, proposal_id=proposal.pk)

    round_.in_review(proposal)
    round_.assign(proposal, people.rev_jp)
    assert proposal_for_reviewer(reviewer=people.rev_jp, proposal_id=proposal.pk) == proposal
    with pytest.raises(NotFound):
        proposal_for_reviewer(reviewer=people.rev_us, proposal_id=proposal.pk)


def test_someone_off_the_panel_and_a_draft_stay_hidden(round_, proposal):
    draft = round_.draft(round_.people.other)
    with pytest.raises(NotFound):
        proposal_team_view(reviewer=round_.people.outsider, proposal_id=proposal.pk)
    with pytest.raises(NotFound):
        proposal_team_view(reviewer=round_.people.rev_jp, proposal_id=draft.pk)
