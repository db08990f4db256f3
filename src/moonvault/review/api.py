"""Conflicts of interest, reviewer assignments, reviews and the ranking over JSON.

A reviewer conflicted with a proposal, automatically or by declaration, is told on every route
that the proposal does not exist: never its text, its reviews or its scores.
"""

from ninja import Query, Router, Status

from moonvault.accounts.models import Role
from moonvault.accounts.permissions import require_role
from moonvault.calls.schemas import ProposalContentOut
from moonvault.calls.selectors import call_ranking, proposal_in_call
from moonvault.core.api import Page, PageQuery, answers, page_of, require_write
from moonvault.review import selectors, services
from moonvault.review.schemas import (
    AssignmentIn,
    AssignmentOut,
    AssignmentRunIn,
    ConflictIn,
    DeclarationDueOut,
    DeclarationOut,
    MyAssignmentOut,
    OwnReviewOut,
    RankEntryOut,
    RankingIn,
    RankRowOut,
    ReviewIn,
    ReviewsOut,
    TeamViewOut,
)

router = Router(tags=["review"])


# --- reviewers ---------------------------------------------------------------------------------


@router.get(
    "/reviews/declarations-due",
    response=answers(200, Page[DeclarationDueOut]),
    summary="Proposals awaiting my conflict declaration, a page at a time",
    description="Reviewers only: proposals of my panels on which I have not declared yet, by "
    "call and in the order they were made. Proposals I am automatically conflicted with are left "
    "out, and not counted.",
)
def declarations_due(request, page: Query[PageQuery]):
    require_role(request.user, Role.REVIEWER)
    return page_of(selectors.declarations_due(reviewer=request.user), page)


@router.get(
    "/proposals/{proposal_id}/team-view",
    response=answers(200, TeamViewOut),
    summary="Title and team of a proposal, before declaring",
    description="For a panel member who is not conflicted: the title and the team, nothing "
    "more, so that they can declare a conflict of interest or its absence.",
)
def team_view(request, proposal_id: int):
    return selectors.proposal_team_view(reviewer=request.user, proposal_id=proposal_id)


@router.post(
    "/proposals/{proposal_id}/conflict",
    response=answers(201, DeclarationOut),
    summary="Declare a conflict of interest, or none",
    description="Reviewers on the call's panel, once per proposal. A conflict needs a reason "
    "and withdraws any assignment not yet reviewed.",
)
def conflict_declare(request, proposal_id: int, payload: ConflictIn):
    require_write(request)
    declaration = services.conflict_declare(
        actor=request.user,
        proposal_id=proposal_id,
        conflicted=payload.conflicted,
        reason=payload.reason,
    )
    return Status(201, declaration)


@router.get(
    "/reviews/assignments",
    response=answers(200, Page[MyAssignmentOut]),
    summary="My review assignments, a page at a time",
    description="Reviewers only: the proposals I am asked to review, in every round, soonest "
    "deadline first.",
)
def my_assignments(request, page: Query[PageQuery]):
    require_role(request.user, Role.REVIEWER)
    return page_of(selectors.reviewer_assignments(reviewer=request.user), page)


@router.get(
    "/proposals/{proposal_id}/for-review",
    response=answers(200, ProposalContentOut),
    summary="The full proposal, for its reviewer",
    description="Only for a reviewer assigned to the proposal and not conflicted; 404 for "
    "anyone else.",
)
def proposal_for_review(request, proposal_id: int):
    return selectors.proposal_for_reviewer(reviewer=request.user, proposal_id=proposal_id)


@router.post(
    "/proposals/{proposal_id}/review",
    response=answers(201, OwnReviewOut),
    summary="Submit my review",
    description="The assigned reviewer, while the call is in review, once: each criterion "
    "scored 1 to 5, comments for the applicant and, optionally, confidential comments for the "
    "committee.",
)
def review_submit(request, proposal_id: int, payload: ReviewIn):
    require_write(request)
    return Status(
        201, services.review_submit(actor=request.user, proposal_id=proposal_id, **payload.dict())
    )


@router.get(
    "/proposals/{proposal_id}/reviews",
    response=answers(200, ReviewsOut),
    summary="The reviews of a proposal",
    description="An assigned reviewer sees the others' scores and comments to the applicant "
    "once their own review is submitted, and no names. The committee sees every review with "
    "its reviewer and confidential comments. 404 for anyone else.",
)
def proposal_reviews(request, proposal_id: int):
    return selectors.reviews_for(viewer=request.user, proposal_id=proposal_id)


# --- the chair and the committee ---------------------------------------------------------------


@router.post(
    "/calls/{call_id}/assignments",
    response=answers(201, AssignmentOut),
    summary="Assign a reviewer to a proposal",
    description="The call's chair, while the call is in review. Refused for a conflicted "
    "reviewer, above the reviewer's maximum load or beyond the number of reviewers per "
    "proposal.",
)
def assignment_add(request, call_id: int, payload: AssignmentIn):
    require_write(request)
    proposal_in_call(call_id=call_id, proposal_id=payload.proposal_id)
    assignment = services.assignment_add(
        actor=request.user, proposal_id=payload.proposal_id, reviewer_id=payload.reviewer_id
    )
    return Status(201, assignment)


@router.post(
    "/calls/{call_id}/assignments/run",
    response=answers(201, list[AssignmentOut]),
    summary="Complete the assignment with the optimizer",
    description="The call's chair, while the call is in review. Existing assignments are kept; "
    "every proposal gets the call's number of reviewers, nobody beyond their load or "
    "conflicted, with the largest expertise match (or, with `fairness`, the worst-served "
    "proposal first). If no valid assignment exists, 409 names each proposal that cannot be "
    "covered and nothing is assigned. Answers the new assignments.",
)
def assignment_run(request, call_id: int, payload: AssignmentRunIn):
    require_write(request)
    return Status(
        201, services.assignment_run(actor=request.user, call_id=call_id, fairness=payload.fairness)
    )


@router.delete(
    "/assignments/{assignment_id}",
    response=answers(204, None),
    summary="Withdraw an assignment",
    description="The call's chair, while the call is in review and the review is not submitted.",
)
def assignment_remove(request, assignment_id: int):
    require_write(request)
    services.assignment_remove(actor=request.user, assignment_id=assignment_id)
    return Status(204, None)


@router.get(
    "/calls/{call_id}/ranking",
    response=answers(200, Page[RankRowOut]),
    summary="The ranking of a call, a page at a time",
    description="Committee only. Per proposal in final order: computed and final rank, raw "
    "mean, mean corrected for reviewer severity, spread, the reason for any move, and every "
    "review. Empty until the call reaches ranking. `PUT` takes the whole order: read every "
    "page first.",
)
def ranking_get(request, call_id: int, page: Query[PageQuery]):
    return page_of(call_ranking(actor=request.user, call_id=call_id), page)


@router.put(
    "/calls/{call_id}/ranking",
    response=answers(200, list[RankEntryOut]),
    summary="Set the final order",
    description="Committee only, while the call is in ranking. `order` lists every ranked "
    "proposal once, best first; a proposal placed away from its computed rank needs a reason.",
)
def ranking_put(request, call_id: int, payload: RankingIn):
    require_write(request)
    return services.ranking_set(
        actor=request.user, call_id=call_id, order=payload.order, reasons=payload.reasons
    )
