"""Allocation plans: build a round from the committee's ranking, solve it, apply it.

`plan_propose` reads the ranked requests and the samples that could serve them, applies each
mission's reserve policy to what may be released, and stores the optimizer's plan with the reason
for every cut. `plan_apply` turns a plan into real splits and allocations in one transaction,
through the inventory services, so the ledger shows exactly what was decided.
"""

from collections import defaultdict

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from moonvault.accounts.models import Institution, Role
from moonvault.accounts.permissions import require_role
from moonvault.allocation.messages import gettext_noop
from moonvault.allocation.models import Allocation, AllocationPlan, PlanLine, PlanOutcome
from moonvault.allocation.optimizer import Request, Round, Source, solve_allocation
from moonvault.audit.models import AuditEntry
from moonvault.audit.services import audit_record
from moonvault.calls.models import (
    DECIDED_STATUSES,
    Call,
    CallStatus,
    Proposal,
    ProposalStatus,
    RequestedItem,
)
from moonvault.calls.services import proposal_decide
from moonvault.catalog.models import DIVISIBLE_FORMS, Mission, Sample, State
from moonvault.catalog.services import ChildSpec, sample_split
from moonvault.catalog.transitions import samples_transition
from moonvault.core.errors import Conflict, DomainError, NotFound
from moonvault.core.units import check_mass
from moonvault.review.models import RankEntry
from moonvault.review.services import refuse_own_proposal

DEFAULT_HANDLING_LOSS_UG = 50
DEFAULT_MIN_SPLIT_UG = 1_000
EXCLUDED = gettext_noop("excluded from the plan by the committee")


def mission_headroom(mission: Mission) -> int:
    """Pristine mass in storage that may still be released before the reserve is reached."""
    preserved = (
        Sample.objects.filter(mission=mission, state=State.STORED, pristine=True).aggregate(
            m=Sum("mass_ug")
        )["m"]
        or 0
    )
    return preserved - mission.returned_mass_ug * mission.reserve_pct // 100


def _ranked_items(call: Call, pinned: list[int], excluded: list[int]) -> list[RequestedItem]:
    entries = RankEntry.objects.filter(call=call).order_by("final_rank")
    order = {e.proposal_id: e.final_rank for e in entries}
    items = [
        item
        for item in RequestedItem.objects.filter(proposal_id__in=order)
        .select_related("proposal__pi__person__institution", "mission", "sample")
        .order_by("id")
        if item.pk not in excluded
    ]
    items.sort(key=lambda i: (i.pk not in pinned, order[i.proposal_id], i.pk))
    return items


def _pi_institution(item: RequestedItem) -> Institution | None:
    """The principal investigator's institution, if any (the item read with its
    `proposal__pi__person__institution`)."""
    person = getattr(item.proposal.pi, "person", None)
    return person.institution if person else None


def _country(item: RequestedItem) -> str:
    institution = _pi_institution(item)
    return institution.country if institution else "--"


def _build_round(call: Call, items, handling_loss: int, min_split: int) -> Round:
    sources: dict[int, Sample] = {}
    eligible: dict[int, list[int]] = {}
    for item in items:
        if item.sample_id:
            found = [item.sample] if item.sample.state == State.STORED else []
        else:
            found = list(
                Sample.objects.filter(
                    mission=item.mission,
                    pool=item.pool,
                    form=item.form,
                    state=State.STORED,
                    pristine=True,
                    mass_ug__gt=0,
                ).order_by("-mass_ug", "pk")
            )
        eligible[item.pk] = [s.pk for s in found if s.pristine]
        sources.update({s.pk: s for s in found})
    # The reserve: a mission releases at most its headroom, taken from its largest samples first.
    available: dict[int, int] = {}
    capped: set[int] = set()
    by_mission = defaultdict(list)
    for sample in sources.values():
        by_mission[sample.mission_id].append(sample)
    for samples in by_mission.values():
        room = max(mission_headroom(samples[0].mission), 0)
        for sample in sorted(samples, key=lambda s: (-s.mass_ug, s.pk)):
            available[sample.pk] = min(sample.mass_ug, room)
            room -= available[sample.pk]
            if available[sample.pk] < sample.mass_ug:
                capped.add(sample.pk)
    requests = []
    for item in items:
        whole = item.form not in DIVISIBLE_FORMS
        base = dict(
            proposal_id=str(item.proposal_id),
            country=_country(item),
            sources=tuple(str(s) for s in eligible[item.pk]),
            all_or_nothing=item.proposal.all_or_nothing,
        )
        if whole:
            requests += [
                Request(id=f"{item.pk}:{u}", whole_unit=True, **base) for u in range(item.units)
            ]
        else:
            requests.append(
                Request(
                    id=f"{item.pk}:0",
                    requested_mass=item.requested_mass_ug,
                    minimum_mass=item.minimum_mass_ug,
                    **base,
                )
            )
    cap = call.country_share_cap_pct
    countries = {r.country for r in requests}
    return Round(
        requests=tuple(requests),
        sources=tuple(
            Source(
                id=str(pk),
                available_mass=available[pk],
                group=f"{s.mission.code} {s.get_pool_display()} {s.get_form_display()}"
                + (" (reserve)" if pk in capped else ""),
            )
            for pk, s in sorted(sources.items())
        ),
        budget=call.release_budget_ug,
        country_caps={c: cap / 100 for c in countries} if cap else {},
        handling_loss=handling_loss,
        min_split_mass=min_split,
    )


