"""Review pages on a generated programme: a fixed number of queries whatever the round's size,
the assignment matrix a page of proposals at a time, conflicts found without a query per pair."""

from datetime import date

import pytest
from django.contrib.auth.models import User
from django.db.models import Count

from moonvault.calls.models import Call, CallStatus, ProposalStatus
from moonvault.loans.models import Authorship, Publication
from moonvault.review.models import Assignment
from moonvault.review.selectors import (
    MATRIX_PAGE,
    automatic_conflicts,
    coauthors_of,
    declarations_due,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_review(generated_programme):
    return Call.objects.get(status=CallStatus.REVIEW)


@pytest.fixture
def chair(client, generated_programme):
    chair = User.objects.get(username="gen4-chair-000001")
    client.force_login(chair)
    return chair


def test_the_matrix_shows_a_page_of_proposals_and_counts_every_load(
    client, chair, in_review, django_assert_max_num_queries
):
    under_review = list(
        in_review.proposals.filter(status=ProposalStatus.UNDER_REVIEW)
        .order_by("id")
        .values_list("id", flat=True)
    )
    assert len(under_review) > MATRIX_PAGE
    url = f"/review/calls/{in_review.pk}/assignments/"
    for number, expected in ((1, under_review[:MATRIX_PAGE]), (2, under_review[MATRIX_PAGE:])):
        with django_assert_max_num_queries(20):
            response = client.get(url, {"page": number})
        matrix = response.context["matrix"]
        assert [row.proposal.pk for row in matrix.rows] == expected[:MATRIX_PAGE]
        loads = {reviewer.pk: load for reviewer, load in matrix.reviewers}
        counted = dict(
            Assignment.objects.filter(proposal__call=in_review)
            .values_list("reviewer")
            .annotate(n=Count("id"))
        )
        assert loads == {pk: counted.get(pk, 0) for pk in loads}
        assert f"{url}?page={number}" in response.content.decode()


def test_a_change_made_on_a_page_of_the_matrix_comes_back_to_it(client, chair, in_review):
    url = f"/review/calls/{in_review.pk}/assignments/"
    second = client.get(url, {"page": 2}).context["matrix"]
    assigned = next(
        cell.assignment_id
        for row in second.rows
        for cell in row.cells
        if cell.assignment_id and not cell.reviewed
    )
    response = client.post(f"{url}remove/?page=2", {"assignment": assigned})
    assert (response.status_code, response["Location"]) == (302, f"{url}?page=2")
    assert not Assignment.objects.filter(pk=assigned).exists()
    partial = client.post(f"{url}remove/?page=2", {"assignment": 0}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 400
    assert partial.context["matrix"].page.number == 2


def test_the_reviewer_page_reads_the_same_queries_for_one_or_many_rows(
    client, generated_programme, django_assert_max_num_queries
):
    busiest = (
        Assignment.objects.values("reviewer")
        .annotate(n=Count("id"))
        .order_by("-n", "reviewer")
        .first()
    )
    reviewer = User.objects.get(pk=busiest["reviewer"])
    assert busiest["n"] > 3
    client.force_login(reviewer)
    with django_assert_max_num_queries(20):
        response = client.get("/review/")
    assert response.status_code == 200
    assert len(response.context["listing"].page) == min(busiest["n"], 50)
    due = declarations_due(reviewer=reviewer)
    shown = [team.proposal_id for team in response.context["declarations"]]
    assert shown == [p.pk for p in due][:50]


def test_coauthors_read_once_give_the_conflicts_read_one_by_one(generated_programme, in_review):
    """A reviewer who co-authored with a PI, recently and long ago, for the whole panel."""
    reviewers = list(in_review.panel.all())
    proposals = list(in_review.proposals.filter(status=ProposalStatus.UNDER_REVIEW)[:6])
    for n, (reviewer, proposal) in enumerate(zip(reviewers, proposals, strict=False)):
        year = date.today().year - 2 * n
        publication = Publication.objects.create(title=f"Shared {n}", year=year)
        Authorship.objects.create(publication=publication, user=reviewer, name="R", position=0)
        Authorship.objects.create(publication=publication, user=proposal.pi, name="P", position=1)
    read = coauthors_of([r.pk for r in reviewers])
    found = 0
    for reviewer in reviewers:
        for proposal in proposals:
            alone = automatic_conflicts(reviewer=reviewer, proposal=proposal)
            together = automatic_conflicts(
                reviewer=reviewer, proposal=proposal, coauthors=read[reviewer.pk]
            )
            assert alone == together
            found += any("co-authored" in reason for reason in alone)
    # Within the three years of the round's window: this year's publication and the one before.
    assert found >= 2
