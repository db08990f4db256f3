"""Research loans: the curator's compliance page and new agreements, the borrower's loans, and the
loan page where each side takes the actions the loan's state allows."""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from django import forms as django_forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from moonvault.accounts.models import Role
from moonvault.accounts.selectors import user_has_role
from moonvault.catalog.models import State
from moonvault.core.errors import DomainError, PermissionDenied
from moonvault.loans import forms, selectors
from moonvault.loans.models import Loan, Shipment
from moonvault.loans.services import obligations, publications, research
from moonvault.loans.views.access import (
    FORM_ERROR_STATUS,
    page,
    role_required,
    show_on_form,
    signed_in,
)
from moonvault.web.listing import listing, paged

STARTED = {Loan.Status.ACTIVE, Loan.Status.RETURNING, Loan.Status.RETURNED}


@role_required(Role.CURATOR)
def compliance(request):
    # The database sorts the loans by their next obligation and reads only the page shown.
    shown = paged(request, obligations.compliance_list(today=timezone.localdate()))
    return page(request, "loans/compliance.html", {"listing": shown, "rows": shown.page})


@role_required(Role.APPLICANT)
def my_loans(request):
    shown = listing(request, forms.LoanFilter, partial(selectors.loans_of_pi, actor=request.user))
    rows = [(loan, obligations.loan_obligations(loan)) for loan in shown.page]
    return page(
        request,
        "loans/my_loans.html",
        {"rows": rows, "listing": shown, "today": timezone.localdate()},
    )


@role_required(Role.CURATOR)
def loan_new(request):
    proposals = selectors.proposals_awaiting_loan()
    form = forms.LoanCreateForm(request.POST or None, proposals=proposals)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                loan = research.loan_create(
                    actor=request.user,
                    proposal_id=data["proposal"],
                    official_name=data["official_name"],
                    allowed_techniques=data["allowed_techniques"],
                    destructive_allowed=data["destructive_allowed"],
                    destructive_max_ug=data["destructive_max_ug"],
                    years=data["years"],
                    starts_on=data["starts_on"],
                    acknowledgement=data["acknowledgement"],
                    data_embargo_until=data["data_embargo_until"],
                )
            except DomainError as exc:
                show_on_form(form, exc, {"destructive_max_ug": "destructive_max"})
            else:
                messages.success(
                    request, _("Agreement %(number)s drawn up.") % {"number": loan.number}
                )
                return redirect("loans:loan-detail", loan_id=loan.pk)
        status = FORM_ERROR_STATUS
    else:
        status = 200
    return page(
        request, "loans/loan_new.html", {"form": form, "proposals": proposals}, status=status
    )


# --- the loan page ----------------------------------------------------------------------------


@dataclass
class LoanPage:
    """What the loan page shows and which actions it offers the person looking at it."""

    detail: selectors.LoanDetail
    curator: bool
    borrower: bool
    forms: dict = field(default_factory=dict)

    @property
    def loan(self) -> Loan:
        return self.detail.loan

    @property
    def started(self) -> bool:
        return self.loan.status in STARTED

    @property
    def held(self) -> list:
        return [i.sample for i in self.detail.items if i.sample.state == State.ON_LOAN]

    def shipments(self, direction: str, status: str) -> list[Shipment]:
        return [s for s in self.detail.shipments if s.direction == direction and s.status == status]


@dataclass(frozen=True)
class Action:
    """One thing a side may do on the loan page: its form, when it is offered, and the service."""

    side: str  # "curator" or "borrower"
    offered: Callable[[LoanPage], bool]
    form: Callable[[LoanPage, dict | None, dict | None, str], django_forms.Form]
    run: Callable[..., str]
    fields: dict = field(default_factory=dict)


def _shipment_form(form_class, direction, status, with_items=False):
    def make(view: LoanPage, data, files, prefix):
        shipments = view.shipments(direction, status)
        # The first one is offered; a posted one is checked against all of them.
        posted = (data or {}).get(f"{prefix}-shipment")
        chosen = next((s for s in shipments if str(s.pk) == posted), None)
        chosen = chosen or (shipments[0] if shipments else None)
        kwargs = {"shipments": shipments}
        if with_items:
            kwargs["items"] = list(chosen.items.all()) if chosen else []
        initial = {"shipment": chosen.pk} if chosen else None
        return form_class(data, prefix=prefix, initial=initial, **kwargs)

    return make


def _opened(incidents) -> str:
    if not incidents:
        return ""
    return " " + ngettext(
        "%(n)s incident was opened for a curator.",
        "%(n)s incidents were opened for a curator.",
        len(incidents),
    ) % {"n": len(incidents)}


def _sign(actor, loan, data):
    research.loan_record_signature(
        actor=actor,
        loan_id=loan.pk,
        signed_by_name=data["signed_by_name"],
        signed_pdf=data.get("signed_pdf"),
    )
    return _("The signature is recorded and the sample certificate issued.")


