"""API shapes for calls and proposals. Masses are integer micrograms, as everywhere."""

from datetime import date, datetime

from ninja import Schema
from pydantic import ConfigDict, Field

from moonvault.calls import selectors
from moonvault.calls.services import proposal_problems
from moonvault.core.units import format_mass
from moonvault.review.schemas import AssignmentOut

# --- calls -------------------------------------------------------------------------------------


class CallIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Chang'e-6 international round 1",
                    "description": "Far-side regolith for research.",
                    "missions": ["CE6"],
                    "pools": ["research"],
                    "forms": ["scooped_regolith", "powder"],
                    "release_budget_ug": 20_000_000,
                    "per_proposal_cap_ug": 1_000_000,
                    "proposals_due": "2026-09-30T23:59:00Z",
                    "review_due": "2026-11-15",
                    "decision_due": "2026-12-15",
                    "panel": [12, 15, 18],
                    "reviewers_per_proposal": 3,
                    "max_reviewer_load": 8,
                    "same_country_conflict": False,
                    "coauthor_window_years": 3,
                    "country_share_cap_pct": 40,
                }
            ]
        }
    )

    title: str = Field(max_length=200)
    title_zh: str = Field("", max_length=200)
    description: str = ""
    missions: list[str] = Field(description="mission codes, e.g. CE5")
    pools: list[str] = Field(description="purpose pools offered, e.g. research")
    forms: list[str] = Field(description="sample forms offered, e.g. scooped_regolith")
    release_budget_ug: int = Field(description="mass that may be released, in µg")
    per_proposal_cap_ug: int = Field(description="largest total request per proposal, in µg")
    intent_due: date | None = None
    proposals_due: datetime
    review_due: date
    decision_due: date
    panel: list[int] = Field([], description="user ids of the reviewers on the panel")
    reviewers_per_proposal: int = Field(3, ge=1, le=20)
    max_reviewer_load: int = Field(8, ge=1, le=200)
    same_country_conflict: bool = False
    coauthor_window_years: int = Field(3, ge=0, le=50)
    country_share_cap_pct: int | None = None
    all_or_nothing_default: bool = False


class CallTransitionIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"to_status": "closed", "reason": "deadline reached"}]}
    )

    to_status: str = Field(description="the next status, e.g. open, closed, screening")
    reason: str = ""


class CallExtendIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"proposals_due": "2026-10-15T23:59:00Z", "reason": "courier strike in Europe"}
            ]
        }
    )

    proposals_due: datetime
    reason: str


class PanelIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reviewer_ids": [12, 15, 18]}]})

    reviewer_ids: list[int]


class CallOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 2,
                    "title": "Chang'e-5 research round 2026",
                    "title_zh": "",
                    "description": "",
                    "status": "screening",
                    "missions": ["CE5"],
                    "pools": ["research"],
                    "forms": ["scooped_regolith"],
                    "release_budget_ug": 10000000,
                    "per_proposal_cap_ug": 1000000,
                    "intent_due": None,
                    "proposals_due": "2026-12-22T14:56:49.516Z",
                    "review_due": "2027-01-21",
                    "decision_due": "2027-02-20",
                    "reviewers_per_proposal": 2,
                    "max_reviewer_load": 8,
                    "same_country_conflict": False,
                    "coauthor_window_years": 3,
                    "country_share_cap_pct": None,
                    "all_or_nothing_default": False,
                }
            ]
        }
    )

    id: int
    title: str
    title_zh: str
    description: str
    status: str
    missions: list[str]
    pools: list[str]
    forms: list[str]
    release_budget_ug: int
    per_proposal_cap_ug: int
    intent_due: date | None
    proposals_due: datetime
    review_due: date
    decision_due: date
    reviewers_per_proposal: int
    max_reviewer_load: int
    same_country_conflict: bool
    coauthor_window_years: int
    country_share_cap_pct: int | None
    all_or_nothing_default: bool

    @staticmethod
    def resolve_missions(obj):
        return [m.code for m in obj.missions.all()]


class TransitionOut(Schema):
    from_status: str
    to_status: str
    action: str
    actor: str
    at: datetime
    reason: str

    @staticmethod
    def resolve_actor(obj):
        return obj.actor.get_username()


