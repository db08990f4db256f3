"""Calls and proposals through the API: what each answer holds, and how bad input is refused."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from moonvault.calls import services as calls
from moonvault.calls.models import Call, CallStatus, Proposal, ProposalStatus
from tests.api.rounds_conftest import (
    CONFIDENTIAL,
    MG,
    TO_APPLICANT,
    bearer,
    login,
    pdf_upload,
    rounds_in_one_transaction,
)
from tests.api.test_errors import assert_error
from tests.conftest import GRAM

pytestmark = pytest.mark.django_db

rounds = pytest.fixture(scope="module")(rounds_in_one_transaction)


def post(client, path, body=None, method="post"):
    return getattr(client, method)(f"/api/v1{path}", body or {}, content_type="application/json")


def new_call_body(**changes) -> dict:
    soon = timezone.now() + timedelta(days=20)
    return {
        "title": "Chang'e-5 round 3",
        "missions": ["CE5"],
        "pools": ["research"],
        "forms": ["scooped_regolith"],
        "release_budget_ug": 5 * GRAM,
        "per_proposal_cap_ug": GRAM // 2,
        "proposals_due": soon.isoformat(),
        "review_due": (soon + timedelta(days=30)).date().isoformat(),
        "decision_due": (soon + timedelta(days=60)).date().isoformat(),
        **changes,
    }


@pytest.fixture
def draft_call(rounds):
    soon = timezone.now() + timedelta(days=20)
    return calls.call_create(
        actor=rounds.users["committee"],
        title="DRAFT-CALL",
        missions=["CE5"],
        pools=["research"],
        forms=["powder"],
        release_budget_ug=GRAM,
        per_proposal_cap_ug=GRAM,
        proposals_due=soon,
        review_due=(soon + timedelta(days=30)).date(),
        decision_due=(soon + timedelta(days=60)).date(),
    )


# --- public reads ------------------------------------------------------------------------------


def test_the_public_list_shows_open_and_past_calls_but_no_draft(client, rounds, draft_call):
    titles = [c["title"] for c in client.get("/api/v1/calls").json()["items"]]
    assert sorted(titles) == sorted(c.title for c in rounds.calls.values())
    assert "DRAFT-CALL" not in titles
    assert_error(client.get(f"/api/v1/calls/{draft_call.pk}"), 404, "call")


@pytest.mark.parametrize("by", ["session", "token"])
def test_the_committee_sees_drafts_by_session_or_token(client, rounds, draft_call, by):
    chair = rounds.users["committee"]
    extra = bearer(chair) if by == "token" else {}
    if by == "session":
        login(client, chair)
    titles = [c["title"] for c in client.get("/api/v1/calls", **extra).json()["items"]]
    assert "DRAFT-CALL" in titles
    assert client.get(f"/api/v1/calls/{draft_call.pk}", **extra).json()["status"] == "draft"


def test_a_call_shows_what_it_offers_and_its_dates(client, rounds):
    call = rounds.calls["open"]
    body = client.get(f"/api/v1/calls/{call.pk}").json()
    assert body["missions"] == ["CE5"]
    assert body["pools"] == ["research"]
    assert body["forms"] == ["scooped_regolith"]
    assert body["per_proposal_cap_ug"] == GRAM
    assert body["status"] == "open"
    assert "panel" not in body


def test_the_outcome_of_a_decided_call_is_in_aggregate(client, rounds):
    body = client.get(f"/api/v1/calls/{rounds.calls['decided'].pk}/outcome").json()
    assert body["proposals"] == 1
    assert (body["approved"], body["partially_approved"], body["declined"]) == (0, 1, 0)
    assert body["released_mass_ug"] == 300 * MG
    assert body["released"] == "300 mg"
    assert body["institutions"] == [
        {
            "name": "Freie Universität Berlin",
            "country": "DE",
            "approved": 1,
            "released_mass_ug": 300 * MG,
        }
    ]
    assert body["countries"] == [
        {"country": "DE", "proposals": 1, "approved": 1, "released_mass_ug": 300 * MG}
    ]
    assert "TITLE-decided" not in str(body)


@pytest.mark.parametrize("stage", ["open", "review", "ranking"])
def test_the_outcome_waits_for_the_decision(client, rounds, stage):
    assert_error(client.get(f"/api/v1/calls/{rounds.calls[stage].pk}/outcome"), 409, "call")


def test_an_unknown_call_is_404(client, rounds):
    assert_error(client.get("/api/v1/calls/987654"), 404, "call")


# --- the committee -----------------------------------------------------------------------------


def test_creating_a_call_makes_a_draft_chaired_by_its_creator(client, rounds):
    chair = rounds.users["committee"]
    login(client, chair)
    response = post(client, "/calls", new_call_body(panel=[rounds.users["reviewer"].pk]))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft"
    assert body["chair_id"] == chair.pk
    assert body["panel"] == [rounds.users["reviewer"].pk]
    assert Call.objects.get(pk=body["id"]).created_by == chair


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"per_proposal_cap_ug": 6 * GRAM}, 400, "per_proposal_cap_ug"),
        ({"release_budget_ug": -1}, 400, "release_budget_ug"),
        ({"missions": ["CE9"]}, 400, "missions"),
        ({"forms": ["cheese"]}, 400, "forms"),
        ({"release_budget_ug": "plenty"}, 422, "release_budget_ug"),
        ({"proposals_due": "next week"}, 422, "proposals_due"),
        ({"panel": [987654]}, 404, "panel"),
    ],
)
def test_a_bad_call_is_refused_naming_the_field(client, rounds, changes, status, field):
    login(client, rounds.users["committee"])
    before = Call.objects.count()
    assert_error(post(client, "/calls", new_call_body(**changes)), status, field)
    assert Call.objects.count() == before


def test_a_call_body_missing_its_dates_is_422(client, rounds):
    login(client, rounds.users["committee"])
    body = new_call_body()
    del body["review_due"]
    assert_error(post(client, "/calls", body), 422, "review_due")


def test_a_panel_member_must_be_a_reviewer(client, rounds):
    login(client, rounds.users["committee"])
    path = f"/calls/{rounds.calls['open'].pk}/panel"
    assert_error(
        post(client, path, {"reviewer_ids": [rounds.users["pi"].pk]}, "put"), 400, "reviewer_ids"
    )


def test_a_transition_records_who_when_and_why(client, rounds):
    login(client, rounds.users["committee"])
    path = f"/calls/{rounds.calls['open'].pk}/transition"
    body = post(client, path, {"to_status": "closed", "reason": "enough proposals"}).json()
    assert body["status"] == "closed"
    last = body["transitions"][-1]
    assert (last["from_status"], last["to_status"]) == ("open", "closed")
    assert (last["actor"], last["reason"]) == ("chair_wang", "enough proposals")


def test_a_transition_out_of_order_is_409_and_changes_nothing(client, rounds):
    login(client, rounds.users["committee"])
    call = rounds.calls["open"]
    body = assert_error(
        post(client, f"/calls/{call.pk}/transition", {"to_status": "decided"}), 409, "status"
    )
    assert "closed" in body["detail"].lower()
    call.refresh_from_db()
    assert call.status == CallStatus.OPEN


def test_an_extension_needs_a_reason(client, rounds):
    login(client, rounds.users["committee"])
    later = (timezone.now() + timedelta(days=40)).isoformat()
    path = f"/calls/{rounds.calls['open'].pk}/extend"
    assert_error(post(client, path, {"proposals_due": later, "reason": " "}), 400, "reason")
    body = post(client, path, {"proposals_due": later, "reason": "courier strike"}).json()
    assert body["transitions"][-1]["action"] == "extend deadline"


def test_screening_gives_each_rule_with_its_reason(client, rounds):
    login(client, rounds.users["committee"])
    response = post(client, f"/calls/{rounds.calls['screening'].pk}/screen")
    (screening,) = response.json()
    assert {c["rule"] for c in screening["checks"]} == {
        "offered",
        "mass_cap",
        "obligations",
        "complete",
    }
    assert screening["automatic_eligible"] is True
    assert all(c["message"] for c in screening["checks"])


def test_overriding_the_automatic_screening_needs_a_reason(client, rounds):
    login(client, rounds.users["committee"])
    path = f"/proposals/{rounds.proposals['submitted'].pk}/screening"
    assert_error(post(client, path, {"eligible": False}), 400, "reason")
    body = post(client, path, {"eligible": False, "reason": "not a research body"}).json()
    assert (body["eligible"], body["decided_by"]) == (False, "chair_wang")
    assert Proposal.objects.get(pk=body["proposal_id"]).status == ProposalStatus.INELIGIBLE


def test_returning_a_proposal_needs_a_reason(client, rounds):
    login(client, rounds.users["committee"])
    path = f"/proposals/{rounds.proposals['submitted'].pk}/return"
    assert_error(post(client, path, {"reason": ""}), 400, "reason")
    assert post(client, path, {"reason": "add a data plan"}).json()["status"] == "returned"


def test_the_committee_sees_screening_assignments_and_figures(client, rounds):
    login(client, rounds.users["committee"])
    (row,) = client.get(f"/api/v1/calls/{rounds.calls['ranking'].pk}/proposals").json()["items"]
    assert row["proposal"]["title"] == "TITLE-ranked"
    assert (row["pi"], row["country"]) == ("Astrid Lindqvist", "DE")
    assert row["screening"]["eligible"] is True
    assert [a["reviewer"] for a in row["assignments"]] == ["rev_okafor"]
    assert row["assignments"][0]["reviewed"] is True
    assert row["figures"] == {"raw_mean": 4.0, "corrected_mean": 4.0, "spread": 0.0, "reviews": 1}
    assert row["rank"] == {"computed_rank": 1, "final_rank": 1, "reason": ""}
    assert row["decision"] is None


def test_the_committee_view_leaves_out_drafts(client, rounds):
    login(client, rounds.users["committee"])
    body = client.get(f"/api/v1/calls/{rounds.calls['open'].pk}/proposals").json()
    assert (body["count"], body["items"]) == (0, [])


def test_a_decision_sets_the_outcome_from_the_approved_masses(client, rounds):
    login(client, rounds.users["committee"])
    proposal = rounds.proposals["ranked"]
    item = proposal.items.get().pk
    path = f"/proposals/{proposal.pk}/decision"
    assert_error(post(client, path, {"approved": {item: 0}}), 400, f"reasons.{item}")
    assert_error(post(client, path, {"approved": {item: 100 * MG}}), 400, f"approved.{item}")
    assert_error(post(client, path, {"approved": {item: 900 * MG}}), 400, f"approved.{item}")
    assert_error(post(client, path, {"approved": {"first": 1}}), 422, "approved.first.[key]")
    body = post(
        client,
        path,
        {"approved": {item: 250 * MG}, "reasons": {item: "ranked 3 of 5"}, "comment": "Well done"},
    ).json()
    assert body["outcome"] == "partially_approved"
    assert body["items"] == [
        {
            "item_id": item,
            "approved_mass_ug": 250 * MG,
            "approved_units": 0,
            "reason": "ranked 3 of 5",
        }
    ]


# --- the applicant -----------------------------------------------------------------------------


def test_an_applicant_drafts_and_submits_a_proposal_step_by_step(client, rounds):
    login(client, rounds.users["other"])
    call = rounds.calls["open"].pk
    created = post(client, f"/calls/{call}/proposals", {"title": "Ilmenite and helium-3"})
    assert created.status_code == 201
    proposal = created.json()
    assert {p["field"] for p in proposal["problems"]} >= {"abstract", "methods", "items"}
    path = f"/proposals/{proposal['id']}"
    patched = post(
        client,
        path,
        {"abstract": "He-3 in ilmenite.", "science_case": "Why.", "data_sharing_plan": "Open."},
        "patch",
    ).json()
    assert patched["title"] == "Ilmenite and helium-3"
    member = {"name": "Li Na", "country": "cn", "institution_name": "NAOC"}
    assert post(client, f"{path}/team", member).json()["country"] == "CN"
    method = {"technique": "noble gas MS", "destructive": True, "mass_ug": 40 * MG}
    assert post(client, f"{path}/methods", method).status_code == 201
    item = {
        "mission": "CE5",
        "pool": "research",
        "form": "scooped_regolith",
        "requested_mass_ug": 80 * MG,
        "minimum_mass_ug": 40 * MG,
    }
    assert post(client, f"{path}/items", item).json()["requested_mass_ug"] == 80 * MG
    doi = post(client, f"{path}/dois", {"doi": "https://doi.org/10.1126/SCIENCE.abl7957"})
    assert doi.json()["doi"] == "10.1126/science.abl7957"
    attachment = client.post(f"/api/v1{path}/attachments", {"file": pdf_upload("case.pdf")})
    assert attachment.json()["name"] == "case.pdf"
    submitted = post(client, f"{path}/submit").json()
    assert (submitted["status"], submitted["problems"]) == ("submitted", [])
    assert_error(post(client, path, {"title": "Late change"}, "patch"), 409, "proposal")


def test_submitting_an_incomplete_proposal_names_every_missing_field(client, rounds):
    login(client, rounds.users["other"])
    proposal = post(client, f"/calls/{rounds.calls['open'].pk}/proposals").json()
    body = assert_error(post(client, f"/proposals/{proposal['id']}/submit"), 400, "title")
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"title", "abstract", "science_case", "data_sharing_plan", "methods", "items"}


@pytest.mark.parametrize(
    ("item", "status", "field"),
    [
        ({"pool": "permanent"}, 400, "pool"),
        ({"mission": "A17"}, 404, "mission"),
        ({"minimum_mass_ug": 900 * MG}, 400, "minimum_mass_ug"),
        ({"requested_mass_ug": 2 * GRAM}, 400, "requested_mass_ug"),
        ({"requested_mass_ug": 1.5}, 422, "requested_mass_ug"),
    ],
)
def test_a_bad_item_is_refused_naming_the_field(client, rounds, item, status, field):
    login(client, rounds.users["pi"])
    draft = rounds.proposals["draft"]
    body = {
        "mission": "CE5",
        "pool": "research",
        "form": "scooped_regolith",
        "requested_mass_ug": 500 * MG,
        "minimum_mass_ug": 100 * MG,
        **item,
    }
    assert_error(post(client, f"/proposals/{draft.pk}/items", body), status, field)
    assert draft.items.count() == 1


def test_only_a_pdf_can_be_attached(client, rounds):
    login(client, rounds.users["pi"])
    path = f"/api/v1/proposals/{rounds.proposals['draft'].pk}/attachments"
    fake = SimpleUploadedFile("case.pdf", b"MZ\x90\x00 a program", content_type="application/pdf")
    assert_error(client.post(path, {"file": fake}), 400, "file")
    assert_error(client.post(path, {}), 422, "file")


def test_my_proposals_are_mine_only(client, rounds):
    login(client, rounds.users["other"])
    assert client.get("/api/v1/proposals").json()["items"] == []
    login(client, rounds.users["pi"])
    titles = {p["title"] for p in client.get("/api/v1/proposals").json()["items"]}
    assert titles == {p.title for p in rounds.proposals.values()}


def test_the_pi_sees_the_decision_the_reasons_and_the_comments_meant_for_them(client, rounds):
    login(client, rounds.users["pi"])
    proposal = rounds.proposals["decided"]
    body = client.get(f"/api/v1/proposals/{proposal.pk}").json()
    feedback = body["feedback"]
    assert feedback["outcome"] == "partially_approved"
    assert feedback["comment"] == "Approved in part."
    assert feedback["items"] == [
        {
            "item_id": proposal.items.get().pk,
            "approved_mass_ug": 300 * MG,
            "approved_units": 0,
            "reason": "ranked 2 of 2; 0.2 g of the research pool was left",
        }
    ]
    assert feedback["reviewer_comments"] == [f"{TO_APPLICANT}: a clear science case."]
    assert CONFIDENTIAL not in str(body)
    assert "rev_okafor" not in str(body) and "Okafor" not in str(body)


def test_no_feedback_before_the_decision(client, rounds):
    login(client, rounds.users["pi"])
    body = client.get(f"/api/v1/proposals/{rounds.proposals['ranked'].pk}").json()
    assert body["feedback"] is None
    assert TO_APPLICANT not in str(body)


def test_a_withdrawn_proposal_stays_withdrawn(client, rounds):
    login(client, rounds.users["pi"])
    path = f"/proposals/{rounds.proposals['under_review'].pk}/withdraw"
    assert post(client, path, {"reason": "moved"}).json()["status"] == "withdrawn"
    assert_error(post(client, path, {}), 409, "proposal")


def test_a_decided_proposal_cannot_be_withdrawn(client, rounds):
    login(client, rounds.users["pi"])
    path = f"/proposals/{rounds.proposals['decided'].pk}/withdraw"
    assert_error(post(client, path, {}), 409, "proposal")


def test_removing_a_part_of_another_proposal_is_404(client, rounds):
    login(client, rounds.users["pi"])
    other_item = rounds.proposals["submitted"].items.get().pk
    path = f"/api/v1/proposals/{rounds.proposals['draft'].pk}/items/{other_item}"
    assert_error(client.delete(path), 404, "part_id")
