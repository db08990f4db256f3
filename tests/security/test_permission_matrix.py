"""Who may open or change what, on every route of the site and every operation of the API.

The routes come from walking the URLconf and from the published OpenAPI document, so a route
added without a line in the tables below fails `test_every_route_is_in_the_table`. For each
(route, role): a role the table allows gets an answer that is not an error; any other role is
refused (403 or 404, 401 on the API, or for a page a redirect to a login page), nobody ever gets a
server error, and nobody but the applicant and the curators sees text of the applicant's own.
"""

import json
from dataclasses import dataclass, field

import pytest
from django.test import Client

from tests.security.routes import (
    api_body,
    api_routes,
    api_url,
    html_routes,
    html_url,
)
from tests.security.world import (
    OWN,
    ROLES,
    credentials_for,
    pdf_upload,
    world_in_one_transaction,
)

pytestmark = pytest.mark.django_db

world = pytest.fixture(scope="module")(world_in_one_transaction)
credentials = pytest.fixture(scope="module")(credentials_for)

# --- who is who ---------------------------------------------------------------------------------
# The administrator is a superuser and holds every role, but is no applicant's PI, reviewer or
# borrower: the rows that belong to one person stay theirs.
EVERYONE = frozenset(ROLES)
SIGNED_IN = EVERYONE - {"anonymous"}
ADMIN = frozenset({"administrator"})
APPLICANTS = frozenset({"applicant", "other_applicant"}) | ADMIN
OWNER = frozenset({"applicant"})
REVIEWERS = frozenset({"reviewer", "conflicted"}) | ADMIN
ASSIGNED = frozenset({"reviewer"})
COMMITTEE = frozenset({"committee", "conflicted_committee"}) | ADMIN
# A committee member conflicted with the proposal may not read its reviews.
UNCONFLICTED_COMMITTEE = frozenset({"committee"}) | ADMIN
CURATORS = frozenset({"curator"}) | ADMIN
CURATORS_AND_COMMITTEE = CURATORS | COMMITTEE
BORROWER_AND_CURATORS = OWNER | CURATORS
NOBODY = frozenset()
# Who may read the applicant's own text (the OWN marker): the applicant, and the curators who
# draw up and run the loan.
MAY_SEE_OWN = BORROWER_AND_CURATORS


@dataclass(frozen=True)
class Page:
    """get/post: the roles that may; None when the route does not serve that method (a GET
    then answers 405 to everybody, a POST is not sent). args: which row each URL parameter
    names (a key of the world's ids, or a literal)."""

    get: frozenset | None
    post: frozenset | None = None
    args: dict = field(default_factory=dict)
    # A refusal answered by redirecting back with a message instead of an error status.
    refused_by_redirect: bool = False


DRAFT = {"proposal_id": "draft_id"}

