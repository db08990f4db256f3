"""Who may do what on every route of the allocation rounds.

The table gives the exact status each role gets on each route, in the column order of ROLES.
A proposal someone may not see is reported as absent (404), never as forbidden.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from moonvault.accounts.models import ApiToken
from tests.api.rounds_conftest import (
    CONFIDENTIAL,
    MG,
    ROLES,
    TO_APPLICANT,
    bearer,
    login,
    pdf_upload,
    rounds_in_one_transaction,
)
from tests.api.test_errors import assert_error

pytestmark = pytest.mark.django_db


rounds = pytest.fixture(scope="module")(rounds_in_one_transaction)


LATER = (timezone.now() + timedelta(days=45)).isoformat()
NEW_CALL = {
    "title": "Chang'e-5 round 3",
    "missions": ["CE5"],
    "pools": ["research"],
    "forms": ["scooped_regolith"],
    "release_budget_ug": 5_000_000,
    "per_proposal_cap_ug": 500_000,
    "proposals_due": LATER,
    "review_due": (timezone.now() + timedelta(days=80)).date().isoformat(),
    "decision_due": (timezone.now() + timedelta(days=100)).date().isoformat(),
}
REVIEW = {
    "merit": 4,
    "feasibility": 4,
    "justification": 5,
    "comments_to_applicant": "Convincing.",
    "comments_to_committee": "",
}
ITEM = {
    "mission": "CE5",
    "pool": "research",
    "form": "scooped_regolith",
    "requested_mass_ug": 100 * MG,
    "minimum_mass_ug": 50 * MG,
}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    statuses: tuple[int, ...]
    body: object = None  # a dict, or a function of the ids; "pdf" for a multipart upload

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def send(client, route: Route, ids: dict, **extra):
    path = "/api/v1" + route.path.format(**ids)
    body = route.body(ids) if callable(route.body) else route.body
    if body == "pdf":
        return client.post(path, {"file": pdf_upload()}, **extra)
    call = getattr(client, route.method.lower())
    if route.method == "GET":
        return call(path, **extra)
    return call(path, body or {}, content_type="application/json", **extra)


# fmt: off
# Columns follow ROLES: anonymous, pi, other applicant, reviewer (assigned), automatically
# conflicted reviewer, reviewer who declared a conflict, committee (the chair), curator.
#                 anon  pi   other rev  auto decl comm cur
PUBLIC =         (200,  200, 200,  200, 200, 200, 200, 200)
COMMITTEE =      (401,  403, 403,  403, 403, 403, 200, 403)
COMMITTEE_NEW =  (401,  403, 403,  403, 403, 403, 201, 403)
COMMITTEE_GONE = (401,  403, 403,  403, 403, 403, 204, 403)
APPLY =          (401,  201, 201,  403, 403, 403, 403, 403)
ANY_USER =       (401,  200, 200,  200, 200, 200, 200, 200)
PI_ONLY =        (401,  200, 404,  404, 404, 404, 404, 404)
PI_NEW =         (401,  201, 404,  404, 404, 404, 404, 404)
PI_GONE =        (401,  204, 404,  404, 404, 404, 404, 404)
REVIEWERS =      (401,  403, 403,  200, 200, 200, 403, 403)
UNCONFLICTED =   (401,  404, 404,  200, 404, 404, 404, 404)
DECLARE =        (401,  403, 403,  201, 404, 409, 403, 403)
REVIEW_SUBMIT =  (401,  403, 403,  201, 404, 404, 403, 403)
REVIEWS =        (401,  404, 404,  200, 404, 404, 200, 404)

ROUTES = [
    # public reads
    Route("GET", "/calls", PUBLIC),
    Route("GET", "/calls/{open_call}", PUBLIC),
    Route("GET", "/calls/{decided_call}/outcome", PUBLIC),
    # the committee
    Route("POST", "/calls", COMMITTEE_NEW, NEW_CALL),
    Route("POST", "/calls/{open_call}/transition", COMMITTEE,
          {"to_status": "closed", "reason": "early"}),
    Route("POST", "/calls/{open_call}/extend", COMMITTEE,
          {"proposals_due": LATER, "reason": "strike"}),
    Route("PUT", "/calls/{open_call}/panel", COMMITTEE,
          lambda i: {"reviewer_ids": [i["reviewer_id"]]}),
    Route("POST", "/calls/{screening_call}/screen", COMMITTEE),
    Route("POST", "/proposals/{submitted}/screening", COMMITTEE, {"eligible": True}),
    Route("POST", "/proposals/{submitted}/return", COMMITTEE, {"reason": "add a data plan"}),
    Route("GET", "/calls/{review_call}/proposals", COMMITTEE),
    Route("GET", "/calls/{ranking_call}/ranking", COMMITTEE),
    Route("PUT", "/calls/{ranking_call}/ranking", COMMITTEE, lambda i: {"order": [i["ranked"]]}),
    Route("POST", "/proposals/{ranked}/decision", COMMITTEE,
          lambda i: {"approved": {i["ranked_item"]: 500 * MG}}),
    Route("POST", "/calls/{review_call}/assignments", COMMITTEE_NEW,
          lambda i: {"proposal_id": i["under_review"], "reviewer_id": i["reviewer2"]}),
    Route("POST", "/calls/{review_call}/assignments/run", COMMITTEE_NEW, {"fairness": False}),
    Route("DELETE", "/assignments/{assignment}", COMMITTEE_GONE),
    # the applicant
    Route("POST", "/calls/{open_call}/proposals", APPLY, {"title": "Helium-3 in ilmenite"}),
    Route("GET", "/proposals", ANY_USER),
    Route("GET", "/proposals/{draft}", PI_ONLY),
    Route("PATCH", "/proposals/{draft}", PI_ONLY, {"keywords": "ilmenite"}),
    Route("POST", "/proposals/{draft}/team", PI_NEW,
          {"name": "Li Na", "country": "CN", "institution_name": "NAOC"}),
    Route("DELETE", "/proposals/{draft}/team/{team_member}", PI_GONE),
    Route("POST", "/proposals/{draft}/methods", PI_NEW,
          {"technique": "EPMA", "destructive": False, "mass_ug": 0}),
    Route("DELETE", "/proposals/{draft}/methods/{method}", PI_GONE),
    Route("POST", "/proposals/{draft}/items", PI_NEW, ITEM),
    Route("DELETE", "/proposals/{draft}/items/{item}", PI_GONE),
    Route("POST", "/proposals/{draft}/dois", PI_NEW, {"doi": "https://doi.org/10.1126/science.abl7957"}),
    Route("DELETE", "/proposals/{draft}/dois/{doi}", PI_GONE),
    Route("POST", "/proposals/{draft}/attachments", PI_NEW, "pdf"),
    Route("DELETE", "/proposals/{draft}/attachments/{attachment}", PI_GONE),
    Route("POST", "/proposals/{draft}/submit", PI_ONLY),
    Route("POST", "/proposals/{draft}/withdraw", PI_ONLY, {"reason": "moved institution"}),
    # reviewers
    Route("GET", "/reviews/declarations-due", REVIEWERS),
    Route("GET", "/proposals/{under_review}/team-view", UNCONFLICTED),
    Route("POST", "/proposals/{under_review}/conflict", DECLARE, {"conflicted": False}),
    Route("GET", "/reviews/assignments", REVIEWERS),
    Route("GET", "/proposals/{under_review}/for-review", UNCONFLICTED),
    Route("POST", "/proposals/{under_review}/review", REVIEW_SUBMIT, REVIEW),
    Route("GET", "/proposals/{ranked}/reviews", REVIEWS),
]
# fmt: on

CASES = [
    pytest.param(route, role, status, id=f"{route} as {role}")
    for route in ROUTES
    for role, status in zip(ROLES, route.statuses, strict=True)
]
WRITES = [r for r in ROUTES if r.method != "GET"]


@pytest.mark.parametrize(("route", "role", "status"), CASES)
def test_each_role_gets_exactly_its_status_on_each_route(client, rounds, route, role, status):
    login(client, rounds.users[role])
    response = send(client, route, rounds.ids())
    assert response.status_code == status, response.content
    if status >= 400:
        assert_error(response, status, response.json()["errors"][0]["field"])


def test_the_table_covers_every_route_of_the_rounds(client, rounds):
    documented = client.get("/api/v1/openapi.json").json()["paths"]
    rounds_paths = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in documented.items()
        for method in operations
        if (
            path.startswith(("/api/v1/calls", "/api/v1/proposals", "/api/v1/reviews"))
            or path.startswith("/api/v1/assignments")
        )
        # Allocation plans belong to the allocation app; tests/allocation checks their roles.
        and "/plans" not in path
    }
    tested = {(r.method, r.path.format_map(PathNames())) for r in ROUTES}
    assert rounds_paths == tested


class PathNames(dict):
    """Turns the table's placeholders back into the documented parameter names."""

    def __missing__(self, key):
        if key.endswith("_call"):
            return "{call_id}"
        if key == "assignment":
            return "{assignment_id}"
        if key in {"team_member", "method", "item", "doi", "attachment"}:
            return "{part_id}"
        return "{proposal_id}"


