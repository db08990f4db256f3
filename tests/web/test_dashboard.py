"""The transparency dashboard on a hand-built round: numbers, charts, CSV downloads."""

import csv
import io
import statistics

import pytest

from moonvault.allocation.models import Allocation
from moonvault.calls.models import DecisionItem
from moonvault.loans.models import Loan, Publication, PublicationUse, Shipment
from moonvault.web import charts
from moonvault.web import selectors as pages
from tests.web.test_sample_page import by_label, svgs, texts
from tests.web_loans.conftest import active_loan, decided, fast_passwords, loan

__all__ = ["active_loan", "decided", "fast_passwords", "loan"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def published(active_loan, decided):
    sample = active_loan.items.first().sample
    publication = Publication.objects.create(title="Isotopes of CE5", year=2026)
    PublicationUse.objects.create(publication=publication, sample=sample, loan=active_loan)
    return active_loan


def rows(client, slug):
    response = client.get(f"/transparency/{slug}.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_released_mass_per_mission_country_and_institution(client, decided):
    released = sum(Allocation.objects.values_list("mass_ug", flat=True))
    assert released == sum(DecisionItem.objects.values_list("approved_mass_ug", flat=True))
    assert released > 0
    by_mission = rows(client, "released-by-mission")
    assert [(r["mission"], int(r["mass_ug"])) for r in by_mission] == [("CE5", released)]
    by_country = rows(client, "released-by-country")
    assert sum(int(r["mass_ug"]) for r in by_country) == released
    assert {r["country"] for r in by_country} <= {"FR", "DE", "US"}
    by_institution = rows(client, "released-by-institution")
    assert sum(int(r["mass_ug"]) for r in by_institution) == released
    by_year = rows(client, "released-by-year")
    assert sum(int(r["mass_ug"]) for r in by_year) == released


def test_proposals_and_success_rate_per_call(client, decided):
    (call,) = rows(client, "calls")
    assert call["call"] == "Chang'e-5 international round"
    assert int(call["proposals"]) == 3
    approved = int(call["approved"])
    assert 1 <= approved <= 3
    assert float(call["success_pct"]) == round(100 * approved / 3, 1)


def test_times_from_decision_to_shipment_and_to_first_publication(client, published):
    (row,) = rows(client, "loan-times")
    assert row["loan"] == published.number
    assert float(row["days_to_shipment"]) >= 0
    assert float(row["days_to_publication"]) >= 0
    response = client.get("/transparency/")
    assert response.context["median_to_shipment"] == float(row["days_to_shipment"])


def test_remaining_mass_and_research_pool_duration(client, decided):
    (row,) = rows(client, "remaining")
    released = sum(Allocation.objects.values_list("mass_ug", flat=True))
    assert int(row["released_last_year_ug"]) == released
    assert float(row["research_years"]) == round(int(row["research_ug"]) / released, 1)
    assert int(row["remaining_ug"]) <= int(row["returned_ug"])


def test_the_dashboard_has_charts_tables_and_csv_links(client, published):
    response = client.get("/transparency/")
    assert response.status_code == 200
    assert len(svgs(response.text)) == 6
    assert "CE5" in texts(by_label(response.text, "Released mass per mission"))
    for slug in ["released-by-mission", "calls", "loan-times", "remaining"]:
        assert f'href="/transparency/{slug}.csv"' in response.text


def test_an_unknown_download_is_a_404(client, db):
    assert client.get("/transparency/salaries.csv").status_code == 404


def test_the_dashboard_in_chinese(client, decided):
    response = client.get("/zh-hans/transparency/")
    assert response.status_code == 200
    assert "信息公开看板" in response.text
    assert "各任务发放质量" in response.text


def test_a_long_table_shows_its_first_rows_and_the_files_hold_them_all(
    client, generated_programme, monkeypatch
):
    monkeypatch.setattr("moonvault.web.selectors.SHOWN_ROWS", 5)
    loans = rows(client, "loan-times")
    assert len(loans) > 5
    response = client.get("/transparency/")
    section = response.text.split('id="loan-times"')[1].split("</section>")[0]
    assert section.count("<tr>") == 1 + 5  # the header and five rows
    for row in loans[:5]:
        assert row["loan"] in section
    assert loans[5]["loan"] not in section
    assert f"{len(loans) - 5} more rows are in the files below." in section


def median_days(spans) -> float | None:
    days = [span.total_seconds() / 86400 for span in spans]
    return round(statistics.median(days), 1) if days else None


def test_the_medians_are_over_every_loan_not_only_the_rows_shown(
    client, generated_programme, monkeypatch
):
    monkeypatch.setattr("moonvault.web.selectors.SHOWN_ROWS", 5)
    to_shipment, to_publication = [], []
    for lent in Loan.objects.filter(proposal__decision__isnull=False).select_related(
        "proposal__decision"
    ):
        shipped = min(
            (
                s.shipped_at
                for s in lent.shipments.all()
                if s.direction == Shipment.Direction.OUTBOUND and s.shipped_at
            ),
            default=None,
        )
        published = min(
            (u.publication.recorded_at for u in lent.publications.select_related("publication")),
            default=None,
        )
        if shipped:
            to_shipment.append(shipped - lent.proposal.decision.decided_at)
        if shipped and published:
            to_publication.append(published - shipped)
    assert len(to_shipment) > 5
    response = client.get("/transparency/")
    assert response.context["median_to_shipment"] == median_days(to_shipment)
    assert response.context["median_to_publication"] == median_days(to_publication)
    assert client.get("/transparency/all.json").json()["medians"] == {
        "days_to_shipment": median_days(to_shipment),
        "days_to_publication": median_days(to_publication),
    }


def test_the_long_tables_read_only_the_rows_shown_and_count_the_rest(generated_programme):
    everything = pages.transparency_tables()
    shown = pages.transparency_tables(shown=5)
    for slug, table in everything.items():
        if slug in pages.LONG_TABLES:
            assert shown[slug].rows == table.rows[:5]
            assert shown[slug].total == len(table.rows)
        else:
            assert shown[slug].rows == table.rows
    assert len(everything["loan-times"].rows) > 5
    assert len(everything["released-by-institution"].rows) > 5


def test_the_charts_are_drawn_again_only_when_the_figures_change(client, decided, monkeypatch):
    drawn = []
    draw = charts.Figure.savefig
    monkeypatch.setattr(charts.Figure, "savefig", lambda *a, **k: drawn.append(1) or draw(*a, **k))
    charts._bar_chart.cache_clear()
    first = client.get("/transparency/").text
    count = len(drawn)
    assert count == len(svgs(first))
    assert client.get("/transparency/").text.count("<svg") == first.count("<svg")
    assert len(drawn) == count
    allocation = Allocation.objects.first()
    Allocation.objects.filter(pk=allocation.pk).update(mass_ug=allocation.mass_ug + 1)
    client.get("/transparency/")
    # Mass by mission, year, country and institution change; the calls and the remaining do not.
    assert len(drawn) == count + 4
