import pytest

from moonvault.accounts.models import Role
from moonvault.accounts.services import person_create
from tests.conftest import GRAM


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", password="x-Root-2026")


@pytest.fixture
def committee_member(institution):
    person = person_create(
        username="chair",
        password="x-Chair-2026",
        institution=institution,
        roles=(Role.COMMITTEE,),
    )
    person.user.is_staff = True
    person.user.save()
    return person.user


@pytest.fixture
def regolith(receive, mission_ce5):
    return receive("CE5C0400YJFM00505", mission_ce5, 2 * GRAM)
