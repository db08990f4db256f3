"""The committee's plan page: propose (with pins and exclusions), apply, decide."""

from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from moonvault.accounts.models import Role
from moonvault.allocation import selectors, services
from moonvault.calls.selectors import call_for_committee
from moonvault.calls.views.access import FORM_ERROR_STATUS, page, role_required
from moonvault.core.errors import DomainError


def _ids(request, prefix: str) -> list[int]:
    return sorted(
        int(name[len(prefix) :])
        for name in request.POST
        if name.startswith(prefix) and name[len(prefix) :].isdigit()
    )


def _whole_micrograms(request, name: str, default: int) -> int:
    text = request.POST.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit():
        raise DomainError(_("a whole number of micrograms"), field=name)
    return int(text)


def _plan_page(request, call, *, status: int = 200, error: DomainError | None = None):
    plan = selectors.plan_latest(call=call)
    errors = {p.field: p.message for p in error.problems} if error else {}
    return page(
        request,
        "allocation/plan.html",
        {
            "call": call,
            "plan": plan,
            "rows": selectors.plan_rows(plan=plan) if plan else [],
            "errors": errors,
            "defaults": {
                "handling_loss_ug": services.DEFAULT_HANDLING_LOSS_UG,
                "min_split_ug": services.DEFAULT_MIN_SPLIT_UG,
            },
        },
        status=status,
    )


@role_required(Role.COMMITTEE)
def plan(request, call_id: int):
    call = call_for_committee(actor=request.user, call_id=call_id)
    if request.method != "POST":
        return _plan_page(request, call)
    try:
        services.plan_propose(
            actor=request.user,
            call_id=call.pk,
            pinned=_ids(request, "pin_"),
            excluded=_ids(request, "exclude_"),
            handling_loss_ug=_whole_micrograms(
                request, "handling_loss_ug", services.DEFAULT_HANDLING_LOSS_UG
            ),
            min_split_ug=_whole_micrograms(request, "min_split_ug", services.DEFAULT_MIN_SPLIT_UG),
        )
    except DomainError as exc:
        return _plan_page(request, call, status=FORM_ERROR_STATUS, error=exc)
    return redirect("allocation:plan", call_id=call.pk)


@require_POST
@role_required(Role.COMMITTEE)
def plan_apply(request, plan_id: int):
    plan = selectors.plan_get(plan_id=plan_id)
    try:
        services.plan_apply(actor=request.user, plan_id=plan.pk)
    except DomainError as exc:
        call = call_for_committee(actor=request.user, call_id=plan.call_id)
        return _plan_page(request, call, status=FORM_ERROR_STATUS, error=exc)
    return redirect("allocation:plan", call_id=plan.call_id)


@require_POST
@role_required(Role.COMMITTEE)
def plan_decide(request, plan_id: int):
    plan = selectors.plan_get(plan_id=plan_id)
    try:
        services.plan_decide(
            actor=request.user, plan_id=plan.pk, comment=request.POST.get("comment", "")
        )
    except DomainError as exc:
        call = call_for_committee(actor=request.user, call_id=plan.call_id)
        return _plan_page(request, call, status=FORM_ERROR_STATUS, error=exc)
    return redirect("allocation:plan", call_id=plan.call_id)