def _success_role(route: Route) -> str:
    return next(role for role, s in zip(ROLES, route.statuses, strict=True) if s < 400)


@pytest.mark.parametrize("route", WRITES, ids=str)
def test_a_read_only_token_cannot_write(client, rounds, route):
    user = rounds.users[_success_role(route)]
    response = send(client, route, rounds.ids(), **bearer(user, ApiToken.Scope.READ))
    assert_error(response, 403, "scope")


@pytest.mark.parametrize("route", WRITES, ids=str)
def test_a_write_token_writes(client, rounds, route):
    role = _success_role(route)
    response = send(client, route, rounds.ids(), **bearer(rounds.users[role]))
    assert response.status_code == route.statuses[ROLES.index(role)], response.content


def test_a_read_only_token_changes_nothing(client, rounds):
    chair = rounds.users["committee"]
    call = rounds.calls["open"]
    response = client.post(
        f"/api/v1/calls/{call.pk}/transition",
        {"to_status": "closed"},
        content_type="application/json",
        **bearer(chair, ApiToken.Scope.READ),
    )
    assert response.status_code == 403
    call.refresh_from_db()
    assert call.status == "open"
    assert not call.transitions.filter(to_status="closed").exists()


def test_a_read_only_token_reads(client, rounds):
    response = client.get("/api/v1/proposals", **bearer(rounds.users["pi"], ApiToken.Scope.READ))
    assert response.status_code == 200
    assert response.json()["count"] == len(rounds.proposals)


