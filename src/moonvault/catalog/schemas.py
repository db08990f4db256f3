"""API shapes for missions and samples."""

from datetime import date
from decimal import Decimal
from typing import Literal

from ninja import Schema

from moonvault.core.units import format_mass


class PayloadOut(Schema):
    name: str
    agency: str
    country: str


class MissionOut(Schema):
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
    count: int
    selected: bool


class SampleFacetsOut(Schema):
    mission: list[FacetOptionOut]
    form: list[FacetOptionOut]
    pool: list[FacetOptionOut]
    state: list[FacetOptionOut]


class SamplePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[SampleOut]
    facets: SampleFacetsOut
    facets_source: Literal["table", "query"]


class GenealogyNode(Schema):
    identifier: str
    depth: int
    form: str
    state: str
    mass_ug: int


class GenealogyOut(Schema):
    sample: SampleOut
    ancestors: list[GenealogyNode]
    children: list[GenealogyNode]
    descendant_count: int
