"""The documents of a research loan: agreement, sample certificate, return accountability report
(PDF and CSV) and QR labels.

Each builder takes a loan that the caller has already been allowed to read (through
`selectors.loan_get` or `selectors.loan_detail`) and returns the document; `loan_document` picks
one by its file name, so a page and an API route serve the same bytes. Masses are shown both in a
readable unit and in exact micrograms, because auditors add up the micrograms.
"""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

import segno
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from moonvault.core.errors import Conflict, NotFound
from moonvault.core.streams import spreadsheet_safe
from moonvault.core.units import format_mass
from moonvault.loans.models import Loan
from moonvault.loans.selectors import Accountability, AccountLine, loan_accountability

# Helvetica covers Latin-1 only; names of Chinese institutions and people need a CJK font, and
# this one ships with reportlab, so nothing has to be installed.
CJK_FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))

_STYLES = getSampleStyleSheet()
BODY = _STYLES["BodyText"]
HEADING = _STYLES["Heading1"]
SUBHEADING = _STYLES["Heading3"]
SMALL = _STYLES["Code"]


@dataclass(frozen=True)
class Document:
    filename: str
    content_type: str
    content: bytes


def mass_text(micrograms: int) -> str:
    """`1.5 g (1,500,000 µg)`: readable, and exact for whoever adds the numbers up."""
    return f"{format_mass(micrograms)} ({micrograms:,} µg)"


def _latin1(text: str) -> bool:
    return all(ord(c) < 256 for c in text)


def _markup(text: str) -> str:
    """Escaped paragraph markup, with runs outside Latin-1 set in the CJK font."""
    out, run, run_cjk = [], "", False
    for char in str(text):
        cjk = ord(char) >= 256
        if run and cjk != run_cjk:
            out.append(f'<font name="{CJK_FONT}">{escape(run)}</font>' if run_cjk else escape(run))
            run = ""
        run, run_cjk = run + char, cjk
    if run:
        out.append(f'<font name="{CJK_FONT}">{escape(run)}</font>' if run_cjk else escape(run))
    return "".join(out)


def _p(text: str, style=BODY) -> Paragraph:
    return Paragraph(_markup(text), style)


