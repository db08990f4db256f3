"""The applicant's pages: my proposals, the step-by-step editor, submission and the outcome."""

from dataclasses import dataclass
from functools import partial

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from moonvault.accounts.models import Role
from moonvault.calls import selectors, services
from moonvault.calls.forms import (
    AttachmentForm,
    DoiForm,
    ItemForm,
    MethodForm,
    ProposalFilter,
    ReasonForm,
    ResultsForm,
    SummaryForm,
    TeamMemberForm,
)
from moonvault.calls.models import DECIDED_STATUSES, EDITABLE_STATUSES, ProposalStatus
from moonvault.calls.views.access import FORM_ERROR_STATUS, page, role_required, show_on_form
from moonvault.calls.views.display import frozen_content
from moonvault.core.errors import DomainError
from moonvault.web.listing import listing

STEPS = [
    (1, gettext_lazy("Summary")),
    (2, gettext_lazy("Team")),
    (3, gettext_lazy("Methods")),
    (4, gettext_lazy("Requested items")),
    (5, gettext_lazy("Prior results and data")),
    (6, gettext_lazy("Review and submit")),
]
# The step on which each field that proposal_problems may name is edited.
STEP_OF_FIELD = {
    "title": 1,
    "abstract": 1,
    "science_case": 1,
    "keywords": 1,
    "all_or_nothing": 1,
    "team": 2,
    "methods": 3,
    "items": 4,
    "prior_results": 5,
    "data_sharing_plan": 5,
}


@dataclass(frozen=True)
class Part:
    step: int
    form: type
    template: str
    context_name: str


PARTS = {
    "team": Part(2, TeamMemberForm, "calls/_team.html", "team_form"),
    "method": Part(3, MethodForm, "calls/_methods.html", "method_form"),
    "item": Part(4, ItemForm, "calls/_items.html", "item_form"),
    "doi": Part(5, DoiForm, "calls/_dois.html", "doi_form"),
    "attachment": Part(5, AttachmentForm, "calls/_attachments.html", "attachment_form"),
}


@role_required(Role.APPLICANT)
def my_proposals(request):
    rows = partial(selectors.proposals_of_applicant, actor=request.user)
    return page(
        request, "calls/my_proposals.html", {"listing": listing(request, ProposalFilter, rows)}
    )


@require_POST
@role_required(Role.APPLICANT)
def proposal_start(request, call_id: int):
    proposal = services.proposal_create(actor=request.user, call_id=call_id)
    return redirect("calls:proposal-edit", proposal_id=proposal.pk, step=1)


def _blank_forms(proposal) -> dict:
    return {
        "summary_form": SummaryForm(
            initial={
                name: getattr(proposal, name)
                for name in ("title", "abstract", "science_case", "keywords", "all_or_nothing")
            }
        ),
        "team_form": TeamMemberForm(),
        "method_form": MethodForm(),
        "item_form": ItemForm(call=proposal.call),
        "results_form": ResultsForm(
            initial={
                "prior_results": proposal.prior_results,
                "data_sharing_plan": proposal.data_sharing_plan,
            }
        ),
        "doi_form": DoiForm(),
        "attachment_form": AttachmentForm(),
    }


def _editor(request, proposal, step: int, *, status: int = 200, template=None, **forms):
    problems = services.proposal_problems(proposal)
    incomplete = {STEP_OF_FIELD.get(field, 6) for field, _message in problems}
    context = {
        "proposal": proposal,
        "step": step,
        # The last step is complete when every other one is.
        "steps": [
            (n, label, n not in incomplete and not (n == 6 and problems)) for n, label in STEPS
        ],
        "previous_step": step - 1 if step > 1 else None,
        "next_step": step + 1 if step < len(STEPS) else None,
        "problems": [(STEP_OF_FIELD.get(f, 6), m) for f, m in problems],
        **_blank_forms(proposal),
        **forms,
    }
    return page(request, template or "calls/proposal_edit.html", context, status=status)


def _editable_proposal(request, proposal_id: int):
    proposal = selectors.proposal_for_applicant(actor=request.user, proposal_id=proposal_id)
    return proposal if proposal.status in EDITABLE_STATUSES else None


@role_required(Role.APPLICANT)
def proposal_edit(request, proposal_id: int, step: int):
    proposal = _editable_proposal(request, proposal_id)
    if proposal is None:
        return redirect("calls:proposal-detail", proposal_id=proposal_id)
    if step not in dict(STEPS):
        return redirect("calls:proposal-edit", proposal_id=proposal_id, step=1)
    if request.method != "POST" or step not in (1, 5):
        return _editor(request, proposal, step)
    form_class, name = (SummaryForm, "summary_form") if step == 1 else (ResultsForm, "results_form")
    form = form_class(request.POST)
    if form.is_valid():
        try:
            services.proposal_update(
                actor=request.user, proposal_id=proposal.pk, **form.cleaned_data
            )
        except DomainError as exc:
            show_on_form(form, exc)
    if form.errors:
        return _editor(request, proposal, step, status=FORM_ERROR_STATUS, **{name: form})
    messages.success(request, _("Saved."))
    go_to = step + 1 if "continue" in request.POST else step
    return redirect("calls:proposal-edit", proposal_id=proposal.pk, step=go_to)


