"""The lists that grow with the programme come a page at a time.

Walking a list's pages gives each of its rows once, in the list's order, and every page gives the
same `count`; a page is counted with one COUNT; a bad `limit` or `offset` is refused naming it,
before the list is counted; and paging shows nobody more of a list than before.
"""

from datetime import date

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from moonvault.accounts.models import Role
from moonvault.accounts.services import person_create
from moonvault.calls.models import Call, CallStatus, Proposal, ProposalStatus
from moonvault.calls.selectors import call_ranking
from moonvault.core.api import MAX_PAGE
from moonvault.loans.models import (
    Exhibition,
    Incident,
    Loan,
    Publication,
    PublicationUse,
    StockCheckLine,
)
from moonvault.loans.selectors import loan_list
from moonvault.loans.services import incidents as stock
from moonvault.review.models import Assignment
from moonvault.review.selectors import declarations_due, reviewer_assignments
from tests.api.test_errors import assert_error
from tests.conftest import GRAM

pytestmark = pytest.mark.django_db

# Every list that grows with the programme, and a path to it.
PAGED = {
    "/samples": "/samples",
    "/loans": "/loans",
    "/incidents": "/incidents",
    "/exhibitions": "/exhibitions",
    "/stock-checks/{check_id}/lines": "/stock-checks/1/lines",
    "/missions/{code}/publications": "/missions/CE5/publications",
    "/samples/{identifier}/publications": "/samples/CE5C0400YJFM00505/publications",
    "/calls": "/calls",
    "/calls/{call_id}/proposals": "/calls/1/proposals",
    "/calls/{call_id}/ranking": "/calls/1/ranking",
    "/proposals": "/proposals",
    "/reviews/declarations-due": "/reviews/declarations-due",
    "/reviews/assignments": "/reviews/assignments",
}

# GET routes that answer a whole list, and why it stays short.
BOUNDED = {
    "/api/v1/missions": "one mission per sample return, a handful in all",
}


def walk(client, path: str, limit: int, **extra) -> tuple[list[dict], int]:
    """Every row of a paged list, read `limit` at a time, and the count its pages gave."""
    rows, counts, offset = [], set(), 0
    while True:
        response = client.get("/api/v1" + path, {"limit": limit, "offset": offset}, **extra)
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["limit"], body["offset"]) == (limit, offset)
        assert len(body["items"]) == min(limit, body["count"] - offset)
        counts.add(body["count"])
        rows += body["items"]
        offset += limit
        if offset >= body["count"]:
            break
    assert len(counts) == 1, f"{path}: the count changed between pages"
    past = client.get("/api/v1" + path, {"limit": limit, "offset": offset}, **extra).json()
    assert (past["count"], past["items"]) == (len(rows), [])
    return rows, counts.pop()


# --- the routes ----------------------------------------------------------------------------------


def test_every_list_that_grows_is_paged_and_the_others_are_named_with_their_bound(client):
    schema = client.get("/api/v1/openapi.json").json()
    components = schema["components"]["schemas"]
    paged, whole = set(), set()
    for path, operations in schema["paths"].items():
        answer = operations.get("get", {}).get("responses", {}).get("200", {})
        body = answer.get("content", {}).get("application/json", {}).get("schema", {})
        if body.get("type") == "array":
            whole.add(path)
        elif {"count", "limit", "offset", "items"} <= set(
            components.get(body.get("$ref", "").rsplit("/", 1)[-1], {}).get("properties", {})
        ):
            paged.add(path)
            names = {p["name"] for p in operations["get"]["parameters"]}
            assert {"limit", "offset"} <= names, path
    assert whole == set(BOUNDED)
    assert paged == {"/api/v1" + route for route in PAGED}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": MAX_PAGE + 1}, "limit"),
        ({"limit": "all"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": "next"}, "offset"),
    ],
)
@pytest.mark.parametrize("path", PAGED.values())
def test_a_bad_page_is_refused_naming_its_parameter_before_the_list_is_counted(
    client, curator, path, params, field
):
    client.force_login(curator)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1" + path, params)
    assert_error(response, 422, field)
    assert not [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]


@pytest.fixture
def applicant(institution):
    return person_create(
        username="pi", password="x-Pi-2026!", institution=institution, roles=(Role.APPLICANT,)
    ).user


# --- walking the generated programme -------------------------------------------------------------


def _busiest(rows, key: str) -> User:
    """The user who appears most often under `key`, so that their own list spans pages."""
    top = rows.values(key).annotate(n=Count("id")).order_by("-n", key).first()
    return User.objects.get(pk=top[key])


