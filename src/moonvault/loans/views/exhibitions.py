"""Exhibition loans: created by curators, approved by the committee, then dispatched, handed over
with a seal check at every step, displayed, taken down and returned."""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms as django_forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from moonvault.accounts.models import Role
from moonvault.accounts.selectors import user_has_role
from moonvault.core.errors import DomainError, PermissionDenied
from moonvault.loans import forms, selectors
from moonvault.loans.models import Exhibition
from moonvault.loans.services import exhibitions as services
from moonvault.loans.views.access import FORM_ERROR_STATUS, page, role_required, show_on_form
from moonvault.web.listing import listing

Status = Exhibition.Status


@role_required(Role.CURATOR, Role.COMMITTEE)
def exhibition_list(request):
    shown = listing(request, forms.ExhibitionFilter, selectors.exhibitions)
    return page(request, "loans/exhibitions.html", {"listing": shown})


def _stops_field(problem_field: str | None) -> str | None:
    return "stops" if (problem_field or "").startswith("stops") else None


@role_required(Role.CURATOR)
def exhibition_new(request):
    form = forms.ExhibitionForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                exhibition = services.exhibition_create(
                    actor=request.user,
                    title=data["title"],
                    organiser=data["organiser"],
                    starts_on=data["starts_on"],
                    ends_on=data["ends_on"],
                    responsible_official=data["responsible_official"],
                    deputy_official=data["deputy_official"],
                    insurance_value=data["insurance_value"],
                    insurance_currency=data["insurance_currency"],
                    sample_identifiers=data["identifiers"],
                    stops=data["stop_list"],
                    continuous_watch=data["continuous_watch"],
                    locked_case=data["locked_case"],
                    transfer_log=data["transfer_log"],
                )
            except DomainError as exc:
                show_on_form(form, exc, field_of=_stops_field)
            else:
                messages.success(request, _("Exhibition proposed to the committee."))
                return redirect("loans:exhibition", exhibition_id=exhibition.pk)
        status = FORM_ERROR_STATUS
    else:
        status = 200
    return page(request, "loans/exhibition_new.html", {"form": form}, status=status)


@dataclass(frozen=True)
class Step:
    role: Role
    offered: frozenset
    form: type[django_forms.Form]
    run: Callable[..., str]
    fields: dict


def _approve(actor, exhibition_id, data):
    services.exhibition_approve(actor=actor, exhibition_id=exhibition_id)
    return _("Exhibition approved.")


def _dispatch(actor, exhibition_id, data):
    services.exhibition_dispatch(actor=actor, exhibition_id=exhibition_id, **data)
    return _("The sealed case is on its way.")


def _handover(actor, exhibition_id, data):
    handover = services.handover_record(actor=actor, exhibition_id=exhibition_id, **data)
    if handover.seal_intact:
        return _("Hand-over recorded.")
    return _("Hand-over recorded. The seal check failed: an incident was opened.")


def _display(actor, exhibition_id, data):
    services.exhibition_display(actor=actor, exhibition_id=exhibition_id, on_display=True)
    return _("The samples are on display.")


def _take_down(actor, exhibition_id, data):
    services.exhibition_display(actor=actor, exhibition_id=exhibition_id, on_display=False)
    return _("The samples are taken down.")


def _return(actor, exhibition_id, data):
    services.exhibition_return(actor=actor, exhibition_id=exhibition_id, **data)
    return _("The samples are back as returned material.")


OUT = frozenset({Status.TRAVELLING, Status.ON_DISPLAY})
STEPS = {
    "approve": Step(Role.COMMITTEE, frozenset({Status.PROPOSED}), django_forms.Form, _approve, {}),
    "dispatch": Step(
        Role.CURATOR,
        frozenset({Status.APPROVED}),
        forms.ExhibitionDispatchForm,
        _dispatch,
        {"location": "location_code"},
    ),
    "handover": Step(Role.CURATOR, OUT, forms.HandoverForm, _handover, {}),
    "display": Step(Role.CURATOR, frozenset({Status.TRAVELLING}), django_forms.Form, _display, {}),
    "take_down": Step(
        Role.CURATOR, frozenset({Status.ON_DISPLAY}), django_forms.Form, _take_down, {}
    ),
    "return": Step(
        Role.CURATOR,
        frozenset({Status.TRAVELLING}),
        forms.LocationForm,
        _return,
        {"location": "location_code"},
    ),
}


def _render(request, exhibition_id: int, *, bound=None, status=200):
    detail = selectors.exhibition_detail(exhibition_id=exhibition_id)
    exhibition = detail.exhibition
    offered = {
        name: step.form(prefix=name)
        for name, step in STEPS.items()
        if exhibition.status in step.offered and user_has_role(request.user, step.role)
    }
    if bound:
        offered[bound[0]] = bound[1]
    return page(
        request,
        "loans/exhibition_detail.html",
        {"detail": detail, "exhibition": exhibition, "forms": offered},
        status=status,
    )


@role_required(Role.CURATOR, Role.COMMITTEE)
def exhibition_detail(request, exhibition_id: int):
    return _render(request, exhibition_id)


@require_POST
@role_required(Role.CURATOR, Role.COMMITTEE)
def exhibition_action(request, exhibition_id: int, action: str):
    step = STEPS.get(action)
    if step is None:
        raise Http404
    if not user_has_role(request.user, step.role):
        raise PermissionDenied(
            _("This needs the following role: %(role)s.") % {"role": step.role.label}
        )
    form = step.form(request.POST, prefix=action)
    if form.is_valid():
        try:
            done = step.run(request.user, exhibition_id, form.cleaned_data)
        except DomainError as exc:
            if exc.status == 404 and exc.problems[0].field == "exhibition":
                raise
            show_on_form(form, exc, step.fields)
    if form.errors:
        return _render(request, exhibition_id, bound=(action, form), status=FORM_ERROR_STATUS)
    messages.success(request, done)
    return redirect("loans:exhibition", exhibition_id=exhibition_id)
