"""Bearer tokens and sessions on the endpoints that need a user."""

import pytest

from moonvault.accounts.models import ApiToken
from moonvault.accounts.services import api_token_create, api_token_revoke
from tests.api.test_errors import assert_error

pytestmark = pytest.mark.django_db


def bearer(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_me_answers_a_real_token_with_the_username_and_roles(client, curator):
    token = api_token_create(actor=curator, name="inventory script")
    response = client.get("/api/v1/me", **bearer(token))
    assert response.status_code == 200
    assert response.json() == {"id": curator.pk, "username": "curator", "roles": ["curator"]}


def test_a_token_records_when_it_was_last_used(client, curator):
    token = api_token_create(actor=curator, name="inventory script")
    client.get("/api/v1/me", **bearer(token))
    assert ApiToken.objects.get(user=curator).last_used_at is not None


def test_me_answers_the_browser_session(client, curator):
    client.force_login(curator)
    assert client.get("/api/v1/me").json()["username"] == "curator"


def test_a_superuser_holds_every_role(client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", password="x-Root-2026")
    token = api_token_create(actor=admin, name="ops")
    roles = client.get("/api/v1/me", **bearer(token)).json()["roles"]
    assert roles == ["applicant", "reviewer", "curator", "committee", "administrator"]


def test_me_without_credentials_is_401(client):
    assert_error(client.get("/api/v1/me"), 401, None)


def test_a_made_up_bearer_token_is_401(client, curator):
    api_token_create(actor=curator, name="inventory script")
    assert_error(client.get("/api/v1/me", **bearer("mv_not-a-token")), 401, None)


def test_a_revoked_token_is_refused(client, curator):
    token = api_token_create(actor=curator, name="inventory script")
    api_token_revoke(actor=curator, token_id=ApiToken.objects.get(user=curator).id)
    assert_error(client.get("/api/v1/me", **bearer(token)), 401, None)


def test_the_token_of_a_deactivated_user_is_refused(client, curator):
    token = api_token_create(actor=curator, name="inventory script")
    curator.is_active = False
    curator.save()
    assert_error(client.get("/api/v1/me", **bearer(token)), 401, None)


def test_public_reads_ignore_a_bad_token(client, mission_ce5):
    assert client.get("/api/v1/missions", **bearer("mv_not-a-token")).status_code == 200
