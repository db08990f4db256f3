"""Loans over JSON: agreements to closure, incidents, stock checks, exhibitions, publications and
the loan documents.

Handlers parse, call one service or selector, and return what it gave. The services check roles
and rules; a read-only token is refused before any change. A loan that the caller may not read
(neither a curator nor its PI) is reported as absent (404), never as forbidden.
"""

from django.http import HttpResponse
from ninja import File, Form, Query, Router, Status
from ninja.files import UploadedFile

from moonvault.accounts.models import Role
from moonvault.accounts.permissions import require_role
from moonvault.core.api import Page, PageQuery, answers, page_of, require_write
from moonvault.loans import documents, selectors
from moonvault.loans.schemas import (
    AccountabilityOut,
    AnalysisIn,
    AnalysisOut,
    DataDepositIn,
    DataDepositOut,
    DispatchIn,
    DisplayIn,
    ExhibitionDispatchIn,
    ExhibitionIn,
    ExhibitionOut,
    HandoverIn,
    HandoverOut,
    IncidentOut,
    IncidentResolveIn,
    InventoryIn,
    LoanCreateIn,
    LoanDetailOut,
    LoanOut,
    LocationIn,
    ObligationsOut,
    PackIn,
    PortionOut,
    PublicationIn,
    PublicationOut,
    PublicationRecordedOut,
    ReceiveIn,
    ReportOut,
    ReturnPackIn,
    ReturnReceiveIn,
    ShipmentOut,
    StockCheckIn,
    StockCheckOut,
    StockLineIn,
    StockLineOut,
    SubsplitIn,
    TextIn,
    WaiverIn,
    WaiverOut,
)
from moonvault.loans.services import exhibitions, incidents, publications, research

router = Router(tags=["loans"])


def _detail(request, loan_id: int):
    return selectors.loan_detail(actor=request.user, loan_id=loan_id)


# --- reading loans -----------------------------------------------------------------------------


@router.get(
    "/loans",
    response=answers(200, Page[LoanOut]),
    summary="List loans, a page at a time",
    description="Every loan for a curator; the caller's own loans for a principal investigator; "
    "none for anyone else. Newest first; `count` is the number of loans the caller may see.",
)
def loan_list(request, page: Query[PageQuery]):
    return page_of(selectors.loan_list(actor=request.user), page)


@router.get(
    "/loans/{loan_id}",
    response=answers(200, LoanDetailOut),
    summary="One loan with everything attached",
    description="Terms, items (subsplits included), shipments, analyses, reports, deposits, "
    "waivers, publications, incidents, dated obligations and what still blocks closure. For "
    "curators and the loan's PI; 404 for anyone else.",
)
def loan_detail(request, loan_id: int):
    return _detail(request, loan_id)


@router.get(
    "/loans/{loan_id}/obligations",
    response=answers(200, ObligationsOut),
    summary="A loan's obligations and closure blockers",
    description="Dated obligations (annual inventory, usage report, return, end of loan), "
    "earliest first and marked overdue, and the reasons the loan cannot close yet.",
)
def loan_obligations(request, loan_id: int):
    return _detail(request, loan_id)


@router.get(
    "/loans/{loan_id}/accountability",
    response=answers(200, AccountabilityOut),
    summary="The return accountability of a loan",
    description="Per sample, subsplits included: mass lent, received from a split, consumed by "
    "analyses, split off, handling loss, expected back, returned (re-weighed) and the "
    "difference, all in µg, with totals.",
)
def loan_accountability(request, loan_id: int):
    loan = selectors.loan_get(actor=request.user, loan_id=loan_id)
    return selectors.loan_accountability(loan=loan)


def _document(request, loan_id: int, name: str) -> HttpResponse:
    loan = selectors.loan_get(actor=request.user, loan_id=loan_id)
    document = documents.loan_document(loan=loan, name=name)
    response = HttpResponse(document.content, content_type=document.content_type)
    response["Content-Disposition"] = f'inline; filename="{document.filename}"'
    return response


def _document_route(name: str, summary: str, description: str, content_type: str):
    @router.get(
        f"/loans/{{loan_id}}/{name}",
        response=answers(200, None),
        summary=summary,
        description=description + " For curators and the loan's PI; 404 for anyone else.",
        openapi_extra={
            "responses": {
                200: {
                    "description": "OK",
                    "content": {content_type: {"schema": {"type": "string", "format": "binary"}}},
                }
            }
        },
        operation_id=f"loan_document_{name.replace('.', '_')}",
    )
    def handler(request, loan_id: int):
        return _document(request, loan_id, name)

    return handler


