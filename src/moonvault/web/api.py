"""The transparency statistics and a mission's accounting report over the API; public, as the
transparency page and the mission pages are."""

from django.http import HttpResponse
from ninja import Router

from moonvault.core.api import answers
from moonvault.web import exports
from moonvault.web.mission_report import (
    mission_report,
    mission_report_filename,
    mission_report_pdf,
)

router = Router(tags=["statistics"])

TABLE_NAMES = ", ".join(f"`{slug}`" for slug in exports.SLUGS)
EXAMPLE_TABLE = {
    "slug": "released-by-mission",
    "title": "Released mass per mission",
    "columns": [
        {"key": "mission", "title": "Mission", "kind": "text"},
        {"key": "mass_ug", "title": "Released mass", "kind": "mass"},
        {"key": "allocations", "title": "Allocations", "kind": "number"},
    ],
    "rows": [{"mission": "CE5", "mass_ug": 17476000, "allocations": 21}],
}
EXAMPLE_ALL = {
    "generated_at": "2026-11-22T14:00:00+00:00",
    "ledger_head": {"seq": 1234, "hash": "9f2c…"},
    "medians": {"days_to_shipment": 41.5, "days_to_publication": None},
    "tables": [EXAMPLE_TABLE],
}
EXAMPLE_CSV = "mission,mass_ug,allocations\nCE5,17476000,21\n"


def _example(content_type: str, example, schema: dict) -> dict:
    return {
        "responses": {
            200: {
                "description": "OK",
                "content": {content_type: {"schema": schema, "example": example}},
            }
        }
    }


@router.get(
    "/statistics",
    response=answers(200, dict, public=True),
    auth=None,
    summary="Every transparency table, as JSON",
    description=(
        "The tables of the transparency page (" + TABLE_NAMES + "), each with its columns "
        "(`key`, `title`, `kind`: text, mass in µg, number, percent, days) and rows keyed by "
        "column; the median days to shipment and to first publication; the ledger head."
    ),
    openapi_extra=_example("application/json", EXAMPLE_ALL, {"type": "object"}),
)
def statistics(request):
    return exports.transparency_json()


@router.get(
    "/statistics/{table}.json",
    response=answers(200, dict, public=True),
    auth=None,
    summary="One transparency table, as JSON",
    description="`table` is one of " + TABLE_NAMES + "; any other name is a 404. Masses in µg; "
    "a figure that cannot be computed is null.",
    openapi_extra=_example("application/json", EXAMPLE_TABLE, {"type": "object"}),
)
def statistics_table_json(request, table: str):
    return exports.table_json(exports.transparency_table(slug=table))


@router.get(
    "/statistics/{table}.csv",
    response=answers(200, None, public=True),
    auth=None,
    summary="One transparency table, as CSV",
    description="`table` is one of " + TABLE_NAMES + ". The header is the column keys; masses "
    "in exact µg; a figure that cannot be computed is an empty cell.",
    openapi_extra=_example("text/csv", EXAMPLE_CSV, {"type": "string"}),
)
def statistics_table_csv(request, table: str):
    found = exports.transparency_table(slug=table)
    response = HttpResponse(exports.table_csv(found), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="moonvault-{found.slug}.csv"'
    return response


@router.get(
    "/missions/{code}/report.pdf",
    response=answers(200, None, public=True),
    auth=None,
    summary="A mission's accounting report (PDF)",
    description=(
        "Returned mass, mass in each purpose pool, consumed, handling loss and lost, with the "
        "check that they add up to the returned mass plus weighing corrections; allocated, on "
        "loan, on display, the reserve and the mass above it; releases per year; the ledger "
        "head (seq and SHA-256) the figures stand on and the date. 404 for an unknown mission."
    ),
    openapi_extra={
        "responses": {
            200: {
                "description": "OK",
                "content": {
                    "application/pdf": {
                        "schema": {"type": "string", "format": "binary"},
                        "example": "%PDF-1.4 …",
                    }
                },
            }
        }
    },
)
def mission_report_download(request, code: str):
    report = mission_report(code=code)
    response = HttpResponse(mission_report_pdf(report), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{mission_report_filename(report)}"'
    return response
