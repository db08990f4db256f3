"""API tokens and institutions through the API."""

import pytest

from moonvault.accounts.models import ApiToken, Institution, Role
from moonvault.accounts.services import api_token_create, person_create
from tests.api.test_errors import assert_error

pytestmark = pytest.mark.django_db


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def post(client, path, body, headers):
    return client.post(f"/api/v1{path}", body, content_type="application/json", **headers)


@pytest.fixture
def administrator(institution):
    return person_create(
        username="admin",
        password="x-Admin-2026!",
        institution=institution,
        roles=(Role.ADMINISTRATOR,),
    ).user


@pytest.fixture
def applicant(institution):
    return person_create(
        username="pi", password="x-Pi-2026!", institution=institution, roles=(Role.APPLICANT,)
    ).user


# --- tokens ------------------------------------------------------------------------------------


def test_a_staff_user_creates_a_token_that_works_once_shown(client, curator):
    write = api_token_create(actor=curator, name="setup", scope=ApiToken.Scope.WRITE)
    response = post(client, "/tokens", {"name": "balance", "scope": "read"}, bearer(write))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["scope"], body["prefix"]) == ("balance", "read", body["token"][:8])
    assert client.get("/api/v1/me", **bearer(body["token"])).json()["username"] == "curator"
    stored = ApiToken.objects.get(name="balance")
    assert stored.user == curator and body["token"] not in (stored.digest, stored.prefix)


def test_a_staff_user_revokes_their_token_and_it_is_refused_at_once(client, curator):
    doomed = api_token_create(actor=curator, name="doomed")
    token_id = ApiToken.objects.get(name="doomed").pk
    write = api_token_create(actor=curator, name="setup", scope=ApiToken.Scope.WRITE)
    response = client.delete(f"/api/v1/tokens/{token_id}", **bearer(write))
    assert response.status_code == 204
    assert_error(client.get("/api/v1/me", **bearer(doomed)), 401, None)


def test_tokens_are_for_staff_and_changes_need_the_write_scope(client, curator, applicant):
    outsider = api_token_create(actor=applicant, name="x", scope=ApiToken.Scope.WRITE)
    assert_error(post(client, "/tokens", {"name": "more"}, bearer(outsider)), 403, None)
    read_only = api_token_create(actor=curator, name="reader")
    assert_error(post(client, "/tokens", {"name": "more"}, bearer(read_only)), 403, "scope")
    token_id = ApiToken.objects.get(name="reader").pk
    assert_error(client.delete(f"/api/v1/tokens/{token_id}", **bearer(read_only)), 403, "scope")
    assert not ApiToken.objects.filter(name="more").exists()
    assert ApiToken.objects.get(pk=token_id).revoked_at is None


def test_a_token_of_someone_else_cannot_be_revoked(client, curator, administrator):
    api_token_create(actor=curator, name="theirs")
    theirs = ApiToken.objects.get(name="theirs").pk
    write = api_token_create(actor=administrator, name="ops", scope=ApiToken.Scope.WRITE)
    assert_error(client.delete(f"/api/v1/tokens/{theirs}", **bearer(write)), 404, "token_id")
    assert ApiToken.objects.get(pk=theirs).revoked_at is None


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"name": "x", "scope": "admin"}, 422, "scope"),
        ({"name": "   "}, 400, "name"),
        ({"scope": "read"}, 422, "name"),
    ],
)
def test_creating_a_token_with_bad_input_names_the_field(client, curator, body, status, field):
    write = api_token_create(actor=curator, name="setup", scope=ApiToken.Scope.WRITE)
    assert_error(post(client, "/tokens", body, bearer(write)), status, field)
    assert ApiToken.objects.count() == 1


# --- institutions ------------------------------------------------------------------------------


INSTITUTION = {"name": "Institute of Geochemistry", "name_zh": "地球化学研究所", "country": "cn"}


def test_an_administrator_registers_an_institution(client, administrator):
    write = api_token_create(actor=administrator, name="ops", scope=ApiToken.Scope.WRITE)
    response = post(client, "/institutions", INSTITUTION, bearer(write))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["country"], body["ror"]) == ("Institute of Geochemistry", "CN", "")
    assert Institution.objects.filter(pk=body["id"], name_zh="地球化学研究所").exists()


def test_only_an_administrator_with_a_write_token_registers_an_institution(
    client, curator, administrator
):
    before = Institution.objects.count()
    curator_write = api_token_create(actor=curator, name="c", scope=ApiToken.Scope.WRITE)
    assert_error(post(client, "/institutions", INSTITUTION, bearer(curator_write)), 403, None)
    read_only = api_token_create(actor=administrator, name="r")
    assert_error(post(client, "/institutions", INSTITUTION, bearer(read_only)), 403, "scope")
    assert Institution.objects.count() == before


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"country": "China"}, 400, "country"),
        ({"ror": "not-a-ror"}, 400, "ror"),
        ({"name": None}, 422, "name"),
    ],
)
def test_registering_an_institution_with_bad_input_names_the_field(
    client, administrator, body, status, field
):
    before = Institution.objects.count()
    write = api_token_create(actor=administrator, name="ops", scope=ApiToken.Scope.WRITE)
    response = post(client, "/institutions", {**INSTITUTION, **body}, bearer(write))
    assert_error(response, status, field)
    assert Institution.objects.count() == before
