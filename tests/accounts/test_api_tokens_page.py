"""Each person lists their API tokens, creates one (shown once) and revokes it."""

import pytest
from django.urls import reverse

from moonvault.accounts.models import ApiToken
from moonvault.accounts.services import api_token_create

pytestmark = pytest.mark.django_db


def test_the_token_page_needs_a_login(client):
    response = client.get(reverse("api-tokens"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_new_token_is_shown_once_and_works_with_its_scope(client, applicant):
    client.force_login(applicant)
    response = client.post(reverse("api-tokens"), {"name": "laptop", "scope": "read"})
    assert response.status_code == 200
    raw = response.context["created"]
    assert raw.startswith("mv_")
    assert raw in response.content.decode()
    token = ApiToken.objects.get(user=applicant)
    assert token.digest != raw
    assert token.scope == ApiToken.Scope.READ
    later = client.get(reverse("api-tokens")).content.decode()
    assert raw not in later
    assert "laptop" in later
    assert token.prefix in later
    client.logout()
    me = client.get("/api/v1/me", headers={"authorization": f"Bearer {raw}"})
    assert me.json()["username"] == "amelie"


def test_a_token_without_a_name_gets_a_field_error(client, applicant):
    client.force_login(applicant)
    response = client.post(reverse("api-tokens"), {"name": "", "scope": "write"})
    assert response.status_code == 400
    assert response.context["form"].errors["name"]
    assert not ApiToken.objects.exists()


def test_an_unknown_scope_gets_a_field_error(client, applicant):
    client.force_login(applicant)
    response = client.post(reverse("api-tokens"), {"name": "x", "scope": "admin"})
    assert response.status_code == 400
    assert response.context["form"].errors["scope"]


def test_a_revoked_token_stops_working(client, applicant):
    raw = api_token_create(actor=applicant, name="old")
    token = ApiToken.objects.get()
    client.force_login(applicant)
    response = client.post(reverse("api-token-revoke", args=[token.pk]), follow=True)
    assert "revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    client.logout()
    me = client.get("/api/v1/me", headers={"authorization": f"Bearer {raw}"})
    assert me.status_code == 401


def test_nobody_revokes_another_persons_token(client, applicant, curator_user):
    api_token_create(actor=curator_user, name="theirs")
    token = ApiToken.objects.get()
    client.force_login(applicant)
    response = client.post(reverse("api-token-revoke", args=[token.pk]), follow=True)
    assert "no such active token" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None


def test_others_tokens_are_not_listed(client, applicant, curator_user):
    api_token_create(actor=curator_user, name="curators-script")
    client.force_login(applicant)
    assert "curators-script" not in client.get(reverse("api-tokens")).content.decode()


def test_revoking_needs_a_post(client, applicant):
    api_token_create(actor=applicant, name="x")
    client.force_login(applicant)
    token = ApiToken.objects.get()
    assert client.get(reverse("api-token-revoke", args=[token.pk])).status_code == 405
