"""The curator's incidents and stock checks: every discrepancy opened, then resolved."""

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from moonvault.accounts.models import Role
from moonvault.core.errors import DomainError
from moonvault.loans import forms, selectors
from moonvault.loans.services import incidents as services
from moonvault.loans.views.access import FORM_ERROR_STATUS, page, role_required, show_on_form
from moonvault.web.listing import listing

RESOLVE_FIELDS = {"measured_ug": "measured", "location": "location_code"}
LINE_FIELDS = {"measured_ug": "measured"}


def _incident_page(request, *, bound=None, status=200):
    shown = listing(request, forms.IncidentFilter, selectors.incidents_for_curator)
    rows = [
        (
            incident,
            bound[1]
            if bound and bound[0] == incident.pk
            else forms.IncidentResolveForm(prefix=f"incident{incident.pk}"),
        )
        for incident in shown.page
    ]
    return page(request, "loans/incidents.html", {"rows": rows, "listing": shown}, status=status)


@role_required(Role.CURATOR)
def incident_list(request):
    return _incident_page(request)


@require_POST
@role_required(Role.CURATOR)
def incident_resolve(request, incident_id: int):
    form = forms.IncidentResolveForm(request.POST, prefix=f"incident{incident_id}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.incident_resolve(
                actor=request.user,
                incident_id=incident_id,
                resolution=data["resolution"],
                action=data["action"],
                measured_ug=data["measured_ug"],
                location_code=data["location_code"],
            )
        except DomainError as exc:
            if exc.problems[0].field == "incident":
                raise
            show_on_form(form, exc, RESOLVE_FIELDS)
    if form.errors:
        return _incident_page(request, bound=(incident_id, form), status=FORM_ERROR_STATUS)
    messages.success(request, _("Incident resolved."))
    return redirect("loans:incidents")


def _stock_checks_page(request, form, *, status=200):
    shown = listing(request, forms.StockCheckFilter, selectors.stock_checks)
    return page(request, "loans/stock_checks.html", {"listing": shown, "form": form}, status=status)


@role_required(Role.CURATOR)
def stock_check_list(request):
    if request.method != "POST":
        return _stock_checks_page(request, forms.StockCheckStartForm())
    form = forms.StockCheckStartForm(request.POST)
    if form.is_valid():
        try:
            check = services.stock_check_start(
                actor=request.user, location_code=form.cleaned_data["location_code"]
            )
        except DomainError as exc:
            show_on_form(form, exc, {"location": "location_code"})
        else:
            return redirect("loans:stock-check", check_id=check.pk)
    return _stock_checks_page(request, form, status=FORM_ERROR_STATUS)


def _line_form(line) -> forms.StockLineForm:
    """A line's form showing what was recorded on it."""
    return forms.StockLineForm(
        prefix=f"line{line.pk}",
        initial={"found": {True: "yes", False: "no"}.get(line.found), "note": line.note},
    )


def _stock_check_page(request, check_id: int, *, bound=None, close_error=None, status=200):
    check = selectors.stock_check_detail(check_id=check_id)
    rows = [
        (
            line,
            bound[1] if bound and bound[0] == line.pk else _line_form(line),
        )
        for line in check.lines.all()
    ]
    return page(
        request,
        "loans/stock_check.html",
        {"check": check, "rows": rows, "close_error": close_error},
        status=status,
    )


@role_required(Role.CURATOR)
def stock_check_detail(request, check_id: int):
    return _stock_check_page(request, check_id)


@require_POST
@role_required(Role.CURATOR)
def stock_line_record(request, check_id: int, line_id: int):
    line = selectors.stock_check_line(check_id=check_id, line_id=line_id)
    form = forms.StockLineForm(request.POST, prefix=f"line{line.pk}")
    if form.is_valid():
        data = form.cleaned_data
        try:
            line = services.stock_check_record(
                actor=request.user,
                line_id=line.pk,
                found=data["found_bool"],
                measured_ug=data["measured_ug"],
                note=data["note"],
            )
        except DomainError as exc:
            show_on_form(form, exc, LINE_FIELDS)
    status = FORM_ERROR_STATUS if form.errors else 200
    if request.htmx:
        # Only the row changes; a fresh form shows what was recorded.
        shown = form if form.errors else _line_form(line)
        return page(
            request,
            "loans/_stock_line.html",
            {"line": line, "form": shown, "check": line.stock_check},
            status=status,
        )
    if form.errors:
        return _stock_check_page(request, check_id, bound=(line.pk, form), status=status)
    return redirect("loans:stock-check", check_id=check_id)


@require_POST
@role_required(Role.CURATOR)
def stock_check_close(request, check_id: int):
    try:
        opened = services.stock_check_close(actor=request.user, check_id=check_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _stock_check_page(
            request, check_id, close_error=exc.message, status=FORM_ERROR_STATUS
        )
    messages.success(
        request,
        _("Stock check closed.")
        + " "
        + ngettext(
            "%(n)s discrepancy opened an incident.",
            "%(n)s discrepancies opened incidents.",
            len(opened),
        )
        % {"n": len(opened)},
    )
    return redirect("loans:stock-check", check_id=check_id)
