"""Loans as CSV or JSON over the API: every loan for a curator, their own for a borrower."""

from django.http import StreamingHttpResponse
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from moonvault.core.api import answers
from moonvault.loans import exports

router = Router(tags=["exports"])

EXAMPLE_LOAN = {
    "kind": "research",
    "id": 12,
    "number": "MV-2026-0012",
    "title": "Space weathering of Chang'e-5 glass beads",
    "status": "active",
    "institution": "Université Paris Cité",
    "country": "FR",
    "borrower": "Marie Dupont",
    "starts_on": "2026-01-10",
    "ends_on": "2031-01-10",
    "return_due": "2031-01-10",
    "samples": 1,
    "mass_ug": 1500000,
    "next_obligation": "annual inventory",
    "next_due": "2027-01-10",
    "overdue": False,
}
EXAMPLE_CSV = (
    ",".join(exports.FIELDS)
    + "\n"
    + ",".join(
        "true" if v is True else "false" if v is False else str(v) for v in EXAMPLE_LOAN.values()
    )
    + "\n"
)
FILTERS = (
    "Filters: `kind` (research, exhibition), `state` (a research loan's or an exhibition's "
    "status), `institution` (words of the borrowing institution's or the organiser's name), "
    "`overdue` (true or false). A bad filter is a 400 naming it. A curator gets every loan; "
    "anyone else signed in, their own research loans."
)


class LoanExportFilters(Schema):
    kind: str = Field("", description="research or exhibition; both when empty")
    state: str = Field("", description="status, e.g. active, returning, on_display")
    institution: str = Field("", description="words of the institution's or organiser's name")
    overdue: str = Field("", description="true: only loans with an overdue obligation; false: none")


def _rows(request, query: LoanExportFilters):
    filters = exports.loan_filters(
        kind=query.kind, state=query.state, institution=query.institution, overdue=query.overdue
    )
    return exports.loan_export(actor=request.user, filters=filters, today=timezone.localdate())


def _stream(pieces, content_type: str, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(pieces, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _example(content_type: str, example) -> dict:
    schema = {"type": "string"} if isinstance(example, str) else {"type": "object"}
    return {
        "responses": {
            200: {
                "description": "OK",
                "content": {content_type: {"schema": schema, "example": example}},
            }
        }
    }


@router.get(
    "/exports/loans.csv",
    response=answers(200, None),
    summary="Loans as CSV (streamed)",
    description="One header line, then one line per loan; masses in exact µg. " + FILTERS,
    openapi_extra=_example("text/csv", EXAMPLE_CSV),
)
def loans_csv(request, query: Query[LoanExportFilters]):
    return _stream(exports.loans_csv(_rows(request, query)), "text/csv; charset=utf-8", "loans.csv")


@router.get(
    "/exports/loans.json",
    response=answers(200, dict),
    summary="Loans as JSON (streamed)",
    description='`{"loans": [...]}`, each with the fields of the CSV. ' + FILTERS,
    openapi_extra=_example("application/json", {"loans": [EXAMPLE_LOAN]}),
)
def loans_json(request, query: Query[LoanExportFilters]):
    return _stream(exports.loans_json(_rows(request, query)), "application/json", "loans.json")