def _call_for_allocation(actor, call_id: int) -> Call:
    require_role(actor, Role.COMMITTEE)
    call = Call.objects.select_for_update().filter(pk=call_id).first()
    if call is None:
        raise NotFound(_("call %(call_id)s does not exist") % {"call_id": call_id}, field="call")
    if call.status != CallStatus.RANKING:
        raise Conflict(_("plans are made while the call is in ranking"), field="status")
    refuse_own_proposal(actor, Proposal.objects.filter(rank__call=call))
    return call


@transaction.atomic
def plan_propose(
    *,
    actor,
    call_id: int,
    pinned: list[int] = (),
    excluded: list[int] = (),
    handling_loss_ug: int = DEFAULT_HANDLING_LOSS_UG,
    min_split_ug: int = DEFAULT_MIN_SPLIT_UG,
    time_limit: float = 60.0,
) -> AllocationPlan:
    call = _call_for_allocation(actor, call_id)
    if AllocationPlan.objects.filter(call=call, status=AllocationPlan.Status.APPLIED).exists():
        raise Conflict(_("this call's plan is already applied"), field="call")
    for name, value in (("handling_loss_ug", handling_loss_ug), ("min_split_ug", min_split_ug)):
        check_mass(value, name, allow_zero=True)
    pinned, excluded = list(dict.fromkeys(pinned)), list(dict.fromkeys(excluded))
    known = set(RequestedItem.objects.filter(proposal__call=call).values_list("pk", flat=True))
    for name, ids in (("pinned", pinned), ("excluded", excluded)):
        if set(ids) - known:
            raise DomainError(
                _("item %(item_id)s is not in this call")
                % {"item_id": sorted(set(ids) - known)[0]},
                field=name,
            )
    if set(pinned) & set(excluded):
        raise DomainError(_("an item cannot be pinned and excluded"), field="pinned")
    items = _ranked_items(call, pinned, excluded)
    if not items:
        raise Conflict(_("no ranked proposal has requested items"), field="call")
    result = solve_allocation(
        _build_round(call, items, handling_loss_ug, min_split_ug), time_limit=time_limit
    )
    AllocationPlan.objects.filter(call=call, status=AllocationPlan.Status.PROPOSED).update(
        status=AllocationPlan.Status.SUPERSEDED
    )
    plan = AllocationPlan.objects.create(
        call=call,
        pinned=pinned,
        excluded=excluded,
        handling_loss_ug=handling_loss_ug,
        min_split_ug=min_split_ug,
        budget_ug=call.release_budget_ug,
        funded_requests=result.funded_requests,
        funded_mass_ug=result.funded_mass,
        splits=result.splits,
        rank_rule_exact=result.rank_rule_exact,
        gap=result.gap,
        solve_seconds=result.solve_seconds,
        notes=list(result.notes),
        created_by=actor,
    )
    items_by_id = {i.pk: i for i in items}
    for outcome in result.outcomes:
        item_id, unit = (int(x) for x in outcome.request_id.split(":"))
        row = PlanOutcome.objects.create(
            plan=plan,
            item=items_by_id[item_id],
            unit=unit,
            rank=outcome.rank,
            status=outcome.status,
            funded_mass_ug=outcome.funded_mass,
            reason=outcome.reason or "",
            explanation=outcome.explanation,
            detail=outcome.detail,
            params=dict(outcome.params),
            ranked_of=outcome.ranked_of,
        )
        whole = items_by_id[item_id].form not in DIVISIBLE_FORMS
        PlanLine.objects.bulk_create(
            PlanLine(outcome=row, source_id=int(p.source_id), mass_ug=p.mass, whole=whole)
            for p in outcome.portions
        )
    excluded_items = RequestedItem.objects.filter(pk__in=excluded)
    PlanOutcome.objects.bulk_create(
        PlanOutcome(
            plan=plan,
            item=item,
            rank=0,
            status="unfunded",
            reason="excluded",
            explanation=EXCLUDED,
            detail=EXCLUDED,
        )
        for item in excluded_items
    )
    return plan


