"""Calls and proposals over JSON: public reads, the committee's actions, the applicant's drafting.

Handlers parse, call one selector or service, and return what changed. The services check roles
and rules; a read-only token is refused before any change.
"""

from ninja import File, Query, Router, Status
from ninja.files import UploadedFile

from moonvault.calls import selectors, services
from moonvault.calls.schemas import (
    AttachmentOut,
    CallCommitteeOut,
    CallExtendIn,
    CallIn,
    CallOut,
    CallOutcomeOut,
    CallTransitionIn,
    CommitteeProposalOut,
    DecisionIn,
    DecisionOut,
    DoiIn,
    DoiOut,
    ItemIn,
    ItemOut,
    MethodIn,
    MethodOut,
    PanelIn,
    ProposalCreateIn,
    ProposalOut,
    ProposalPatchIn,
    ProposalSummaryOut,
    ReasonIn,
    ScreeningIn,
    ScreeningOut,
    TeamMemberIn,
    TeamMemberOut,
)
from moonvault.core.api import (
    Page,
    PageQuery,
    answers,
    page_of,
    request_viewer,
    require_write,
)

router = Router(tags=["calls"])


# --- public ------------------------------------------------------------------------------------


@router.get(
    "/calls",
    response=answers(200, Page[CallOut], public=True),
    auth=None,
    summary="List calls, a page at a time",
    description="Open and past allocation rounds, latest deadline first. Drafts are listed only "
    "for the committee (by session or bearer token).",
)
def call_list(request, page: Query[PageQuery]):
    return page_of(selectors.call_list(viewer=request_viewer(request)), page)


@router.get(
    "/calls/{call_id}",
    response=answers(200, CallOut, public=True),
    auth=None,
    summary="One call",
    description="What a call offers, its limits, dates and policies. A draft is 404 for anyone "
    "outside the committee.",
)
def call_detail(request, call_id: int):
    return selectors.call_get(viewer=request_viewer(request), call_id=call_id)


@router.get(
    "/calls/{call_id}/outcome",
    response=answers(200, CallOutcomeOut, public=True),
    auth=None,
    summary="The outcome of a decided call",
    description="Released mass, proposals received, approved, partly approved and declined, by "
    "institution and country. 409 until the call is decided.",
)
def call_outcome(request, call_id: int):
    return selectors.call_outcome(viewer=request_viewer(request), call_id=call_id)


# --- the committee -----------------------------------------------------------------------------


@router.post(
    "/calls",
    response=answers(201, CallCommitteeOut),
    summary="Create a call",
    description="Committee only. The creator chairs the call; it starts as a draft.",
)
def call_create(request, payload: CallIn):
    require_write(request)
    panel = selectors.reviewers_by_id(ids=payload.panel, field="panel")
    fields = payload.model_dump(exclude={"panel"})
    return Status(201, services.call_create(actor=request.user, panel=panel, **fields))


@router.post(
    "/calls/{call_id}/transition",
    response=answers(200, CallCommitteeOut),
    summary="Move a call to its next status",
    description="Committee only. draft → open → closed → screening → review → ranking → decided "
    "→ closed_out, one step at a time; each step is recorded with who, when and why. A step out "
    "of order, or one whose preconditions fail, is 409.",
)
def call_transition(request, call_id: int, payload: CallTransitionIn):
    require_write(request)
    return services.call_transition(
        actor=request.user, call_id=call_id, to_status=payload.to_status, reason=payload.reason
    )


@router.post(
    "/calls/{call_id}/extend",
    response=answers(200, CallCommitteeOut),
    summary="Extend the proposal deadline",
    description="Committee only, with a reason; recorded. Extending a closed call reopens it.",
)
def call_extend(request, call_id: int, payload: CallExtendIn):
    require_write(request)
    return services.call_extend_deadline(
        actor=request.user,
        call_id=call_id,
        proposals_due=payload.proposals_due,
        reason=payload.reason,
    )


@router.put(
    "/calls/{call_id}/panel",
    response=answers(200, CallCommitteeOut),
    summary="Set the review panel",
    description="Committee only; every member must hold the reviewer role. Fixed once review "
    "has started.",
)
def call_panel(request, call_id: int, payload: PanelIn):
    require_write(request)
    reviewers = selectors.reviewers_by_id(ids=payload.reviewer_ids)
    return services.call_set_panel(actor=request.user, call_id=call_id, reviewers=reviewers)


@router.post(
    "/calls/{call_id}/screen",
    response=answers(200, list[ScreeningOut]),
    summary="Run the automatic eligibility checks",
    description="Committee only, while the call is in screening: checks every submitted "
    "proposal and records each rule with its reason.",
)
def call_screen(request, call_id: int):
    require_write(request)
    return services.call_screen(actor=request.user, call_id=call_id)


