"""Production settings pass Django's deployment checks, and refuse to start without a secret."""

import os
import subprocess
import sys

import pytest
from django.db import connection

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k3Q9-vT2_xLm8!pRw4#zYb7&nC1^sD6*fH0(gJ5)eA-uP3=oI8+qW2~tZ9jV4",
    "ALLOWED_HOSTS": "moonvault.example.org",
}


def moonvault(*args: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    base = {
        key: value
        for key, value in os.environ.items()
        # The browser tests' DJANGO_ALLOW_ASYNC_UNSAFE belongs to the test run, not to a
        # deployment, and check --deploy rightly rejects it.
        if key
        not in {
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "DATABASE_URL",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    return subprocess.run(
        [sys.executable, "-m", "moonvault", *args],
        env={**base, "MOONVAULT_VAR_DIR": str(cwd), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_secret_key_of_the_test_is_long_and_varied_enough():
    key = PRODUCTION["SECRET_KEY"]
    assert len(key) >= 50
    assert len(set(key)) >= 5


def test_production_settings_pass_the_deployment_checks_without_a_warning(tmp_path):
    result = moonvault("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr + result.stdout


@pytest.mark.parametrize("secret", ["", None])
def test_starting_without_a_secret_key_and_debug_off_fails_clearly(tmp_path, secret):
    env = {**PRODUCTION}
    if secret is None:
        del env["SECRET_KEY"]
    else:
        env["SECRET_KEY"] = secret
    result = moonvault("check", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        "moonvault: SECRET_KEY must be set when DEBUG is off. (the settings come from the "
        "environment, see docs/deploy.md; DEBUG=1 for a local run)\n"
    )


def test_debug_off_is_the_default(tmp_path):
    env = {key: value for key, value in PRODUCTION.items() if key != "DEBUG"}
    result = moonvault("diffsettings", "--all", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "DEBUG = False" in result.stdout


def test_uploads_go_to_the_storage_backend_the_deployment_names(tmp_path):
    script = (
        "from django.core.files.base import ContentFile;"
        "from django.core.files.storage import default_storage as s;"
        "name = s.save('agreements/a.pdf', ContentFile(b'%PDF-1.7'));"
        "print(type(s._wrapped).__name__, s.open(name).read().decode(), s.base_url)"
    )
    result = moonvault(
        "shell",
        "-c",
        script,
        env={
            **PRODUCTION,
            "MEDIA_STORAGE_BACKEND": "django.core.files.storage.InMemoryStorage",
            "MEDIA_STORAGE_OPTIONS": '{"base_url": "https://files.example.org/"}',
        },
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == [
        "InMemoryStorage",
        "%PDF-1.7",
        "https://files.example.org/",
    ]


def test_the_wsgi_application_loads_its_urls_and_freezes_them_before_any_request(tmp_path):
    script = (
        "import gc, sys;"
        "frozen = gc.get_freeze_count();"
        "import moonvault.wsgi;"
        "print(frozen, gc.get_freeze_count(), 'moonvault.urls' in sys.modules)"
    )
    result = moonvault("shell", "-c", script, env=PRODUCTION, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    before, after, urls_loaded = result.stdout.splitlines()[-1].split()
    assert (int(before), urls_loaded) == (0, "True")
    # The whole application: Django, every app's models, views and the API schemas.
    assert int(after) > 100_000


@pytest.mark.django_db
def test_postgresql_connections_compile_no_query_to_machine_code():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
