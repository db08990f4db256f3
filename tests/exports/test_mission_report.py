"""A mission's accounting as a PDF: the mission page's figures, adding up to the returned mass,
with the ledger head; from the page, the API and the command."""

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from pypdf import PdfReader

from moonvault.allocation.models import Allocation
from moonvault.allocation.services import mission_headroom
from moonvault.catalog.models import Pool, State
from moonvault.custody.selectors import ledger_head
from moonvault.loans.documents import mass_text
from moonvault.web import selectors as pages
from moonvault.web.mission_report import mission_report, mission_report_pdf

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_report_holds_the_selectors_figures_and_they_add_up(active_loan, mission_ce5):
    report = mission_report(code="CE5")
    accounting = pages.mission_accounting(mission=mission_ce5)
    assert report.accounting == accounting
    a = accounting.accounts
    assert sum(v for _, v in report.sources) == a.received + a.corrections
    assert sum(v for _, v in report.uses) == a.received + a.corrections
    assert report.balances and a.balances
    assert accounting.on_loan_ug == active_loan.items.get().lent_mass_ug
    assert report.reserve_ug == mission_ce5.returned_mass_ug * mission_ce5.reserve_pct // 100
    assert report.headroom_ug == mission_headroom(mission_ce5)
    released = sum(Allocation.objects.values_list("mass_ug", flat=True))
    assert sum(r["mass_ug"] for r in report.released_by_year.rows) == released
    head = ledger_head()
    assert (report.head_seq, report.head_hash) == (head.seq, head.hash)


def test_the_pdf_parses_and_prints_every_figure(active_loan, mission_ce5):
    report = mission_report(code="CE5")
    text = pdf_text(mission_report_pdf(report))
    flat_text = flat(text)
    a = report.accounting.accounts
    assert "Mission accounting report: Chang'e-5 (CE5)" in flat_text
    figures = [
        a.received,
        a.consumed,
        a.handling_loss,
        a.by_state[State.LOST],
        report.accounting.allocated_ug,
        report.accounting.on_loan_ug,
        report.reserve_ug,
        report.headroom_ug,
        mission_ce5.returned_mass_ug,
        *(report.accounting.by_pool[p] for p in Pool.values),
        *(r["mass_ug"] for r in report.released_by_year.rows),
    ]
    for figure in figures:
        assert mass_text(figure) in flat_text, figure
    for _, label in Pool.choices:
        assert f"Held in pool: {label}" in flat_text
    assert report.head_hash in re.sub(r"\s+", "", text)
    assert f"#{report.head_seq}" in flat_text
    assert f"{report.generated_at:%Y-%m-%d}" in flat_text
    assert "The accounts balance" in flat_text
    total = sum(v for _, v in report.uses)
    assert f"Total accounted for {mass_text(total)}" in flat_text


def test_the_mission_page_links_the_report_and_anyone_may_download_it(client, decided):
    page = client.get("/missions/CE5/").content.decode()
    assert 'href="/missions/CE5/report.pdf"' in page
    for url in ("/missions/CE5/report.pdf", "/api/v1/missions/CE5/report.pdf"):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert "Chang'e-5" in pdf_text(response.content)


def test_an_unknown_mission_has_no_report(client, db):
    assert client.get("/missions/XX9/report.pdf").status_code == 404
    response = client.get("/api/v1/missions/XX9/report.pdf")
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "code"


def test_the_command_writes_the_report(tmp_path, decided):
    out = tmp_path / "ce5.pdf"
    call_command("mission-report", "CE5", "--out", str(out))
    assert "Mission accounting report" in pdf_text(out.read_bytes())
    with pytest.raises(CommandError, match="XX9"):
        call_command("mission-report", "XX9", "--out", str(tmp_path / "x.pdf"))


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_report_reads_one_snapshot(receive, mission_ce5):
    receive("CE5C0400YJFM00505", mission_ce5, 2_000_000)
    assert not connection.in_atomic_block
    report = mission_report(code="CE5")
    assert report.accounting.accounts.received == 2_000_000
    assert report.head_seq == ledger_head().seq
    assert not connection.in_atomic_block
