"""The generated sharing programme: rounds, proposals and loans in every status, consistent with
the generated inventory and its ledger, and shown by the pages that serve them."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from moonvault.accounts.models import Institution, Person, Role
from moonvault.allocation.models import Allocation
from moonvault.calls.models import Call, CallStatus, Decision, Proposal, ProposalStatus
from moonvault.catalog.facets import sample_facets_drift
from moonvault.catalog.models import Sample, State
from moonvault.custody.models import CustodyEvent, EventKind
from moonvault.custody.verification import custody_verify
from moonvault.loans.generator import LOAN_CYCLE
from moonvault.loans.models import Loan, LoanItem, Shipment
from moonvault.review.models import Assignment, ConflictDeclaration, RankEntry, Review
from moonvault.web.selectors import released_by_mission
from tests.conftest import GENERATED_INSTITUTIONS as INSTITUTIONS
from tests.conftest import GENERATED_PROPOSALS as PROPOSALS

pytestmark = pytest.mark.django_db


def test_every_status_of_a_round_a_proposal_and_a_loan_is_there(generated_programme):
    made = generated_programme
    assert (made.proposals, made.institutions) == (PROPOSALS, INSTITUTIONS)
    assert Proposal.objects.count() == PROPOSALS
    assert Institution.objects.count() == INSTITUTIONS
    assert set(Call.objects.values_list("status", flat=True)) == set(CallStatus)
    assert set(Proposal.objects.values_list("status", flat=True)) == set(ProposalStatus)
    assert set(Loan.objects.values_list("status", flat=True)) == set(Loan.Status)
    assert made.loans == Loan.objects.count() == sum(made.loans_by_status.values())
    assert made.reviews == Review.objects.count()
    assert Person.objects.count() == made.people
    # The draft round has no proposal yet; every other round has some.
    by_call = dict(Call.objects.annotate(n=Count("proposals")).values_list("status", "n"))
    assert by_call[CallStatus.DRAFT] == 0
    assert all(n for status, n in by_call.items() if status != CallStatus.DRAFT)


def test_the_ledger_verifies_and_the_counts_stay_exact(generated_programme):
    verified = custody_verify()
    assert verified.ok, verified.problems
    assert sample_facets_drift() == []


def test_each_loan_lends_samples_in_the_state_its_status_means(generated_programme):
    state_of = dict(LOAN_CYCLE)
    for item in LoanItem.objects.select_related("loan", "sample"):
        assert item.sample.state == state_of[item.loan.status], item.loan.number
        assert item.sample.pool == "research"
        assert item.lent_mass_ug == item.sample.mass_ug
    assert not LoanItem.objects.values("sample").annotate(n=Count("id")).filter(n__gt=1)
    # Each sample lent was set aside for the proposal's item, and the dashboard counts it.
    for item in LoanItem.objects.select_related("loan", "sample__allocation__item"):
        allocation = item.sample.allocation
        assert allocation.item.proposal_id == item.loan.proposal_id
        assert allocation.mass_ug == item.lent_mass_ug
        assert allocation.source_id == (item.sample.parent_id or item.sample_id)
    released = sum(row["mass_ug"] for row in released_by_mission().rows)
    assert released == sum(LoanItem.objects.values_list("lent_mass_ug", flat=True))
    for loan in Loan.objects.prefetch_related("shipments"):
        directions = sorted((s.direction, s.status) for s in loan.shipments.all())
        expected = {
            Loan.Status.AGREEMENT: [],
            Loan.Status.SIGNED: [],
            Loan.Status.SHIPPED: [("outbound", "shipped")],
            Loan.Status.ACTIVE: [("outbound", "received")],
            Loan.Status.RETURNING: [("outbound", "received"), ("return", "packed")],
            Loan.Status.RETURNED: [("outbound", "received"), ("return", "received")],
            Loan.Status.CLOSED: [("outbound", "received"), ("return", "received")],
        }[loan.status]
        assert directions == expected, loan.number
        assert bool(loan.signed_at) == (loan.status != Loan.Status.AGREEMENT)
        assert loan.proposal.status in (
            ProposalStatus.APPROVED,
            ProposalStatus.PARTIALLY_APPROVED,
        )


def test_each_allocation_records_its_mission_and_the_pi_institution_and_country(
    generated_programme,
):
    allocations = Allocation.objects.select_related("item__proposal__pi__person__institution")
    assert allocations.count() > 0
    for allocation in allocations:
        institution = allocation.item.proposal.pi.person.institution
        assert allocation.mission_id == allocation.item.mission_id
        assert allocation.institution_id == institution.pk
        assert allocation.country == institution.country


def test_a_loan_that_came_back_has_its_journey_in_the_ledger(generated_programme):
    back = LoanItem.objects.filter(loan__status__in=[Loan.Status.RETURNED, Loan.Status.CLOSED])
    assert back.exists()
    for item in back.select_related("loan", "sample"):
        *_before, out, there, back, returned = CustodyEvent.objects.filter(
            sample=item.sample
        ).order_by("seq")
        journey = [out, there, back, returned]
        assert [(e.kind, e.state_after) for e in journey] == [
            (EventKind.SHIPPED, State.IN_TRANSIT),
            (EventKind.DELIVERED, State.ON_LOAN),
            (EventKind.SHIPPED, State.IN_TRANSIT),
            (EventKind.RETURNED, State.STORED),
        ]
        assert {json.loads(e.data)["loan"] for e in journey} == {item.loan.number}
        assert returned.location_after_id == item.sample.location_id


def test_reviews_follow_the_round_and_no_reviewer_shares_the_pi_institution(generated_programme):
    institution = dict(Person.objects.values_list("user_id", "institution_id"))
    for assignment in Assignment.objects.select_related("proposal"):
        assert institution[assignment.reviewer_id] != institution[assignment.proposal.pi_id]
        assert ConflictDeclaration.objects.filter(
            proposal=assignment.proposal, reviewer=assignment.reviewer, conflicted=False
        ).exists()
        assert assignment.reviewer.groups.filter(name=Role.REVIEWER).exists()
    reviewed = Proposal.objects.filter(
        status__in=[ProposalStatus.RANKED, ProposalStatus.APPROVED, ProposalStatus.DECLINED]
    )
    for proposal in reviewed:
        assert Review.objects.filter(assignment__proposal=proposal).count() == 3
        assert RankEntry.objects.filter(proposal=proposal).exists()
    # A round still in review has some reviews in and some to come.
    in_review = Assignment.objects.filter(proposal__call__status=CallStatus.REVIEW)
    assert 0 < Review.objects.filter(assignment__in=in_review).count() < in_review.count()
    for call in Call.objects.filter(ranking__isnull=False).distinct():
        ranks = sorted(call.ranking.values_list("final_rank", flat=True))
        assert ranks == list(range(1, len(ranks) + 1))


def test_decisions_give_the_mass_their_outcome_says(generated_programme):
    for decision in Decision.objects.prefetch_related("items__item"):
        (item,) = decision.items.all()
        assert decision.outcome == decision.proposal.status
        expected = {
            ProposalStatus.APPROVED: item.item.requested_mass_ug,
            ProposalStatus.PARTIALLY_APPROVED: item.item.minimum_mass_ug,
            ProposalStatus.DECLINED: 0,
        }[decision.outcome]
        assert item.approved_mass_ug == expected
    undecided = Proposal.objects.exclude(
        status__in=[
            ProposalStatus.APPROVED,
            ProposalStatus.PARTIALLY_APPROVED,
            ProposalStatus.DECLINED,
        ]
    )
    assert not Decision.objects.filter(proposal__in=undecided).exists()


def test_the_pages_show_the_generated_programme(generated_programme, client):
    curator = Person.objects.get(user__username="gen4-curator-000001").user
    chair = Person.objects.get(user__username="gen4-chair-000001").user
    loan = Loan.objects.filter(status=Loan.Status.RETURNING).first()
    reviewer = Assignment.objects.filter(proposal__call__status=CallStatus.REVIEW).first().reviewer
    decided = Call.objects.filter(status=CallStatus.DECIDED).get()
    pages = [
        (curator, "/loans/"),
        (curator, f"/loans/{loan.pk}/"),
        (loan.pi, "/loans/mine/"),
        (loan.pi, f"/loans/{loan.pk}/"),
        (loan.pi, "/calls/proposals/"),
        (loan.pi, f"/calls/proposals/{loan.proposal_id}/"),
        (chair, "/calls/committee/"),
        (chair, f"/calls/committee/{decided.pk}/"),
        (chair, f"/review/calls/{decided.pk}/ranking/"),
        (reviewer, "/review/"),
        (None, "/calls/"),
        (None, f"/calls/{decided.pk}/"),
    ]
    for user, url in pages:
        client.logout()
        if user is not None:
            client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, url
    client.force_login(curator)
    assert loan.number in client.get(f"/loans/{loan.pk}/").content.decode()
    assert Shipment.objects.filter(loan=loan, direction="return", status="packed").exists()


def test_the_command_makes_a_programme_scaled_to_the_samples(db):
    out = StringIO()
    call_command("generate", samples=2_000, seed=6, events_per_sample=2, stdout=out)
    assert "and a programme of 20 institutions" in out.getvalue()
    assert Proposal.objects.count() == 200
    out = StringIO()
    call_command("generate", samples=500, seed=7, proposals=0, stdout=out)
    assert "programme" not in out.getvalue()
    assert Proposal.objects.count() == 200


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"proposals": -1}, "--proposals must not be negative"),
        ({"institutions": 0}, "--institutions must be at least 1"),
    ],
)
def test_a_bad_programme_size_is_refused_and_changes_nothing(db, options, message):
    with pytest.raises(CommandError, match=message):
        call_command("generate", samples=100, **options)
    assert not Sample.objects.exists()
