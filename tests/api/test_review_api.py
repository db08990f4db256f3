"""Conflicts, assignments, reviews and the ranking through the API."""

import pytest

from moonvault.accounts.models import ApiToken
from moonvault.review import services as review
from moonvault.review.models import Assignment, ConflictDeclaration
from tests.api.rounds_conftest import (
    CONFIDENTIAL,
    TO_APPLICANT,
    bearer,
    login,
    rounds_in_one_transaction,
)
from tests.api.test_errors import assert_error

pytestmark = pytest.mark.django_db

rounds = pytest.fixture(scope="module")(rounds_in_one_transaction)

REVIEW = {
    "merit": 3,
    "feasibility": 4,
    "justification": 2,
    "comments_to_applicant": "Ask for less mass.",
    "comments_to_committee": "SECOND-OPINION-CONFIDENTIAL",
}


def post(client, path, body=None, method="post"):
    return getattr(client, method)(f"/api/v1{path}", body or {}, content_type="application/json")


# --- before review: title and team, and the declaration ----------------------------------------


def test_the_team_view_shows_the_title_and_team_and_nothing_more(client, rounds):
    login(client, rounds.users["reviewer"])
    body = client.get(f"/api/v1/proposals/{rounds.proposals['under_review'].pk}/team-view").json()
    assert set(body) == {"proposal_id", "title", "team"}
    assert body["title"] == "TITLE-review"
    assert body["team"] == [{"name": "Astrid Lindqvist", "institution": "", "country": "PI"}]


def test_declarations_due_leave_out_automatic_conflicts_and_declared_ones(client, rounds):
    login(client, rounds.users["reviewer"])
    due = {d["title"] for d in client.get("/api/v1/reviews/declarations-due").json()["items"]}
    assert due == {"TITLE-submitted", "TITLE-review"}
    login(client, rounds.users["auto_conflicted"])
    assert client.get("/api/v1/reviews/declarations-due").json()["items"] == []
    login(client, rounds.users["declared_conflicted"])
    assert client.get("/api/v1/reviews/declarations-due").json()["items"] == []


def test_declaring_a_conflict_needs_a_reason_and_happens_once(client, rounds):
    login(client, rounds.users["reviewer"])
    path = f"/proposals/{rounds.proposals['under_review'].pk}/conflict"
    assert_error(post(client, path, {"conflicted": True, "reason": ""}), 400, "reason")
    response = post(client, path, {"conflicted": False})
    assert response.status_code == 201
    assert response.json()["conflicted"] is False
    assert_error(
        post(client, path, {"conflicted": True, "reason": "changed my mind"}), 409, "proposal"
    )


def test_a_declaration_body_without_its_answer_is_422(client, rounds):
    login(client, rounds.users["reviewer"])
    path = f"/proposals/{rounds.proposals['under_review'].pk}/conflict"
    assert_error(post(client, path, {"reason": "maybe"}), 422, "conflicted")
    assert not ConflictDeclaration.objects.filter(reviewer=rounds.users["reviewer"]).exists()


# --- assignments -------------------------------------------------------------------------------


def test_the_chair_assigns_and_the_reviewer_sees_the_assignment(client, rounds):
    proposal = rounds.proposals["under_review"]
    login(client, rounds.users["committee"])
    response = post(
        client,
        f"/calls/{rounds.calls['review'].pk}/assignments",
        {"proposal_id": proposal.pk, "reviewer_id": rounds.reviewer2.pk},
    )
    assert response.status_code == 201
    assert response.json()["reviewer"] == "rev_tanaka"
    login(client, rounds.reviewer2)
    (mine,) = client.get("/api/v1/reviews/assignments").json()["items"]
    assert (mine["proposal_id"], mine["title"], mine["reviewed"]) == (
        proposal.pk,
        "TITLE-review",
        False,
    )


