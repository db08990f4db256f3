"""The committee's decision per proposal: the outcome follows from the approved amounts."""

import pytest

from moonvault.calls.models import Decision, Proposal, ProposalStatus
from moonvault.calls.services import item_add, proposal_decide, proposal_submit, proposal_update
from moonvault.catalog.models import Form, Pool
from moonvault.core.errors import Conflict, DomainError, PermissionDenied
from tests.calls.conftest import MG, refused


def with_thin_sections(round_, pi=None, *, all_or_nothing=False) -> Proposal:
    """Round's standard draft (400 mg powder, at least 100 mg) plus two thin sections."""
    proposal = round_.draft(pi)
    item_add(
        actor=proposal.pi,
        proposal_id=proposal.pk,
        mission="CE5",
        pool=Pool.RESEARCH,
        form=Form.THIN_SECTION,
        units=2,
    )
    proposal_update(actor=proposal.pi, proposal_id=proposal.pk, all_or_nothing=all_or_nothing)
    return proposal_submit(actor=proposal.pi, proposal_id=proposal.pk)


@pytest.fixture
def ranked(round_):
    proposal = with_thin_sections(round_)
    whole = with_thin_sections(round_, round_.people.other, all_or_nothing=True)
    round_.ranked(proposal, whole)
    return proposal, whole


def items(proposal):
    powder, sections = proposal.items.order_by("id")
    return powder, sections


def decide(actor, proposal, approved, reasons=None, comment=""):
    return proposal_decide(
        actor=actor,
        proposal_id=proposal.pk,
        approved=approved,
        reasons=reasons or {},
        comment=comment,
    )


def test_everything_in_full_is_approved(round_, ranked):
    proposal, _ = ranked
    powder, sections = items(proposal)
    decision = decide(
        round_.people.member, proposal, {powder.pk: 400 * MG, sections.pk: 2}, comment="Well done."
    )
    assert (decision.outcome, decision.decided_by, decision.comment) == (
        ProposalStatus.APPROVED,
        round_.people.member,
        "Well done.",
    )
    rows = {row.item_id: row for row in decision.items.all()}
    assert (rows[powder.pk].approved_mass_ug, rows[powder.pk].approved_units) == (400 * MG, 0)
    assert (rows[sections.pk].approved_mass_ug, rows[sections.pk].approved_units) == (0, 2)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.APPROVED
    last = proposal.actions.last()
    assert (last.action, last.actor, last.reason) == (
        "approved",
        round_.people.member,
        "Well done.",
    )


def test_a_cut_item_makes_a_partial_approval_and_keeps_its_reason(round_, ranked):
    proposal, _ = ranked
    powder, sections = items(proposal)
    reason = "ranked 2 of 2; the research pool of CE5 powder was 0.2 g short of the request"
    decision = decide(
        round_.people.chair, proposal, {powder.pk: 200 * MG, sections.pk: 2}, {powder.pk: reason}
    )
    assert decision.outcome == ProposalStatus.PARTIALLY_APPROVED
    assert powder.decision.approved_mass_ug == 200 * MG
    assert powder.decision.reason == reason
    assert sections.decision.reason == ""


def test_fewer_units_than_requested_is_a_partial_approval(round_, ranked):
    proposal, _ = ranked
    powder, sections = items(proposal)
    decision = decide(
        round_.people.chair,
        proposal,
        {powder.pk: 400 * MG, sections.pk: 1},
        {sections.pk: "one thin section left in the research pool"},
    )
    assert decision.outcome == ProposalStatus.PARTIALLY_APPROVED
    assert (sections.decision.approved_units, sections.decision.approved_mass_ug) == (1, 0)


def test_nothing_approved_is_a_decline_with_a_reason_per_item(round_, ranked):
    proposal, _ = ranked
    powder, sections = items(proposal)
    decision = decide(
        round_.people.chair,
        proposal,
        {},
        {powder.pk: "ranked 2 of 2", sections.pk: "ranked 2 of 2"},
    )
    assert decision.outcome == ProposalStatus.DECLINED
    assert [(d.approved_mass_ug, d.approved_units) for d in decision.items.order_by("item")] == [
        (0, 0),
        (0, 0),
    ]


def test_a_second_decision_while_ranking_replaces_the_first(round_, ranked):
    proposal, _ = ranked
    powder, sections = items(proposal)
    decide(round_.people.chair, proposal, {}, {powder.pk: "no", sections.pk: "no"})
    decide(round_.people.chair, proposal, {powder.pk: 400 * MG, sections.pk: 2})
    assert Decision.objects.get(proposal=proposal).outcome == ProposalStatus.APPROVED


BAD_DECISIONS = [
    ({"powder": 200 * MG, "sections": 2}, "reasons.powder", "needs a reason"),
    ({"powder": 400 * MG}, "reasons.sections", "needs a reason"),
    ({"powder": 50 * MG, "sections": 2}, "approved.powder", "minimum useful mass"),
    ({"powder": 400 * MG + 1, "sections": 2}, "approved.powder", "between 0 and 400000"),
    ({"powder": -1, "sections": 2}, "approved.powder", "between 0 and 400000"),
    ({"powder": 399.5 * MG, "sections": 2}, "approved.powder", "between 0 and 400000"),
    ({"powder": 400 * MG, "sections": 3}, "approved.sections", "between 0 and 2"),
    ({"powder": 400 * MG, "sections": True}, "approved.sections", "between 0 and 2"),
    ({"powder": 400 * MG, "sections": 2, "stranger": 1}, "approved", "not part of this"),
]


def test_a_bad_decision_is_refused_naming_the_item(round_, ranked, subtests):
    proposal, other = ranked
    powder, sections = items(proposal)
    ids = {"powder": powder.pk, "sections": sections.pk, "stranger": items(other)[0].pk}
    for amounts, field, message in BAD_DECISIONS:
        approved = {ids[name]: amount for name, amount in amounts.items()}
        for name, pk in ids.items():
            field = field.replace(f".{name}", f".{pk}")
        with subtests.test(str(amounts)), refused(DomainError, field=field, message=message):
            decide(round_.people.chair, proposal, approved)


def test_an_all_or_nothing_proposal_is_approved_whole_or_declined(round_, ranked):
    _, whole = ranked
    powder, sections = items(whole)
    with refused(DomainError, field="approved", message="approved whole or declined"):
        decide(
            round_.people.chair,
            whole,
            {powder.pk: 400 * MG, sections.pk: 1},
            {sections.pk: "one section only"},
        )
    declined = decide(
        round_.people.chair, whole, {}, {powder.pk: "ranked last", sections.pk: "ranked last"}
    )
    assert declined.outcome == ProposalStatus.DECLINED
    approved = decide(round_.people.chair, whole, {powder.pk: 400 * MG, sections.pk: 2})
    assert approved.outcome == ProposalStatus.APPROVED


def test_only_the_committee_decides(round_, ranked, subtests):
    proposal, _ = ranked
    powder, sections = items(proposal)
    for who in ("pi", "rev_us", "curator"):
        with subtests.test(who), refused(PermissionDenied, field=None):
            decide(getattr(round_.people, who), proposal, {powder.pk: 400 * MG, sections.pk: 2})


def test_decisions_are_taken_on_ranked_proposals_while_the_call_is_ranking(round_):
    proposal = round_.submitted()
    round_.in_review(proposal)
    item = proposal.items.get()
    with refused(Conflict, field="proposal", message="ranked proposals of a call in ranking"):
        decide(round_.people.chair, proposal, {item.pk: item.requested_mass_ug})