# fmt: off
PAGES = {
    # public pages
    "home":                      Page(EVERYONE),
    "catalog":                   Page(EVERYONE),
    "sample-detail":             Page(EVERYONE),
    "missions":                  Page(EVERYONE),
    "mission-detail":            Page(EVERYONE),
    "mission-report":            Page(EVERYONE),
    "transparency":              Page(EVERYONE),
    "transparency-csv":          Page(EVERYONE, args={"slug": "released-by-mission"}),
    "transparency-json":         Page(EVERYONE, args={"slug": "released-by-mission"}),
    "transparency-all-json":     Page(EVERYONE),
    "calls:call-list":           Page(EVERYONE),
    "calls:call-detail":         Page(EVERYONE),
    "loans:results":             Page(EVERYONE),
    "loans:sample-results":      Page(EVERYONE),
    "login":                     Page(EVERYONE, EVERYONE),
    "logout":                    Page(None, EVERYONE),
    "set_language":              Page(EVERYONE, EVERYONE),
    # one's own account
    "second-factor":             Page(SIGNED_IN),
    "second-factor-enrol":       Page(SIGNED_IN, SIGNED_IN),
    "api-tokens":                Page(SIGNED_IN, SIGNED_IN),
    "api-token-revoke":          Page(None, frozenset({"curator"}), refused_by_redirect=True),
    # applicants
    "calls:proposal-start":      Page(None, APPLICANTS, args={"call_id": "open_call_id"}),
    "calls:my-proposals":        Page(APPLICANTS),
    "calls:proposal-detail":     Page(OWNER),
    "calls:proposal-edit":       Page(OWNER, OWNER, args={**DRAFT, "step": 1}),
    "calls:part-add":            Page(None, OWNER, args={**DRAFT, "part": "method"}),
    "calls:part-remove":         Page(None, OWNER,
                                      args={**DRAFT, "part": "method", "part_id": "method_id"}),
    "calls:proposal-submit":     Page(None, OWNER, args=DRAFT),
    "calls:proposal-withdraw":   Page(None, OWNER, args=DRAFT),
    "loans:my-loans":            Page(APPLICANTS),
    "loans:loan-export-csv":     Page(SIGNED_IN),
    "loans:loan-export-json":    Page(SIGNED_IN),
    # reviewers
    "review:my-reviews":         Page(REVIEWERS),
    "review:declare":            Page(ASSIGNED, ASSIGNED),
    "review:review":             Page(ASSIGNED, ASSIGNED),
    # the committee
    "calls:dashboard":           Page(COMMITTEE),
    "calls:call-new":            Page(COMMITTEE, COMMITTEE),
    "calls:call-admin":          Page(COMMITTEE, COMMITTEE),
    "calls:call-transition":     Page(None, COMMITTEE),
    "calls:call-extend":         Page(None, COMMITTEE),
    "calls:call-panel":          Page(None, COMMITTEE),
    "calls:reviewer-search":     Page(COMMITTEE),
    "calls:screening":           Page(COMMITTEE, COMMITTEE),
    "calls:screen-decide":       Page(None, COMMITTEE),
    "calls:proposal-return":     Page(None, COMMITTEE),
    "calls:decision":            Page(UNCONFLICTED_COMMITTEE, UNCONFLICTED_COMMITTEE),
    "review:assignments":        Page(COMMITTEE),
    "review:assignment-add":     Page(None, COMMITTEE),
    "review:assignment-remove":  Page(None, COMMITTEE),
    "review:assignment-run":     Page(None, COMMITTEE),
    "review:ranking":            Page(COMMITTEE, COMMITTEE),
    "allocation:plan":           Page(COMMITTEE, COMMITTEE),
    "allocation:plan-apply":     Page(None, COMMITTEE),
    "allocation:plan-decide":    Page(None, COMMITTEE),
    # curators
    "loans:compliance":          Page(CURATORS),
    "loans:loan-new":            Page(CURATORS, CURATORS),
    "loans:loan-detail":         Page(BORROWER_AND_CURATORS),
    "loans:loan-action":         Page(None, OWNER, args={"action": "usage"}),
    "loans:incidents":           Page(CURATORS),
    "loans:incident-resolve":    Page(None, CURATORS),
    "loans:stock-checks":        Page(CURATORS, CURATORS),
    "loans:stock-check":         Page(CURATORS),
    "loans:stock-line":          Page(None, CURATORS),
    "loans:stock-close":         Page(None, CURATORS),
    "loans:exhibitions":         Page(CURATORS_AND_COMMITTEE),
    "loans:exhibition-new":      Page(CURATORS, CURATORS),
    "loans:exhibition":          Page(CURATORS_AND_COMMITTEE),
    "loans:exhibition-action":   Page(None, COMMITTEE, args={"action": "approve"}),
    # documents: a proposal's attachment (of the draft here), a loan's signed agreement
    "document-attachment":       Page(OWNER | CURATORS),
    "document-agreement":        Page(BORROWER_AND_CURATORS | COMMITTEE),
    "audit:log":                 Page(CURATORS),
}
# fmt: on

# The admin: only staff (curators and administrators) get in; anyone else is sent to its login
# page. Inside, each model decides what a curator may do; the pages named here are checked for
# every role exactly, and on every other admin page (one per model and action, some added by
# third-party apps) the non-staff are refused and nobody gets a server error.
STAFF = CURATORS
NON_STAFF = EVERYONE - STAFF
# fmt: off
ADMIN_PAGES = {
    "admin:login":                              Page(EVERYONE),
    "admin:index":                              Page(STAFF),
    "admin:password_change":                    Page(STAFF),
    "admin:app_list":                           Page(STAFF, args={"app_label": "catalog"}),
    "admin:catalog_sample_changelist":          Page(STAFF),
    "admin:catalog_sample_change":              Page(STAFF),
    "admin:catalog_sample_history":             Page(STAFF),
    "admin:catalog_sample_delete":              Page(NOBODY),  # the ledger keeps them
    "admin:catalog_mission_changelist":         Page(STAFF),
    "admin:catalog_mission_delete":             Page(ADMIN),
    "admin:catalog_storagelocation_changelist": Page(STAFF),
    "admin:custody_custodyevent_changelist":    Page(STAFF),
    "admin:custody_custodyevent_change":        Page(STAFF),
    "admin:custody_custodyevent_add":           Page(NOBODY),
    "admin:custody_custodyevent_delete":        Page(NOBODY),
    "admin:accounts_institution_changelist":    Page(STAFF),
    "admin:accounts_institution_add":           Page(ADMIN),
    "admin:accounts_person_changelist":         Page(ADMIN),
    "admin:accounts_person_change":             Page(ADMIN),
    "admin:auth_user_changelist":               Page(ADMIN),
    "admin:auth_user_change":                   Page(ADMIN),
    "admin:auth_group_changelist":              Page(ADMIN),
    "admin:view_on_site":                       Page(NOBODY, args={"content_type_id": 1,
                                                                   "object_id": 1}),
}
# fmt: on


