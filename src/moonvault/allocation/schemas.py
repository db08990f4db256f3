"""API shapes for allocation plans."""

from ninja import Field, Schema
from pydantic import ConfigDict


class PlanIn(Schema):
    pinned: list[int] = Field(default_factory=list, description="item ids funded first")
    excluded: list[int] = Field(default_factory=list, description="item ids left out")
    handling_loss_ug: int = Field(50, ge=0, description="mass lost to each split (µg)")
    min_split_ug: int = Field(1000, ge=0, description="smallest portion (µg)")

    model_config = {
        "json_schema_extra": {"example": {"pinned": [12], "excluded": [], "handling_loss_ug": 50}}
    }


class PlanPortionOut(Schema):
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
    portions: list[PlanPortionOut]


class PlanOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "call_id": 1,
                    "status": "proposed",
                    "pinned": [],
                    "excluded": [],
                    "handling_loss_ug": 10,
                    "min_split_ug": 1000,
                    "budget_ug": 3000000,
                    "funded_requests": 2,
                    "funded_mass_ug": 3000000,
                    "splits": 2,
                    "rank_rule_exact": True,
                    "gap": 0.0,
                    "solve_seconds": 0.179627237999739,
                    "notes": [],
                    "outcomes": [
                        {
                            "item_id": 1,
                            "proposal_id": 1,
                            "unit": 0,
                            "rank": 1,
                            "status": "full",
                            "funded_mass_ug": 1500000,
                            "reason": "",
                            "explanation": "ranked 1 of 3; funded in full",
                            "portions": [{"source": "CE5C0400YJFM00500", "mass_ug": 1500000}],
                        },
                        {
                            "item_id": 2,
                            "proposal_id": 2,
                            "unit": 0,
                            "rank": 2,
                            "status": "full",
                            "funded_mass_ug": 1500000,
                            "reason": "",
                            "explanation": "ranked 2 of 3; funded in full",
                            "portions": [{"source": "CE5C0400YJFM00501", "mass_ug": 1500000}],
                        },
                    ],
                }
            ]
        }
    )

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
    model_config = ConfigDict(json_schema_extra={"examples": [{"decided": 3}]})

    decided: int