def _table(rows: list[list], widths: list[float] | None = None, *, header: bool = True) -> Table:
    cells = [[c if isinstance(c, Paragraph) else _p(str(c)) for c in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1 if header else 0)
    style = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    if header:
        style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")))
    table.setStyle(TableStyle(style))
    return table


def _pdf(story: list, *, title: str, pagesize=A4) -> bytes:
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=pagesize,
        title=title,
        author="Moonvault",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    doc.build(story)
    return buffer.getvalue()


def person_name(user) -> str:
    return user.get_full_name() or user.get_username()


def institution_name(institution) -> str:
    if institution.name_zh:
        return f"{institution.name} ({institution.name_zh}), {institution.country}"
    return f"{institution.name}, {institution.country}"


def _lent_items(loan: Loan) -> list:
    """The samples the agreement lends; subsplits made later at the borrower are not lent."""
    return list(
        loan.items.filter(subsplit_of=None).select_related("sample__mission").order_by("id")
    )


def _samples_table(items) -> Table:
    rows = [["Sample", "Mission", "Form", "Mass", "Exact (µg)"]]
    for item in items:
        sample = item.sample
        rows.append(
            [
                sample.identifier,
                sample.mission.code,
                sample.get_form_display(),
                format_mass(item.lent_mass_ug),
                f"{item.lent_mass_ug:,}",
            ]
        )
    total = sum(i.lent_mass_ug for i in items)
    rows.append(["Total", "", "", format_mass(total), f"{total:,}"])
    return _table(rows, [52 * mm, 18 * mm, 40 * mm, 28 * mm, 36 * mm])


def _years(loan: Loan) -> int:
    return loan.ends_on.year - loan.starts_on.year


# --- agreement ---------------------------------------------------------------------------------


def agreement_pdf(loan: Loan) -> bytes:
    """The loan agreement for the borrower's authorized official to sign."""
    items = _lent_items(loan)
    total = sum(i.lent_mass_ug for i in items)
    if loan.destructive_allowed:
        destructive = (
            "Destructive analysis is allowed, consuming in total no more than "
            f"{mass_text(loan.destructive_max_ug)} of the samples lent."
        )
    else:
        destructive = "Destructive analysis is not allowed: the samples must come back whole."
    embargo = (
        f"Data obtained from the samples may be kept under embargo until "
        f"{loan.data_embargo_until.isoformat()}; after that date they are deposited openly."
        if loan.data_embargo_until
        else "No data embargo: data are deposited openly when the results are published."
    )
    story = [
        _p(f"Lunar sample loan agreement {loan.number}", HEADING),
        _table(
            [
                ["Loan number", loan.number],
                ["Borrower institution", institution_name(loan.institution)],
                ["Principal investigator", person_name(loan.pi)],
                ["Authorized official", loan.official_name],
            ],
            [55 * mm, 119 * mm],
            header=False,
        ),
        _p("Samples and masses", SUBHEADING),
        _samples_table(items),
        _p("Use", SUBHEADING),
        _p(f"Allowed techniques: {loan.allowed_techniques}"),
        _p(destructive),
        _p("Duration and dates", SUBHEADING),
        _table(
            [
                ["Duration", f"{_years(loan)} years"],
                ["Start", loan.starts_on.isoformat()],
                ["End", loan.ends_on.isoformat()],
                ["Annual inventory due", loan.inventory_due.isoformat()],
                ["Usage report due", loan.usage_report_due.isoformat()],
                ["Remnants returned by", loan.return_due.isoformat()],
                [
                    "Data embargo until",
                    loan.data_embargo_until.isoformat() if loan.data_embargo_until else "none",
                ],
            ],
            [55 * mm, 119 * mm],
            header=False,
        ),
        _p("Obligations", SUBHEADING),
        _p(
            f"The borrower keeps the {format_mass(total)} lent in a controlled environment, "
            "reports every analysis and every subsplit, submits the annual inventory (mass and "
            "place of everything held) and a usage report each year, records every publication "
            "and data deposit that uses the samples, and returns all remnants by the return "
            "date, to be re-weighed and accounted for against the mass lent."
        ),
        _p(embargo),
        _p("Acknowledgement", SUBHEADING),
        _p(
            f"Every publication using the samples carries this acknowledgement: "
            f'"{loan.acknowledgement}"'
        ),
        Spacer(1, 8 * mm),
        _p("Signatures", SUBHEADING),
        _table(
            [
                ["For the borrower", "Name", "Signature", "Date"],
                ["Authorized official", loan.official_name, "", ""],
                ["Principal investigator", person_name(loan.pi), "", ""],
                ["For the repository", "Curator", "", ""],
            ],
            [45 * mm, 55 * mm, 44 * mm, 30 * mm],
        ),
    ]
    if loan.signed_at:
        story.append(
            _p(
                f"Signature recorded: {loan.signed_by_name}, "
                f"{timezone.localtime(loan.signed_at):%Y-%m-%d %H:%M %Z}."
            )
        )
    return _pdf(story, title=f"Loan agreement {loan.number}")


# --- certificate -------------------------------------------------------------------------------


def certificate_pdf(loan: Loan) -> bytes:
    """The lunar sample certificate, issued once the agreement is signed, bound to the ledger
    event that was the head of the chain at issue."""
    if not loan.certificate_hash:
        raise Conflict(_("the certificate is issued once the agreement is signed"), field="loan")
    items = _lent_items(loan)
    head_url = f"{settings.SITE_URL.rstrip('/')}/api/v1/ledger/head"
    story = [
        _p("Lunar sample certificate 月球样品证书", HEADING),
        _p(
            f"This certifies that the lunar samples below are lent under agreement {loan.number}, "
            f"signed by {loan.signed_by_name} for {institution_name(loan.institution)}."
        ),
        _table(
            [
                ["Loan number", loan.number],
                ["Borrower institution", institution_name(loan.institution)],
                ["Principal investigator", person_name(loan.pi)],
                ["Loan period", f"{loan.starts_on.isoformat()} to {loan.ends_on.isoformat()}"],
                ["Remnants returned by", loan.return_due.isoformat()],
                ["Issued", f"{timezone.localtime(loan.certificate_issued_at):%Y-%m-%d %H:%M %Z}"],
            ],
            [55 * mm, 119 * mm],
            header=False,
        ),
        _p("Samples", SUBHEADING),
        _samples_table(items),
        _p("Custody ledger at issue", SUBHEADING),
        _table(
            [
                ["Ledger event", f"#{loan.certificate_seq}"],
                ["SHA-256", _p(loan.certificate_hash, SMALL)],
            ],
            [35 * mm, 139 * mm],
            header=False,
        ),
        _p(
            f"Anyone can check this certificate against the published ledger: event "
            f"#{loan.certificate_seq} of the chain must have the hash above. The current head is "
            f"published at {head_url}, and every later event carries the hash of the one before, "
            f"so running `moonvault verify` on a copy of the ledger proves that the event above "
            f"is still part of an unbroken chain."
        ),
    ]
    return _pdf(story, title=f"Sample certificate {loan.number}")


# --- return accountability ---------------------------------------------------------------------

ACCOUNT_COLUMNS = (
    ("sample", "Sample"),
    ("subsplit_of", "Subsplit of"),
    ("state", "State"),
    ("lent_ug", "Lent"),
    ("from_split_ug", "From split"),
    ("consumed_ug", "Consumed"),
    ("split_off_ug", "Split off"),
    ("loss_ug", "Handling loss"),
    ("expected_ug", "Expected back"),
    ("returned_ug", "Returned"),
    ("difference_ug", "Difference"),
)


def _account_row(line: AccountLine) -> list:
    return [
        line.identifier,
        line.subsplit_of or "",
        line.state,
        line.lent_ug,
        line.from_split_ug,
        line.consumed_ug,
        line.split_off_ug,
        line.loss_ug,
        line.expected_ug,
        "" if line.returned_ug is None else line.returned_ug,
        "" if line.difference_ug is None else line.difference_ug,
    ]


def accountability_csv(report: Accountability) -> bytes:
    """One row per sample and a total row; masses in exact µg (columns ending in _ug)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([name for name, _ in ACCOUNT_COLUMNS])
    for line in [*report.lines, report.totals]:
        writer.writerow([spreadsheet_safe(value) for value in _account_row(line)])
    return buffer.getvalue().encode("utf-8")


def accountability_pdf(report: Accountability) -> bytes:
    loan = report.loan
    rows = [[label + (" (µg)" if name.endswith("_ug") else "") for name, label in ACCOUNT_COLUMNS]]
    for line in [*report.lines, report.totals]:
        rows.append(
            [
                f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else v
                for v in _account_row(line)
            ]
        )
    totals = report.totals
    summary = (
        f"Lent {mass_text(totals.lent_ug)}; consumed by analyses {mass_text(totals.consumed_ug)}; "
        f"handling loss at subsplits {mass_text(totals.loss_ug)}; expected back "
        f"{mass_text(totals.expected_ug)}; "
        + (
            f"returned {mass_text(totals.returned_ug)}; difference {totals.difference_ug:+,} µg."
            if totals.returned_ug is not None
            else "nothing returned yet."
        )
    )
    story = [
        _p(f"Return accountability, loan {loan.number}", HEADING),
        _p(f"{institution_name(loan.institution)}; principal investigator {person_name(loan.pi)}."),
        _p(
            "Expected back = lent + received from a split - consumed - split off - handling loss. "
            "Difference = returned (re-weighed on arrival) - expected; blank while the sample is "
            "still out. A sample consumed entirely counts as returned at 0 µg."
        ),
        _table(rows, [44 * mm, 44 * mm, 20 * mm] + [19 * mm] * 8),
        Spacer(1, 4 * mm),
        _p(summary),
        _p(f"Produced {timezone.localtime():%Y-%m-%d %H:%M %Z}."),
    ]
    return _pdf(story, title=f"Return accountability {loan.number}", pagesize=landscape(A4))


# --- labels ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    """One printed label: what it is on, the lines of text, and the URL its QR code opens."""

    kind: str  # "container" or "sample"
    title: str
    lines: list[str]
    url: str


def site_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def sample_url(identifier: str) -> str:
    """The absolute address of a sample's public page, in the default language."""
    with translation.override(settings.LANGUAGE_CODE):
        return site_url(reverse("sample-detail", kwargs={"identifier": identifier}))


def loan_url(loan: Loan) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return site_url(reverse("loans:loan-detail", kwargs={"loan_id": loan.pk}))


def label_entries(loan: Loan) -> list[Label]:
    """A label for every container of the loan (its QR opens the loan page with the packing
    list), then one for every sample, subsplits included (its QR opens the sample's page)."""
    labels = []
    for shipment in loan.shipments.prefetch_related("items__sample").order_by("packed_at", "id"):
        identifiers = [i.sample.identifier for i in shipment.items.all()]
        labels.append(
            Label(
                kind="container",
                title=shipment.container_code,
                lines=[
                    f"Loan {loan.number}, {shipment.get_direction_display().lower()}",
                    f"Seal {shipment.seal_number}"
                    + (", nitrogen-purged" if shipment.nitrogen_purged else ""),
                    f"{len(identifiers)} sample(s): {', '.join(identifiers)}",
                ],
                url=loan_url(loan),
            )
        )
    for item in loan.items.select_related("sample__mission").order_by("id"):
        sample = item.sample
        labels.append(
            Label(
                kind="sample",
                title=sample.identifier,
                lines=[
                    f"{sample.mission.code}, {sample.get_form_display().lower()}",
                    f"Loan {loan.number}",
                    f"Lent {format_mass(item.lent_mass_ug)}" if item.lent_mass_ug else "Subsplit",
                ],
                url=sample_url(sample.identifier),
            )
        )
    return labels


LABEL_W, LABEL_H = 90 * mm, 45 * mm
COLUMNS, ROWS = 2, 5
MARGIN_X, MARGIN_Y = (A4[0] - COLUMNS * LABEL_W) / 2, (A4[1] - ROWS * LABEL_H) / 2


def _draw_qr(canvas: Canvas, url: str, x: float, y: float, size: float) -> None:
    """Draw the QR code as vector squares, so it prints sharp at any size."""
    qr = segno.make(url, error="m")
    matrix = list(qr.matrix_iter(scale=1, border=2))
    module = size / len(matrix)
    for row_n, row in enumerate(matrix):
        for col_n, dark in enumerate(row):
            if dark:
                canvas.rect(
                    x + col_n * module,
                    y + size - (row_n + 1) * module,
                    module,
                    module,
                    stroke=0,
                    fill=1,
                )


def _font(text: str) -> str:
    return "Helvetica" if _latin1(text) else CJK_FONT


def _fitting_size(text: str, size: float, width: float, smallest: float) -> float:
    """The largest font size up to `size` at which the text fits the width."""
    while size > smallest and pdfmetrics.stringWidth(text, _font(text), size) > width:
        size -= 0.5
    return size


def labels_pdf(labels: list[Label], *, title: str = "Labels") -> bytes:
    """Ten labels of 90 × 45 mm to an A4 page: QR code on the left, the text on the right, the
    identifier in large type so that typing it works as well as scanning."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    canvas.setTitle(title)
    canvas.setAuthor("Moonvault")
    per_page = COLUMNS * ROWS
    qr_size = LABEL_H - 8 * mm
    text_width = LABEL_W - qr_size - 9 * mm
    for n, label in enumerate(labels):
        if n and n % per_page == 0:
            canvas.showPage()
        slot = n % per_page
        x = MARGIN_X + (slot % COLUMNS) * LABEL_W
        y = A4[1] - MARGIN_Y - (slot // COLUMNS + 1) * LABEL_H
        canvas.setStrokeColor(colors.lightgrey)
        canvas.rect(x, y, LABEL_W, LABEL_H, stroke=1, fill=0)
        _draw_qr(canvas, label.url, x + 3 * mm, y + 4 * mm, qr_size)
        text_x = x + qr_size + 6 * mm
        canvas.setFont(_font(label.title), _fitting_size(label.title, 12, text_width, 6))
        canvas.drawString(text_x, y + LABEL_H - 9 * mm, label.title)
        line_y = y + LABEL_H - 14 * mm
        for line in label.lines:
            for part in simpleSplit(line, _font(line), 7, text_width):
                if line_y < y + 7 * mm:
                    break
                canvas.setFont(_font(part), 7)
                canvas.drawString(text_x, line_y, part)
                line_y -= 3 * mm
        canvas.setFont("Helvetica", _fitting_size(label.url, 5, text_width, 3))
        canvas.drawString(text_x, y + 3 * mm, label.url)
    if not labels:
        canvas.setFont("Helvetica", 10)
        canvas.drawString(20 * mm, A4[1] - 20 * mm, "Nothing to label yet.")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# --- one entry point for pages and the API -----------------------------------------------------

PDF, CSV = "application/pdf", "text/csv; charset=utf-8"
DOCUMENTS: dict[str, tuple[str, Callable[[Loan], bytes]]] = {
    "agreement.pdf": (PDF, agreement_pdf),
    "certificate.pdf": (PDF, certificate_pdf),
    "accountability.pdf": (PDF, lambda loan: accountability_pdf(loan_accountability(loan=loan))),
    "accountability.csv": (CSV, lambda loan: accountability_csv(loan_accountability(loan=loan))),
    "labels.pdf": (
        PDF,
        lambda loan: labels_pdf(label_entries(loan), title=f"Labels {loan.number}"),
    ),
}


def loan_document(*, loan: Loan, name: str) -> Document:
    """The document called `name` (a key of DOCUMENTS) for a loan the caller may read."""
    if name not in DOCUMENTS:
        raise NotFound(_("no document %(name)s") % {"name": repr(name)}, field="document")
    content_type, build = DOCUMENTS[name]
    return Document(
        filename=f"{loan.number}-{name}", content_type=content_type, content=build(loan)
    )
