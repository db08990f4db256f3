"""Reads of allocation plans, for the committee's plan page and the API."""

from dataclasses import dataclass

from moonvault.allocation.models import AllocationPlan, PlanOutcome
from moonvault.calls.models import Call, RequestedItem
from moonvault.core.errors import NotFound


@dataclass(frozen=True)
class PlanRow:
    """One requested item (or one unit of a whole-unit item) as the plan treats it."""

    outcome: PlanOutcome
    item: RequestedItem
    portions: list[tuple[str, int]]


def plan_latest(*, call: Call) -> AllocationPlan | None:
    """The applied plan if there is one, else the newest proposed plan."""
    plans = AllocationPlan.objects.filter(call=call).exclude(
        status=AllocationPlan.Status.SUPERSEDED
    )
    return plans.filter(status=AllocationPlan.Status.APPLIED).first() or plans.first()


def plan_get(*, plan_id: int) -> AllocationPlan:
    plan = AllocationPlan.objects.select_related("call").filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(f"plan {plan_id} does not exist", field="plan")
    return plan


def plan_rows(*, plan: AllocationPlan) -> list[PlanRow]:
    outcomes = plan.outcomes.select_related(
        "item__proposal__pi", "item__mission", "item__sample"
    ).prefetch_related("lines__source")
    return [
        PlanRow(
            outcome=o,
            item=o.item,
            portions=[(line.source.identifier, line.mass_ug) for line in o.lines.all()],
        )
        for o in outcomes
    ]
