"""API shapes for missions and samples."""

from datetime import date
from decimal import Decimal
from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field

from moonvault.catalog import selectors
from moonvault.catalog.models import Form, Pool, State
from moonvault.catalog.selectors import COUNT_LIMIT
from moonvault.core.api import Page
from moonvault.core.units import format_mass

SAMPLE_EXAMPLE = {
    "identifier": "CE5C0400YJFM00505-3",
    "igsn": "",
    "mission": "CE5",
    "parent": "CE5C0400YJFM00505",
    "depth": 1,
    "form": "powder",
    "pool": "research",
    "state": "stored",
    "location": "MAIN-N2-01",
    "pristine": True,
    "mass_ug": 50000,
    "mass": "50 mg",
    "classification": "regolith",
    "subtype": "",
}


class SampleSearchQuery(Schema):
    """The catalog search's filters and order, as the search and the exports take them."""

    mission: str = Field("", description="mission code, e.g. CE5 or A17")
    form: Form | None = None
    pool: Pool | None = None
    state: State | None = None
    mass_min_ug: int | None = Field(None, ge=0)
    mass_max_ug: int | None = Field(None, ge=0)
    q: str = Field("", max_length=64, description="identifier prefix")
    text: str = Field(
        "",
        max_length=selectors.TEXT_MAX,
        description="words in the classification, subtype or description",
    )
    has_publications: bool = Field(False, description="only samples a publication used")
    sort: Literal[tuple(selectors.SORTS)] = Field(  # type: ignore[valid-type]
        "identifier", description="identifier, mass, mission or updated; a leading - reverses"
    )

    def filters(self) -> selectors.SampleFilters:
        return selectors.SampleFilters(
            mission=self.mission,
            form=self.form or "",
            pool=self.pool or "",
            state=self.state or "",
            mass_min_ug=self.mass_min_ug,
            mass_max_ug=self.mass_max_ug,
            q=self.q,
            text=self.text,
            has_publications=self.has_publications,
        )


class PayloadOut(Schema):
    name: str
    agency: str
    country: str


class MissionOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "A17",
                    "name": "Apollo 17",
                    "name_zh": "",
                    "agency": "NASA",
                    "landing_site": "",
                    "latitude": None,
                    "longitude": None,
                    "landed_on": None,
                    "returned_on": None,
                    "returned_mass_ug": 110520000000,
                    "payloads": [],
                }
            ]
        }
    )

    code: str
    name: str
    name_zh: str
    agency: str
    landing_site: str
    latitude: Decimal | None
    longitude: Decimal | None
    landed_on: date | None
    returned_on: date | None
    returned_mass_ug: int
    payloads: list[PayloadOut]

    @staticmethod
    def resolve_payloads(obj):
        return list(obj.payloads.all())


class SampleOut(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [SAMPLE_EXAMPLE]})

    identifier: str
    igsn: str
    mission: str
    parent: str | None
    depth: int
    form: str
    pool: str
    state: str
    location: str | None
    pristine: bool
    mass_ug: int
    mass: str
    classification: str
    subtype: str

    @staticmethod
    def resolve_mission(obj):
        return obj.mission.code

    @staticmethod
    def resolve_parent(obj):
        return obj.parent.identifier if obj.parent_id else None

    @staticmethod
    def resolve_location(obj):
        return obj.location.code if obj.location_id else None

    @staticmethod
    def resolve_mass(obj):
        return format_mass(obj.mass_ug)


class FacetOptionOut(Schema):
    value: str
    label: str
    count: int | None = Field(
        description="Samples that choosing this option instead would match; null when more than "
        f"{COUNT_LIMIT:,} samples would have to be counted (see `count_exact`)."
    )
    selected: bool


class SampleFacetsOut(Schema):
    mission: list[FacetOptionOut]
    form: list[FacetOptionOut]
    pool: list[FacetOptionOut]
    state: list[FacetOptionOut]