def _pack(actor, loan, data):
    research.shipment_pack(
        actor=actor,
        loan_id=loan.pk,
        container_code=data["container_code"],
        seal_number=data["seal_number"],
        nitrogen_purged=data["nitrogen_purged"],
        location_code=data["location_code"],
    )
    return _("Packed and sealed.")


def _dispatch(actor, loan, data):
    research.shipment_dispatch(
        actor=actor,
        shipment_id=data["shipment"],
        **{
            name: data[name]
            for name in (
                "courier",
                "tracking_number",
                "hand_carried_by",
                "hand_carry_log",
                "export_reference",
                "customs_reference",
            )
        },
    )
    return _("Dispatched.")


def _receive(actor, loan, data):
    opened = research.shipment_receive(
        actor=actor,
        shipment_id=data["shipment"],
        seal_intact=data["seal_intact"],
        measured=data["measured"],
    )
    return _("Receipt confirmed.") + _opened(opened)


def _return_receive(actor, loan, data):
    opened = research.return_receive(
        actor=actor,
        shipment_id=data["shipment"],
        seal_intact=data["seal_intact"],
        measured=data["measured"],
        location_code=data["location_code"],
    )
    return _("The return is received and stored as returned material.") + _opened(opened)


def _analysis(actor, loan, data):
    research.analysis_record(
        actor=actor,
        loan_id=loan.pk,
        sample_id=data["sample"],
        technique=data["technique"],
        destructive=data["destructive"],
        mass_consumed_ug=data["mass_consumed_ug"],
        performed_on=data["performed_on"],
    )
    return _("Analysis recorded.")


def _subsplit(actor, loan, data):
    children = research.loan_subsplit(
        actor=actor,
        loan_id=loan.pk,
        sample_id=data["sample"],
        masses_ug=data["masses_ug"],
        loss_ug=data["loss_ug"],
    )
    return _("Subsplit recorded: %(ids)s.") % {"ids": ", ".join(c.identifier for c in children)}


def _usage(actor, loan, data):
    research.usage_report_submit(actor=actor, loan_id=loan.pk, text=data["text"])
    return _("Usage report submitted.")


def _inventory(actor, loan, data):
    research.inventory_report_submit(actor=actor, loan_id=loan.pk, lines=data["lines"])
    return _("Annual inventory submitted.")


def _publication(actor, loan, data):
    _publication_row, warnings = publications.publication_record(
        actor=actor,
        loan_id=loan.pk,
        doi=data["doi"],
        title=data["title"],
        journal=data["journal"],
        year=data["year"],
        authors=data["author_names"],
        sample_identifiers=data["samples"],
    )
    return " ".join([_("Publication recorded."), *warnings])


def _deposit(actor, loan, data):
    research.data_deposit_record(
        actor=actor,
        loan_id=loan.pk,
        reference=data["reference"],
        embargo_until=data["embargo_until"],
    )
    return _("Data deposit recorded.")


def _return_pack(actor, loan, data):
    research.return_pack(
        actor=actor,
        loan_id=loan.pk,
        sample_ids=data["samples"],
        container_code=data["container_code"],
        seal_number=data["seal_number"],
    )
    return _("The return is packed; dispatch it below.")


def _waive(actor, loan, data):
    research.waiver_grant(
        actor=actor, loan_id=loan.pk, obligation=data["obligation"], reason=data["reason"]
    )
    return _("Obligation waived.")


def _close(actor, loan, data):
    research.loan_close(actor=actor, loan_id=loan.pk)
    return _("The loan is closed.")


def _plain(form_class, **from_view):
    """A form whose extra arguments come from the page (e.g. the samples held)."""

    def make(view: LoanPage, data, files, prefix):
        kwargs = {name: get(view) for name, get in from_view.items()}
        return form_class(data, files, prefix=prefix, **kwargs)

    return make


