"""The committee's pages: dashboard, new call, call lifecycle, screening and decisions."""

from functools import partial

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from moonvault.accounts.models import Role
from moonvault.calls import selectors, services
from moonvault.calls.forms import (
    CallFilter,
    CallForm,
    DecisionForm,
    ExtensionForm,
    PanelForm,
    ReasonForm,
    ScreeningForm,
    TransitionForm,
)
from moonvault.calls.models import CallStatus, ProposalStatus
from moonvault.calls.views.access import FORM_ERROR_STATUS, page, role_required, show_on_form
from moonvault.calls.views.display import frozen_content, offer_labels, proposal_status_labels
from moonvault.core.errors import DomainError
from moonvault.review import selectors as review_selectors
from moonvault.web.listing import listing


@role_required(Role.COMMITTEE)
def dashboard(request):
    return page(
        request,
        "calls/committee_dashboard.html",
        {
            "counts": selectors.call_status_counts(),
            "listing": listing(
                request, CallFilter, partial(selectors.call_list, viewer=request.user)
            ),
        },
    )


@role_required(Role.COMMITTEE)
def call_new(request):
    reviewers = review_selectors.reviewer_candidates()
    form = CallForm(request.POST or None, reviewers=reviewers)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                call = services.call_create(
                    actor=request.user,
                    title=data["title"],
                    title_zh=data["title_zh"],
                    description=data["description"],
                    missions=[m.code for m in data["missions"]],
                    pools=data["pools"],
                    forms=data["sample_forms"],
                    release_budget_ug=data["release_budget_ug"],
                    per_proposal_cap_ug=data["per_proposal_cap_ug"],
                    intent_due=data["intent_due"],
                    proposals_due=data["proposals_due"],
                    review_due=data["review_due"],
                    decision_due=data["decision_due"],
                    panel=list(data["panel"]),
                    reviewers_per_proposal=data["reviewers_per_proposal"],
                    max_reviewer_load=data["max_reviewer_load"],
                    same_country_conflict=data["same_country_conflict"],
                    coauthor_window_years=data["coauthor_window_years"],
                    country_share_cap_pct=data["country_share_cap_pct"],
                    all_or_nothing_default=data["all_or_nothing_default"],
                )
            except DomainError as exc:
                show_on_form(form, exc, CallForm.SERVICE_FIELDS)
            else:
                messages.success(request, _("The call is created as a draft."))
                return redirect("calls:call-admin", call_id=call.pk)
        # A search for a reviewer shows the form again as typed, without errors.
        status = FORM_ERROR_STATUS if form.errors else 200
        return page(request, "calls/call_new.html", {"form": form}, status=status)
    return page(request, "calls/call_new.html", {"form": form})


def _with_status(rows):
    """Each row with its proposal's status label, every label translated once for the table."""
    labels = proposal_status_labels()
    return [(row, labels.get(row.proposal.status, row.proposal.status)) for row in rows]


def _call_admin(request, call, *, status: int = 200, transition_form=None, **forms):
    """The call's page; a failed transition form replaces the blank one for the same move."""
    transition_forms = []
    for to in services.CALL_FLOW[CallStatus(call.status)]:
        form = TransitionForm(initial={"to_status": to})
        if transition_form is not None and transition_form.data.get("to_status") == to:
            form, transition_form = transition_form, None
        transition_forms.append((CallStatus(to).label, form))
    context = {
        "call": call,
        **offer_labels(call),
        "transitions": call.transitions.all(),
        "transition_forms": transition_forms,
        "refused_transition": transition_form,
        "extension_form": ExtensionForm(),
        "panel_form": PanelForm(
            initial={"panel": list(call.panel.all())},
            reviewers=review_selectors.reviewer_candidates(),
        ),
        "rows": _with_status(selectors.call_proposal_rows(actor=request.user, call=call)),
        **forms,
    }
    return page(request, "calls/call_admin.html", context, status=status)


@role_required(Role.COMMITTEE)
def call_admin(request, call_id: int):
    return _call_admin(request, selectors.call_for_committee(actor=request.user, call_id=call_id))