# The API: operation → the roles that may call it. Reads of the public catalog need nobody.
SAMPLE = {"sample_id": "sample_pk"}
# fmt: off
API = {
    # the catalog, the ledger and the statistics: public reads, curators' writes
    "GET /missions":                                 EVERYONE,
    "GET /missions/{code}":                          EVERYONE,
    "GET /missions/{code}/publications":             EVERYONE,
    "GET /missions/{code}/report.pdf":               EVERYONE,
    "GET /samples":                                  EVERYONE,
    "GET /samples/{identifier}":                     EVERYONE,
    "GET /samples/{identifier}/genealogy":           EVERYONE,
    "GET /samples/{identifier}/timeline":            EVERYONE,
    "GET /samples/{identifier}/sesar.json":          EVERYONE,
    "GET /samples/{identifier}/datacite.json":       EVERYONE,
    "GET /samples/{identifier}/publications":        EVERYONE,
    "GET /exports/samples.csv":                      EVERYONE,
    "GET /exports/samples.json":                     EVERYONE,
    "GET /exports/samples.datacite.json":            EVERYONE,
    "GET /exports/ledger.jsonl":                     EVERYONE,
    "GET /ledger/head":                              EVERYONE,
    "GET /statistics":                               EVERYONE,
    "GET /statistics/{table}.json":                  EVERYONE,
    "GET /statistics/{table}.csv":                   EVERYONE,
    "POST /samples":                                 CURATORS,
    "POST /samples/{identifier}/split":              CURATORS,
    "POST /samples/{identifier}/weigh":              CURATORS,
    "POST /samples/{identifier}/move":               CURATORS,
    "POST /samples/{identifier}/consume":            CURATORS,
    "POST /samples/{identifier}/lost":               CURATORS,
    "POST /samples/{identifier}/pool":               CURATORS,
    # accounts
    "GET /me":                                       SIGNED_IN,
    "POST /tokens":                                  STAFF,
    "DELETE /tokens/{token_id}":                     frozenset({"curator"}),
    "POST /institutions":                            ADMIN,
    # calls and proposals
    "GET /calls":                                    EVERYONE,
    "GET /calls/{call_id}":                          EVERYONE,
    "GET /calls/{call_id}/outcome":                  EVERYONE,
    "POST /calls":                                   COMMITTEE,
    "POST /calls/{call_id}/transition":              COMMITTEE,
    "POST /calls/{call_id}/extend":                  COMMITTEE,
    "PUT /calls/{call_id}/panel":                    COMMITTEE,
    "POST /calls/{call_id}/screen":                  COMMITTEE,
    "POST /proposals/{proposal_id}/screening":       COMMITTEE,
    "POST /proposals/{proposal_id}/return":          COMMITTEE,
    "GET /calls/{call_id}/proposals":                COMMITTEE,
    "POST /proposals/{proposal_id}/decision":        COMMITTEE,
    "POST /calls/{call_id}/proposals":               APPLICANTS,
    "GET /proposals":                                SIGNED_IN,
    "GET /proposals/{proposal_id}":                  OWNER,
    "PATCH /proposals/{proposal_id}":                OWNER,
    "POST /proposals/{proposal_id}/team":            OWNER,
    "POST /proposals/{proposal_id}/methods":         OWNER,
    "POST /proposals/{proposal_id}/items":           OWNER,
    "POST /proposals/{proposal_id}/dois":            OWNER,
    "POST /proposals/{proposal_id}/attachments":     OWNER,
    "DELETE /proposals/{proposal_id}/team/{part_id}":        OWNER,
    "DELETE /proposals/{proposal_id}/methods/{part_id}":     OWNER,
    "DELETE /proposals/{proposal_id}/items/{part_id}":       OWNER,
    "DELETE /proposals/{proposal_id}/dois/{part_id}":        OWNER,
    "DELETE /proposals/{proposal_id}/attachments/{part_id}": OWNER,
    "POST /proposals/{proposal_id}/submit":          OWNER,
    "POST /proposals/{proposal_id}/withdraw":        OWNER,
    # review
    "GET /reviews/declarations-due":                 REVIEWERS,
    "GET /reviews/assignments":                      REVIEWERS,
    "GET /proposals/{proposal_id}/team-view":        ASSIGNED,
    "POST /proposals/{proposal_id}/conflict":        ASSIGNED,
    "GET /proposals/{proposal_id}/for-review":       ASSIGNED,
    "POST /proposals/{proposal_id}/review":          ASSIGNED,
    "GET /proposals/{proposal_id}/reviews":          ASSIGNED | UNCONFLICTED_COMMITTEE,
    "POST /calls/{call_id}/assignments":             frozenset({"committee"}) | ADMIN,
    "POST /calls/{call_id}/assignments/run":         frozenset({"committee"}) | ADMIN,
    "DELETE /assignments/{assignment_id}":           frozenset({"committee"}) | ADMIN,
    "GET /calls/{call_id}/ranking":                  COMMITTEE,
    "PUT /calls/{call_id}/ranking":                  COMMITTEE,
    # allocation
    "POST /calls/{call_id}/plans":                   COMMITTEE,
    "GET /calls/{call_id}/plans/latest":             COMMITTEE,
    "POST /plans/{plan_id}/apply":                   COMMITTEE,
    "POST /plans/{plan_id}/decide":                  COMMITTEE,
    # loans: the borrower's own, run by the curators
    "GET /loans":                                    SIGNED_IN,
    "GET /exports/loans.csv":                        SIGNED_IN,
    "GET /exports/loans.json":                       SIGNED_IN,
    "POST /loans":                                   CURATORS,
    "GET /loans/{loan_id}":                          BORROWER_AND_CURATORS,
    "GET /loans/{loan_id}/obligations":              BORROWER_AND_CURATORS,
    "GET /loans/{loan_id}/accountability":           BORROWER_AND_CURATORS,
    "GET /loans/{loan_id}/agreement.pdf":            BORROWER_AND_CURATORS,
    "GET /loans/{loan_id}/certificate.pdf":          BORROWER_AND_CURATORS,
    "GET /loans/{loan_id}/accountability.pdf":       BORROWER_AND_CURATORS,
    "GET /loans/{loan_id}/accountability.csv":       BORROWER_AND_CURATORS,
    "GET /loans/{loan_id}/labels.pdf":               BORROWER_AND_CURATORS,
    "POST /loans/{loan_id}/signature":               BORROWER_AND_CURATORS,
    "POST /loans/{loan_id}/shipments":               CURATORS,
    "POST /shipments/{shipment_id}/dispatch":        CURATORS,
    "POST /shipments/{shipment_id}/receive":         OWNER,
    "POST /shipments/{shipment_id}/return-receive":  CURATORS,
    "POST /loans/{loan_id}/analyses":                BORROWER_AND_CURATORS,
    "POST /loans/{loan_id}/subsplits":               BORROWER_AND_CURATORS,
    "POST /loans/{loan_id}/usage-reports":           OWNER,
    "POST /loans/{loan_id}/inventories":             OWNER,
    "POST /loans/{loan_id}/returns":                 OWNER,
    "POST /loans/{loan_id}/data-deposits":           BORROWER_AND_CURATORS,
    "POST /loans/{loan_id}/waivers":                 CURATORS,
    "POST /loans/{loan_id}/close":                   CURATORS,
    "POST /publications":                            SIGNED_IN,
    "GET /incidents":                                CURATORS,
    "POST /incidents/{incident_id}/resolve":         CURATORS,
    "POST /stock-checks":                            CURATORS,
    "GET /stock-checks/{check_id}":                  CURATORS,
    "GET /stock-checks/{check_id}/lines":            CURATORS,
    "POST /stock-checks/{check_id}/lines/{line_id}": CURATORS,
    "POST /stock-checks/{check_id}/close":           CURATORS,
    "GET /exhibitions":                              CURATORS_AND_COMMITTEE,
    "GET /exhibitions/{exhibition_id}":              CURATORS_AND_COMMITTEE,
    "POST /exhibitions":                             CURATORS,
    "POST /exhibitions/{exhibition_id}/approve":     COMMITTEE,
    "POST /exhibitions/{exhibition_id}/dispatch":    CURATORS,
    "POST /exhibitions/{exhibition_id}/handovers":   CURATORS,
    "POST /exhibitions/{exhibition_id}/display":     CURATORS,
    "POST /exhibitions/{exhibition_id}/return":      CURATORS,
}
# fmt: on

