"""The curators' changes to the inventory through the API: each one a custody event."""

import pytest

from moonvault.accounts.models import ApiToken, Role
from moonvault.accounts.services import api_token_create, person_create
from moonvault.catalog.models import Sample, State
from moonvault.custody.models import CustodyEvent
from tests.api.test_errors import assert_error
from tests.conftest import GRAM

pytestmark = pytest.mark.django_db

MG = 1_000


def bearer(user, scope=ApiToken.Scope.WRITE) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=user, name='t', scope=scope)}"}


@pytest.fixture
def sample(receive, mission_ce5):
    return receive("CE5C0400YJFM00505", mission_ce5, 2 * GRAM)


@pytest.fixture
def curator_token(curator):
    return bearer(curator)


@pytest.fixture
def applicant(institution):
    return person_create(
        username="pi", password="x-Pi-2026!", institution=institution, roles=(Role.APPLICANT,)
    ).user


def post(client, path, body, headers):
    return client.post(f"/api/v1{path}", body, content_type="application/json", **headers)


def ledger_size() -> int:
    return CustodyEvent.objects.count()


# Each change with a body that works on the `sample` fixture, and one the API refuses: a
# (status, field) that names the problem.
CHANGES = {
    "split": (
        {"children": [{"mass_ug": 50 * MG, "form": "powder"}, {"mass_ug": 20 * MG}], "loss_ug": 9},
        {"children": [{"mass_ug": 3 * GRAM}]},
        (409, "children"),
    ),
    "weigh": (
        {"measured_ug": 2 * GRAM - 40, "reason": "annual re-weighing"},
        {"measured_ug": GRAM},
        (400, "reason"),
    ),
    "move": (
        {"location": "MAIN-N2-01", "reason": "cabinet service"},
        {"location": "NOWHERE"},
        (404, "location"),
    ),
    "consume": (
        {"mass_ug": 2 * MG, "technique": "ICP-MS"},
        {"mass_ug": 2 * MG, "technique": " "},
        (400, "technique"),
    ),
    "lost": (
        {"reason": "not found at the stock check"},
        {},
        (422, "reason"),
    ),
    "pool": (
        {"pool": "public_benefit", "reason": "for the exhibition"},
        {"pool": "cheese", "reason": "no such pool"},
        (422, "pool"),
    ),
}


RECEIVE = {
    "identifier": "CE5C0400YJFM00507",
    "mission": "CE5",
    "form": "scooped_regolith",
    "pool": "research",
    "mass_ug": GRAM,
    "location": "MAIN-N2-01",
}


def test_a_curator_splits_a_sample_and_gets_the_children(client, sample, curator_token):
    body = CHANGES["split"][0]
    response = post(client, f"/samples/{sample.identifier}/split", body, curator_token)
    assert response.status_code == 201, response.content
    children = response.json()
    assert [c["mass_ug"] for c in children] == [50 * MG, 20 * MG]
    assert [c["form"] for c in children] == ["powder", sample.form]
    assert {c["parent"] for c in children} == {sample.identifier}
    sample.refresh_from_db()
    assert sample.mass_ug == 2 * GRAM - 70 * MG - 9


def test_a_curator_weighs_moves_consumes_and_reassigns(client, sample, cabinet, curator_token):
    path = f"/samples/{sample.identifier}"
    weighed = post(client, f"{path}/weigh", CHANGES["weigh"][0], curator_token)
    assert weighed.status_code == 200, weighed.content
    assert weighed.json()["mass_ug"] == 2 * GRAM - 40
    moved = post(client, f"{path}/move", CHANGES["move"][0], curator_token)
    assert moved.json()["location"] == "MAIN-N2-01"
    consumed = post(client, f"{path}/consume", CHANGES["consume"][0], curator_token)
    assert consumed.json()["mass_ug"] == 2 * GRAM - 40 - 2 * MG
    reassigned = post(client, f"{path}/pool", CHANGES["pool"][0], curator_token)
    assert reassigned.json()["pool"] == "public_benefit"
    kinds = list(
        CustodyEvent.objects.filter(sample=sample).order_by("seq").values_list("kind", flat=True)
    )
    assert kinds == ["received", "weighed", "moved", "consumed", "reclassified"]


def test_a_curator_marks_a_sample_lost(client, sample, curator_token):
    response = post(client, f"/samples/{sample.identifier}/lost", CHANGES["lost"][0], curator_token)
    assert response.status_code == 200
    assert response.json()["state"] == State.LOST
    assert CustodyEvent.objects.filter(sample=sample).latest("seq").reason == (
        "not found at the stock check"
    )


def test_a_curator_receives_a_new_sample(client, mission_ce5, cabinet, curator_token):
    body = {
        "identifier": "CE5C0400YJFM00506",
        "mission": "CE5",
        "form": "scooped_regolith",
        "pool": "research",
        "mass_ug": 3 * GRAM,
        "location": "MAIN-N2-01",
        "reason": "from the recovery team",
    }
    response = post(client, "/samples", body, curator_token)
    assert response.status_code == 201, response.content
    assert response.json()["identifier"] == "CE5C0400YJFM00506"
    assert response.json()["location"] == "MAIN-N2-01"
    event = CustodyEvent.objects.get(sample__identifier="CE5C0400YJFM00506")
    assert (event.kind, event.mass_delta_ug) == ("received", 3 * GRAM)


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [(name, *bad[2]) for name, bad in CHANGES.items()],
)
def test_a_change_with_bad_input_names_the_field_and_changes_nothing(
    client, sample, cabinet, curator_token, change, status, field
):
    before = ledger_size()
    body = CHANGES[change][1]
    assert_error(
        post(client, f"/samples/{sample.identifier}/{change}", body, curator_token), status, field
    )
    assert ledger_size() == before
    assert Sample.objects.get(pk=sample.pk).mass_ug == 2 * GRAM


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"mission": "CE9"}, 404, "code"),
        ({"location": "NOWHERE"}, 404, "location"),
        ({"mass_ug": -5}, 400, "mass_ug"),
        ({"form": "cheese"}, 422, "form"),
        ({"identifier": "CE5C0400YJFM00505"}, 409, "identifier"),
    ],
)
def test_receiving_with_bad_input_names_the_field_and_records_nothing(
    client, sample, cabinet, curator_token, body, status, field
):
    before = ledger_size()
    assert_error(post(client, "/samples", {**RECEIVE, **body}, curator_token), status, field)
    assert ledger_size() == before


@pytest.mark.parametrize("change", [*CHANGES, "receive"])
def test_only_a_curator_with_a_write_token_changes_the_inventory(
    client, sample, cabinet, curator, applicant, change
):
    path = "/samples" if change == "receive" else f"/samples/{sample.identifier}/{change}"
    body = CHANGES[change][0] if change in CHANGES else RECEIVE
    before = ledger_size()
    assert_error(post(client, path, body, bearer(applicant)), 403, None)
    read_only = bearer(curator, ApiToken.Scope.READ)
    assert_error(post(client, path, body, read_only), 403, "scope")
    assert_error(post(client, path, body, {}), 401, None)
    assert ledger_size() == before


def test_a_change_to_an_unknown_sample_is_404(client, curator_token):
    response = post(client, "/samples/CE5-NONE/weigh", {"measured_ug": 5}, curator_token)
    assert_error(response, 404, "identifier")
