"""Reviewers' pages (declarations and reviews) and the committee's assignment and ranking pages."""

from functools import partial

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from moonvault.accounts.models import Role
from moonvault.calls import selectors as call_selectors
from moonvault.calls.models import CallStatus
from moonvault.calls.views.access import FORM_ERROR_STATUS, page, role_required, show_on_form
from moonvault.calls.views.display import frozen_content
from moonvault.core.errors import DomainError
from moonvault.review import selectors, services
from moonvault.review.forms import (
    AssignmentAddForm,
    AssignmentFilter,
    AssignmentRemoveForm,
    AssignmentRunForm,
    DeclarationForm,
    RankingForm,
    ReviewForm,
)
from moonvault.web.listing import Listing, listing, paged


@role_required(Role.REVIEWER)
def my_reviews(request):
    due = paged(request, selectors.declarations_due(reviewer=request.user), param="due_page")
    return page(
        request,
        "review/my_reviews.html",
        {
            "due": due,
            "declarations": [selectors.team_view(p) for p in due.page],
            "listing": listing(
                request,
                AssignmentFilter,
                partial(selectors.reviewer_assignments, reviewer=request.user),
            ),
        },
    )


@role_required(Role.REVIEWER)
def declare(request, proposal_id: int):
    team = selectors.proposal_team_view(reviewer=request.user, proposal_id=proposal_id)
    form = DeclarationForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.conflict_declare(
                    actor=request.user, proposal_id=proposal_id, **form.cleaned_data
                )
            except DomainError as exc:
                show_on_form(form, exc)
            else:
                messages.success(request, _("Your declaration is recorded."))
                return redirect("review:my-reviews")
        return page(
            request, "review/declare.html", {"team": team, "form": form}, status=FORM_ERROR_STATUS
        )
    return page(request, "review/declare.html", {"team": team, "form": form})


@role_required(Role.REVIEWER)
def review(request, proposal_id: int):
    """The full proposal for an assigned reviewer free of conflicts, with the review form."""
    proposal = selectors.proposal_for_reviewer(reviewer=request.user, proposal_id=proposal_id)
    visible = list(selectors.reviews_visible_to_reviewer(reviewer=request.user, proposal=proposal))
    own = next((r for r in visible if r.assignment.reviewer_id == request.user.pk), None)
    form = ReviewForm(request.POST or None)
    status = 200
    if request.method == "POST" and own is None:
        if form.is_valid():
            try:
                services.review_submit(
                    actor=request.user, proposal_id=proposal.pk, **form.cleaned_data
                )
            except DomainError as exc:
                show_on_form(form, exc)
            else:
                messages.success(request, _("Your review is submitted."))
                return redirect("review:review", proposal_id=proposal.pk)
        status = FORM_ERROR_STATUS
    version = call_selectors.proposal_latest_version(proposal=proposal)
    context = {
        "proposal": proposal,
        "content": frozen_content(version) if version else None,
        "form": form,
        "own": own,
        "others": [r for r in visible if r is not own],
        "open_for_review": proposal.call.status == CallStatus.REVIEW,
    }
    return page(request, "review/review.html", context, status=status)


def _assignments(request, call, *, status: int = 200, errors=()):
    # A change posted from a page of the matrix names that page, to show it again.
    matrix = selectors.assignment_matrix(call=call, number=request.GET.get("page"))
    context = {
        "call": call,
        "matrix": matrix,
        "pages": Listing(form=None, page=matrix.page, params=""),
        "errors": errors,
        "in_review": call.status == CallStatus.REVIEW,
    }
    template = "review/_matrix.html" if request.htmx else "review/assignments.html"
    return page(request, template, context, status=status)


@role_required(Role.COMMITTEE)
def assignments(request, call_id: int):
    return _assignments(
        request, call_selectors.call_for_committee(actor=request.user, call_id=call_id)
    )


def _change_assignment(request, call_id: int, form, change):
    call = call_selectors.call_for_committee(actor=request.user, call_id=call_id)
    errors = []
    if not form.is_valid():
        errors = [_("Choose a proposal and a reviewer.")]
    else:
        try:
            change(form.cleaned_data)
        except DomainError as exc:
            errors = [exc.message] + [p.message for p in exc.problems if p.message != exc.message]
    if errors:
        return _assignments(request, call, status=FORM_ERROR_STATUS, errors=errors)
    if request.htmx:
        return _assignments(request, call)
    shown = reverse("review:assignments", args=[call.pk])
    if number := request.GET.get("page"):
        shown += "?" + urlencode({"page": number})
    return redirect(shown)


@require_POST
@role_required(Role.COMMITTEE)
def assignment_add(request, call_id: int):
    return _change_assignment(
        request,
        call_id,
        AssignmentAddForm(request.POST),
        lambda data: services.assignment_add(
            actor=request.user, proposal_id=data["proposal"], reviewer_id=data["reviewer"]
        ),
    )


@require_POST
@role_required(Role.COMMITTEE)
def assignment_remove(request, call_id: int):
    return _change_assignment(
        request,
        call_id,
        AssignmentRemoveForm(request.POST),
        lambda data: services.assignment_remove(
            actor=request.user, assignment_id=data["assignment"]
        ),
    )


@require_POST
@role_required(Role.COMMITTEE)
def assignment_run(request, call_id: int):
    """Complete the assignment with the optimizer; the matrix stays open for overrides."""
    return _change_assignment(
        request,
        call_id,
        AssignmentRunForm(request.POST),
        lambda data: services.assignment_run(
            actor=request.user, call_id=call_id, fairness=data["fairness"]
        ),
    )


@role_required(Role.COMMITTEE)
def ranking(request, call_id: int):
    call = call_selectors.call_for_committee(actor=request.user, call_id=call_id)
    # The committee orders the whole ranking at once, so the page builds every row, once.
    ranked = list(call_selectors.call_ranking(actor=request.user, call_id=call.pk))
    form = RankingForm(request.POST or None, entries=[row.entry for row in ranked])
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.ranking_set(
                    actor=request.user,
                    call_id=call.pk,
                    order=form.cleaned_data["order"],
                    reasons=form.cleaned_data["reasons"],
                )
            except DomainError as exc:
                show_on_form(form, exc, form.service_fields())
            else:
                messages.success(request, _("The ranking is saved."))
                return redirect("review:ranking", call_id=call.pk)
        status = FORM_ERROR_STATUS
    rows = [(row.entry, row.reviews, *form.fields_of(row.entry)) for row in ranked]
    context = {
        "call": call,
        "rows": rows,
        "form": form,
        "in_ranking": call.status == CallStatus.RANKING,
    }
    return page(request, "review/ranking.html", context, status=status)