# Which row each API parameter names, where the default (the parameter's own name) is not the
# one to use; and body fields that must name a row of the world for the request to mean anything.
API_ARGS = {
    "PATCH /proposals/{proposal_id}": DRAFT,
    "POST /proposals/{proposal_id}/team": DRAFT,
    "POST /proposals/{proposal_id}/methods": DRAFT,
    "POST /proposals/{proposal_id}/items": DRAFT,
    "POST /proposals/{proposal_id}/dois": DRAFT,
    "POST /proposals/{proposal_id}/attachments": DRAFT,
    "DELETE /proposals/{proposal_id}/team/{part_id}": {**DRAFT, "part_id": "team_id"},
    "DELETE /proposals/{proposal_id}/methods/{part_id}": {**DRAFT, "part_id": "method_id"},
    "DELETE /proposals/{proposal_id}/items/{part_id}": {**DRAFT, "part_id": "item_id"},
    "DELETE /proposals/{proposal_id}/dois/{part_id}": {**DRAFT, "part_id": "doi_id"},
    "DELETE /proposals/{proposal_id}/attachments/{part_id}": {
        **DRAFT,
        "part_id": "attachment_id",
    },
    "POST /proposals/{proposal_id}/submit": DRAFT,
    "POST /proposals/{proposal_id}/withdraw": DRAFT,
    "POST /calls/{call_id}/proposals": {"call_id": "open_call_id"},
    "POST /shipments/{shipment_id}/return-receive": {"shipment_id": "return_shipment_id"},
    "GET /statistics/{table}.json": {"table": "released-by-mission"},
    "GET /statistics/{table}.csv": {"table": "released-by-mission"},
}
API_BODIES = {
    "POST /samples": {"mission": "code", "location": "location"},
    "POST /samples/{identifier}/move": {"location": "location"},
    "POST /loans/{loan_id}/analyses": {**SAMPLE, "technique": "SIMS", "mass_consumed_ug": 1},
    "POST /proposals/{proposal_id}/items": {
        "mission": "code",
        "pool": "research",
        "form": "scooped_regolith",
        "requested_mass_ug": 1000,
        "minimum_mass_ug": 500,
    },
    "POST /loans/{loan_id}/subsplits": {**SAMPLE, "masses_ug": [1]},
    "POST /loans/{loan_id}/returns": {"sample_ids": ["sample_pk"]},
    "POST /shipments/{shipment_id}/return-receive": {"location_code": "location"},
    "POST /stock-checks": {"location_code": "location"},
    "POST /exhibitions/{exhibition_id}/dispatch": {"location_code": "location"},
    "POST /publications": {"doi": "10.1126/science.abl7957"},
    "POST /loans": {"proposal_id": "proposal_id"},
    "POST /calls/{call_id}/assignments": {
        "proposal_id": "proposal_id",
        "reviewer_id": "reviewer_user_id",
    },
}