@transaction.atomic
def plan_apply(*, actor, plan_id: int) -> list[Allocation]:
    """Make the plan real: split each source and allocate the portions, all or nothing."""
    require_role(actor, Role.COMMITTEE)
    plan = AllocationPlan.objects.select_for_update().filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(_("plan %(plan_id)s does not exist") % {"plan_id": plan_id}, field="plan")
    call = _call_for_allocation(actor, plan.call_id)
    if plan.status != AllocationPlan.Status.PROPOSED:
        raise Conflict(
            _("the plan is %(status)s") % {"status": plan.get_status_display().lower()},
            field="plan",
        )
    lines = list(
        PlanLine.objects.filter(outcome__plan=plan)
        .select_related("outcome__item__proposal__pi__person__institution")
        .order_by("pk")
    )
    # Lock every source in one order before splitting, so concurrent plans cannot deadlock.
    source_ids = sorted({line.source_id for line in lines})
    list(Sample.objects.select_for_update().filter(pk__in=source_ids).order_by("pk"))
    released = defaultdict(int)
    for line in lines:
        released[line.source.mission_id] += line.mass_ug + (
            0 if line.whole else plan.handling_loss_ug
        )
    for mission_id, mass in released.items():
        mission = Mission.objects.get(pk=mission_id)
        if mass > mission_headroom(mission):
            raise Conflict(
                _(
                    "applying the plan would take %(name)s below its reserve of "
                    "%(reserve_pct)s %%; propose the plan again"
                )
                % {"name": mission.name, "reserve_pct": mission.reserve_pct},
                field="plan",
            )
    allocations = []
    for line in lines:
        item = line.outcome.item
        if line.whole:
            sample = Sample.objects.get(pk=line.source_id)
            if sample.mass_ug != line.mass_ug:
                raise Conflict(
                    _("sample %(identifier)s changed since the plan; propose it again")
                    % {"identifier": sample.identifier},
                    field="plan",
                )
        else:
            (sample,) = sample_split(
                actor=actor,
                sample_id=line.source_id,
                children=[ChildSpec(mass_ug=line.mass_ug)],
                loss_ug=plan.handling_loss_ug,
                reason=f"allocation to proposal {item.proposal_id} in {call.title}",
            )
        (sample,) = samples_transition(
            actor=actor,
            sample_ids=[sample.pk],
            step="allocate",
            location=sample.location,
            reason=f"allocated to proposal {item.proposal_id}, item {item.pk}",
            data={"proposal": item.proposal_id, "item": item.pk},
        )
        # Recorded as they are now, for the transparency tables (see Allocation).
        institution = _pi_institution(item)
        allocations.append(
            Allocation(
                item=item,
                mission_id=item.mission_id,
                institution=institution,
                country=institution.country if institution else "",
                plan=plan,
                source_id=line.source_id,
                sample=sample,
                mass_ug=line.mass_ug,
                created_by=actor,
            )
        )
    Allocation.objects.bulk_create(allocations)
    plan.status = AllocationPlan.Status.APPLIED
    plan.applied_by = actor
    plan.applied_at = timezone.now()
    plan.save(update_fields=["status", "applied_by", "applied_at"])
    return allocations


@transaction.atomic
def plan_decide(*, actor, plan_id: int, comment: str = "") -> int:
    """Record each ranked proposal's decision from an applied plan; returns how many."""
    require_role(actor, Role.COMMITTEE)
    plan = AllocationPlan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise NotFound(_("plan %(plan_id)s does not exist") % {"plan_id": plan_id}, field="plan")
    if plan.status != AllocationPlan.Status.APPLIED:
        raise Conflict(_("apply the plan before deciding from it"), field="plan")
    approved: dict[int, dict[int, int]] = defaultdict(dict)
    reasons: dict[int, dict[int, str]] = defaultdict(dict)
    for outcome in plan.outcomes.select_related("item"):
        item = outcome.item
        whole = item.form not in DIVISIBLE_FORMS
        amount = (1 if outcome.funded_mass_ug else 0) if whole else outcome.funded_mass_ug
        approved[item.proposal_id][item.pk] = approved[item.proposal_id].get(item.pk, 0) + amount
        if outcome.status != "full":
            reasons[item.proposal_id][item.pk] = outcome.explanation
    decided = 0
    ranked = plan.call.proposals.filter(
        status__in=[ProposalStatus.RANKED, *DECIDED_STATUSES]
    ).values_list("pk", flat=True)
    for proposal_id in ranked:
        proposal_decide(
            actor=actor,
            proposal_id=proposal_id,
            approved=approved.get(proposal_id, {}),
            reasons=reasons.get(proposal_id, {}),
            comment=comment,
        )
        decided += 1
    audit_record(
        kind=AuditEntry.Kind.DECISION,
        actor=actor,
        target=f"plan {plan.pk}",
        summary=f"{decided} proposal(s) decided from the applied plan",
    )
    return decided
