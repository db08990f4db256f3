"""Reviews: scores from 1 to 5, comments, one per assignment, only in the review period."""

import pytest

from moonvault.calls.models import CallStatus
from moonvault.calls.services import proposal_withdraw
from moonvault.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from moonvault.review.models import Review
from moonvault.review.selectors import reviews_visible_to_reviewer
from moonvault.review.services import review_submit
from tests.calls.conftest import Round, refused


@pytest.fixture
def proposal(round_):
    """Under review, assigned to the American and the Japanese reviewer."""
    chosen = round_.submitted()
    round_.in_review(chosen)
    round_.assign(chosen, round_.people.rev_us, round_.people.rev_jp)
    return chosen


def submit(reviewer, proposal, **changes):
    values = {
        "merit": 4,
        "feasibility": 3,
        "justification": 5,
        "comments_to_applicant": "Convincing; show the TEM lamella plan.",
        "comments_to_committee": "The PI's group handled Apollo samples well.",
    }
    return review_submit(actor=reviewer, proposal_id=proposal.pk, **{**values, **changes})


def test_an_assigned_reviewer_submits_scores_and_comments(round_, proposal):
    review = submit(round_.people.rev_us, proposal, comments_to_applicant="  Convincing.  ")
    assert (review.merit, review.feasibility, review.justification) == (4, 3, 5)
    assert review.overall == pytest.approx(4.0)
    assert review.comments_to_applicant == "Convincing."
    assert review.comments_to_committee == "The PI's group handled Apollo samples well."
    assert review.assignment.reviewer == round_.people.rev_us


def test_a_score_outside_1_to_5_or_not_a_whole_number_is_refused_naming_it(
    round_, proposal, subtests
):
    for criterion in ("merit", "feasibility", "justification"):
        for score in (0, 6, -1, 3.5, 4.0, "4", True, None):
            with (
                subtests.test(f"{criterion}={score!r}"),
                refused(DomainError, field=criterion, message="score from 1 to 5"),
            ):
                submit(round_.people.rev_us, proposal, **{criterion: score})


@pytest.mark.parametrize("score", [1, 5])
def test_both_ends_of_the_scale_are_accepted(round_, proposal, score):
    review = submit(round_.people.rev_us, proposal, merit=score, feasibility=score)
    assert (review.merit, review.feasibility) == (score, score)


def test_comments_to_the_applicant_are_required(round_, proposal):
    with refused(DomainError, field="comments_to_applicant", message="write comments"):
        submit(round_.people.rev_us, proposal, comments_to_applicant="  \n ")


def test_confidential_comments_are_optional(round_, proposal):
    assert submit(round_.people.rev_us, proposal, comments_to_committee="").pk


def test_one_review_per_assignment(round_, proposal):
    submit(round_.people.rev_us, proposal)
    with refused(Conflict, field="proposal", message="already submitted"):
        submit(round_.people.rev_us, proposal, merit=1)


def test_a_reviewer_who_is_not_assigned_is_told_the_proposal_does_not_exist(round_, proposal):
    for reviewer in (round_.people.rev_fr, round_.people.outsider):
        with refused(NotFound, field="proposal", message=f"proposal {proposal.pk} does not"):
            submit(reviewer, proposal)


def test_only_reviewers_review(round_, proposal):
    with refused(PermissionDenied, field=None, message="reviewer"):
        submit(round_.people.chair, proposal)


def test_no_review_is_taken_after_the_review_period(round_, proposal):
    people = round_.people
    submit(people.rev_us, proposal)
    submit(people.rev_jp, proposal)
    round_.to(CallStatus.RANKING)
    with refused(Conflict, field="proposal", message="review period is over"):
        submit(people.rev_us, proposal)


def test_an_open_assignment_of_a_withdrawn_proposal_cannot_be_reviewed_after_the_period(
    make_call, people
):
    r = Round(make_call(), people)
    r.to(CallStatus.OPEN)
    kept, withdrawn = r.submitted(), r.submitted(people.other)
    r.in_review(kept, withdrawn)
    r.assign(kept, people.rev_us)
    r.assign(withdrawn, people.rev_jp)
    r.review(kept, people.rev_us, 4)
    proposal_withdraw(actor=people.other, proposal_id=withdrawn.pk, reason="instrument broke")
    r.to(CallStatus.RANKING)
    with refused(Conflict, field="proposal", message="review period is over"):
        submit(people.rev_jp, withdrawn)


def test_a_reviewer_sees_the_other_reviews_only_after_submitting_their_own(round_, proposal):
    rev_us, rev_jp = round_.people.rev_us, round_.people.rev_jp
    first = submit(rev_us, proposal, merit=2)
    assert list(reviews_visible_to_reviewer(reviewer=rev_jp, proposal=proposal)) == []

    second = submit(rev_jp, proposal, merit=5)

    assert set(reviews_visible_to_reviewer(reviewer=rev_jp, proposal=proposal)) == {first, second}
    assert set(reviews_visible_to_reviewer(reviewer=rev_us, proposal=proposal)) == {first, second}
    assert list(reviews_visible_to_reviewer(reviewer=round_.people.rev_fr, proposal=proposal)) == []
    assert Review.objects.count() == 2