def _every_read(built) -> list[str]:
    ids = built.ids()
    paths = ["/calls", "/proposals", "/reviews/declarations-due", "/reviews/assignments"]
    for name in built.calls:
        call = ids[f"{name}_call"]
        paths += [f"/calls/{call}", f"/calls/{call}/outcome", f"/calls/{call}/proposals"]
        paths.append(f"/calls/{call}/ranking")
    for name in built.proposals:
        proposal = ids[name]
        paths += [f"/proposals/{proposal}{suffix}" for suffix in ("", "/team-view", "/for-review")]
        paths.append(f"/proposals/{proposal}/reviews")
    return ["/api/v1" + p for p in paths]


@pytest.mark.parametrize("role", ["auto_conflicted", "declared_conflicted"])
def test_a_conflicted_reviewer_never_sees_the_proposal_its_reviews_or_scores(client, rounds, role):
    login(client, rounds.users[role])
    for path in _every_read(rounds):
        body = client.get(path).content.decode()
        for stage in ("submitted", "review", "ranked", "decided"):
            assert f"TITLE-{stage}" not in body, path
            assert f"ABSTRACT-{stage}" not in body, path
        assert TO_APPLICANT not in body, path
        assert CONFIDENTIAL not in body, path
        assert '"merit"' not in body, path
        assert "mean" not in body, path


def test_a_conflicted_reviewer_cannot_review_even_if_declared_after_assignment(client, rounds):
    reviewer = rounds.users["reviewer"]
    proposal = rounds.proposals["under_review"].pk
    login(client, reviewer)
    response = client.post(
        f"/api/v1/proposals/{proposal}/conflict",
        {"conflicted": True, "reason": "my former student joined the team"},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert client.get(f"/api/v1/proposals/{proposal}/for-review").status_code == 404
    response = client.post(
        f"/api/v1/proposals/{proposal}/review", REVIEW, content_type="application/json"
    )
    assert_error(response, 404, "proposal")
    assigned = [a["proposal_id"] for a in client.get("/api/v1/reviews/assignments").json()["items"]]
    assert proposal not in assigned


def test_reviewer_identities_and_confidential_comments_never_reach_the_applicant(client, rounds):
    login(client, rounds.users["pi"])
    reviewers = [*rounds.panel, rounds.reviewer2]
    seen_feedback = False
    for path in _every_read(rounds):
        body = client.get(path).content.decode()
        assert CONFIDENTIAL not in body, path
        for reviewer in reviewers:
            assert reviewer.username not in body, path
            assert reviewer.last_name not in body, path
        seen_feedback |= TO_APPLICANT in body
    assert seen_feedback, "the comments meant for the applicant do reach them"