REDIRECT = (301, 302, 303)


def _is_login(response) -> bool:
    location = response.get("Location", "")
    return response.status_code in REDIRECT and (
        location.startswith("/login/") or location.startswith("/admin/login/")
    )


def _leaks(response, role) -> bool:
    if role in MAY_SEE_OWN or response.status_code >= 400:
        return False
    body = b"".join(response) if response.streaming else response.content
    return OWN.encode() in body


def _reversible(route) -> bool:
    # Unnamed patterns (the admin's old-style redirects to the change page, its catch-all, and
    # media files served under DEBUG) cannot be built by name; the named routes cover them.
    return route.name != route.pattern


def test_every_route_is_in_the_table(client):
    pages = [r.name for r in html_routes() if _reversible(r) and not r.name.startswith("admin:")]
    assert sorted(set(pages) - set(PAGES)) == [], "pages without a line in PAGES"
    assert sorted(set(PAGES) - set(pages)) == [], "lines in PAGES for routes that are gone"
    operations = {r.name for r in api_routes(client.get("/api/v1/openapi.json").json())}
    assert sorted(operations - set(API)) == [], "API operations without a line in API"
    assert sorted(set(API) - operations) == [], "lines in API for operations that are gone"


def _name(route) -> str:
    return route.name


SITE = [r for r in html_routes() if _reversible(r) and not r.name.startswith("admin:")]
ADMIN_SITE = [r for r in html_routes() if _reversible(r) and r.name.startswith("admin:")]


