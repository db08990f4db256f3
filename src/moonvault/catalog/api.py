"""The catalog: public reads, and the curators' changes to the inventory.

Every change goes through one catalog service, which records it in the custody ledger. The
curator role is checked here, as the curation pages check it; the services check the rules.
"""

from ninja import Query, Router, Status

from moonvault.accounts.models import Role
from moonvault.accounts.permissions import require_role
from moonvault.catalog import selectors, services
from moonvault.catalog.schemas import (
    GenealogyOut,
    MissionOut,
    SampleConsumeIn,
    SampleLostIn,
    SampleMoveIn,
    SampleOut,
    SamplePage,
    SamplePoolIn,
    SampleReceiveIn,
    SampleSearchQuery,
    SampleSplitIn,
    SampleWeighIn,
)
from moonvault.core.api import PageQuery, answers, json_answer, require_write

router = Router(tags=["catalog"])


class SampleQuery(PageQuery, SampleSearchQuery):
    """The catalog's filters, a page at a time."""


@router.get(
    "/missions",
    response=answers(200, list[MissionOut], public=True),
    auth=None,
    summary="List missions",
    description="Every mission, by landing date, with its landing site, returned mass in µg and "
    "payloads. Public.",
)
def mission_list(request):
    return list(selectors.mission_list())


@router.get(
    "/missions/{code}",
    response=answers(200, MissionOut, public=True),
    auth=None,
    summary="One mission",
    description="A mission by its code (`CE5`, `CE6`, `A17`, …); 404 naming `code` if there is "
    "none. Public.",
)
def mission_detail(request, code: str):
    return selectors.mission_get(code=code)


@router.get(
    "/samples",
    response=answers(200, SamplePage, public=True),
    auth=None,
    summary="Search the sample catalog",
    description=(
        "Filters combine with AND. `facets` gives, for each mission, form, pool and state, how "
        "many samples choosing that option instead would match (the other filters kept)."
    ),
)
def sample_list(request, query: Query[SampleQuery]):
    filters = query.filters()
    counts = selectors.sample_search_counts(filters=filters)
    items = selectors.sample_search_rows(
        filters=filters,
        sort=query.sort,
        offset=query.offset,
        limit=query.limit,
        counts=counts,
    )
    facets = {
        name: [
            {"value": o.value, "label": o.label, "count": o.count, "selected": o.selected}
            for o in options
        ]
        for name, options in counts.facets.items()
    }
    return json_answer(
        request,
        {
            "count": counts.total,
            "count_exact": counts.exact,
            "limit": query.limit,
            "offset": query.offset,
            "items": items,
            "facets": facets,
            "facets_source": counts.source,
        },
    )


@router.get(
    "/samples/{identifier}",
    response=answers(200, SampleOut, public=True),
    auth=None,
    summary="One sample",
    description="A sample by its identifier, as written (`74001,6040`; a comma is allowed in the "
    "path): mission, parent, form, pool, state, location and mass. Public.",
)
def sample_detail(request, identifier: str):
    return selectors.sample_get(identifier=identifier)


@router.get(
    "/samples/{identifier}/genealogy",
    response=answers(200, GenealogyOut, public=True),
    auth=None,
    summary="A sample's ancestors, children and number of descendants",
    description="The sample, its ancestors from the root down, its direct children and how "
    "many samples descend from it at any depth. Public.",
)
def sample_genealogy(request, identifier: str):
    return json_answer(request, selectors.sample_genealogy_rows(identifier=identifier))


# --- the curators' changes -----------------------------------------------------------------------


def _curator_sample(request, identifier: str):
    """The sample a curator is about to change, once the caller may change it."""
    require_write(request)
    require_role(request.user, Role.CURATOR)
    return selectors.sample_get(identifier=identifier)