@pytest.mark.parametrize("who", ["auto_conflicted", "declared_conflicted"])
def test_a_conflicted_reviewer_is_never_assigned(client, rounds, who):
    login(client, rounds.users["committee"])
    response = post(
        client,
        f"/calls/{rounds.calls['review'].pk}/assignments",
        {"proposal_id": rounds.proposals["under_review"].pk, "reviewer_id": rounds.users[who].pk},
    )
    assert_error(response, 409, "reviewer")
    assert not Assignment.objects.filter(reviewer=rounds.users[who]).exists()


def test_a_proposal_named_under_another_call_is_404(client, rounds):
    login(client, rounds.users["committee"])
    response = post(
        client,
        f"/calls/{rounds.calls['open'].pk}/assignments",
        {"proposal_id": rounds.proposals["under_review"].pk, "reviewer_id": rounds.reviewer2.pk},
    )
    assert_error(response, 404, "proposal_id")


def test_only_the_chair_assigns(client, rounds):
    login(client, rounds.member)
    response = post(
        client,
        f"/calls/{rounds.calls['review'].pk}/assignments",
        {"proposal_id": rounds.proposals["under_review"].pk, "reviewer_id": rounds.reviewer2.pk},
    )
    assert_error(response, 403, None)
    assert_error(client.delete(f"/api/v1/assignments/{rounds.assignment.pk}"), 403, None)


def test_the_chair_completes_the_assignment_with_the_optimizer(client, rounds):
    proposal = rounds.proposals["under_review"]
    login(client, rounds.users["committee"])
    response = post(client, f"/calls/{rounds.calls['review'].pk}/assignments/run")
    assert response.status_code == 201, response.content
    (made,) = response.json()
    assert (made["proposal_id"], made["reviewer"], made["source"]) == (
        proposal.pk,
        "rev_tanaka",
        "optimizer",
    )
    assert set(proposal.assignments.values_list("reviewer__username", flat=True)) == {
        rounds.users["reviewer"].username,
        "rev_tanaka",
    }


def test_only_the_chair_runs_the_assignment_and_not_with_a_read_only_token(client, rounds):
    path = f"/api/v1/calls/{rounds.calls['review'].pk}/assignments/run"
    before = Assignment.objects.count()
    login(client, rounds.member)
    assert_error(client.post(path, {}, content_type="application/json"), 403, None)
    read_only = bearer(rounds.users["committee"], ApiToken.Scope.READ)
    response = client.post(path, {}, content_type="application/json", **read_only)
    assert_error(response, 403, "scope")
    assert Assignment.objects.count() == before


def test_running_the_assignment_refuses_bad_input_and_a_call_out_of_review(client, rounds):
    login(client, rounds.users["committee"])
    path = f"/calls/{rounds.calls['review'].pk}/assignments/run"
    assert_error(post(client, path, {"fairness": "sometimes"}), 422, "fairness")
    before = Assignment.objects.count()
    assert_error(post(client, f"/calls/{rounds.calls['open'].pk}/assignments/run"), 409, "status")
    assert Assignment.objects.count() == before


# --- reviews -----------------------------------------------------------------------------------


def test_the_assigned_reviewer_reads_the_full_proposal(client, rounds):
    login(client, rounds.users["reviewer"])
    body = client.get(f"/api/v1/proposals/{rounds.proposals['under_review'].pk}/for-review").json()
    assert body["abstract"] == "ABSTRACT-review"
    assert body["methods"][0]["technique"] == "NanoSIMS"
    assert "feedback" not in body


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"merit": 6}, 400, "merit"),
        ({"feasibility": 0}, 400, "feasibility"),
        ({"justification": "good"}, 422, "justification"),
        ({"comments_to_applicant": "  "}, 400, "comments_to_applicant"),
    ],
)
def test_a_bad_review_is_refused_naming_the_field(client, rounds, changes, status, field):
    login(client, rounds.users["reviewer"])
    path = f"/proposals/{rounds.proposals['under_review'].pk}/review"
    assert_error(post(client, path, {**REVIEW, **changes}), status, field)
    assert not hasattr(Assignment.objects.get(pk=rounds.assignment.pk), "review")


