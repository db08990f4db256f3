"""Passwords are hashed with Argon2 in every deployment; the test run swaps in a fast hasher."""

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.test import override_settings

import moonvault.settings as project_settings


def test_the_project_settings_hash_with_argon2_first():
    assert (
        project_settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    )


def test_a_password_hashed_with_the_project_settings_is_an_argon2id_hash():
    with override_settings(PASSWORD_HASHERS=project_settings.PASSWORD_HASHERS):
        encoded = make_password("regolith-and-basalt-42")
        assert encoded.startswith("argon2$argon2id$")
        assert check_password("regolith-and-basalt-42", encoded)
        assert not check_password("regolith-and-basalt-43", encoded)


def test_the_test_run_uses_the_fast_hasher_it_asks_for():
    assert settings.PASSWORD_HASHERS == ["django.contrib.auth.hashers.MD5PasswordHasher"]