def test_a_curator_walks_every_loan_once_in_order_and_a_page_is_one_count(
    client, generated_programme
):
    curator = User.objects.get(username="gen4-curator-000001")
    client.force_login(curator)
    rows, count = walk(client, "/loans", 7)
    assert count == Loan.objects.count() > 7
    assert [r["id"] for r in rows] == [loan.pk for loan in loan_list(actor=curator)]
    with CaptureQueriesContext(connection) as queries:
        body = client.get("/api/v1/loans", {"limit": MAX_PAGE}).json()
    assert len(body["items"]) == min(MAX_PAGE, count)
    assert len([q for q in queries if "COUNT(" in q["sql"].upper()]) == 1


def test_a_pi_walks_only_their_own_loans_and_another_applicant_none(client, generated_programme):
    pi = _busiest(Loan.objects.all(), "pi")
    client.force_login(pi)
    rows, count = walk(client, "/loans", 2)
    assert count == Loan.objects.filter(pi=pi).count() > 2
    assert {r["pi_id"] for r in rows} == {pi.pk}
    assert [r["id"] for r in rows] == [loan.pk for loan in loan_list(actor=pi)]
    outsider = User.objects.filter(loans__isnull=True, username__contains="applicant").first()
    client.force_login(outsider)
    assert walk(client, "/loans", 5) == ([], 0)


def test_calls_walk_once_with_drafts_for_the_committee_only(client, generated_programme):
    public, count = walk(client, "/calls", 3)
    assert count == Call.objects.exclude(status=CallStatus.DRAFT).count()
    assert len({c["id"] for c in public}) == count
    client.force_login(User.objects.get(username="gen4-chair-000001"))
    committee, count = walk(client, "/calls", 3)
    assert count == Call.objects.count()
    assert [c["id"] for c in committee] == list(
        Call.objects.order_by("-proposals_due", "-pk").values_list("pk", flat=True)
    )


def test_the_committee_walks_a_rounds_proposals_and_ranking_once_in_order(
    client, generated_programme
):
    chair = User.objects.get(username="gen4-chair-000001")
    decided = Call.objects.get(status=CallStatus.DECIDED)
    client.force_login(chair)
    proposals, count = walk(client, f"/calls/{decided.pk}/proposals", 6)
    submitted = decided.proposals.exclude(status=ProposalStatus.DRAFT).order_by("id")
    assert count == submitted.count() > 6
    assert [r["proposal"]["id"] for r in proposals] == list(submitted.values_list("pk", flat=True))
    ranking, count = walk(client, f"/calls/{decided.pk}/ranking", 6)
    assert count > 6
    in_order = [row.entry.proposal_id for row in call_ranking(actor=chair, call_id=decided.pk)]
    assert [r["proposal_id"] for r in ranking] == in_order
    assert [r["final_rank"] for r in ranking] == sorted(r["final_rank"] for r in ranking)


def test_an_applicant_walks_only_their_own_proposals(client, generated_programme):
    pi = _busiest(Proposal.objects.all(), "pi")
    client.force_login(pi)
    rows, count = walk(client, "/proposals", 2)
    assert count == Proposal.objects.filter(pi=pi).count() > 2
    assert [r["id"] for r in rows] == list(
        Proposal.objects.filter(pi=pi).order_by("-created_at", "-id").values_list("pk", flat=True)
    )


def test_a_reviewer_walks_their_assignments_and_declarations_due_once(client, generated_programme):
    reviewer = _busiest(Assignment.objects.all(), "reviewer")
    client.force_login(reviewer)
    rows, count = walk(client, "/reviews/assignments", 4)
    assert count > 4
    assert [r["id"] for r in rows] == [a.pk for a in reviewer_assignments(reviewer=reviewer)]
    panel = Call.objects.get(status=CallStatus.REVIEW).panel.all()
    busiest = max(panel, key=lambda r: len(declarations_due(reviewer=r)))
    client.force_login(busiest)
    rows, count = walk(client, "/reviews/declarations-due", 4)
    due = [p.pk for p in declarations_due(reviewer=busiest)]
    assert count == len(due) > 4
    assert [r["proposal_id"] for r in rows] == due


# --- incidents, stock checks, exhibitions and publications ---------------------------------------


