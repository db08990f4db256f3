"""API shapes for allocation plans."""

from ninja import Field, Schema


class PlanIn(Schema):
    pinned: list[int] = Field(default_factory=list, description="item ids funded first")
    excluded: list[int] = Field(default_factory=list, description="item ids left out")
    handling_loss_ug: int = Field(50, ge=0, description="mass lost to each split (µg)")
    min_split_ug: int = Field(1000, ge=0, description="smallest portion (µg)")

    model_config = {
        "json_schema_extra": {"example": {"pinned": [12], "excluded": [], "handling_loss_ug": 50}}
    }


class PortionOut(Schema):
    source: str
    mass_ug: int


class PlanOutcomeOut(Schema):
    item_id: int
    proposal_id: int
    unit: int
    rank: int
    status: str
    funded_mass_ug: int
    reason: str
    explanation: str
    portions: list[PortionOut]


class PlanOut(Schema):
    id: int
    call_id: int
    status: str
    pinned: list[int]
    excluded: list[int]
    handling_loss_ug: int
    min_split_ug: int
    budget_ug: int
    funded_requests: int
    funded_mass_ug: int
    splits: int
    rank_rule_exact: bool
    gap: float
    solve_seconds: float
    notes: list[str]
    outcomes: list[PlanOutcomeOut]


class DecidedOut(Schema):
    decided: int
