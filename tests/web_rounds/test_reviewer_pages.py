"""Reviewers declare conflicts from title and team, review, then see the other reviews."""

from django.urls import reverse

from moonvault.review import services as review
from moonvault.review.models import ConflictDeclaration, Review
from tests.web_rounds.conftest import log_in

GOOD_REVIEW = {
    "merit": "4",
    "feasibility": "5",
    "justification": "3",
    "comments_to_applicant": "Sound plan.",
    "comments_to_committee": "The PI is overcommitted.",
}


def test_declarations_due_show_only_title_and_team(client, people, round_in_review):
    log_in(client, people.reviewer)
    body = client.get(reverse("review:my-reviews")).content.decode()
    assert round_in_review.proposal.title in body
    assert "Amelie" in body
    assert "Nanophase iron" not in body  # the abstract waits for the declaration

    page = client.get(reverse("review:declare", args=[round_in_review.proposal.pk]))
    assert "Nanophase iron" not in page.content.decode()


def test_a_reviewer_declares_no_conflict(client, people, round_in_review):
    proposal = round_in_review.proposal
    log_in(client, people.reviewer)
    response = client.post(reverse("review:declare", args=[proposal.pk]), {"conflicted": "no"})
    assert response["Location"] == reverse("review:my-reviews")
    declaration = ConflictDeclaration.objects.get(reviewer=people.reviewer, proposal=proposal)
    assert not declaration.conflicted
    body = client.get(reverse("review:my-reviews")).content.decode()
    assert reverse("review:declare", args=[proposal.pk]) not in body


def test_a_conflict_without_a_reason_is_refused_next_to_the_reason(client, people, round_in_review):
    log_in(client, people.reviewer)
    response = client.post(
        reverse("review:declare", args=[round_in_review.proposal.pk]), {"conflicted": "yes"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["reason"] == ["say what the conflict is"]
    assert not ConflictDeclaration.objects.exists()


def test_the_review_form_lists_the_criteria_and_refuses_bad_scores(client, people, round_in_review):
    proposal = round_in_review.proposal
    review.assignment_add(
        actor=people.committee, proposal_id=proposal.pk, reviewer_id=people.reviewer.pk
    )
    log_in(client, people.reviewer)
    page = client.get(reverse("review:review", args=[proposal.pk]))
    body = page.content.decode()
    assert "Scientific merit" in body and "Feasibility and capability" in body
    assert "handle the samples" in body  # each criterion's description
    assert "Nanophase iron" in body  # the assigned reviewer reads the full proposal

    response = client.post(
        reverse("review:review", args=[proposal.pk]),
        {**GOOD_REVIEW, "merit": "7", "comments_to_applicant": ""},
    )
    assert response.status_code == 400
    assert "merit" in response.context["form"].errors
    response = client.post(
        reverse("review:review", args=[proposal.pk]), {**GOOD_REVIEW, "comments_to_applicant": " "}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["comments_to_applicant"] == [
        "write comments for the applicant"
    ]
    assert not Review.objects.exists()


def test_other_reviews_appear_only_after_submitting_ones_own(client, people, round_in_review):
    proposal = round_in_review.proposal
    for reviewer in (people.reviewer, people.reviewer2):
        review.assignment_add(
            actor=people.committee, proposal_id=proposal.pk, reviewer_id=reviewer.pk
        )
    review.review_submit(
        actor=people.reviewer2,
        proposal_id=proposal.pk,
        merit=2,
        feasibility=2,
        justification=2,
        comments_to_applicant="Too much mass asked for.",
        comments_to_committee="Secret remark.",
    )
    log_in(client, people.reviewer)
    url = reverse("review:review", args=[proposal.pk])
    assert "Too much mass asked for." not in client.get(url).content.decode()

    response = client.post(url, GOOD_REVIEW)
    assert response["Location"] == url
    body = client.get(url).content.decode()
    assert "Sound plan." in body
    assert "Too much mass asked for." in body
    assert "Secret remark." not in body  # confidential comments are for the committee
    assert Review.objects.filter(assignment__reviewer=people.reviewer).count() == 1