OUT, BACK = Shipment.Direction.OUTBOUND, Shipment.Direction.RETURN
PACKED, SHIPPED = Shipment.Status.PACKED, Shipment.Status.SHIPPED
ACTIONS = {
    "sign": Action(
        "curator",
        lambda v: v.loan.status == Loan.Status.AGREEMENT,
        _plain(forms.SignatureForm),
        _sign,
    ),
    "upload": Action(
        "borrower",
        lambda v: v.loan.status == Loan.Status.AGREEMENT,
        _plain(forms.SignatureForm),
        _sign,
    ),
    "pack": Action(
        "curator",
        lambda v: v.loan.status == Loan.Status.SIGNED and not v.detail.shipments,
        _plain(forms.PackForm),
        _pack,
        {"location": "location_code"},
    ),
    "dispatch": Action(
        "curator",
        lambda v: bool(v.shipments(OUT, PACKED)),
        _shipment_form(forms.DispatchForm, OUT, PACKED),
        _dispatch,
    ),
    "receive": Action(
        "borrower",
        lambda v: bool(v.shipments(OUT, SHIPPED)),
        _shipment_form(forms.MeasuredForm, OUT, SHIPPED, with_items=True),
        _receive,
    ),
    "analysis": Action(
        "borrower",
        lambda v: v.loan.status == Loan.Status.ACTIVE and bool(v.held),
        _plain(forms.AnalysisForm, held=lambda v: v.held),
        _analysis,
        {"mass_consumed_ug": "mass_consumed"},
    ),
    "subsplit": Action(
        "borrower",
        lambda v: v.loan.status == Loan.Status.ACTIVE and bool(v.held),
        _plain(forms.SubsplitForm, held=lambda v: v.held),
        _subsplit,
        {"children": "masses", "loss_ug": "loss"},
    ),
    "usage": Action(
        "borrower", lambda v: v.loan.status in STARTED, _plain(forms.UsageReportForm), _usage
    ),
    "inventory": Action(
        "borrower",
        lambda v: v.loan.status == Loan.Status.ACTIVE and bool(v.held),
        _plain(forms.InventoryForm, held=lambda v: v.held),
        _inventory,
    ),
    "publication": Action(
        "borrower",
        lambda v: v.loan.status in STARTED,
        _plain(forms.PublicationForm, samples=lambda v: [i.sample for i in v.detail.items]),
        _publication,
        {"sample_identifiers": "samples"},
    ),
    "deposit": Action(
        "borrower", lambda v: v.loan.status in STARTED, _plain(forms.DataDepositForm), _deposit
    ),
    "return_pack": Action(
        "borrower",
        lambda v: v.loan.status in {Loan.Status.ACTIVE, Loan.Status.RETURNING} and bool(v.held),
        _plain(forms.ReturnPackForm, held=lambda v: v.held),
        _return_pack,
        {"sample_ids": "samples", "sample": "samples"},
    ),
    "return_dispatch": Action(
        "borrower",
        lambda v: bool(v.shipments(BACK, PACKED)),
        _shipment_form(forms.DispatchForm, BACK, PACKED),
        _dispatch,
    ),
    "return_receive": Action(
        "curator",
        lambda v: bool(v.shipments(BACK, SHIPPED)),
        _shipment_form(forms.ReturnReceiveForm, BACK, SHIPPED, with_items=True),
        _return_receive,
        {"location": "location_code"},
    ),
    "waive": Action(
        "curator", lambda v: v.loan.status != Loan.Status.CLOSED, _plain(forms.WaiverForm), _waive
    ),
    "close": Action(
        "curator", lambda v: v.loan.status in STARTED, _plain(django_forms.Form), _close
    ),
}


def _loan_view(request, loan_id: int) -> LoanPage:
    detail = selectors.loan_detail(actor=request.user, loan_id=loan_id)
    return LoanPage(
        detail=detail,
        curator=user_has_role(request.user, Role.CURATOR),
        borrower=detail.loan.pi_id == request.user.pk,
    )


def _may(view: LoanPage, action: Action) -> bool:
    return view.curator if action.side == "curator" else view.borrower


def _render_loan(request, view: LoanPage, *, status: int = 200):
    for name, action in ACTIONS.items():
        if name not in view.forms and _may(view, action) and action.offered(view):
            view.forms[name] = action.form(view, None, None, name)
    returning = view.loan.status in {
        Loan.Status.RETURNING,
        Loan.Status.RETURNED,
        Loan.Status.CLOSED,
    }
    return page(
        request,
        "loans/loan_detail.html",
        {
            "view": view,
            "detail": view.detail,
            "loan": view.loan,
            "forms": view.forms,
            "account": selectors.loan_accountability(loan=view.loan) if returning else None,
        },
        status=status,
    )


@signed_in
def loan_detail(request, loan_id: int):
    return _render_loan(request, _loan_view(request, loan_id))


@require_POST
@signed_in
def loan_action(request, loan_id: int, action: str):
    view = _loan_view(request, loan_id)
    step = ACTIONS.get(action)
    if step is None:
        raise Http404
    if not _may(view, step):
        raise PermissionDenied(_("This action is not yours to take on this loan."))
    form = step.form(view, request.POST, request.FILES, action)
    if form.is_valid():
        try:
            done = step.run(request.user, view.loan, form.cleaned_data)
        except DomainError as exc:
            show_on_form(form, exc, step.fields, getattr(form, "field_of", None))
    if form.errors:
        view.forms[action] = form
        return _render_loan(request, view, status=FORM_ERROR_STATUS)
    messages.success(request, done)
    return redirect("loans:loan-detail", loan_id=loan_id)