@router.post(
    "/proposals/{proposal_id}/screening",
    response=answers(200, ScreeningOut),
    summary="Confirm or override the eligibility of a proposal",
    description="Committee only. Overriding the automatic result needs a reason.",
)
def proposal_screening(request, proposal_id: int, payload: ScreeningIn):
    require_write(request)
    return services.proposal_screen_decide(
        actor=request.user,
        proposal_id=proposal_id,
        eligible=payload.eligible,
        reason=payload.reason,
    )


@router.post(
    "/proposals/{proposal_id}/return",
    response=answers(200, ProposalSummaryOut),
    summary="Return a submitted proposal for changes",
    description="Committee only, before screening, saying what must change; the PI may then "
    "edit and submit again.",
)
def proposal_return(request, proposal_id: int, payload: ReasonIn):
    require_write(request)
    return services.proposal_return(
        actor=request.user, proposal_id=proposal_id, reason=payload.reason
    )


@router.get(
    "/calls/{call_id}/proposals",
    response=answers(200, Page[CommitteeProposalOut]),
    summary="The proposals of a call, for the committee, a page at a time",
    description="Committee only. Every submitted proposal, in the order they were made, with its "
    "screening, reviewer assignments, review figures (raw and severity-corrected mean, spread, "
    "computed over the whole call), rank and decision.",
)
def call_proposals(request, call_id: int, page: Query[PageQuery]):
    return page_of(
        selectors.call_proposals_for_committee(actor=request.user, call_id=call_id), page
    )


@router.post(
    "/proposals/{proposal_id}/decision",
    response=answers(200, DecisionOut),
    summary="Decide on a ranked proposal",
    description="Committee only, while the call is in ranking. `approved` maps each requested "
    "item to the approved mass in µg (units for whole-unit forms); an item left out gets "
    "nothing. Every cut or declined item needs a reason, which the applicant will read.",
)
def proposal_decision(request, proposal_id: int, payload: DecisionIn):
    require_write(request)
    return services.proposal_decide(
        actor=request.user,
        proposal_id=proposal_id,
        approved=payload.approved,
        reasons=payload.reasons,
        comment=payload.comment,
    )


# --- the applicant -----------------------------------------------------------------------------


@router.post(
    "/calls/{call_id}/proposals",
    response=answers(201, ProposalOut),
    summary="Start a proposal",
    description="Applicants only, while the call is open. The caller becomes the principal "
    "investigator; the draft can be saved and completed over several visits.",
)
def proposal_create(request, call_id: int, payload: ProposalCreateIn):
    require_write(request)
    return Status(
        201, services.proposal_create(actor=request.user, call_id=call_id, title=payload.title)
    )


@router.get(
    "/proposals",
    response=answers(200, Page[ProposalOut]),
    summary="My proposals, a page at a time",
    description="The caller's own proposals, newest first, each with what still blocks its "
    "submission and, once decided, the committee's decision.",
)
def proposal_list(request, page: Query[PageQuery]):
    return page_of(selectors.proposals_of_applicant(actor=request.user), page)


@router.get(
    "/proposals/{proposal_id}",
    response=answers(200, ProposalOut),
    summary="One of my proposals",
    description="Only for its principal investigator; anyone else gets 404. Once decided: the "
    "outcome, approved amount and reason per item, and the reviewers' comments to the "
    "applicant (reviewers stay anonymous; their confidential comments are never shown).",
)
def proposal_detail(request, proposal_id: int):
    return selectors.proposal_for_applicant(actor=request.user, proposal_id=proposal_id)


@router.patch(
    "/proposals/{proposal_id}",
    response=answers(200, ProposalOut),
    summary="Edit a draft",
    description="Only the fields sent change. Possible while the proposal is a draft or was "
    "returned for changes.",
)
def proposal_update(request, proposal_id: int, payload: ProposalPatchIn):
    require_write(request)
    fields = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    return services.proposal_update(actor=request.user, proposal_id=proposal_id, **fields)


@router.post(
    "/proposals/{proposal_id}/team",
    response=answers(201, TeamMemberOut),
    summary="Add a co-investigator",
    description="A registered user (`user_id`) or a name, email, institution and country.",
)
def team_member_add(request, proposal_id: int, payload: TeamMemberIn):
    require_write(request)
    user = selectors.user_by_id(user_id=payload.user_id) if payload.user_id else None
    institution = (
        selectors.institution_by_id(institution_id=payload.institution_id)
        if payload.institution_id
        else None
    )
    member = services.team_member_add(
        actor=request.user,
        proposal_id=proposal_id,
        name=payload.name,
        country=payload.country,
        email=payload.email,
        user=user,
        institution=institution,
        institution_name=payload.institution_name,
    )
    return Status(201, member)


