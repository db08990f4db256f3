"""Loans as CSV and JSON: the page, the API and the command give what the selectors say, to the
people who may see it, and refuse a bad filter by its name."""

import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from moonvault.loans import exports
from moonvault.loans.models import Exhibition, Loan

pytestmark = pytest.mark.django_db


def csv_rows(response) -> tuple[list[str], list[dict]]:
    text = b"".join(response.streaming_content).decode()
    reader = csv.DictReader(io.StringIO(text))
    return reader.fieldnames, list(reader)


def json_body(response) -> dict:
    return json.loads(b"".join(response.streaming_content))


def everything(**filters) -> list[dict]:
    return list(
        exports.loan_export_all(filters=exports.loan_filters(**filters), today=timezone.localdate())
    )


def test_a_curator_exports_every_loan_as_csv_with_the_documented_header(
    client, decided, active_loan, travelling
):
    client.force_login(decided.curator)
    response = client.get("/loans/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    header, rows = csv_rows(response)
    assert header == list(exports.FIELDS)
    research, exhibition = rows
    item = active_loan.items.get()
    assert research["kind"] == "research"
    assert research["number"] == active_loan.number
    assert research["status"] == Loan.Status.ACTIVE
    assert research["institution"] == active_loan.institution.name
    assert research["samples"] == "1"
    assert int(research["mass_ug"]) == item.lent_mass_ug
    assert research["return_due"] == active_loan.return_due.isoformat()
    assert exhibition["kind"] == "exhibition"
    assert exhibition["id"] == str(travelling.pk)
    assert exhibition["status"] == Exhibition.Status.TRAVELLING
    assert exhibition["country"] == "IT"
    assert exhibition["institution"] == "IAC 2024 Milan"
    assert int(exhibition["mass_ug"]) == travelling.items.get().sample.mass_ug
    assert exhibition["overdue"] == "true"
    assert exhibition["next_due"] == "2024-10-18"


def test_the_json_export_holds_what_the_selector_gives(client, decided, active_loan, travelling):
    client.force_login(decided.curator)
    body = json_body(client.get("/loans/export.json"))
    assert list(body) == ["loans"]
    assert body["loans"] == everything()
    research = body["loans"][0]
    assert list(research) == list(exports.FIELDS)
    assert isinstance(research["overdue"], bool)
    assert isinstance(research["mass_ug"], int)


def test_the_csv_and_json_of_the_api_agree(client, decided, active_loan, travelling):
    client.force_login(decided.curator)
    _, rows = csv_rows(client.get("/api/v1/exports/loans.csv"))
    loans = json_body(client.get("/api/v1/exports/loans.json"))["loans"]
    assert [r["number"] for r in rows] == [r["number"] for r in loans]
    assert [int(r["mass_ug"]) for r in rows] == [r["mass_ug"] for r in loans]
    assert [r["overdue"] == "true" for r in rows] == [r["overdue"] for r in loans]


@pytest.mark.parametrize(
    ("query", "kinds"),
    [
        ("kind=research", ["research"]),
        ("kind=exhibition", ["exhibition"]),
        ("state=active", ["research"]),
        ("state=travelling", ["exhibition"]),
        ("state=closed", []),
        ("institution=milan", ["exhibition"]),
        ("overdue=true", ["exhibition"]),
        ("overdue=false", ["research"]),
        ("kind=research&overdue=true", []),
    ],
)
def test_filters_choose_the_loans(client, decided, active_loan, travelling, query, kinds):
    client.force_login(decided.curator)
    loans = json_body(client.get(f"/api/v1/exports/loans.json?{query}"))["loans"]
    assert [r["kind"] for r in loans] == kinds


def test_the_institution_filter_matches_words_of_the_borrowers_name(client, decided, active_loan):
    client.force_login(decided.curator)
    word = active_loan.institution.name.split()[-1].lower()
    loans = json_body(client.get(f"/api/v1/exports/loans.json?institution={word}"))["loans"]
    assert [r["number"] for r in loans] == [active_loan.number]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=loanz", "kind"),
        ("state=lost", "state"),
        ("kind=research&state=on_display", "state"),
        ("overdue=maybe", "overdue"),
        ("institution=" + "x" * 201, "institution"),
        ("institution=Brown%00University", "institution"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_field(client, decided, active_loan, query, field):
    client.force_login(decided.curator)
    response = client.get(f"/api/v1/exports/loans.csv?{query}")
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == field
    assert field in error["message"]
    page = client.get(f"/loans/export.json?{query}")
    assert page.status_code == 400
    assert field in page.content.decode()


def test_anonymous_callers_are_refused(client, active_loan):
    assert client.get("/api/v1/exports/loans.csv").status_code == 401
    assert client.get("/api/v1/exports/loans.json").status_code == 401
    page = client.get("/loans/export.csv")
    assert page.status_code == 302
    assert "/login/" in page["Location"]


def test_a_borrower_gets_their_own_research_loans_only(client, decided, active_loan, travelling):
    client.force_login(decided.pi)
    loans = json_body(client.get("/api/v1/exports/loans.json"))["loans"]
    assert [(r["kind"], r["number"]) for r in loans] == [("research", active_loan.number)]
    loans = json_body(client.get("/loans/export.json?kind=exhibition"))["loans"]
    assert loans == []


@pytest.mark.parametrize("who", ["other_applicant", "committee", "reviewer"])
def test_people_who_hold_no_loan_get_an_empty_export(client, decided, active_loan, travelling, who):
    client.force_login(getattr(decided, who))
    response = client.get("/api/v1/exports/loans.csv")
    assert response.status_code == 200
    header, rows = csv_rows(response)
    assert header == list(exports.FIELDS)
    assert rows == []


def test_the_pages_link_to_the_downloads(client, decided, active_loan):
    client.force_login(decided.curator)
    page = client.get("/loans/").content.decode()
    assert 'action="/loans/export.csv"' in page
    assert 'formaction="/loans/export.json"' in page
    client.force_login(decided.pi)
    page = client.get("/loans/mine/").content.decode()
    assert 'href="/loans/export.csv"' in page
    assert 'href="/loans/export.json"' in page


def test_the_command_writes_every_loan_and_refuses_a_bad_filter(tmp_path, active_loan, travelling):
    out = tmp_path / "loans.json"
    call_command("export-loans", str(out), "--format", "json", "--overdue", "true")
    assert json.loads(out.read_text())["loans"] == everything(overdue="true")
    out = tmp_path / "loans.csv"
    call_command("export-loans", str(out), "--format", "csv", "--kind", "research")
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["number"] for r in rows] == [active_loan.number]
    with pytest.raises(CommandError, match="--kind"):
        call_command("export-loans", "--format", "csv", "--kind", "museum")


def test_the_number_of_queries_does_not_grow_with_the_loans(decided, active_loan, travelling):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            everything()
        return len(captured)

    few = queries()
    for n in range(30):
        Loan.objects.create(
            number=f"MV-2026-9{n:03d}",
            pi=active_loan.pi,
            institution=active_loan.institution,
            official_name="A. Official",
            allowed_techniques="SIMS",
            starts_on=active_loan.starts_on,
            ends_on=active_loan.ends_on,
            inventory_due=active_loan.inventory_due,
            usage_report_due=active_loan.usage_report_due,
            return_due=active_loan.return_due,
            acknowledgement="-",
            status=Loan.Status.ACTIVE,
            created_by=decided.curator,
        )
    assert len(everything()) == 32
    assert queries() == few
