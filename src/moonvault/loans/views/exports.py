"""Loans as CSV or JSON downloads, from the curator's compliance page and the borrower's list."""

from django.http import StreamingHttpResponse
from django.utils import timezone

from moonvault.loans import exports
from moonvault.loans.views.access import signed_in

FORMATS = {
    "csv": (exports.loans_csv, "text/csv; charset=utf-8"),
    "json": (exports.loans_json, "application/json"),
}


@signed_in
def loan_export(request, fmt: str):
    """Every loan for a curator, their own research loans for anyone else; a bad filter is a
    400 page that names it."""
    write, content_type = FORMATS[fmt]
    filters = exports.loan_filters(
        kind=request.GET.get("kind", ""),
        state=request.GET.get("state", ""),
        institution=request.GET.get("institution", ""),
        overdue=request.GET.get("overdue", ""),
    )
    rows = exports.loan_export(actor=request.user, filters=filters, today=timezone.localdate())
    response = StreamingHttpResponse(write(rows), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="loans.{fmt}"'
    return response