class CallCommitteeOut(CallOut):
    """A call as the committee sees it: with its chair, panel and history."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "title": "Chang'e-5 research round 2026",
                    "title_zh": "",
                    "description": "",
                    "status": "open",
                    "missions": ["CE5"],
                    "pools": ["research"],
                    "forms": ["scooped_regolith"],
                    "release_budget_ug": 10000000,
                    "per_proposal_cap_ug": 1000000,
                    "intent_due": None,
                    "proposals_due": "2027-01-01T14:55:11.101Z",
                    "review_due": "2027-01-21",
                    "decision_due": "2027-02-20",
                    "reviewers_per_proposal": 2,
                    "max_reviewer_load": 8,
                    "same_country_conflict": False,
                    "coauthor_window_years": 3,
                    "country_share_cap_pct": None,
                    "all_or_nothing_default": False,
                    "chair_id": 6,
                    "panel": [3, 4],
                    "transitions": [
                        {
                            "from_status": "draft",
                            "to_status": "open",
                            "action": "open",
                            "actor": "chair_wang",
                            "at": "2026-11-22T14:55:03.909Z",
                            "reason": "",
                        },
                        {
                            "from_status": "open",
                            "to_status": "open",
                            "action": "extend deadline",
                            "actor": "chair_wang",
                            "at": "2026-11-22T14:55:11.224Z",
                            "reason": (
                                "courier strike (was 2026-12-22T14:55:03.817772+00:00, now "
                                "2027-01-01T14:55:11.101378+00:00)"
                            ),
                        },
                    ],
                }
            ]
        }
    )

    chair_id: int
    panel: list[int]
    transitions: list[TransitionOut]

    @staticmethod
    def resolve_panel(obj):
        return sorted(u.pk for u in obj.panel.all())

    @staticmethod
    def resolve_transitions(obj):
        return list(obj.transitions.select_related("actor"))


class InstitutionShareOut(Schema):
    name: str
    country: str
    approved: int
    released_mass_ug: int


class CountryShareOut(Schema):
    country: str
    proposals: int
    approved: int
    released_mass_ug: int


class CallOutcomeOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "call_id": 5,
                    "title": "Chang'e-5 research round 2026",
                    "status": "decided",
                    "proposals": 1,
                    "approved": 0,
                    "partially_approved": 1,
                    "declined": 0,
                    "released_mass_ug": 300000,
                    "released": "300 mg",
                    "released_units": 0,
                    "institutions": [
                        {
                            "name": "Freie Universität Berlin",
                            "country": "DE",
                            "approved": 1,
                            "released_mass_ug": 300000,
                        }
                    ],
                    "countries": [
                        {"country": "DE", "proposals": 1, "approved": 1, "released_mass_ug": 300000}
                    ],
                }
            ]
        }
    )

    call_id: int
    title: str
    status: str
    proposals: int = Field(description="proposals received (submitted at least once)")
    approved: int
    partially_approved: int
    declined: int
    released_mass_ug: int
    released: str
    released_units: int
    institutions: list[InstitutionShareOut]
    countries: list[CountryShareOut]

    @staticmethod
    def resolve_call_id(obj):
        return obj.call.pk

    @staticmethod
    def resolve_title(obj):
        return obj.call.title

    @staticmethod
    def resolve_status(obj):
        return obj.call.status

    @staticmethod
    def resolve_released(obj):
        return format_mass(obj.released_mass_ug)


# --- proposals: input --------------------------------------------------------------------------


class ProposalCreateIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"title": "Space weathering of far-side regolith"}]}
    )

    title: str = Field("", max_length=300)


class ProposalPatchIn(Schema):
    """Only the fields sent are changed."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "abstract": "We measure solar-wind hydrogen in far-side grains.",
                    "keywords": "space weathering, NanoSIMS",
                    "all_or_nothing": False,
                }
            ]
        }
    )

    title: str | None = None
    abstract: str | None = None
    science_case: str | None = None
    keywords: str | None = None
    prior_results: str | None = None
    data_sharing_plan: str | None = None
    all_or_nothing: bool | None = None


class TeamMemberIn(Schema):
    """A registered user (user_id) or just a name, email and institution."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Ada Lovelace",
                    "email": "ada@example.org",
                    "institution_name": "University of London",
                    "country": "GB",
                }
            ]
        }
    )

    name: str = ""
    email: str = ""
    country: str = ""
    institution_name: str = ""
    user_id: int | None = None
    institution_id: int | None = None


class MethodIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"technique": "NanoSIMS", "destructive": True, "mass_ug": 50_000}]
        }
    )

    technique: str
    destructive: bool
    mass_ug: int


class ItemIn(Schema):
    """A form from a mission and pool (by mass, or whole units), or a named sample."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "mission": "CE6",
                    "pool": "research",
                    "form": "scooped_regolith",
                    "requested_mass_ug": 500_000,
                    "minimum_mass_ug": 200_000,
                    "justification": "three aliquots for three techniques",
                },
                {"sample_identifier": "74001,6040", "units": 1},
            ]
        }
    )

    mission: str = ""
    pool: str = ""
    form: str = ""
    sample_identifier: str = ""
    requested_mass_ug: int = 0
    minimum_mass_ug: int = 0
    units: int = 0
    justification: str = ""


class DoiIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"doi": "10.1038/s41586-021-04100-2"}]}
    )

    doi: str


class ReasonIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"reason": "funding withdrawn"}]})

    reason: str = ""


# --- proposals: output -------------------------------------------------------------------------


class CallRefOut(Schema):
    id: int
    title: str
    status: str
    proposals_due: datetime


class TeamMemberOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 2,
                    "name": "Li Na",
                    "email": "",
                    "institution_name": "NAOC",
                    "country": "CN",
                    "user_id": None,
                }
            ]
        }
    )

    id: int
    name: str
    email: str
    institution_name: str
    country: str
    user_id: int | None


class MethodOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": 6, "technique": "noble gas MS", "destructive": True, "mass_ug": 40000}
            ]
        }
    )

    id: int
    technique: str
    destructive: bool
    mass_ug: int


class ItemOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 6,
                    "mission": "CE5",
                    "pool": "research",
                    "form": "scooped_regolith",
                    "sample": None,
                    "requested_mass_ug": 100000,
                    "minimum_mass_ug": 50000,
                    "units": 0,
                    "justification": "",
                }
            ]
        }
    )

    id: int
    mission: str
    pool: str
    form: str
    sample: str | None
    requested_mass_ug: int
    minimum_mass_ug: int
    units: int
    justification: str

    @staticmethod
    def resolve_mission(obj):
        return obj.mission.code

    @staticmethod
    def resolve_sample(obj):
        return obj.sample.identifier if obj.sample_id else None


class DoiOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": 2, "doi": "10.1126/science.abl7957"}]}
    )

    id: int
    doi: str


class AttachmentOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": 2, "name": "case.pdf", "size": 50, "uploaded_at": "2026-11-22T14:55:13.816Z"}
            ]
        }
    )

    id: int
    name: str
    size: int
    uploaded_at: datetime


class ProblemOut(Schema):
    field: str
    message: str


class ProposalSummaryOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 2,
                    "call_id": 2,
                    "title": "Water in Chang'e-5 impact glass",
                    "status": "returned",
                    "submitted_at": "2026-11-22T14:55:04.349Z",
                }
            ]
        }
    )

    id: int
    call_id: int
    title: str
    status: str
    submitted_at: datetime | None