def _add_part(actor, proposal, part: str, data: dict) -> None:
    if part == "team":
        user = None
        if data["username"].strip():
            user = selectors.user_by_username(username=data["username"].strip())
        services.team_member_add(
            actor=actor,
            proposal_id=proposal.pk,
            user=user,
            name=data["name"],
            email=data["email"],
            institution_name=data["institution_name"],
            country=data["country"],
        )
    elif part == "method":
        services.method_add(
            actor=actor,
            proposal_id=proposal.pk,
            technique=data["technique"],
            destructive=data["destructive"],
            mass_ug=data["mass_ug"],
        )
    elif part == "item":
        services.item_add(
            actor=actor,
            proposal_id=proposal.pk,
            mission=data["mission"],
            pool=data["pool"],
            form=data["form"],
            sample_identifier=data["sample_identifier"].strip(),
            requested_mass_ug=data["requested_mass_ug"],
            minimum_mass_ug=data["minimum_mass_ug"],
            units=data["units"],
            justification=data["justification"],
        )
    elif part == "doi":
        services.doi_add(actor=actor, proposal_id=proposal.pk, doi=data["doi"])
    else:
        services.attachment_add(actor=actor, proposal_id=proposal.pk, uploaded=data["file"])


# Service field names that differ from the form's.
PART_FIELDS = {
    "mass_ug": "mass",
    "requested_mass_ug": "requested_mass",
    "minimum_mass_ug": "minimum_mass",
}


def _part_response(request, proposal, part: Part, status: int = 200, **forms):
    """The part's section alone for HTMX, else the whole step (or back to it after a change)."""
    if status == 200:
        # The proposal was read with its parts before the change; read it again to show it.
        proposal = selectors.proposal_for_applicant(actor=request.user, proposal_id=proposal.pk)
    if request.htmx:
        return _editor(request, proposal, part.step, status=status, template=part.template, **forms)
    if status != 200:
        return _editor(request, proposal, part.step, status=status, **forms)
    return redirect("calls:proposal-edit", proposal_id=proposal.pk, step=part.step)


@require_POST
@role_required(Role.APPLICANT)
def part_add(request, proposal_id: int, part: str):
    proposal = _editable_proposal(request, proposal_id)
    if proposal is None or part not in PARTS:
        return redirect("calls:proposal-detail", proposal_id=proposal_id)
    spec = PARTS[part]
    if spec.form is ItemForm:
        form = ItemForm(request.POST, call=proposal.call)
    else:
        form = spec.form(request.POST, request.FILES)
    if form.is_valid():
        try:
            _add_part(request.user, proposal, part, form.cleaned_data)
        except DomainError as exc:
            show_on_form(form, exc, PART_FIELDS)
    if form.errors:
        return _part_response(
            request, proposal, spec, FORM_ERROR_STATUS, **{spec.context_name: form}
        )
    return _part_response(request, proposal, spec)


@require_POST
@role_required(Role.APPLICANT)
def part_remove(request, proposal_id: int, part: str, part_id: int):
    proposal = _editable_proposal(request, proposal_id)
    if proposal is None or part not in PARTS:
        return redirect("calls:proposal-detail", proposal_id=proposal_id)
    services.proposal_part_remove(
        actor=request.user, proposal_id=proposal.pk, part=part, part_id=part_id
    )
    return _part_response(request, proposal, PARTS[part])


@require_POST
@role_required(Role.APPLICANT)
def proposal_submit(request, proposal_id: int):
    proposal = _editable_proposal(request, proposal_id)
    if proposal is None:
        return redirect("calls:proposal-detail", proposal_id=proposal_id)
    try:
        services.proposal_submit(actor=request.user, proposal_id=proposal.pk)
    except DomainError as exc:
        return _editor(request, proposal, 6, status=FORM_ERROR_STATUS, submit_errors=[exc.message])
    messages.success(request, _("Your proposal is submitted. A confirmation is on its way."))
    return redirect("calls:proposal-detail", proposal_id=proposal.pk)


def _detail(request, proposal, *, status: int = 200, withdraw_form=None):
    version = selectors.proposal_latest_version(proposal=proposal)
    feedback = selectors.proposal_feedback(proposal=proposal)
    decided = {d.item_id: d for d in feedback.items} if feedback else {}
    context = {
        "proposal": proposal,
        "editable": proposal.status in EDITABLE_STATUSES,
        "content": frozen_content(version, decided) if version else None,
        "version": version,
        "feedback": feedback,
        "can_withdraw": proposal.status not in DECIDED_STATUSES
        and proposal.status != ProposalStatus.WITHDRAWN,
        "withdraw_form": withdraw_form or ReasonForm(),
    }
    return page(request, "calls/proposal_detail.html", context, status=status)


@role_required(Role.APPLICANT)
def proposal_detail(request, proposal_id: int):
    proposal = selectors.proposal_for_applicant(actor=request.user, proposal_id=proposal_id)
    return _detail(request, proposal)


@require_POST
@role_required(Role.APPLICANT)
def proposal_withdraw(request, proposal_id: int):
    proposal = selectors.proposal_for_applicant(actor=request.user, proposal_id=proposal_id)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.proposal_withdraw(
                actor=request.user, proposal_id=proposal.pk, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            show_on_form(form, exc)
    if form.errors:
        return _detail(request, proposal, status=FORM_ERROR_STATUS, withdraw_form=form)
    messages.success(request, _("Your proposal is withdrawn."))
    return redirect("calls:proposal-detail", proposal_id=proposal.pk)