class SamplePage(Page[SampleOut]):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "count": 6,
                    "limit": 50,
                    "offset": 0,
                    "items": [
                        {
                            "identifier": "74001,6040",
                            "igsn": "",
                            "mission": "A17",
                            "parent": None,
                            "depth": 0,
                            "form": "rock_fragment",
                            "pool": "permanent",
                            "state": "stored",
                            "location": "MAIN",
                            "pristine": True,
                            "mass_ug": 38000000,
                            "mass": "38 g",
                            "classification": "",
                            "subtype": "",
                        },
                        {
                            "identifier": "74001,6041",
                            "igsn": "",
                            "mission": "A17",
                            "parent": "74001,6040",
                            "depth": 1,
                            "form": "rock_fragment",
                            "pool": "permanent",
                            "state": "stored",
                            "location": "MAIN",
                            "pristine": True,
                            "mass_ug": 2000000,
                            "mass": "2 g",
                            "classification": "",
                            "subtype": "",
                        },
                    ],
                    "facets": {
                        "mission": [
                            {"value": "A17", "label": "Apollo 17", "count": 2, "selected": False},
                            {"value": "CE5", "label": "Chang'e-5", "count": 4, "selected": False},
                        ],
                        "form": [
                            {
                                "value": "scooped_regolith",
                                "label": "Scooped regolith",
                                "count": 3,
                                "selected": False,
                            },
                            {
                                "value": "drilled_regolith",
                                "label": "Drilled regolith / core section",
                                "count": 0,
                                "selected": False,
                            },
                        ],
                        "pool": [
                            {
                                "value": "permanent",
                                "label": "Permanent storage",
                                "count": 2,
                                "selected": False,
                            },
                            {
                                "value": "backup",
                                "label": "Backup permanent storage",
                                "count": 0,
                                "selected": False,
                            },
                        ],
                        "state": [
                            {"value": "stored", "label": "Stored", "count": 6, "selected": False},
                            {
                                "value": "allocated",
                                "label": "Allocated",
                                "count": 0,
                                "selected": False,
                            },
                        ],
                    },
                    "facets_source": "table",
                    "count_exact": True,
                }
            ]
        }
    )

    count: int = Field(
        description=f"Matching samples; {COUNT_LIMIT:,} when `count_exact` is false."
    )
    count_exact: bool = Field(
        description=f"False when more than {COUNT_LIMIT:,} samples match an identifier prefix, "
        "text, publication or mass filter that could not be answered from the pre-counted facets: "
        "counting stops there, and the facet options show null counts."
    )
    facets: SampleFacetsOut
    facets_source: Literal["table", "query", "table+query"]


class GenealogyNode(Schema):
    identifier: str
    depth: int
    form: str
    state: str
    mass_ug: int


class GenealogyOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "sample": {
                        "identifier": "CE5C0400YJFM00505-1",
                        "igsn": "",
                        "mission": "CE5",
                        "parent": "CE5C0400YJFM00505",
                        "depth": 1,
                        "form": "scooped_regolith",
                        "pool": "research",
                        "state": "stored",
                        "location": "MAIN",
                        "pristine": True,
                        "mass_ug": 499000,
                        "mass": "499 mg",
                        "classification": "",
                        "subtype": "",
                    },
                    "ancestors": [
                        {
                            "identifier": "CE5C0400YJFM00505",
                            "depth": 0,
                            "form": "scooped_regolith",
                            "state": "stored",
                            "mass_ug": 1199993,
                        }
                    ],
                    "children": [
                        {
                            "identifier": "CE5C0400YJFM00505-1-1",
                            "depth": 2,
                            "form": "scooped_regolith",
                            "state": "stored",
                            "mass_ug": 1000,
                        }
                    ],
                    "descendant_count": 1,
                }
            ]
        }
    )

    sample: SampleOut
    ancestors: list[GenealogyNode]
    children: list[GenealogyNode]
    descendant_count: int


# --- the curators' changes -----------------------------------------------------------------------


class ReasonOptionalIn(Schema):
    reason: str = Field("", description="why, kept in the custody event")


class SampleReceiveIn(ReasonOptionalIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "identifier": "CE5C0400YJFM00506",
                    "mission": "CE5",
                    "form": "scooped_regolith",
                    "pool": "research",
                    "mass_ug": 1500000,
                    "location": "MAIN-N2-01",
                    "pristine": True,
                    "classification": "regolith",
                    "reason": "received from the landing recovery team",
                }
            ]
        }
    )

    identifier: str = Field(description="by the mission's convention, e.g. 74001,6040")
    mission: str = Field(description="mission code, e.g. CE5")
    form: Form
    pool: Pool
    mass_ug: int = Field(description="measured mass in µg")
    location: str = Field(description="storage location code")
    pristine: bool = True
    classification: str = Field("", max_length=40)
    subtype: str = Field("", max_length=60)
    igsn: str = Field("", max_length=32)
    description: str = ""


class ChildIn(Schema):
    mass_ug: int
    identifier: str = Field("", description="empty for the next number of the convention")
    form: Form | None = Field(None, description="empty for the parent's form")
    pool: Pool | None = Field(None, description="empty for the parent's pool")


class SampleSplitIn(ReasonOptionalIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "children": [
                        {"mass_ug": 50000, "form": "powder"},
                        {"mass_ug": 20000, "identifier": "CE5C0400YJFM00505-9"},
                    ],
                    "loss_ug": 12,
                    "reason": "aliquots for the 2026 round",
                }
            ]
        }
    )

    children: list[ChildIn]
    loss_ug: int = Field(0, description="handling loss, taken from the parent with the children")


class SampleWeighIn(ReasonOptionalIn):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"measured_ug": 49985, "reason": "annual re-weighing"}]}
    )

    measured_ug: int = Field(description="a reason is required when it differs from the record")


class SampleMoveIn(ReasonOptionalIn):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"location": "MAIN-N2-02", "reason": "cabinet service"}]}
    )

    location: str = Field(description="storage location code")


class SampleConsumeIn(ReasonOptionalIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"mass_ug": 2000, "technique": "ICP-MS", "reason": "trace elements"}]
        }
    )

    mass_ug: int
    technique: str = Field(max_length=100)


class SampleLostIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "not found in MAIN-N2-01 at the stock check"}]}
    )

    reason: str


class SamplePoolIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"pool": "public_benefit", "reason": "kept for the travelling exhibition"}]
        }
    )

    pool: Pool
    reason: str
