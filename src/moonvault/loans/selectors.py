"""Reads for the loan pages, the API and the documents: loans per role, a loan with everything
attached, its return accountability, incidents, stock checks, exhibitions and publications.

Reads that concern one loan take the actor and answer NotFound to anyone but a curator or the
loan's PI, so a page or route cannot show a loan by forgetting a check."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from moonvault.accounts.models import Role
from moonvault.accounts.selectors import user_has_role
from moonvault.calls.models import DECIDED_STATUSES, Proposal, ProposalStatus
from moonvault.catalog.models import Mission, Sample, State
from moonvault.catalog.selectors import mission_get, sample_get
from moonvault.core.errors import NotFound
from moonvault.custody.models import CustodyEvent, EventKind
from moonvault.loans.models import (
    Exhibition,
    Incident,
    Loan,
    Publication,
    Shipment,
    ShipmentItem,
    StockCheck,
    StockCheckLine,
)
from moonvault.loans.services.common import loan_for
from moonvault.loans.services.obligations import Obligation, loan_obligations
from moonvault.loans.services.research import closure_blockers, destructive_used_ug


@dataclass(frozen=True)
class LoanDetail:
    loan: Loan
    items: list
    shipments: list
    analyses: list
    usage_reports: list
    inventories: list
    data_deposits: list
    waivers: list
    publications: list
    incidents: list
    blockers: list[str]
    obligations: list[Obligation]
    destructive_used_ug: int
    today: date


def loan_detail(*, actor, loan_id: int) -> LoanDetail:
    """A loan with its items, shipments, analyses, reports and incidents, for its PI or a
    curator; anyone else is told it does not exist."""
    loan = loan_for(actor, loan_id, lock=False)
    return LoanDetail(
        loan=loan,
        items=list(loan.items.select_related("sample", "subsplit_of__sample").order_by("id")),
        shipments=list(
            loan.shipments.prefetch_related("items__sample").order_by("packed_at", "id")
        ),
        analyses=list(loan.analyses.select_related("sample")),
        usage_reports=list(loan.usage_reports.order_by("submitted_at")),
        inventories=list(loan.inventories.order_by("submitted_at")),
        data_deposits=list(loan.data_deposits.order_by("recorded_at")),
        waivers=list(loan.waivers.order_by("waived_at")),
        publications=list(
            Publication.objects.filter(uses__loan=loan).distinct().prefetch_related("authors")
        ),
        incidents=list(loan.incidents.select_related("sample")),
        blockers=closure_blockers(loan),
        obligations=loan_obligations(loan),
        destructive_used_ug=destructive_used_ug(loan),
        today=timezone.localdate(),
    )


def loans_of_pi(*, actor, status: str = "", q: str = "") -> QuerySet[Loan]:
    loans = Loan.objects.filter(pi=actor)
    if status:
        loans = loans.filter(status=status)
    if q:
        loans = loans.filter(Q(number__icontains=q) | Q(proposal__title__icontains=q))
    return loans.select_related("institution").order_by("-created_at")


def proposals_awaiting_loan() -> QuerySet[Proposal]:
    """Approved or partly approved proposals that have no loan agreement yet."""
    return (
        Proposal.objects.filter(
            status__in=sorted(DECIDED_STATUSES - {ProposalStatus.DECLINED}), loans__isnull=True
        )
        .select_related("pi")
        .order_by("pk")
    )


def incidents_for_curator(*, status: str = "", kind: str = "", q: str = "") -> QuerySet[Incident]:
    """Open incidents first, newest first within each."""
    incidents = Incident.objects.all()
    if status:
        incidents = incidents.filter(status=status)
    if kind:
        incidents = incidents.filter(kind=kind)
    if q:
        incidents = incidents.filter(
            Q(sample__identifier__icontains=q) | Q(loan__number__icontains=q)
        )
    # "open" sorts before "resolved"; the pk keeps incidents opened together in one order.
    return incidents.select_related(
        "sample", "loan", "exhibition", "stock_check__location"
    ).order_by("status", "-opened_at", "-pk")


def stock_checks(*, status: str = "", q: str = "") -> QuerySet[StockCheck]:
    checks = StockCheck.objects.all()
    if status:
        checks = checks.filter(status=status)
    if q:
        checks = checks.filter(Q(location__code__icontains=q) | Q(location__name__icontains=q))
    return checks.select_related("location").order_by("-started_at")


def stock_check_detail(*, check_id: int) -> StockCheck:
    check = (
        StockCheck.objects.select_related("location")
        .prefetch_related(
            Prefetch("lines", queryset=StockCheckLine.objects.select_related("sample"))
        )
        .filter(pk=check_id)
        .first()
    )
    if check is None:
        raise NotFound(f"stock check {check_id} does not exist", field="check")
    return check


def stock_check(*, check_id: int) -> StockCheck:
    """A stock check without its lines."""
    check = StockCheck.objects.select_related("location").filter(pk=check_id).first()
    if check is None:
        raise NotFound(f"stock check {check_id} does not exist", field="check")
    return check


def stock_check_lines(*, check_id: int) -> QuerySet[StockCheckLine]:
    """A stock check's lines, by sample (one line per sample; the id breaks any tie)."""
    return (
        StockCheckLine.objects.filter(stock_check_id=check_id)
        .select_related("sample")
        .order_by("sample_id", "pk")
    )