_document_route(
    "agreement.pdf",
    "The loan agreement (PDF)",
    "Loan number, borrower, PI, authorized official, samples and masses, allowed techniques, "
    "destructive use, dates, acknowledgement, data embargo and the signature block.",
    documents.PDF,
)
_document_route(
    "certificate.pdf",
    "The lunar sample certificate (PDF)",
    "Issued once the agreement is signed (409 before): samples, masses, borrower, dates, and "
    "the ledger event seq and hash at issue, to check against the published ledger.",
    documents.PDF,
)
_document_route(
    "accountability.pdf",
    "The return accountability report (PDF)",
    "The figures of /accountability as a printable table with totals.",
    documents.PDF,
)
_document_route(
    "accountability.csv",
    "The return accountability report (CSV)",
    "One row per sample and a total row, masses in exact µg.",
    documents.CSV,
)
_document_route(
    "labels.pdf",
    "Labels with QR codes (PDF)",
    "One label per container and per sample; a sample's QR code opens its public page and the "
    "identifier is printed for typing; a container's opens the loan page with its packing list.",
    documents.PDF,
)


# --- the agreement -----------------------------------------------------------------------------


@router.post(
    "/loans",
    response=answers(201, LoanOut),
    summary="Draw up a loan agreement from a proposal",
    description="Curators only. The proposal must be approved or partly approved and have "
    "allocations; the loan lends exactly the allocated samples. Five years by default, with an "
    "annual inventory and usage report.",
)
def loan_create(request, payload: LoanCreateIn):
    require_write(request)
    return Status(201, research.loan_create(actor=request.user, **payload.model_dump()))


@router.post(
    "/loans/{loan_id}/signature",
    response=answers(200, LoanOut),
    summary="Record the signature of the agreement",
    description="multipart/form-data with `signed_by_name` and, for the PI, the signed agreement "
    "as `signed_pdf` (PDF only, judged by content). A curator may record a signature without "
    "the file. Issues the sample certificate with the ledger head at that moment.",
)
def loan_sign(
    request,
    loan_id: int,
    signed_by_name: str = Form(..., examples=["M. Weber"]),
    signed_pdf: File[UploadedFile] = None,
):
    require_write(request)
    return research.loan_record_signature(
        actor=request.user, loan_id=loan_id, signed_by_name=signed_by_name, signed_pdf=signed_pdf
    )


# --- shipping ----------------------------------------------------------------------------------


@router.post(
    "/loans/{loan_id}/shipments",
    response=answers(201, ShipmentOut),
    summary="Pack the lent samples",
    description="Curators only, and only once the agreement is signed (409 before). Every lent "
    "sample goes into one sealed container.",
)
def shipment_pack(request, loan_id: int, payload: PackIn):
    require_write(request)
    return Status(
        201, research.shipment_pack(actor=request.user, loan_id=loan_id, **payload.model_dump())
    )


@router.post(
    "/shipments/{shipment_id}/dispatch",
    response=answers(200, ShipmentOut),
    summary="Dispatch a packed container",
    description="With a courier and tracking number, or the person carrying it by hand. A "
    "curator dispatches outbound shipments; the PI dispatches the return.",
)
def shipment_dispatch(request, shipment_id: int, payload: DispatchIn):
    require_write(request)
    return research.shipment_dispatch(
        actor=request.user, shipment_id=shipment_id, **payload.model_dump()
    )


@router.post(
    "/shipments/{shipment_id}/receive",
    response=answers(200, list[IncidentOut]),
    summary="Confirm arrival at the borrower",
    description="The PI only. The seal check and the mass of every sample on arrival; a broken "
    "seal or a mass outside the balance tolerance opens an incident, which is returned.",
)
def shipment_receive(request, shipment_id: int, payload: ReceiveIn):
    require_write(request)
    return research.shipment_receive(
        actor=request.user,
        shipment_id=shipment_id,
        seal_intact=payload.seal_intact,
        measured=payload.measured,
    )