@router.post(
    "/proposals/{proposal_id}/methods",
    response=answers(201, MethodOut),
    summary="Add a method",
    description="A technique, whether it destroys material, and the mass it needs in µg.",
)
def method_add(request, proposal_id: int, payload: MethodIn):
    require_write(request)
    return Status(
        201, services.method_add(actor=request.user, proposal_id=proposal_id, **payload.dict())
    )


@router.post(
    "/proposals/{proposal_id}/items",
    response=answers(201, ItemOut),
    summary="Request a sample item",
    description="A form from a mission and pool (divisible forms by requested and minimum "
    "useful mass, thin sections, rock fragments and particles by whole units) or a named "
    "sample. The call must offer the mission, pool and form.",
)
def item_add(request, proposal_id: int, payload: ItemIn):
    require_write(request)
    return Status(
        201, services.item_add(actor=request.user, proposal_id=proposal_id, **payload.dict())
    )


@router.post(
    "/proposals/{proposal_id}/dois",
    response=answers(201, DoiOut),
    summary="Cite a prior publication",
    description="A DOI, in any of its usual spellings; stored normalized.",
)
def doi_add(request, proposal_id: int, payload: DoiIn):
    require_write(request)
    return Status(
        201, services.doi_add(actor=request.user, proposal_id=proposal_id, doi=payload.doi)
    )


@router.post(
    "/proposals/{proposal_id}/attachments",
    response=answers(201, AttachmentOut),
    summary="Attach a PDF",
    description="multipart/form-data with one `file`. PDF only (judged by content), at most 10 MB.",
)
def attachment_add(request, proposal_id: int, file: File[UploadedFile]):
    require_write(request)
    return Status(
        201, services.attachment_add(actor=request.user, proposal_id=proposal_id, uploaded=file)
    )


def _part_remove(request, proposal_id: int, part: str, part_id: int):
    require_write(request)
    services.proposal_part_remove(
        actor=request.user, proposal_id=proposal_id, part=part, part_id=part_id
    )
    return Status(204, None)


REMOVE_DESCRIPTION = "Possible while the proposal is a draft or was returned for changes."


@router.delete(
    "/proposals/{proposal_id}/team/{part_id}",
    response=answers(204, None),
    summary="Remove a co-investigator",
    description=REMOVE_DESCRIPTION,
)
def team_member_remove(request, proposal_id: int, part_id: int):
    return _part_remove(request, proposal_id, "team", part_id)


@router.delete(
    "/proposals/{proposal_id}/methods/{part_id}",
    response=answers(204, None),
    summary="Remove a method",
    description=REMOVE_DESCRIPTION,
)
def method_remove(request, proposal_id: int, part_id: int):
    return _part_remove(request, proposal_id, "method", part_id)


@router.delete(
    "/proposals/{proposal_id}/items/{part_id}",
    response=answers(204, None),
    summary="Remove a requested item",
    description=REMOVE_DESCRIPTION,
)
def item_remove(request, proposal_id: int, part_id: int):
    return _part_remove(request, proposal_id, "item", part_id)


@router.delete(
    "/proposals/{proposal_id}/dois/{part_id}",
    response=answers(204, None),
    summary="Remove a cited publication",
    description=REMOVE_DESCRIPTION,
)
def doi_remove(request, proposal_id: int, part_id: int):
    return _part_remove(request, proposal_id, "doi", part_id)


@router.delete(
    "/proposals/{proposal_id}/attachments/{part_id}",
    response=answers(204, None),
    summary="Remove an attachment",
    description=REMOVE_DESCRIPTION,
)
def attachment_remove(request, proposal_id: int, part_id: int):
    return _part_remove(request, proposal_id, "attachment", part_id)


@router.post(
    "/proposals/{proposal_id}/submit",
    response=answers(200, ProposalOut),
    summary="Submit a proposal",
    description="Checks everything, then freezes the submitted version. Refused after the "
    "call's deadline; 400 lists every missing piece by field.",
)
def proposal_submit(request, proposal_id: int):
    require_write(request)
    return services.proposal_submit(actor=request.user, proposal_id=proposal_id)


@router.post(
    "/proposals/{proposal_id}/withdraw",
    response=answers(200, ProposalOut),
    summary="Withdraw a proposal",
    description="Possible until the committee has decided; the reason is optional.",
)
def proposal_withdraw(request, proposal_id: int, payload: ReasonIn):
    require_write(request)
    return services.proposal_withdraw(
        actor=request.user, proposal_id=proposal_id, reason=payload.reason
    )
