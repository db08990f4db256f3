"""The demo data: built through the services, so its ledger verifies like a real one."""

import io
import re
from pathlib import Path

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError

from moonvault.accounts.models import Institution, Role
from moonvault.catalog.demo import demo_institutions, demo_password, demo_people
from moonvault.catalog.models import Form, Mission, Pool, Sample, State, StorageLocation
from moonvault.custody.models import CustodyEvent, EventKind
from moonvault.custody.verification import custody_verify

DEMO_DOC = Path(__file__).resolve().parents[2] / "docs" / "demo.md"


@pytest.fixture
def demo_settings(settings):
    settings.DEBUG = True
    return settings


def load_demo() -> str:
    out = io.StringIO()
    call_command("load-demo", stdout=out)
    return out.getvalue()


def test_load_demo_builds_a_verified_inventory_in_every_pool_at_both_sites(demo_settings, db):
    out = load_demo()

    verification = custody_verify()
    assert verification.ok, verification.problems
    assert "Demo loaded: missions A11, A12, A14, A15, A16, A17, CE5, CE6" in out
    assert f"Ledger verified: {verification.events:,} custody events" in out

    pools = set(Sample.objects.filter(state=State.STORED).values_list("pool", flat=True))
    assert pools == set(Pool.values)
    sites = set(Sample.objects.values_list("location__site", flat=True).exclude(location=None))
    assert sites == set(StorageLocation.Site.values)
    assert set(
        Sample.objects.filter(pool=Pool.BACKUP).values_list("location__site", flat=True)
    ) == {StorageLocation.Site.BACKUP}

    for code in ("CE5", "CE6"):
        mission = Mission.objects.get(code=code)
        assert verification.accounts[code].received == mission.returned_mass_ug
    assert Mission.objects.get(code="CE6").payloads.count() == 4
    assert Sample.objects.filter(identifier="CE5C0400YJFM00505", form=Form.POWDER).exists()
    assert Sample.objects.filter(depth__gte=3).exists()
    assert Sample.objects.filter(form=Form.GLASS_BEAD, state=State.CONSUMED).exists()
    assert Sample.objects.filter(identifier="74220,1", pool=Pool.RESEARCH).exists()
    assert Sample.objects.filter(mission__code__startswith="A", parent=None).count() == 2229
    kinds = set(CustodyEvent.objects.values_list("kind", flat=True))
    assert {EventKind.WEIGHED, EventKind.MOVED, EventKind.CONSUMED, EventKind.RECLASSIFIED} <= kinds
    countries = set(Institution.objects.values_list("country", flat=True))
    assert {"CN", "FR", "DE", "IT", "PK", "GB", "US", "JP", "BR"} <= countries


def test_each_role_has_a_demo_user_who_signs_in_with_the_documented_password(demo_settings, db):
    users = demo_people(demo_institutions())
    documented = DEMO_DOC.read_text()
    assert set(users) == set(Role.values)
    for role, user in users.items():
        assert authenticate(username=user.username, password=demo_password(role)) == user
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert re.search(rf"`{user.username}`\s*\|\s*`{demo_password(role)}`", documented)


def test_load_demo_changes_nothing_when_the_demo_missions_exist(
    demo_settings, receive, mission_ce5
):
    receive("CE5C0400YJFM00505", mission_ce5, 1_000)
    before = (Sample.objects.count(), CustodyEvent.objects.count(), Mission.objects.count())
    assert "the demo data is already loaded; nothing changed" in load_demo()
    assert (Sample.objects.count(), CustodyEvent.objects.count(), Mission.objects.count()) == before


def test_load_demo_refuses_to_publish_passwords_outside_debug(settings, db):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        load_demo()
    assert not Mission.objects.exists()