class ProposalContentOut(ProposalSummaryOut):
    """The text and parts of a proposal, as submitted for review."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "call_id": 3,
                    "title": "Water in Chang'e-5 impact glass",
                    "status": "under_review",
                    "submitted_at": "2026-11-22T14:56:41.998Z",
                    "abstract": "Hydrogen isotopes of impact glass beads.",
                    "science_case": "Solar-wind implanted water in Chang'e-5 glass beads.",
                    "keywords": "space weathering, NanoSIMS",
                    "prior_results": "",
                    "data_sharing_plan": "Data deposited after one year.",
                    "all_or_nothing": False,
                    "team": [],
                    "methods": [
                        {"id": 3, "technique": "NanoSIMS", "destructive": True, "mass_ug": 100000}
                    ],
                    "items": [
                        {
                            "id": 3,
                            "mission": "CE5",
                            "pool": "research",
                            "form": "scooped_regolith",
                            "sample": None,
                            "requested_mass_ug": 500000,
                            "minimum_mass_ug": 200000,
                            "units": 0,
                            "justification": "",
                        }
                    ],
                    "dois": [],
                    "attachments": [],
                }
            ]
        }
    )

    abstract: str
    science_case: str
    keywords: str
    prior_results: str
    data_sharing_plan: str
    all_or_nothing: bool
    team: list[TeamMemberOut]
    methods: list[MethodOut]
    items: list[ItemOut]
    dois: list[DoiOut]
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_team(obj):
        return list(obj.team.all())

    @staticmethod
    def resolve_methods(obj):
        return list(obj.methods.all())

    @staticmethod
    def resolve_items(obj):
        return list(obj.items.all())

    @staticmethod
    def resolve_dois(obj):
        return list(obj.prior_dois.all())

    @staticmethod
    def resolve_attachments(obj):
        return list(obj.attachments.all())


class ItemDecisionOut(Schema):
    item_id: int
    approved_mass_ug: int
    approved_units: int
    reason: str


class FeedbackOut(Schema):
    outcome: str
    comment: str
    decided_at: datetime
    items: list[ItemDecisionOut]
    reviewer_comments: list[str] = Field(description="reviewers' comments meant for the applicant")


class ProposalOut(ProposalContentOut):
    """A proposal as its principal investigator sees it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 5,
                    "call_id": 5,
                    "title": "Water in Chang'e-5 impact glass",
                    "status": "partially_approved",
                    "submitted_at": "2026-11-22T14:55:06.285Z",
                    "abstract": "Hydrogen isotopes of impact glass beads.",
                    "science_case": "Solar-wind implanted water in Chang'e-5 glass beads.",
                    "keywords": "space weathering, NanoSIMS",
                    "prior_results": "",
                    "data_sharing_plan": "Data deposited after one year.",
                    "all_or_nothing": False,
                    "team": [],
                    "methods": [
                        {"id": 5, "technique": "NanoSIMS", "destructive": True, "mass_ug": 100000}
                    ],
                    "items": [
                        {
                            "id": 5,
                            "mission": "CE5",
                            "pool": "research",
                            "form": "scooped_regolith",
                            "sample": None,
                            "requested_mass_ug": 500000,
                            "minimum_mass_ug": 200000,
                            "units": 0,
                            "justification": "",
                        }
                    ],
                    "dois": [],
                    "attachments": [],
                    "call": {
                        "id": 5,
                        "title": "Chang'e-5 research round 2026",
                        "status": "decided",
                        "proposals_due": "2026-12-22T14:55:06.100Z",
                    },
                    "problems": [],
                    "feedback": {
                        "outcome": "partially_approved",
                        "comment": "Approved in part.",
                        "decided_at": "2026-11-22T14:55:07.056Z",
                        "items": [
                            {
                                "item_id": 5,
                                "approved_mass_ug": 300000,
                                "approved_units": 0,
                                "reason": "ranked 2 of 2; 0.2 g of the research pool was left",
                            }
                        ],
                        "reviewer_comments": ["A clear science case."],
                    },
                }
            ]
        }
    )

    call: CallRefOut
    problems: list[ProblemOut] = Field(description="what still stops the proposal from submission")
    feedback: FeedbackOut | None = Field(description="the committee's decision, once taken")

    @staticmethod
    def resolve_problems(obj):
        return [{"field": f, "message": m} for f, m in proposal_problems(obj)]

    @staticmethod
    def resolve_feedback(obj):
        return selectors.proposal_feedback(proposal=obj)


# --- the committee's views ---------------------------------------------------------------------


class ScreeningIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"eligible": True, "reason": ""},
                {"eligible": False, "reason": "the institution is not a research body"},
            ]
        }
    )

    eligible: bool
    reason: str = ""


class CheckOut(Schema):
    rule: str
    passed: bool
    message: str


class ScreeningOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "proposal_id": 2,
                    "checks": [
                        {
                            "rule": "offered",
                            "passed": True,
                            "message": "every requested item is offered by the call",
                        },
                        {
                            "rule": "mass_cap",
                            "passed": True,
                            "message": "requested 500000 µg of at most 1000000 µg",
                        },
                    ],
                    "automatic_eligible": True,
                    "eligible": False,
                    "decided_by": "chair_wang",
                    "decided_at": "2026-11-22T14:55:11.777Z",
                    "reason": "not a research body",
                }
            ]
        }
    )

    proposal_id: int
    checks: list[CheckOut]
    automatic_eligible: bool
    eligible: bool | None
    decided_by: str | None
    decided_at: datetime | None
    reason: str

    @staticmethod
    def resolve_decided_by(obj):
        return obj.decided_by.get_username() if obj.decided_by_id else None


class FiguresOut(Schema):
    raw_mean: float
    corrected_mean: float
    spread: float
    reviews: int


class RankOut(Schema):
    computed_rank: int
    final_rank: int
    reason: str


class DecisionOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "proposal_id": 4,
                    "outcome": "partially_approved",
                    "comment": "Well done",
                    "decided_by": "chair_wang",
                    "decided_at": "2026-11-22T14:55:13.171Z",
                    "items": [
                        {
                            "item_id": 4,
                            "approved_mass_ug": 250000,
                            "approved_units": 0,
                            "reason": "ranked 3 of 5",
                        }
                    ],
                }
            ]
        }
    )

    proposal_id: int
    outcome: str
    comment: str
    decided_by: str
    decided_at: datetime
    items: list[ItemDecisionOut]

    @staticmethod
    def resolve_decided_by(obj):
        return obj.decided_by.get_username()

    @staticmethod
    def resolve_items(obj):
        return [
            {
                "item_id": d.item_id,
                "approved_mass_ug": d.approved_mass_ug,
                "approved_units": d.approved_units,
                "reason": d.reason,
            }
            # Sorted here, not by the database: the items come prefetched with the proposals.
            for d in sorted(obj.items.all(), key=lambda d: d.item_id)
        ]


class CommitteeProposalOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "proposal": {
                        "id": 4,
                        "call_id": 4,
                        "title": "Water in Chang'e-5 impact glass",
                        "status": "ranked",
                        "submitted_at": "2026-11-22T14:55:05.387Z",
                        "abstract": "Hydrogen isotopes of impact glass beads.",
                        "science_case": "Solar-wind implanted water in Chang'e-5 glass beads.",
                        "keywords": "space weathering, NanoSIMS",
                        "prior_results": "",
                        "data_sharing_plan": "Data deposited after one year.",
                        "all_or_nothing": False,
                        "team": [],
                        "methods": [
                            {
                                "id": 4,
                                "technique": "NanoSIMS",
                                "destructive": True,
                                "mass_ug": 100000,
                            }
                        ],
                        "items": [
                            {
                                "id": 4,
                                "mission": "CE5",
                                "pool": "research",
                                "form": "scooped_regolith",
                                "sample": None,
                                "requested_mass_ug": 500000,
                                "minimum_mass_ug": 200000,
                                "units": 0,
                                "justification": "",
                            }
                        ],
                        "dois": [],
                        "attachments": [],
                    },
                    "pi": "Astrid Lindqvist",
                    "institution": "Freie Universität Berlin",
                    "country": "DE",
                    "screening": {
                        "proposal_id": 4,
                        "checks": [
                            {
                                "rule": "offered",
                                "passed": True,
                                "message": "every requested item is offered by the call",
                            },
                            {
                                "rule": "mass_cap",
                                "passed": True,
                                "message": "requested 500000 µg of at most 1000000 µg",
                            },
                        ],
                        "automatic_eligible": True,
                        "eligible": True,
                        "decided_by": "chair_wang",
                        "decided_at": "2026-11-22T14:55:05.684Z",
                        "reason": "",
                    },
                    "assignments": [
                        {
                            "id": 2,
                            "proposal_id": 4,
                            "reviewer_id": 3,
                            "reviewer": "rev_okafor",
                            "source": "manual",
                            "assigned_at": "2026-11-22T14:55:05.908Z",
                            "reviewed": True,
                        }
                    ],
                    "figures": {
                        "raw_mean": 4.0,
                        "corrected_mean": 4.0,
                        "spread": 0.0,
                        "reviews": 1,
                    },
                    "rank": {"computed_rank": 1, "final_rank": 1, "reason": ""},
                    "decision": None,
                }
            ]
        }
    )

    proposal: ProposalContentOut
    pi: str
    institution: str
    country: str
    screening: ScreeningOut | None
    assignments: list[AssignmentOut]
    figures: FiguresOut | None
    rank: RankOut | None
    decision: DecisionOut | None

    @staticmethod
    def resolve_pi(obj):
        return obj.proposal.pi.get_full_name() or obj.proposal.pi.get_username()

    @staticmethod
    def resolve_institution(obj):
        person = getattr(obj.proposal.pi, "person", None)
        return person.institution.name if person and person.institution else ""

    @staticmethod
    def resolve_country(obj):
        person = getattr(obj.proposal.pi, "person", None)
        return person.institution.country if person and person.institution else ""


class DecisionIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "approved": {"101": 300_000, "102": 0},
                    "reasons": {
                        "101": "ranked 14 of 20; 0.2 g of the research pool remained",
                        "102": "no thin section of that lithology is available",
                    },
                    "comment": "Congratulations on a strong proposal.",
                }
            ]
        }
    )

    approved: dict[int, int] = Field(
        description="requested item id → approved mass in µg (or units, for whole-unit forms)"
    )
    reasons: dict[int, str] = Field({}, description="requested item id → reason for a cut")
    comment: str = ""