def stock_check_line(*, check_id: int, line_id: int) -> StockCheckLine:
    line = (
        StockCheckLine.objects.select_related("sample", "stock_check__location")
        .filter(pk=line_id, stock_check_id=check_id)
        .first()
    )
    if line is None:
        raise NotFound(f"stock check line {line_id} does not exist", field="line")
    return line


@dataclass(frozen=True)
class ExhibitionDetail:
    exhibition: Exhibition
    items: list
    stops: list
    shipments: list[Shipment]
    handovers: list
    incidents: list


def exhibitions(*, status: str = "", q: str = "") -> QuerySet[Exhibition]:
    shown = Exhibition.objects.all()
    if status:
        shown = shown.filter(status=status)
    if q:
        shown = shown.filter(Q(title__icontains=q) | Q(organiser__icontains=q))
    return shown.order_by("-starts_on", "title", "-pk")


def exhibition_detail(*, exhibition_id: int) -> ExhibitionDetail:
    exhibition = Exhibition.objects.select_related("approved_by").filter(pk=exhibition_id).first()
    if exhibition is None:
        raise NotFound(f"exhibition {exhibition_id} does not exist", field="exhibition")
    return ExhibitionDetail(
        exhibition=exhibition,
        items=list(exhibition.items.select_related("sample").order_by("sample__identifier")),
        stops=list(exhibition.stops.order_by("order")),
        shipments=list(exhibition.shipments.order_by("packed_at")),
        handovers=list(exhibition.handovers.order_by("at")),
        incidents=list(exhibition.incidents.order_by("-opened_at")),
    )


def publications_of_mission(*, mission: Mission | None) -> QuerySet[Publication]:
    """Publications that used samples (of one mission, or of any), newest first."""
    qs = Publication.objects.filter(uses__isnull=False)
    if mission is not None:
        qs = qs.filter(uses__sample__mission=mission)
    return qs.distinct().prefetch_related("authors").order_by("-year", "title", "-pk")


def publications_of_sample(*, sample: Sample) -> QuerySet[Publication]:
    return (
        Publication.objects.filter(uses__sample=sample)
        .distinct()
        .prefetch_related("authors")
        .order_by("-year", "title", "-pk")
    )


def loan_list(*, actor) -> QuerySet[Loan]:
    """Every loan for a curator, their own for a PI, nothing for anyone else."""
    if user_has_role(actor, Role.CURATOR):
        qs = Loan.objects.all()
    elif actor.is_authenticated:
        qs = Loan.objects.filter(pi=actor)
    else:
        qs = Loan.objects.none()
    return qs.select_related("pi", "institution").order_by("-created_at", "-pk")


def loan_get(*, actor, loan_id: int) -> Loan:
    """One loan for a curator or its PI, read without locking; NotFound for anyone else."""
    return loan_for(actor, loan_id, lock=False)


# --- return accountability --------------------------------------------------------------------


@dataclass(frozen=True)
class AccountLine:
    """Where the mass of one sample of a loan went, in µg.

    `lent_ug` is what was shipped under the agreement (0 for a subsplit made at the borrower);
    `from_split_ug` is what a subsplit received from its parent. What should come back is
    `expected_ug` = lent + from split − consumed − split off − handling loss; `difference_ug` is
    returned − expected, None while the sample is still out.
    """

    sample_id: int
    identifier: str
    subsplit_of: str | None
    state: str
    lent_ug: int
    from_split_ug: int
    consumed_ug: int
    split_off_ug: int
    loss_ug: int
    expected_ug: int
    returned_ug: int | None
    difference_ug: int | None


