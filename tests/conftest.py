"""Shared fixtures: a small inventory and users with each role."""

import importlib
from functools import partial

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import translation

from moonvault.accounts.models import Role
from moonvault.accounts.services import institution_create, person_create
from moonvault.audit.models import AuditEntry
from moonvault.catalog.generator import generate
from moonvault.catalog.models import Form, IdConvention, Mission, Pool, StorageLocation
from moonvault.catalog.services import NewSample, sample_receive
from moonvault.custody.models import CustodyEvent
from moonvault.loans.generator import programme_generate

GRAM = 1_000_000
APPEND_ONLY = [
    (importlib.import_module("moonvault.audit.migrations.0002_append_only"), AuditEntry),
    (importlib.import_module("moonvault.custody.migrations.0002_append_only"), CustodyEvent),
]


@pytest.fixture(autouse=True, scope="session")
def test_settings(tmp_path_factory):
    """Fast password hashing (tests create many users; a deliberately slow hasher would dominate
    the suite's time) and uploads kept out of the project's var/ folder."""
    overrides = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        MEDIA_ROOT=tmp_path_factory.mktemp("media"),
    )
    overrides.enable()
    yield
    overrides.disable()


@pytest.fixture(autouse=True)
def language_of_the_settings():
    """Each test starts in the default language: a request through the test client leaves its
    language active in the thread (a server's next request activates its own), and a later test
    calling a service directly would read that language's messages."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def flushable_append_only_tables(request):
    """SQLite empties tables with DELETE, which the append-only triggers refuse: after a test
    whose data is committed, clear the ledger and the audit log with their triggers lifted, as a
    database administrator would, before the flush."""
    marker = request.node.get_closest_marker("django_db")
    committed = (marker is not None and marker.kwargs.get("transaction")) or {
        "transactional_db",
        "live_server",
    } & set(request.fixturenames)
    if not committed:
        yield
        return
    request.getfixturevalue("transactional_db")
    yield
    if connection.vendor != "sqlite":
        return
    with transaction.atomic(), connection.cursor() as cursor:
        for migration, model in APPEND_ONLY:
            for statement in migration.SQLITE_REVERSE:
                cursor.execute(statement)
            cursor.execute(f"DELETE FROM {model._meta.db_table}")
            for statement in migration.SQLITE:
                cursor.execute(statement)


def pytest_collection_modifyitems(config, items):
    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL=postgresql://…)")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def mission_ce5(db):
    return Mission.objects.create(
        code="CE5",
        name="Chang'e-5",
        name_zh="嫦娥五号",
        agency="CNSA",
        returned_mass_ug=1731 * GRAM,
        id_convention=IdConvention.SUFFIX,
    )


@pytest.fixture
def mission_a17(db):
    return Mission.objects.create(
        code="A17",
        name="Apollo 17",
        agency="NASA",
        returned_mass_ug=110_520 * GRAM,
        id_convention=IdConvention.APOLLO,
    )


@pytest.fixture
def facility(db):
    return StorageLocation.objects.create(
        code="MAIN", name="Main laboratory", kind=StorageLocation.Kind.FACILITY
    )


@pytest.fixture
def cabinet(facility):
    return StorageLocation.objects.create(
        code="MAIN-N2-01",
        name="Nitrogen cabinet 1",
        kind=StorageLocation.Kind.CABINET,
        parent=facility,
        environment=StorageLocation.Environment.NITROGEN,
    )


@pytest.fixture
def receive(facility):
    """Register a root sample: receive("CE5C0400YJFM00505", mission, 2 * GRAM)."""

    def make(identifier, mission, mass_ug, *, form=Form.SCOOPED_REGOLITH, pool=Pool.RESEARCH):
        return sample_receive(
            actor=None,
            new=NewSample(
                identifier=identifier,
                mission=mission,
                form=form,
                pool=pool,
                mass_ug=mass_ug,
                location=facility,
            ),
        )

    return make


@pytest.fixture
def institution(db):
    return institution_create(name="Lunar Institute", country="CN")


@pytest.fixture
def curator(institution):
    return person_create(
        username="curator",
        password="x-Curator-2026",
        institution=institution,
        roles=(Role.CURATOR,),
    ).user


@pytest.fixture
def round_people(db):
    cn = institution_create(name="Purple Mountain Observatory", country="CN")
    fr = institution_create(name="Université Paris Cité", country="FR")
    de = institution_create(name="University of Münster", country="DE")
    us = institution_create(name="Brown University", country="US")
    committee = person_create(
        username="chair", password="x-Chair-2026!", roles=(Role.COMMITTEE,), institution=cn
    ).user
    applicants = [
        person_create(
            username=f"pi{i}",
            password="x-Pi-2026!",
            email=f"pi{i}@example.org",
            roles=(Role.APPLICANT,),
            institution=inst,
        ).user
        for i, inst in enumerate([fr, de, us])
    ]
    reviewers = [
        person_create(
            username=f"rev{i}",
            password="x-Rev-2026!",
            email=f"rev{i}@example.org",
            roles=(Role.REVIEWER,),
            institution=inst,
            expertise=kw,
        ).user
        for i, (inst, kw) in enumerate(
            [(cn, "sims, isotopes"), (us, "epma, petrology"), (fr, "noble gas, isotopes")]
        )
    ]
    return committee, applicants, reviewers


# The size of the generated programme: eight rounds of some 43 proposals, one in each status.
GENERATED_PROPOSALS = 300
GENERATED_INSTITUTIONS = 30


@pytest.fixture
def generated_programme(db):
    """A generated inventory of 3,000 samples with a programme on it (seed 4: its chair is
    gen4-chair-000001, its curator gen4-curator-000001); the programme's report."""
    report = generate(
        samples=3_000,
        seed=4,
        events_per_sample=3,
        batch_events=4_000,
        then=partial(
            programme_generate,
            seed=4,
            proposals=GENERATED_PROPOSALS,
            institutions=GENERATED_INSTITUTIONS,
        ),
    )
    return report.then
