"""A NUL character in a path, a query parameter or a JSON string, and a number beyond 64 bits in a
path or query, are refused with a clear 400 before they can reach the database (PostgreSQL
refuses NUL in text, SQLite cannot bind such a number) as a server error."""

import json

import pytest

from moonvault.catalog.models import Sample
from moonvault.custody.selectors import ledger_head


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/samples?q=CE5%00", "q"),
        ("/api/v1/samples?text=basalt%00", "text"),
        ("/api/v1/samples/CE5%00/genealogy", "path"),
        ("/api/v1/calls?status=open%00", "status"),
    ],
)
def test_the_api_refuses_nul_naming_the_field(client, db, url, field):
    response = client.get(url)
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == [
        {"field": field, "message": f"{field} contains a NUL character, which no text may hold"}
    ]


def test_a_page_refuses_nul_in_its_filters(client, db):
    response = client.get("/samples/", {"q": "CE5\x00"})
    assert response.status_code == 400
    assert "q contains a NUL character" in response.content.decode()


def test_a_json_body_with_nul_changes_nothing(client, curator, receive, mission_ce5):
    sample = receive("CE5C0400", mission_ce5, 2_000_000)
    before = (ledger_head().seq, ledger_head().hash)
    client.force_login(curator)
    response = client.post(
        f"/api/v1/samples/{sample.identifier}/move",
        data=json.dumps({"location_code": "CAB\u0000", "reason": "shelf"}),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "body"
    assert (ledger_head().seq, ledger_head().hash) == before
    assert Sample.objects.get(pk=sample.pk).location_id == sample.location_id


def test_text_that_only_looks_like_an_escape_passes(client, db):
    # A literal backslash-u in a search is text like any other.
    assert client.get("/api/v1/samples", {"q": "\\u0000"}).status_code == 200


HUGE = "2532015918471249769011230015488"


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("post", f"/api/v1/proposals/{HUGE}/review", "proposal_id"),
        ("get", f"/api/v1/loans/{HUGE}", "loan_id"),
        ("get", f"/api/v1/samples?offset={HUGE}", "offset"),
        ("get", f"/calls/proposals/{HUGE}/", "proposal_id"),
    ],
)
def test_a_number_beyond_64_bits_is_refused_naming_the_field(client, curator, method, url, field):
    client.force_login(curator)
    response = getattr(client, method)(url)
    assert response.status_code == 400
    assert f"{field} is a number out of range" in response.content.decode()


def test_the_largest_64_bit_id_is_simply_not_found(client, db):
    assert client.get(f"/api/v1/calls/{2**63 - 1}").status_code == 404


def test_a_json_number_beyond_64_bits_is_refused(client, curator, receive, mission_ce5):
    sample = receive("CE5C0401", mission_ce5, 2_000_000)
    client.force_login(curator)
    response = client.post(
        f"/api/v1/samples/{sample.identifier}/weigh",
        data='{"mass_ug": ' + HUGE + "}",
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "field": "body",
        "message": "body holds a number out of range",
    }