@router.post(
    "/samples",
    response=answers(201, SampleOut),
    summary="Receive a new sample",
    description="Curators only. Registers returned material as a new root sample in a storage "
    "location, with a `received` custody event. The identifier follows the mission's "
    "convention and must be new.",
)
def sample_receive(request, payload: SampleReceiveIn):
    require_write(request)
    require_role(request.user, Role.CURATOR)
    new = services.NewSample(
        identifier=payload.identifier,
        mission=selectors.mission_get(code=payload.mission),
        form=payload.form,
        pool=payload.pool,
        mass_ug=payload.mass_ug,
        location=selectors.location_get(code=payload.location),
        pristine=payload.pristine,
        classification=payload.classification,
        subtype=payload.subtype,
        igsn=payload.igsn,
        description=payload.description,
    )
    return Status(201, services.sample_receive(actor=request.user, new=new, reason=payload.reason))


@router.post(
    "/samples/{identifier}/split",
    response=answers(201, list[SampleOut]),
    summary="Split a sample",
    description="Curators only. Each child takes its mass from the parent, and the handling "
    "loss comes off with them; children without an identifier get the next number of the "
    "mission's convention. A stored sample or one on loan can be split. Answers the children.",
)
def sample_split(request, identifier: str, payload: SampleSplitIn):
    sample = _curator_sample(request, identifier)
    children = [
        services.ChildSpec(
            mass_ug=child.mass_ug,
            identifier=child.identifier,
            form=child.form or "",
            pool=child.pool or "",
        )
        for child in payload.children
    ]
    return Status(
        201,
        services.sample_split(
            actor=request.user,
            sample_id=sample.pk,
            children=children,
            loss_ug=payload.loss_ug,
            reason=payload.reason,
        ),
    )


@router.post(
    "/samples/{identifier}/weigh",
    response=answers(200, SampleOut),
    summary="Record a weighing",
    description="Curators only. A measured mass other than the recorded one is a weighing "
    "correction and needs a reason.",
)
def sample_weigh(request, identifier: str, payload: SampleWeighIn):
    sample = _curator_sample(request, identifier)
    return services.sample_weigh(
        actor=request.user,
        sample_id=sample.pk,
        measured_ug=payload.measured_ug,
        reason=payload.reason,
    )


@router.post(
    "/samples/{identifier}/move",
    response=answers(200, SampleOut),
    summary="Move a sample to another storage location",
    description="Curators only, for a sample held in storage.",
)
def sample_move(request, identifier: str, payload: SampleMoveIn):
    sample = _curator_sample(request, identifier)
    return services.sample_move(
        actor=request.user,
        sample_id=sample.pk,
        location_code=payload.location,
        reason=payload.reason,
    )


@router.post(
    "/samples/{identifier}/consume",
    response=answers(200, SampleOut),
    summary="Record mass used up by an analysis",
    description="Curators only: a destructive analysis in our laboratory. A sample consumed "
    "to 0 µg leaves storage as consumed.",
)
def sample_consume(request, identifier: str, payload: SampleConsumeIn):
    sample = _curator_sample(request, identifier)
    return services.sample_consume(
        actor=request.user,
        sample_id=sample.pk,
        mass_ug=payload.mass_ug,
        technique=payload.technique,
        reason=payload.reason,
    )


@router.post(
    "/samples/{identifier}/lost",
    response=answers(200, SampleOut),
    summary="Mark a sample lost",
    description="Curators only, saying how it went missing. The sample keeps its last known "
    "mass, accounted as lost; resolving an incident with `found` brings it back.",
)
def sample_mark_lost(request, identifier: str, payload: SampleLostIn):
    sample = _curator_sample(request, identifier)
    return services.sample_mark_lost(actor=request.user, sample_id=sample.pk, reason=payload.reason)


@router.post(
    "/samples/{identifier}/pool",
    response=answers(200, SampleOut),
    summary="Reassign a sample to another purpose pool",
    description="Curators only, for a stored sample, with a reason.",
)
def sample_reassign_pool(request, identifier: str, payload: SamplePoolIn):
    sample = _curator_sample(request, identifier)
    return services.sample_reassign_pool(
        actor=request.user, sample_id=sample.pk, pool=payload.pool, reason=payload.reason
    )