@router.post(
    "/shipments/{shipment_id}/return-receive",
    response=answers(200, list[IncidentOut]),
    summary="Receive returned remnants",
    description="Curators only. The remnants are re-weighed and stored as returned material, "
    "never as pristine; a mass that differs from the ledger beyond the balance tolerance opens "
    "an incident, which is returned.",
)
def return_receive(request, shipment_id: int, payload: ReturnReceiveIn):
    require_write(request)
    return research.return_receive(
        actor=request.user,
        shipment_id=shipment_id,
        seal_intact=payload.seal_intact,
        measured=payload.measured,
        location_code=payload.location_code,
    )


# --- use at the borrower -----------------------------------------------------------------------


@router.post(
    "/loans/{loan_id}/analyses",
    response=answers(201, AnalysisOut),
    summary="Record an analysis",
    description="While the samples are with the borrower. Destructive use is refused (409) "
    "beyond what the agreement allows; a non-destructive analysis consumes nothing.",
)
def analysis_record(request, loan_id: int, payload: AnalysisIn):
    require_write(request)
    return Status(
        201, research.analysis_record(actor=request.user, loan_id=loan_id, **payload.model_dump())
    )


@router.post(
    "/loans/{loan_id}/subsplits",
    response=answers(201, list[PortionOut]),
    summary="Record a subsplit made at the borrower",
    description="The new portions enter the genealogy and the ledger like any split and stay "
    "on the loan; their masses plus the handling loss come off the parent.",
)
def loan_subsplit(request, loan_id: int, payload: SubsplitIn):
    require_write(request)
    return Status(
        201, research.loan_subsplit(actor=request.user, loan_id=loan_id, **payload.model_dump())
    )


@router.post(
    "/loans/{loan_id}/usage-reports",
    response=answers(201, ReportOut),
    summary="Submit a usage report",
    description="The PI only; moves the next report's due date a year on.",
)
def usage_report_submit(request, loan_id: int, payload: TextIn):
    require_write(request)
    return Status(
        201, research.usage_report_submit(actor=request.user, loan_id=loan_id, text=payload.text)
    )


@router.post(
    "/loans/{loan_id}/inventories",
    response=answers(201, ReportOut),
    summary="Submit the annual inventory",
    description="The PI only: the mass and place of every sample held, each once. A mass "
    "outside the balance tolerance of the ledger opens an incident.",
)
def inventory_report_submit(request, loan_id: int, payload: InventoryIn):
    require_write(request)
    lines = [line.model_dump() for line in payload.lines]
    return Status(
        201, research.inventory_report_submit(actor=request.user, loan_id=loan_id, lines=lines)
    )


# --- return and closure ------------------------------------------------------------------------


@router.post(
    "/loans/{loan_id}/returns",
    response=answers(201, ShipmentOut),
    summary="Pack remnants for return",
    description="The PI only: samples still held, in a sealed container; dispatch it next with "
    "/shipments/{id}/dispatch.",
)
def return_pack(request, loan_id: int, payload: ReturnPackIn):
    require_write(request)
    return Status(
        201, research.return_pack(actor=request.user, loan_id=loan_id, **payload.model_dump())
    )


@router.post(
    "/loans/{loan_id}/data-deposits",
    response=answers(201, DataDepositOut),
    summary="Record a data deposit",
    description="A DOI or URL, with an embargo date if any.",
)
def data_deposit_record(request, loan_id: int, payload: DataDepositIn):
    require_write(request)
    return Status(
        201,
        research.data_deposit_record(actor=request.user, loan_id=loan_id, **payload.model_dump()),
    )


@router.post(
    "/loans/{loan_id}/waivers",
    response=answers(201, WaiverOut),
    summary="Waive an obligation",
    description="Curators only, with a reason: usage_report, publications or data.",
)
def waiver_grant(request, loan_id: int, payload: WaiverIn):
    require_write(request)
    return Status(
        201, research.waiver_grant(actor=request.user, loan_id=loan_id, **payload.model_dump())
    )


@router.post(
    "/loans/{loan_id}/close",
    response=answers(200, LoanOut),
    summary="Close a loan",
    description="Curators only. Refused (409, naming every blocker) while a sample is still out, "
    "the usage report, publications or data deposits are neither recorded nor waived, or an "
    "incident is open.",
)
def loan_close(request, loan_id: int):
    require_write(request)
    return research.loan_close(actor=request.user, loan_id=loan_id)