@require_POST
@role_required(Role.COMMITTEE)
def call_transition(request, call_id: int):
    call = selectors.call_for_committee(actor=request.user, call_id=call_id)
    form = TransitionForm(request.POST)
    if form.is_valid():
        try:
            services.call_transition(
                actor=request.user,
                call_id=call.pk,
                to_status=form.cleaned_data["to_status"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            show_on_form(form, exc)
    if form.errors:
        return _call_admin(request, call, status=FORM_ERROR_STATUS, transition_form=form)
    messages.success(request, _("The call has moved on."))
    return redirect("calls:call-admin", call_id=call.pk)


@require_POST
@role_required(Role.COMMITTEE)
def call_extend(request, call_id: int):
    call = selectors.call_for_committee(actor=request.user, call_id=call_id)
    form = ExtensionForm(request.POST)
    if form.is_valid():
        try:
            services.call_extend_deadline(actor=request.user, call_id=call.pk, **form.cleaned_data)
        except DomainError as exc:
            show_on_form(form, exc)
    if form.errors:
        return _call_admin(request, call, status=FORM_ERROR_STATUS, extension_form=form)
    messages.success(request, _("The deadline is extended."))
    return redirect("calls:call-admin", call_id=call.pk)


@require_POST
@role_required(Role.COMMITTEE)
def call_panel(request, call_id: int):
    call = selectors.call_for_committee(actor=request.user, call_id=call_id)
    form = PanelForm(request.POST, reviewers=review_selectors.reviewer_candidates())
    if form.is_valid():
        try:
            services.call_set_panel(
                actor=request.user, call_id=call.pk, reviewers=list(form.cleaned_data["panel"])
            )
        except DomainError as exc:
            show_on_form(form, exc)
        else:
            messages.success(request, _("The panel is saved."))
            return redirect("calls:call-admin", call_id=call.pk)
    # A search for a reviewer shows the page again with the panel as ticked, unsaved.
    status = FORM_ERROR_STATUS if form.errors else 200
    return _call_admin(request, call, status=status, panel_form=form)


@role_required(Role.COMMITTEE)
def reviewer_search(request):
    """The reviewers a panel's search box finds, for htmx: the members as ticked so far
    (out of band) and those found among the others."""
    form = PanelForm(request.GET, reviewers=review_selectors.reviewer_candidates())
    # A fragment offers no link by role: plain render, without the rounds' roles that page() reads.
    return render(request, "calls/_panel_search.html", {"field": form["panel"]})


def _screening(request, call, *, status: int = 200, failed=None, error: str = ""):
    """The screening table; `failed` is (proposal id, {form name: bound form with errors})."""
    failed_id, failed_forms = failed or (None, {})
    in_screening = call.status == CallStatus.SCREENING
    rows = []
    for row, label in _with_status(selectors.call_screening(actor=request.user, call=call)):
        proposal, screening = row.proposal, row.screening
        forms = {"screen_form": None, "return_form": None}
        # The template shows forms on these rows only; building two on every row of a round of a
        # thousand proposals, most of which show none, cost about 0.1 s.
        if in_screening and proposal.status == ProposalStatus.SUBMITTED:
            forms = {
                "screen_form": ScreeningForm(
                    initial={
                        "eligible": "yes" if screening and screening.automatic_eligible else "no"
                    },
                    auto_id=f"id_{proposal.pk}_%s",
                ),
                "return_form": ReasonForm(auto_id=f"id_{proposal.pk}_return_%s"),
            }
        if proposal.pk == failed_id:
            forms.update(failed_forms)
        rows.append((proposal, screening, forms["screen_form"], forms["return_form"], label))
    context = {
        "call": call,
        "rows": rows,
        "awaiting": ProposalStatus.SUBMITTED,
        "in_screening": in_screening,
        "error": error,
    }
    return page(request, "calls/screening.html", context, status=status)


@role_required(Role.COMMITTEE)
def screening(request, call_id: int):
    call = selectors.call_for_committee(actor=request.user, call_id=call_id)
    if request.method == "POST":
        try:
            services.call_screen(actor=request.user, call_id=call.pk)
        except DomainError as exc:
            return _screening(request, call, status=FORM_ERROR_STATUS, error=exc.message)
        messages.success(request, _("The automatic checks have run."))
        return redirect("calls:screening", call_id=call.pk)
    return _screening(request, call)


@require_POST
@role_required(Role.COMMITTEE)
def screen_decide(request, proposal_id: int):
    proposal = selectors.proposal_for_committee(actor=request.user, proposal_id=proposal_id)
    form = ScreeningForm(request.POST, auto_id=f"id_{proposal.pk}_%s")
    if form.is_valid():
        try:
            services.proposal_screen_decide(
                actor=request.user, proposal_id=proposal.pk, **form.cleaned_data
            )
        except DomainError as exc:
            show_on_form(form, exc)
    if form.errors:
        return _screening(
            request,
            proposal.call,
            status=FORM_ERROR_STATUS,
            failed=(proposal.pk, {"screen_form": form}),
        )
    messages.success(request, _("The screening decision is recorded."))
    return redirect("calls:screening", call_id=proposal.call_id)


@require_POST
@role_required(Role.COMMITTEE)
def proposal_return(request, proposal_id: int):
    proposal = selectors.proposal_for_committee(actor=request.user, proposal_id=proposal_id)
    form = ReasonForm(request.POST, auto_id=f"id_{proposal.pk}_return_%s")
    if form.is_valid():
        try:
            services.proposal_return(
                actor=request.user, proposal_id=proposal.pk, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            show_on_form(form, exc)
    if form.errors:
        return _screening(
            request,
            proposal.call,
            status=FORM_ERROR_STATUS,
            failed=(proposal.pk, {"return_form": form}),
        )
    messages.success(request, _("The proposal is returned to its applicant."))
    return redirect("calls:screening", call_id=proposal.call_id)


@role_required(Role.COMMITTEE)
def decision(request, proposal_id: int):
    proposal = selectors.proposal_for_committee(actor=request.user, proposal_id=proposal_id)
    feedback = selectors.decision_record(proposal=proposal)
    form = DecisionForm(
        request.POST or None,
        items=list(proposal.items.all()),
        decided={d.item_id: d for d in feedback.items} if feedback else {},
        initial={"comment": feedback.comment if feedback else ""},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.proposal_decide(
                    actor=request.user,
                    proposal_id=proposal.pk,
                    approved=form.cleaned_data["approved"],
                    reasons=form.cleaned_data["reasons"],
                    comment=form.cleaned_data["comment"],
                )
            except DomainError as exc:
                show_on_form(form, exc, form.service_fields())
            else:
                messages.success(request, _("The decision is recorded."))
                return redirect("calls:decision", proposal_id=proposal.pk)
        status = FORM_ERROR_STATUS
    version = selectors.proposal_latest_version(proposal=proposal)
    context = {
        "proposal": proposal,
        "form": form,
        "content": frozen_content(version) if version else None,
        "rank": getattr(proposal, "rank", None),
        "reviews": review_selectors.reviews_for(
            viewer=request.user, proposal_id=proposal.pk
        ).reviews,
        "decidable": proposal.call.status == CallStatus.RANKING,
    }
    return page(request, "calls/decision.html", context, status=status)
