"""The transparency tables as CSV and JSON, one per table and all in one: the selectors' figures,
public, on the page and in the API."""

import csv
import io

import pytest

from moonvault.allocation.models import Allocation
from moonvault.custody.selectors import ledger_head
from moonvault.web import exports
from moonvault.web import selectors as pages

pytestmark = pytest.mark.django_db


def as_json_rows(table) -> list[dict]:
    """A selector table's rows as the JSON export gives them: empty figures are null."""
    return [
        {
            c.key: None if row[c.key] == "" and c.kind != "text" else row[c.key]
            for c in table.columns
        }
        for row in table.rows
    ]


@pytest.mark.parametrize("slug", exports.SLUGS)
def test_each_table_as_json_equals_the_selector(client, active_loan, slug):
    response = client.get(f"/transparency/{slug}.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    table = pages.TRANSPARENCY_TABLES[slug]()
    assert body["slug"] == slug
    assert [c["key"] for c in body["columns"]] == [c.key for c in table.columns]
    assert body["rows"] == as_json_rows(table)
    assert client.get(f"/api/v1/statistics/{slug}.json").json() == body


@pytest.mark.parametrize("slug", exports.SLUGS)
def test_each_table_as_csv_has_the_column_keys_as_header(client, active_loan, slug):
    table = pages.TRANSPARENCY_TABLES[slug]()
    for url in (f"/transparency/{slug}.csv", f"/api/v1/statistics/{slug}.csv"):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        reader = csv.reader(io.StringIO(response.content.decode()))
        header, *rows = list(reader)
        assert header == [c.key for c in table.columns]
        assert rows == [[str(row[c.key]) for c in table.columns] for row in table.rows]


def test_released_mass_in_json_is_exact_micrograms(client, decided):
    released = sum(Allocation.objects.values_list("mass_ug", flat=True))
    body = client.get("/api/v1/statistics/released-by-mission.json").json()
    assert body["rows"] == [
        {"mission": "CE5", "mass_ug": released, "allocations": Allocation.objects.count()}
    ]


def test_a_figure_that_cannot_be_computed_is_null_in_json_and_empty_in_csv(client, loan):
    (row,) = client.get("/transparency/loan-times.json").json()["rows"]
    assert row["loan"] == loan.number
    assert row["shipped"] == ""
    assert row["days_to_shipment"] is None
    (line,) = csv.DictReader(io.StringIO(client.get("/transparency/loan-times.csv").text))
    assert line["days_to_shipment"] == ""


def test_everything_in_one_json(client, active_loan):
    response = client.get("/transparency/all.json")
    assert response.status_code == 200
    body = response.json()
    assert [t["slug"] for t in body["tables"]] == list(exports.SLUGS)
    for table in body["tables"]:
        assert table["rows"] == as_json_rows(pages.TRANSPARENCY_TABLES[table["slug"]]())
    head = ledger_head()
    assert body["ledger_head"] == {"seq": head.seq, "hash": head.hash}
    # One loan: the medians are its own days.
    (loan,) = next(t for t in body["tables"] if t["slug"] == "loan-times")["rows"]
    assert body["medians"] == {
        "days_to_shipment": loan["days_to_shipment"],
        "days_to_publication": loan["days_to_publication"],
    }
    api = client.get("/api/v1/statistics").json()
    assert api["tables"] == body["tables"]


def test_an_unknown_table_is_a_404_naming_the_field(client, db):
    assert client.get("/transparency/salaries.json").status_code == 404
    for url in ("/api/v1/statistics/salaries.json", "/api/v1/statistics/salaries.csv"):
        response = client.get(url)
        assert response.status_code == 404
        (error,) = response.json()["errors"]
        assert error["field"] == "table"
        assert "released-by-mission" in error["message"]


def test_the_page_links_every_download(client, decided):
    page = client.get("/transparency/").content.decode()
    assert 'href="/transparency/all.json"' in page
    for slug in exports.SLUGS:
        assert f'href="/transparency/{slug}.csv"' in page
        assert f'href="/transparency/{slug}.json"' in page


def test_titles_follow_the_page_language_and_keys_do_not(client, decided):
    english = client.get("/transparency/all.json").json()["tables"][0]
    chinese = client.get("/zh-hans/transparency/all.json").json()["tables"][0]
    assert chinese["title"] == "各任务发放质量"
    assert chinese["title"] != english["title"]
    assert chinese["rows"] == english["rows"]
    assert [c["key"] for c in chinese["columns"]] == [c["key"] for c in english["columns"]]
