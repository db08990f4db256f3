"""API shapes for conflicts of interest, reviewer assignments, reviews and the ranking.

What a reviewer sees of other reviews carries no reviewer name and no confidential comment;
only the committee's shapes do.
"""

from datetime import date, datetime

from ninja import Schema
from pydantic import ConfigDict, Field


class AssignmentIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"proposal_id": 41, "reviewer_id": 12}]}
    )

    proposal_id: int
    reviewer_id: int


class AssignmentRunIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"fairness": False}]})

    fairness: bool = Field(
        False,
        description="serve the worst-matched proposal first instead of the largest total match",
    )


class AssignmentOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "proposal_id": 41,
                    "reviewer_id": 12,
                    "reviewer": "rev1",
                    "source": "optimizer",
                    "assigned_at": "2026-03-02T09:15:00Z",
                    "reviewed": False,
                }
            ]
        }
    )

    id: int
    proposal_id: int
    reviewer_id: int
    reviewer: str
    source: str
    assigned_at: datetime
    reviewed: bool

    @staticmethod
    def resolve_reviewer(obj):
        return obj.reviewer.get_username()

    @staticmethod
    def resolve_reviewed(obj):
        return hasattr(obj, "review")


class RankingIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "order": [41, 37, 44],
                    "reasons": {"37": "the only proposal asking for far-side breccia"},
                }
            ]
        }
    )

    order: list[int] = Field(description="proposal ids, best first")
    reasons: dict[int, str] = Field({}, description="why a proposal moves from its computed rank")


class CommitteeReviewOut(Schema):
    id: int
    reviewer: str
    merit: int
    feasibility: int
    justification: int
    overall: float
    comments_to_applicant: str
    comments_to_committee: str
    submitted_at: datetime

    @staticmethod
    def resolve_reviewer(obj):
        return obj.assignment.reviewer.get_username()


class RankRowOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "proposal_id": 4,
                    "title": "Water in Chang'e-5 impact glass",
                    "computed_rank": 1,
                    "final_rank": 1,
                    "raw_mean": 4.0,
                    "corrected_mean": 4.0,
                    "spread": 0.0,
                    "reason": "",
                    "reviews": [
                        {
                            "id": 1,
                            "reviewer": "rev_okafor",
                            "merit": 4,
                            "feasibility": 5,
                            "justification": 3,
                            "overall": 4.0,
                            "comments_to_applicant": "A clear science case.",
                            "comments_to_committee": (
                                "The PI's lab reported a contamination incident last year."
                            ),
                            "submitted_at": "2026-11-22T14:56:42.904Z",
                        }
                    ],
                }
            ]
        }
    )

    proposal_id: int
    title: str
    computed_rank: int
    final_rank: int
    raw_mean: float
    corrected_mean: float
    spread: float
    reason: str
    reviews: list[CommitteeReviewOut]

    @staticmethod
    def resolve_proposal_id(obj):
        return obj.entry.proposal_id

    @staticmethod
    def resolve_title(obj):
        return obj.entry.proposal.title

    @staticmethod
    def resolve_computed_rank(obj):
        return obj.entry.computed_rank

    @staticmethod
    def resolve_final_rank(obj):
        return obj.entry.final_rank

    @staticmethod
    def resolve_raw_mean(obj):
        return obj.entry.raw_mean

    @staticmethod
    def resolve_corrected_mean(obj):
        return obj.entry.corrected_mean

    @staticmethod
    def resolve_spread(obj):
        return obj.entry.spread

    @staticmethod
    def resolve_reason(obj):
        return obj.entry.reason


class TeamLineOut(Schema):
    name: str
    institution: str
    country: str = Field(
        description="two-letter country code, or PI for the principal investigator"
    )


class TeamViewOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "proposal_id": 3,
                    "title": "Water in Chang'e-5 impact glass",
                    "team": [{"name": "Astrid Lindqvist", "institution": "", "country": "PI"}],
                }
            ]
        }
    )

    proposal_id: int
    title: str
    team: list[TeamLineOut]

    @staticmethod
    def resolve_team(obj):
        return [{"name": n, "institution": i, "country": c} for n, i, c in obj.team]


class DeclarationDueOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "proposal_id": 3,
                    "title": "Water in Chang'e-5 impact glass",
                    "call_id": 3,
                    "call_title": "Chang'e-5 research round 2026",
                }
            ]
        }
    )

    proposal_id: int
    title: str
    call_id: int
    call_title: str

    @staticmethod
    def resolve_proposal_id(obj):
        return obj.pk

    @staticmethod
    def resolve_call_title(obj):
        return obj.call.title


class ConflictIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"conflicted": False, "reason": ""},
                {"conflicted": True, "reason": "I supervised the PI's doctorate until 2024"},
            ]
        }
    )

    conflicted: bool
    reason: str = ""


class DeclarationOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 5,
                    "proposal_id": 3,
                    "conflicted": True,
                    "reason": "my former student joined the team",
                    "declared_at": "2026-11-22T14:57:50.308Z",
                }
            ]
        }
    )

    id: int
    proposal_id: int
    conflicted: bool
    reason: str
    declared_at: datetime


class MyAssignmentOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "proposal_id": 3,
                    "title": "Water in Chang'e-5 impact glass",
                    "call_id": 3,
                    "call_title": "Chang'e-5 research round 2026",
                    "review_due": "2027-01-21",
                    "reviewed": False,
                }
            ]
        }
    )

    id: int
    proposal_id: int
    title: str
    call_id: int
    call_title: str
    review_due: date
    reviewed: bool

    @staticmethod
    def resolve_title(obj):
        return obj.proposal.title

    @staticmethod
    def resolve_call_id(obj):
        return obj.proposal.call_id

    @staticmethod
    def resolve_call_title(obj):
        return obj.proposal.call.title

    @staticmethod
    def resolve_review_due(obj):
        return obj.proposal.call.review_due

    @staticmethod
    def resolve_reviewed(obj):
        return hasattr(obj, "review")


class ReviewIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "merit": 4,
                    "feasibility": 5,
                    "justification": 3,
                    "comments_to_applicant": "Strong case; the mass for NanoSIMS seems high.",
                    "comments_to_committee": "The team has handled returned samples before.",
                }
            ]
        }
    )

    merit: int = Field(description="scientific merit, 1 to 5")
    feasibility: int = Field(description="feasibility and the team's capability, 1 to 5")
    justification: int = Field(description="justification of the mass and samples, 1 to 5")
    comments_to_applicant: str
    comments_to_committee: str = Field("", description="confidential, for the committee only")


class ReviewOut(Schema):
    """A review as a fellow reviewer sees it: scores and comments to the applicant, no name."""

    id: int
    mine: bool
    merit: int
    feasibility: int
    justification: int
    overall: float
    comments_to_applicant: str
    submitted_at: datetime

    @staticmethod
    def resolve_mine(obj, context):
        return obj.assignment.reviewer_id == context["request"].user.pk


class OwnReviewOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 4,
                    "proposal_id": 3,
                    "merit": 3,
                    "feasibility": 4,
                    "justification": 2,
                    "overall": 3.0,
                    "comments_to_applicant": "Ask for less mass.",
                    "comments_to_committee": (
                        "Feasible; the team has handled returned samples before."
                    ),
                    "submitted_at": "2026-11-22T14:56:47.722Z",
                }
            ]
        }
    )

    id: int
    proposal_id: int
    merit: int
    feasibility: int
    justification: int
    overall: float
    comments_to_applicant: str
    comments_to_committee: str
    submitted_at: datetime

    @staticmethod
    def resolve_proposal_id(obj):
        return obj.assignment.proposal_id


class ReviewsOut(Schema):
    """Committee members get `committee_reviews`; reviewers get `reviews`; the other is empty."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "proposal_id": 3,
                    "reviews": [
                        {
                            "id": 3,
                            "mine": False,
                            "merit": 5,
                            "feasibility": 5,
                            "justification": 4,
                            "overall": 4.666666666666667,
                            "comments_to_applicant": "The mass asked for is well justified.",
                            "submitted_at": "2026-11-22T14:56:47.470Z",
                        },
                        {
                            "id": 4,
                            "mine": True,
                            "merit": 3,
                            "feasibility": 4,
                            "justification": 2,
                            "overall": 3.0,
                            "comments_to_applicant": "Ask for less mass.",
                            "submitted_at": "2026-11-22T14:56:47.722Z",
                        },
                    ],
                    "committee_reviews": [],
                }
            ]
        }
    )

    proposal_id: int
    reviews: list[ReviewOut]
    committee_reviews: list[CommitteeReviewOut]

    @staticmethod
    def resolve_proposal_id(obj):
        return obj.proposal.pk

    @staticmethod
    def resolve_reviews(obj):
        return [] if obj.confidential else obj.reviews

    @staticmethod
    def resolve_committee_reviews(obj):
        return obj.reviews if obj.confidential else []


class RankEntryOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "proposal_id": 4,
                    "computed_rank": 1,
                    "final_rank": 1,
                    "raw_mean": 4.0,
                    "corrected_mean": 4.0,
                    "spread": 0.0,
                    "reason": "",
                }
            ]
        }
    )

    proposal_id: int
    computed_rank: int
    final_rank: int
    raw_mean: float
    corrected_mean: float
    spread: float
    reason: str
