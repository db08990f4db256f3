"""Every page carries a Content-Security-Policy without inline script, framing is refused, and
no template carries an inline script or event handler that such a policy would block."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import reverse

import moonvault
from tests.test_settings_deploy import PRODUCTION

TEMPLATES = sorted(Path(moonvault.__file__).parent.glob("*/templates/**/*.html"))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)


def directives(header: str) -> dict[str, list[str]]:
    parts = (part.strip().split() for part in header.split(";") if part.strip())
    return {name: values for name, *values in parts}


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["home", "catalog", "missions", "transparency", "login"])
def test_pages_carry_a_policy_that_allows_no_inline_script(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_htmx_is_told_to_add_no_style_and_evaluate_nothing(client):
    body = client.get(reverse("home")).content.decode()
    assert '"includeIndicatorStyles": false' in body
    assert '"allowEval": false' in body
    assert re.search(r'<script src="/static/django_htmx/htmx[^"]*\.js"', body)


@pytest.mark.django_db
@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True)
def test_a_secure_request_gets_strict_transport_security(client):
    response = client.get(reverse("home"), secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_production_settings_turn_on_hsts_and_secure_cookies(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "MOONVAULT_VAR_DIR": str(tmp_path), **PRODUCTION}
    result = subprocess.run(
        [sys.executable, "-m", "moonvault", "diffsettings"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    for line in [
        "SECURE_HSTS_SECONDS = 31536000",
        "SESSION_COOKIE_SECURE = True",
        "CSRF_COOKIE_SECURE = True",
        "SECURE_SSL_REDIRECT = True",
        "SECOND_FACTOR_REQUIRED = True",
    ]:
        assert line in result.stdout


def test_the_templates_were_found():
    assert len(TEMPLATES) > 20


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(p.parents[2])))
def test_no_template_has_an_inline_script_or_event_handler(path):
    text = path.read_text()
    assert not INLINE_SCRIPT.search(text), "inline <script>: move it to a static file"
    assert not EVENT_HANDLER.search(text), "on…= handler: bind it from a static script"
    assert "hx-on" not in text, "hx-on evaluates code, which the policy forbids"
    assert "javascript:" not in text.lower()