def test_a_stock_checks_lines_walk_once_by_sample_and_a_page_reads_only_its_rows(
    client, curator, applicant, receive, mission_ce5, facility, cabinet
):
    samples = [
        receive(f"CE5C0400YJFM0{n:04d}", mission_ce5, (n + 1) * GRAM) for n in range(700, 709)
    ]
    check = stock.stock_check_start(actor=curator, location_code=facility.code)
    lines = list(StockCheckLine.objects.filter(stock_check=check).order_by("sample_id"))
    stock.stock_check_record(
        actor=curator, line_id=lines[4].pk, found=True, measured_ug=samples[4].mass_ug
    )
    other = stock.stock_check_start(actor=curator, location_code=cabinet.code)
    client.force_login(curator)

    rows, count = walk(client, f"/stock-checks/{check.pk}/lines", 2)
    assert count == 9
    assert [r["id"] for r in rows] == [line.pk for line in lines]
    assert [r["identifier"] for r in rows] == [s.identifier for s in samples]
    assert (rows[4]["found"], rows[4]["measured_mass_ug"]) == (True, samples[4].mass_ug)
    assert {r["found"] for r in rows[:4] + rows[5:]} == {None}
    assert walk(client, f"/stock-checks/{other.pk}/lines", 3) == ([], 0)
    # The check itself lists no line any more.
    header = client.get(f"/api/v1/stock-checks/{check.pk}").json()
    assert header == {
        "id": check.pk,
        "location": facility.code,
        "status": "open",
        "started_at": header["started_at"],
        "closed_at": None,
    }

    with CaptureQueriesContext(connection) as few:
        client.get(f"/api/v1/stock-checks/{check.pk}/lines", {"limit": 2})
    with CaptureQueriesContext(connection) as many:
        body = client.get(f"/api/v1/stock-checks/{check.pk}/lines", {"limit": MAX_PAGE}).json()
    assert len(body["items"]) == 9 and len(many) == len(few)
    assert len([q for q in many if "COUNT(" in q["sql"].upper()]) == 1

    assert_error(client.get("/api/v1/stock-checks/999999/lines"), 404, "check")
    client.force_login(applicant)
    assert_error(client.get(f"/api/v1/stock-checks/{check.pk}/lines", {"limit": 2}), 403, None)


def test_incidents_walk_open_first_and_once_when_opened_together(client, curator, applicant):
    made = [
        Incident.objects.create(kind=Incident.Kind.SEAL_BROKEN, description=f"seal {n}")
        for n in range(7)
    ]
    Incident.objects.filter(pk__in=[i.pk for i in made[:3]]).update(status=Incident.Status.RESOLVED)
    Incident.objects.update(opened_at=made[0].opened_at)
    client.force_login(curator)
    rows, count = walk(client, "/incidents", 2)
    assert count == 7
    assert [r["status"] for r in rows] == ["open"] * 4 + ["resolved"] * 3
    assert sorted(r["id"] for r in rows) == sorted(i.pk for i in made)
    client.force_login(applicant)
    assert_error(client.get("/api/v1/incidents", {"limit": 2}), 403, None)


def test_exhibitions_starting_together_walk_once(client, curator, applicant):
    made = [
        Exhibition.objects.create(
            title="Moon rocks",
            organiser="Science museum",
            starts_on=date(2026, 10, 1),
            ends_on=date(2026, 12, 1),
            responsible_official="Li Wei",
            deputy_official="Zhang Min",
            insurance_value=1000,
            created_by=curator,
        )
        for _ in range(5)
    ]
    client.force_login(curator)
    rows, count = walk(client, "/exhibitions", 2)
    assert count == 5
    assert [r["id"] for r in rows] == sorted((e.pk for e in made), reverse=True)
    client.force_login(applicant)
    assert_error(client.get("/api/v1/exhibitions", {"limit": 2}), 403, None)


def test_the_publications_of_a_mission_and_a_sample_walk_once_for_anyone(
    client, receive, mission_ce5
):
    sample = receive("CE5C0400YJFM00505", mission_ce5, GRAM)
    other = receive("CE5C0400YJFM00506", mission_ce5, GRAM)
    for n in range(5):
        publication = Publication.objects.create(title="Young basalts", year=2021)
        PublicationUse.objects.create(publication=publication, sample=sample)
        if n % 2:
            PublicationUse.objects.create(publication=publication, sample=other)
    rows, count = walk(client, "/missions/CE5/publications", 2)
    assert count == 5
    newest_first = list(Publication.objects.order_by("-pk").values_list("pk", flat=True))
    assert [r["id"] for r in rows] == newest_first
    rows, count = walk(client, f"/samples/{other.identifier}/publications", 1)
    assert [r["id"] for r in rows] == newest_first[1::2]