@dataclass(frozen=True)
class Accountability:
    loan: Loan
    lines: list[AccountLine]
    totals: AccountLine


def loan_accountability(*, loan: Loan) -> Accountability:
    """The per-sample return accountability of a loan, subsplits included, with totals.

    A sample entirely consumed counts as returned at 0 µg, so its difference is settled too.
    """
    items = list(loan.items.select_related("sample", "subsplit_of__sample").order_by("id"))
    ids = [i.sample_id for i in items]
    consumed: dict[int, int] = {}
    for sample_id, mass in loan.analyses.values_list("sample_id", "mass_consumed_ug"):
        consumed[sample_id] = consumed.get(sample_id, 0) + mass
    subsplit_ids = [i.sample_id for i in items if i.subsplit_of_id]
    # A subsplit's own creation event says what it took; the parent's split event of the same
    # operation carries the handling loss.
    created = CustodyEvent.objects.filter(sample_id__in=subsplit_ids, kind=EventKind.SPLIT_OFF)
    from_split = dict(created.values_list("sample_id", "mass_delta_ug"))
    operations = set(created.values_list("operation", flat=True))
    loss: dict[int, int] = {}
    for sample_id, mass in CustodyEvent.objects.filter(
        sample_id__in=ids, kind=EventKind.SPLIT, operation__in=operations
    ).values_list("sample_id", "loss_ug"):
        loss[sample_id] = loss.get(sample_id, 0) + mass
    split_off: dict[int, int] = {}
    for item in items:
        if item.subsplit_of_id:
            parent = item.subsplit_of.sample_id
            split_off[parent] = split_off.get(parent, 0) + from_split.get(item.sample_id, 0)
    returned: dict[int, int] = {}
    for sample_id, mass in ShipmentItem.objects.filter(
        shipment__loan=loan,
        shipment__direction=Shipment.Direction.RETURN,
        shipment__status=Shipment.Status.RECEIVED,
    ).values_list("sample_id", "mass_received_ug"):
        returned[sample_id] = returned.get(sample_id, 0) + (mass or 0)
    lines = []
    for item in items:
        sid = item.sample_id
        expected = (
            item.lent_mass_ug
            + from_split.get(sid, 0)
            - consumed.get(sid, 0)
            - split_off.get(sid, 0)
            - loss.get(sid, 0)
        )
        back = returned.get(sid)
        if back is None and item.sample.state == State.CONSUMED:
            back = 0
        lines.append(
            AccountLine(
                sample_id=sid,
                identifier=item.sample.identifier,
                subsplit_of=item.subsplit_of.sample.identifier if item.subsplit_of_id else None,
                state=item.sample.state,
                lent_ug=item.lent_mass_ug,
                from_split_ug=from_split.get(sid, 0),
                consumed_ug=consumed.get(sid, 0),
                split_off_ug=split_off.get(sid, 0),
                loss_ug=loss.get(sid, 0),
                expected_ug=expected,
                returned_ug=back,
                difference_ug=None if back is None else back - expected,
            )
        )
    settled = [line for line in lines if line.returned_ug is not None]
    totals = AccountLine(
        sample_id=0,
        identifier="total",
        subsplit_of=None,
        state="",
        lent_ug=sum(line.lent_ug for line in lines),
        from_split_ug=sum(line.from_split_ug for line in lines),
        consumed_ug=sum(line.consumed_ug for line in lines),
        split_off_ug=sum(line.split_off_ug for line in lines),
        loss_ug=sum(line.loss_ug for line in lines),
        expected_ug=sum(line.expected_ug for line in lines),
        returned_ug=sum(line.returned_ug for line in settled) if settled else None,
        difference_ug=sum(line.difference_ug for line in settled) if settled else None,
    )
    return Accountability(loan=loan, lines=lines, totals=totals)


# --- public results ---------------------------------------------------------------------------


def publications_for_mission_code(*, code: str) -> QuerySet[Publication]:
    """The public list of results that used a mission's samples; NotFound for an unknown code."""
    return publications_of_mission(mission=mission_get(code=code))


def publications_for_sample_identifier(*, identifier: str) -> QuerySet[Publication]:
    """The public list of results that used one sample; NotFound for an unknown identifier."""
    return publications_of_sample(sample=sample_get(identifier=identifier))