# --- incidents and stock checks ----------------------------------------------------------------


@router.get(
    "/incidents",
    response=answers(200, Page[IncidentOut]),
    summary="List incidents, a page at a time",
    description="Curators only. Open incidents first, newest first within each.",
)
def incident_list(request, page: Query[PageQuery]):
    require_role(request.user, Role.CURATOR)
    return page_of(selectors.incidents_for_curator(), page)


@router.post(
    "/incidents/{incident_id}/resolve",
    response=answers(200, IncidentOut),
    summary="Resolve an incident",
    description="Curators only. `reweigh` records the true mass, `lost` marks the sample lost, "
    "`found` puts a lost sample back into a location, each as a correcting custody event; "
    "`accept` closes the incident with no change.",
)
def incident_resolve(request, incident_id: int, payload: IncidentResolveIn):
    require_write(request)
    return incidents.incident_resolve(
        actor=request.user, incident_id=incident_id, **payload.model_dump()
    )


@router.post(
    "/stock-checks",
    response=answers(201, StockCheckOut),
    summary="Start a stock check of a storage location",
    description="Curators only. Makes a line for every sample the records place in the location "
    "or anywhere inside it, with its expected mass; `GET /stock-checks/{check_id}/lines` lists "
    "them.",
)
def stock_check_start(request, payload: StockCheckIn):
    require_write(request)
    return Status(
        201, incidents.stock_check_start(actor=request.user, location_code=payload.location_code)
    )


@router.get(
    "/stock-checks/{check_id}",
    response=answers(200, StockCheckOut),
    summary="One stock check",
    description="Curators only: its location and status; its lines are listed a page at a time "
    "by `GET /stock-checks/{check_id}/lines`.",
)
def stock_check_detail(request, check_id: int):
    require_role(request.user, Role.CURATOR)
    return selectors.stock_check(check_id=check_id)


@router.get(
    "/stock-checks/{check_id}/lines",
    response=answers(200, Page[StockLineOut]),
    summary="List a stock check's lines, a page at a time",
    description="Curators only. One line per sample of the location, by sample id: the mass "
    "expected, and once recorded whether it was found and the mass measured.",
)
def stock_check_line_list(request, check_id: int, page: Query[PageQuery]):
    require_role(request.user, Role.CURATOR)
    check = selectors.stock_check(check_id=check_id)
    return page_of(selectors.stock_check_lines(check_id=check.pk), page)


@router.post(
    "/stock-checks/{check_id}/lines/{line_id}",
    response=answers(200, StockLineOut),
    summary="Record what was found",
    description="Curators only: found or not, and the measured mass.",
)
def stock_check_record(request, check_id: int, line_id: int, payload: StockLineIn):
    require_write(request)
    require_role(request.user, Role.CURATOR)
    selectors.stock_check_line(check_id=check_id, line_id=line_id)
    return incidents.stock_check_record(actor=request.user, line_id=line_id, **payload.model_dump())


@router.post(
    "/stock-checks/{check_id}/close",
    response=answers(200, list[IncidentOut]),
    summary="Close a stock check",
    description="Curators only, once every line is recorded. Each missing sample and each mass "
    "beyond the balance tolerance opens an incident, which is returned.",
)
def stock_check_close(request, check_id: int):
    require_write(request)
    return incidents.stock_check_close(actor=request.user, check_id=check_id)


# --- exhibitions -------------------------------------------------------------------------------


def _exhibition_reader(request) -> None:
    require_role(request.user, Role.CURATOR, Role.COMMITTEE)


@router.get(
    "/exhibitions",
    response=answers(200, Page[ExhibitionOut]),
    summary="List exhibition loans, a page at a time",
    description="Curators and the committee. Latest start first.",
)
def exhibition_list(request, page: Query[PageQuery]):
    _exhibition_reader(request)
    return page_of(selectors.exhibitions(), page)


@router.get(
    "/exhibitions/{exhibition_id}",
    response=answers(200, ExhibitionOut),
    summary="One exhibition loan",
    description="Curators and the committee: samples, itinerary and every hand-over.",
)
def exhibition_detail(request, exhibition_id: int):
    _exhibition_reader(request)
    return selectors.exhibition_detail(exhibition_id=exhibition_id).exhibition


