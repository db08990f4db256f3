"""Curators, committee members and administrators confirm a TOTP code before their pages work.

The requirement is on in production settings and switched on here; the rest of the suite runs
without it, as the demo does under DEBUG.
"""

import subprocess
import sys

import pytest
from django.test import override_settings
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from moonvault.accounts.services import api_token_create
from moonvault.audit.models import AuditEntry
from tests.accounts.conftest import PASSWORD, code_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("second_factor_on")]


@pytest.fixture
def second_factor_on():
    with override_settings(SECOND_FACTOR_REQUIRED=True):
        yield


@pytest.fixture
def enrolled(curator_user):
    return TOTPDevice.objects.create(user=curator_user, name="phone", confirmed=True)


def log_in(client, username):
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def test_production_settings_require_the_second_factor():
    env = {
        "DEBUG": "0",
        "SECRET_KEY": "k3Q9-vT2_xLm8!pRw4#zYb7&nC1^sD6*fH0(gJ5)eA-uP3=oI8+qW2~tZ9jV4",
        "ALLOWED_HOSTS": "moonvault.example.org",
        "PATH": "/usr/bin:/bin",
    }
    result = subprocess.run(
        [sys.executable, "-c", "import moonvault.settings as s; print(s.SECOND_FACTOR_REQUIRED)"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == "True", result.stderr


def test_a_curator_without_an_authenticator_is_sent_to_enrol(client, curator_user):
    log_in(client, "cui")
    page = reverse("audit:log")
    response = client.get(page)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("second-factor"))
    enrol = client.get(response["Location"], follow=True)
    assert enrol.redirect_chain[-1][0].startswith(reverse("second-factor-enrol"))
    body = enrol.content.decode()
    assert 'src="data:image/svg+xml' in body
    device = TOTPDevice.objects.get(user=curator_user, confirmed=False)
    assert enrol.context["secret"] in body
    assert device.config_url.startswith("otpauth://totp/Moonvault")


def test_enrolment_confirmed_with_a_right_code_opens_the_pages(client, curator_user):
    log_in(client, "cui")
    client.get(reverse("second-factor-enrol"))
    device = TOTPDevice.objects.get(user=curator_user)
    response = client.post(
        reverse("second-factor-enrol"), {"code": code_of(device), "next": reverse("audit:log")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("audit:log")
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("audit:log")).status_code == 200


def test_a_wrong_code_is_refused_and_recorded(client, enrolled):
    log_in(client, "cui")
    wrong = f"{(int(code_of(enrolled)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("second-factor"), {"code": wrong})
    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    assert client.get(reverse("audit:log")).status_code == 302
    assert AuditEntry.objects.filter(
        kind=AuditEntry.Kind.SECOND_FACTOR, actor_name="cui", summary__contains="wrong"
    ).exists()


def test_a_code_that_is_not_six_digits_gets_a_field_error(client, enrolled):
    log_in(client, "cui")
    response = client.post(reverse("second-factor"), {"code": "12ab"})
    assert response.status_code == 400
    assert "six digits" in response.content.decode()


def test_a_right_code_lets_an_enrolled_curator_in(client, enrolled):
    log_in(client, "cui")
    response = client.post(
        reverse("second-factor"), {"code": code_of(enrolled), "next": reverse("audit:log")}
    )
    assert response.status_code == 302
    assert client.get(reverse("audit:log")).status_code == 200


def test_an_enrolled_person_cannot_enrol_another_authenticator(client, enrolled):
    log_in(client, "cui")
    response = client.get(reverse("second-factor-enrol"))
    assert response.status_code == 302
    assert response["Location"] == reverse("second-factor")
    assert TOTPDevice.objects.filter(user=enrolled.user).count() == 1


def test_a_next_address_on_another_site_is_ignored(client, enrolled):
    log_in(client, "cui")
    response = client.post(
        reverse("second-factor"), {"code": code_of(enrolled), "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_a_committee_member_is_held_at_the_second_factor_too(client, committee_user):
    log_in(client, "chen")
    response = client.get(reverse("calls:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("second-factor"))


def test_an_applicant_needs_no_second_factor(client, applicant):
    log_in(client, "amelie")
    assert client.get(reverse("calls:my-proposals")).status_code == 200
    assert client.get("/api/v1/me").status_code == 200


def test_the_session_api_refuses_an_unverified_curator_with_the_error_shape(client, curator_user):
    log_in(client, "cui")
    response = client.get("/api/v1/me")
    assert response.status_code == 403
    body = response.json()
    assert "second factor" in body["detail"]
    assert body["errors"][0]["field"] is None


def test_a_bearer_token_is_its_own_factor(client, curator_user):
    token = api_token_create(actor=curator_user, name="script")
    response = client.get("/api/v1/me", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json()["username"] == "cui"


def test_a_bad_bearer_token_does_not_let_an_unverified_session_through(client, curator_user):
    log_in(client, "cui")
    response = client.get("/api/v1/me", headers={"authorization": "Bearer mv_not-a-token"})
    assert response.status_code in {401, 403}


def test_an_unverified_curator_may_still_log_out(client, curator_user):
    log_in(client, "cui")
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
