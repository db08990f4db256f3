"""Repeated failed logins lock the username out from that address, with a page that says so."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.accounts.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def attempt(client, username: str, password: str):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_a_wrong_password_is_refused_on_the_login_page(client, applicant):
    response = attempt(client, "amelie", "not-the-password")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_after_the_failure_limit_even_the_right_password_is_refused_with_a_clear_page(
    client, applicant
):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "amelie", "not-the-password").status_code == 200
    locked = attempt(client, "amelie", "not-the-password")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    again = attempt(client, "amelie", PASSWORD)
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_lockout_holds_for_that_username_and_address_only(client, applicant, curator_user):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "amelie", "not-the-password")
    # Another person from the same address still logs in …
    assert attempt(client, "cui", PASSWORD).status_code == 302
    # … and so does the locked person from elsewhere.
    elsewhere = Client(REMOTE_ADDR="192.0.2.7")
    assert attempt(elsewhere, "amelie", PASSWORD).status_code == 302


def test_a_successful_login_clears_earlier_failures(client, applicant):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "amelie", "not-the-password")
    assert attempt(client, "amelie", PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "amelie", "not-the-password").status_code == 200
    assert attempt(client, "amelie", PASSWORD).status_code == 302


def test_the_admin_login_is_locked_too(client, curator_user):
    url = reverse("admin:login")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(url, {"username": "cui", "password": "not-the-password"})
    response = client.post(url, {"username": "cui", "password": PASSWORD})
    assert response.status_code == 429


def test_the_test_client_and_force_login_still_sign_people_in(client, applicant):
    assert client.login(username="amelie", password=PASSWORD)
    client.logout()
    client.force_login(applicant)
    assert client.get(reverse("api-tokens")).status_code == 200


@pytest.mark.parametrize("url", ["login", "admin:login"])
def test_a_username_longer_than_any_account_is_refused_and_still_counted(client, url):
    from axes.models import AccessAttempt

    long_name = "9" * 300
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = client.post(reverse(url), {"username": long_name, "password": "x"})
        assert response.status_code == 200
    (recorded,) = AccessAttempt.objects.all()
    assert recorded.username == long_name[:255]
    assert recorded.failures_since_start == settings.AXES_FAILURE_LIMIT - 1
    response = client.post(reverse(url), {"username": long_name, "password": "x"})
    assert response.status_code == 429