@router.post(
    "/exhibitions",
    response=answers(201, ExhibitionOut),
    summary="Propose an exhibition loan",
    description="Curators only. Display samples come from the public-benefit pool and must be "
    "in storage; the itinerary's stops may not overlap; the deputy is another person than the "
    "responsible official.",
)
def exhibition_create(request, payload: ExhibitionIn):
    require_write(request)
    fields = payload.model_dump(exclude={"stops"})
    stops = [stop.model_dump() for stop in payload.stops]
    return Status(201, exhibitions.exhibition_create(actor=request.user, stops=stops, **fields))


@router.post(
    "/exhibitions/{exhibition_id}/approve",
    response=answers(200, ExhibitionOut),
    summary="Approve an exhibition loan",
    description="The committee only.",
)
def exhibition_approve(request, exhibition_id: int):
    require_write(request)
    return exhibitions.exhibition_approve(actor=request.user, exhibition_id=exhibition_id)


@router.post(
    "/exhibitions/{exhibition_id}/dispatch",
    response=answers(201, ShipmentOut),
    summary="Seal and dispatch the display case",
    description="Curators only, once approved: the samples are allocated, packed and shipped.",
)
def exhibition_dispatch(request, exhibition_id: int, payload: ExhibitionDispatchIn):
    require_write(request)
    return Status(
        201,
        exhibitions.exhibition_dispatch(
            actor=request.user, exhibition_id=exhibition_id, **payload.model_dump()
        ),
    )


@router.post(
    "/exhibitions/{exhibition_id}/handovers",
    response=answers(201, HandoverOut),
    summary="Record a hand-over of the sealed case",
    description="Curators only: who, when, where and the seal check. A broken seal, or a seal "
    "number other than the one dispatched, opens an incident.",
)
def handover_record(request, exhibition_id: int, payload: HandoverIn):
    require_write(request)
    return Status(
        201,
        exhibitions.handover_record(
            actor=request.user, exhibition_id=exhibition_id, **payload.model_dump()
        ),
    )


@router.post(
    "/exhibitions/{exhibition_id}/display",
    response=answers(200, ExhibitionOut),
    summary="Put on display, or take down",
    description="Curators only. `on_display: true` at a venue, `false` to travel on or return.",
)
def exhibition_display(request, exhibition_id: int, payload: DisplayIn):
    require_write(request)
    return exhibitions.exhibition_display(
        actor=request.user, exhibition_id=exhibition_id, on_display=payload.on_display
    )


@router.post(
    "/exhibitions/{exhibition_id}/return",
    response=answers(200, ExhibitionOut),
    summary="Return the display samples",
    description="Curators only, once taken down: stored as returned material, never pristine.",
)
def exhibition_return(request, exhibition_id: int, payload: LocationIn):
    require_write(request)
    return exhibitions.exhibition_return(
        actor=request.user, exhibition_id=exhibition_id, location_code=payload.location_code
    )


# --- publications ------------------------------------------------------------------------------


@router.post(
    "/publications",
    response=answers(201, PublicationRecordedOut),
    summary="Record a publication",
    description="A borrower records it under one of their loans; a curator may record it "
    "without one. Returns warnings: a publication linked to no sample, or using samples that "
    "no loan covered, is flagged.",
)
def publication_record(request, payload: PublicationIn):
    require_write(request)
    publication, warnings = publications.publication_record(
        actor=request.user, **payload.model_dump()
    )
    return Status(201, {"publication": publication, "warnings": warnings})


@router.get(
    "/missions/{code}/publications",
    response=answers(200, Page[PublicationOut], public=True),
    auth=None,
    summary="Results that used a mission's samples, a page at a time",
    description="Public. Publications linked to samples of the mission, newest first.",
)
def mission_publications(request, code: str, page: Query[PageQuery]):
    return page_of(selectors.publications_for_mission_code(code=code), page)


@router.get(
    "/samples/{identifier}/publications",
    response=answers(200, Page[PublicationOut], public=True),
    auth=None,
    summary="Results that used a sample, a page at a time",
    description="Public. Publications linked to the sample, newest first.",
)
def sample_publications(request, identifier: str, page: Query[PageQuery]):
    return page_of(selectors.publications_for_sample_identifier(identifier=identifier), page)