def test_other_reviews_are_hidden_until_my_own_is_submitted(client, rounds):
    proposal = rounds.proposals["under_review"]
    chair, reviewer = rounds.users["committee"], rounds.users["reviewer"]
    review.assignment_add(actor=chair, proposal_id=proposal.pk, reviewer_id=rounds.reviewer2.pk)
    review.review_submit(
        actor=rounds.reviewer2,
        proposal_id=proposal.pk,
        merit=5,
        feasibility=5,
        justification=4,
        comments_to_applicant=f"{TO_APPLICANT} from the second reviewer",
        comments_to_committee=CONFIDENTIAL,
    )
    login(client, reviewer)
    path = f"/api/v1/proposals/{proposal.pk}/reviews"
    assert client.get(path).json() == {
        "proposal_id": proposal.pk,
        "reviews": [],
        "committee_reviews": [],
    }
    submitted = post(client, f"/proposals/{proposal.pk}/review", REVIEW)
    assert submitted.status_code == 201
    assert submitted.json()["comments_to_committee"] == "SECOND-OPINION-CONFIDENTIAL"
    body = client.get(path).json()
    assert [(r["merit"], r["mine"]) for r in body["reviews"]] == [(5, False), (3, True)]
    assert CONFIDENTIAL not in str(body) and "SECOND-OPINION" not in str(body)
    assert "rev_tanaka" not in str(body) and "Tanaka" not in str(body)
    assert_error(post(client, f"/proposals/{proposal.pk}/review", REVIEW), 409, "proposal")


def test_the_committee_reads_every_review_with_names_and_confidential_comments(client, rounds):
    login(client, rounds.users["committee"])
    body = client.get(f"/api/v1/proposals/{rounds.proposals['ranked'].pk}/reviews").json()
    assert body["reviews"] == []
    (only,) = body["committee_reviews"]
    assert only["reviewer"] == "rev_okafor"
    assert only["comments_to_committee"].startswith(CONFIDENTIAL)
    assert only["overall"] == 4.0


# --- ranking -----------------------------------------------------------------------------------


def test_the_ranking_shows_means_spread_and_reviews(client, rounds):
    login(client, rounds.users["committee"])
    (row,) = client.get(f"/api/v1/calls/{rounds.calls['ranking'].pk}/ranking").json()["items"]
    assert row["title"] == "TITLE-ranked"
    assert (row["computed_rank"], row["final_rank"]) == (1, 1)
    assert (row["raw_mean"], row["corrected_mean"], row["spread"]) == (4.0, 4.0, 0.0)
    assert row["reviews"][0]["comments_to_committee"].startswith(CONFIDENTIAL)


def test_the_ranking_is_empty_before_the_call_reaches_ranking(client, rounds):
    login(client, rounds.users["committee"])
    body = client.get(f"/api/v1/calls/{rounds.calls['review'].pk}/ranking").json()
    assert (body["count"], body["items"]) == (0, [])


def test_the_final_order_must_list_every_ranked_proposal_once(client, rounds):
    login(client, rounds.users["committee"])
    path = f"/calls/{rounds.calls['ranking'].pk}/ranking"
    ranked = rounds.proposals["ranked"].pk
    assert_error(post(client, path, {"order": []}, "put"), 400, "order")
    assert_error(post(client, path, {"order": [ranked, ranked]}, "put"), 400, "order")
    assert_error(post(client, path, {"order": "first"}, "put"), 422, "order")
    (entry,) = post(client, path, {"order": [ranked]}, "put").json()
    assert (entry["proposal_id"], entry["final_rank"]) == (ranked, 1)


def test_the_ranking_cannot_be_set_outside_ranking(client, rounds):
    login(client, rounds.users["committee"])
    path = f"/calls/{rounds.calls['review'].pk}/ranking"
    assert_error(post(client, path, {"order": []}, "put"), 409, "status")
