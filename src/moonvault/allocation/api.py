"""The committee's allocation plans through the API: propose, read, apply, decide."""

from ninja import Router, Status

from moonvault.allocation import selectors, services
from moonvault.allocation.schemas import DecidedOut, PlanIn, PlanOut
from moonvault.calls.selectors import call_for_committee
from moonvault.core.api import answers, require_write
from moonvault.core.errors import NotFound

router = Router(tags=["allocation"])


def _plan_out(plan) -> dict:
    rows = selectors.plan_rows(plan=plan)
    return {
        **{name: getattr(plan, name) for name in PlanOut.model_fields if name != "outcomes"},
        "outcomes": [
            {
                "item_id": r.item.pk,
                "proposal_id": r.item.proposal_id,
                "unit": r.outcome.unit,
                "rank": r.outcome.rank,
                "status": r.outcome.status,
                "funded_mass_ug": r.outcome.funded_mass_ug,
                "reason": r.outcome.reason,
                "explanation": r.outcome.explanation,
                "portions": [{"source": s, "mass_ug": m} for s, m in r.portions],
            }
            for r in rows
        ],
    }


@router.post(
    "/calls/{call_id}/plans",
    response=answers(201, PlanOut),
    summary="Propose an allocation plan",
    description=(
        "Runs the optimizer on the call's ranking (committee; the call must be in ranking): the "
        "rank rule first, then the most rank-weighted mass, then the fewest splits. Pinned items "
        "are funded first; excluded items are left out. Each mission's reserve is respected. "
        "The answer lists every item's outcome with the reason for any cut."
    ),
)
def plan_propose(request, call_id: int, payload: PlanIn):
    require_write(request)
    plan = services.plan_propose(
        actor=request.user,
        call_id=call_id,
        pinned=payload.pinned,
        excluded=payload.excluded,
        handling_loss_ug=payload.handling_loss_ug,
        min_split_ug=payload.min_split_ug,
    )
    return Status(201, _plan_out(plan))


@router.get(
    "/calls/{call_id}/plans/latest",
    response=answers(200, PlanOut),
    summary="The call's current plan",
    description="The applied plan, or the newest proposed one (committee).",
)
def plan_latest(request, call_id: int):
    call = call_for_committee(actor=request.user, call_id=call_id)
    plan = selectors.plan_latest(call=call)
    if plan is None:
        raise NotFound("no plan has been proposed for this call", field="call")
    return _plan_out(plan)


@router.post(
    "/plans/{plan_id}/apply",
    response=answers(200, PlanOut),
    summary="Apply a plan",
    description=(
        "Turns the plan into splits and allocations in one transaction, through the custody "
        "ledger (committee). A plan is applied once; a changed inventory refuses the whole plan."
    ),
)
def plan_apply(request, plan_id: int):
    require_write(request)
    services.plan_apply(actor=request.user, plan_id=plan_id)
    return _plan_out(selectors.plan_get(plan_id=plan_id))


@router.post(
    "/plans/{plan_id}/decide",
    response=answers(200, DecidedOut),
    summary="Record decisions from an applied plan",
    description=(
        "Approves, partly approves or declines every ranked proposal of the call from the plan, "
        "with the optimizer's explanation as the reason for each cut (committee)."
    ),
)
def plan_decide(request, plan_id: int):
    require_write(request)
    return {"decided": services.plan_decide(actor=request.user, plan_id=plan_id)}
