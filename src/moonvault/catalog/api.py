"""Public read endpoints of the catalog."""

from typing import Literal

from ninja import Query, Router, Schema
from pydantic import Field

from moonvault.catalog import selectors
from moonvault.catalog.models import Form, Pool, State
from moonvault.catalog.schemas import GenealogyOut, MissionOut, SampleOut, SamplePage

router = Router(tags=["catalog"])

MAX_PAGE = 200


class SampleQuery(Schema):
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
    limit: int = Field(50, ge=1, le=MAX_PAGE)
    offset: int = Field(0, ge=0)


@router.get("/missions", response=list[MissionOut], auth=None, summary="List missions")
def mission_list(request):
    return list(selectors.mission_list())


@router.get("/missions/{code}", response=MissionOut, auth=None, summary="One mission")
def mission_detail(request, code: str):
    return selectors.mission_get(code=code)


@router.get(
    "/samples",
    response=SamplePage,
    auth=None,
    summary="Search the sample catalog",
    description=(
        "Filters combine with AND. `facets` gives, for each mission, form, pool and state, how "
        "many samples choosing that option instead would match (the other filters kept)."
    ),
)
def sample_list(request, query: Query[SampleQuery]):
    filters = selectors.SampleFilters(
        mission=query.mission,
        form=query.form or "",
        pool=query.pool or "",
        state=query.state or "",
        mass_min_ug=query.mass_min_ug,
        mass_max_ug=query.mass_max_ug,
        q=query.q,
        text=query.text,
        has_publications=query.has_publications,
    )
    qs = selectors.sample_search(filters=filters, sort=query.sort).select_related("parent")
    counts = selectors.sample_search_counts(filters=filters)
    return {
        "count": counts.total,
        "limit": query.limit,
        "offset": query.offset,
        "items": list(qs[query.offset : query.offset + query.limit]),
        "facets": counts.facets,
        "facets_source": counts.source,
    }


@router.get("/samples/{identifier}", response=SampleOut, auth=None, summary="One sample")
def sample_detail(request, identifier: str):
    return selectors.sample_get(identifier=identifier)


@router.get(
    "/samples/{identifier}/genealogy",
    response=GenealogyOut,
    auth=None,
    summary="A sample's ancestors, children and number of descendants",
)
def sample_genealogy(request, identifier: str):
    sample = selectors.sample_get(identifier=identifier)
    return {
        "sample": sample,
        "ancestors": selectors.sample_ancestors(sample=sample),
        "children": list(selectors.sample_children(sample=sample)),
        "descendant_count": selectors.sample_descendants(sample=sample).count(),
    }