@pytest.mark.parametrize("route", SITE, ids=_name)
def test_each_page_answers_each_role_as_the_table_says(world, credentials, route):
    _visit(world, credentials, route, PAGES[route.name])


@pytest.mark.parametrize(
    "route", [r for r in ADMIN_SITE if r.name in ADMIN_PAGES], ids=lambda r: r.name
)
def test_each_listed_admin_page_answers_each_role_as_the_table_says(world, credentials, route):
    _visit(world, credentials, route, ADMIN_PAGES[route.name])


@pytest.mark.parametrize(
    "route", [r for r in ADMIN_SITE if r.name not in ADMIN_PAGES], ids=lambda r: r.name
)
def test_every_other_admin_page_refuses_all_but_the_staff(world, credentials, route):
    url = html_url(route, world, {})
    wrong = []
    for role in ROLES:
        response = credentials.client(role).get(url)
        status = response.status_code
        refused = status in (403, 404, 405) or (
            status in REDIRECT and response.get("Location", "").startswith("/admin/")
        )
        if status >= 500 or (role in NON_STAFF and not refused):
            wrong.append(f"{role}: {status}")
    assert not wrong, wrong


def _visit(world, credentials, route, page: Page) -> None:
    url = html_url(route, world, page.args)
    wrong = []
    for role in ROLES:
        client = credentials.client(role)
        response = client.get(url)
        if page.get is None:
            # Only a POST is served; login_required may answer first.
            if not (response.status_code == 405 or (role == "anonymous" and _is_login(response))):
                wrong.append(f"GET as {role}: {response.status_code}")
        else:
            wrong += _check(response, role, page.get, page, "GET")
        if page.post is not None:
            wrong += _check(client.post(url), role, page.post, page, "POST")
    assert not wrong, wrong


def _check(response, role, allowed, page: Page, method: str) -> list[str]:
    status = response.status_code
    if status >= 500:
        ok = False
    elif role in allowed:
        # A form sent empty is still let in: it answers with its errors.
        ok = status < 400 or status in (400, 409)
    elif page.refused_by_redirect and status in REDIRECT:
        ok = True
    elif role == "anonymous" or status in REDIRECT:
        ok = _is_login(response) or status in (403, 404)
    else:
        ok = status in (403, 404)
    problems = [] if ok else [f"{method} as {role}: {status}"]
    if _leaks(response, role):
        problems.append(f"{method} as {role}: the applicant's own text leaked")
    return problems


@pytest.fixture(scope="module")
def document():
    return Client().get("/api/v1/openapi.json").json()


def _request(world, credentials, document, name: str, role: str):
    route = next(r for r in api_routes(document) if r.name == name)
    url = api_url(route, world, API_ARGS.get(name, {}))
    body = api_body(route, document)
    extra = credentials.bearer(role)
    client = Client()
    if body is None:
        return client.generic(route.method, url, **extra)
    content_type, payload = body
    for key, value in API_BODIES.get(name, {}).items():
        payload[key] = _world_value(world, value)
    if content_type.startswith("multipart"):
        payload = {k: pdf_upload() if hasattr(v, "read") else v for k, v in payload.items()}
        return client.post(url, payload, **extra)
    return client.generic(
        route.method, url, json.dumps(payload), content_type="application/json", **extra
    )


def _world_value(world, value):
    if isinstance(value, list):
        return [_world_value(world, v) for v in value]
    return world.ids.get(value, value) if isinstance(value, str) else value


@pytest.mark.parametrize("name", sorted(API))
def test_each_api_operation_answers_each_role_as_the_table_says(world, credentials, document, name):
    wrong = []
    for role in ROLES:
        response = _request(world, credentials, document, name, role)
        status = response.status_code
        if status >= 500:
            ok = False
        elif role in API[name]:
            # A write let through may still be told the body or the state will not do.
            ok = status == 200 if name.startswith("GET ") else status not in (401, 403, 404)
        else:
            ok = status == 401 if role == "anonymous" else status in (403, 404)
        if not ok:
            wrong.append(f"{role}: {status} {response.content[:200]!r}")
        if _leaks(response, role):
            wrong.append(f"{role}: the applicant's own text leaked")
    assert not wrong, wrong
