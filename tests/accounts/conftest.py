"""People with and without the roles that need a second factor, and a way to read a TOTP code."""

import pytest
from django_otp.oath import totp

from moonvault.accounts.models import Role
from moonvault.accounts.services import person_create

PASSWORD = "regolith-and-basalt-42"


def person(username: str, *roles: Role):
    return person_create(username=username, password=PASSWORD, roles=roles).user


@pytest.fixture
def applicant(db):
    return person("amelie", Role.APPLICANT)


@pytest.fixture
def curator_user(db):
    return person("cui", Role.CURATOR)


@pytest.fixture
def committee_user(db):
    return person("chen", Role.COMMITTEE)


def code_of(device, offset: int = 0) -> str:
    """The code the person's authenticator app shows now (offset in steps of 30 s)."""
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset)
    return f"{value:0{device.digits}d}"
