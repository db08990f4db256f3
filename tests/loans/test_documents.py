"""The loan documents open as PDF (or CSV) and carry the right numbers."""

import csv
import io

import pytest
from pypdf import PdfReader

from moonvault.core.errors import Conflict
from moonvault.loans import documents
from moonvault.loans.selectors import loan_accountability
from moonvault.loans.services import research
from tests.loans.test_loans_api import build_world, sign_pack_ship
from tests.rounds import MG

pytestmark = pytest.mark.django_db

SITE = "https://moonvault.example.org"


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = SITE + "/"


@pytest.fixture
def world(mission_ce5, receive, round_people, curator, facility):
    return build_world(mission_ce5, receive, round_people, curator)


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _returned_with_a_subsplit(world):
    """Received, 200 mg consumed, a 100 mg subsplit with 10 µg loss, both returned; the parent
    comes back 3 mg light."""
    loan, pi, curator = world.loan, world.pi, world.curator
    shipment = sign_pack_ship(loan, curator)
    sample = loan.items.get().sample
    research.shipment_receive(
        actor=pi, shipment_id=shipment.pk, seal_intact=True, measured={sample.pk: sample.mass_ug}
    )
    research.analysis_record(
        actor=pi,
        loan_id=loan.pk,
        sample_id=sample.pk,
        technique="SIMS",
        destructive=True,
        mass_consumed_ug=200 * MG,
    )
    (child,) = research.loan_subsplit(
        actor=pi, loan_id=loan.pk, sample_id=sample.pk, masses_ug=[100 * MG], loss_ug=10
    )
    sample.refresh_from_db()
    back = research.return_pack(
        actor=pi,
        loan_id=loan.pk,
        sample_ids=[sample.pk, child.pk],
        container_code="BOX-R",
        seal_number="SEAL-R",
    )
    research.shipment_dispatch(actor=pi, shipment_id=back.pk, courier="DHL", tracking_number="9")
    research.return_receive(
        actor=curator,
        shipment_id=back.pk,
        seal_intact=True,
        measured={sample.pk: sample.mass_ug - 3 * MG, child.pk: 100 * MG},
        location_code="RET-01",
    )
    return sample, child


def test_the_agreement_names_the_loan_the_parties_the_masses_and_the_terms(world):
    loan = world.loan
    item = loan.items.get()
    text = text_of(documents.agreement_pdf(loan))
    assert loan.number in text
    assert "Dr. A. Official" in text and loan.institution.name in text
    assert item.sample.identifier in text
    assert f"{item.lent_mass_ug:,}" in text
    assert documents.format_mass(item.lent_mass_ug) in text
    assert "SIMS, EPMA" in text
    assert "300 mg (300,000 µg)" in text
    for day in ("2026-01-10", "2031-01-10", "2027-01-10", "2027-06-30"):
        assert day in text
    assert loan.acknowledgement in text.replace("\n", " ")
    assert "Signatures" in text


def test_the_certificate_is_refused_before_signing_and_then_carries_the_ledger_hash(world):
    loan = world.loan
    with pytest.raises(Conflict) as refused:
        documents.certificate_pdf(loan)
    assert refused.value.problems[0].field == "loan"
    sign_pack_ship(loan, world.curator)
    loan.refresh_from_db()
    text = text_of(documents.certificate_pdf(loan)).replace("\n", "")
    assert loan.number in text and loan.items.get().sample.identifier in text
    assert loan.certificate_hash in text
    assert f"#{loan.certificate_seq}" in text
    assert f"{SITE}/api/v1/ledger/head" in text and "moonvault verify" in text


def test_the_accountability_report_adds_up_per_sample_and_in_total(world):
    sample, child = _returned_with_a_subsplit(world)
    lent = world.loan.items.get(subsplit_of=None).lent_mass_ug
    report = loan_accountability(loan=world.loan)
    parent_line, child_line = report.lines
    assert (parent_line.identifier, child_line.identifier) == (sample.identifier, child.identifier)
    assert child_line.subsplit_of == sample.identifier
    assert parent_line.lent_ug == lent and child_line.lent_ug == 0
    assert parent_line.consumed_ug == 200 * MG
    assert parent_line.split_off_ug == 100 * MG == child_line.from_split_ug
    assert parent_line.loss_ug == 10
    assert parent_line.expected_ug == lent - 300 * MG - 10
    assert parent_line.returned_ug == lent - 300 * MG - 10 - 3 * MG
    assert parent_line.difference_ug == -3 * MG and child_line.difference_ug == 0
    assert report.totals.expected_ug == lent - 200 * MG - 10
    assert report.totals.difference_ug == -3 * MG

    rows = list(csv.DictReader(io.StringIO(documents.accountability_csv(report).decode())))
    assert [r["sample"] for r in rows] == [sample.identifier, child.identifier, "total"]
    *lines, total = rows
    for column in ("lent_ug", "consumed_ug", "loss_ug", "expected_ug", "returned_ug"):
        assert sum(int(r[column]) for r in lines) == int(total[column]), column
    assert int(total["difference_ug"]) == int(total["returned_ug"]) - int(total["expected_ug"])

    text = text_of(documents.accountability_pdf(report))
    assert world.loan.number in text
    assert f"{lent:,}" in text and "-3,000" in text and f"{200 * MG:,}" in text


def test_a_loan_still_out_has_no_returned_mass_or_difference_yet(world):
    report = loan_accountability(loan=world.loan)
    (line,) = report.lines
    assert line.returned_ug is None and line.difference_ug is None
    assert report.totals.returned_ug is None
    row = list(csv.reader(io.StringIO(documents.accountability_csv(report).decode())))[1]
    assert row[-2:] == ["", ""]


def test_each_sample_label_points_its_qr_code_at_the_sample_page(world, monkeypatch):
    _, child = _returned_with_a_subsplit(world)
    identifiers = list(world.loan.items.values_list("sample__identifier", flat=True))
    labels = documents.label_entries(world.loan)
    samples = [label for label in labels if label.kind == "sample"]
    assert [label.title for label in samples] == identifiers
    assert [label.url for label in samples] == [f"{SITE}/samples/{i}/" for i in identifiers]
    containers = [label for label in labels if label.kind == "container"]
    assert [label.title for label in containers] == ["BOX-1", "BOX-R"]
    assert child.identifier in containers[1].lines[-1]

    encoded = []
    real_make = documents.segno.make

    def recording_make(content, **kwargs):
        encoded.append(content)
        return real_make(content, **kwargs)

    monkeypatch.setattr(documents.segno, "make", recording_make)
    text = text_of(documents.labels_pdf(labels))
    assert encoded == [label.url for label in labels]
    for identifier in identifiers:
        assert identifier in text
    assert "SEAL-R" in text


def test_labels_for_more_than_a_page_go_on_to_a_second_page(world):
    label = documents.Label(kind="sample", title="A0064", lines=["Hayabusa2"], url=SITE + "/x/")
    pdf = documents.labels_pdf([label] * 11)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 2


def test_names_in_chinese_are_set_in_a_font_that_has_them(world):
    institution = world.loan.institution
    institution.name_zh = "明斯特大学"
    institution.save()
    pdf = documents.agreement_pdf(world.loan)
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in PdfReader(io.BytesIO(pdf)).pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert "/STSong-Light" in {f.split("-UniGB")[0] for f in fonts}


def test_an_unknown_document_name_is_not_found(world):
    with pytest.raises(documents.NotFound):
        documents.loan_document(loan=world.loan, name="secrets.pdf")
