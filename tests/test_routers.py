"""Reads outside a transaction go to the read replica when one is configured; the rest stays put."""

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test.utils import CaptureQueriesContext

from moonvault.catalog.models import Mission, Sample
from moonvault.catalog.services import ChildSpec, sample_split
from moonvault.core.routers import REPLICA
from moonvault.custody.verification import custody_verify
from tests.conftest import GRAM

# The alias is declared before each test's database set-up (a module fixture comes first), so
# that the test may use it; "__all__" then covers both aliases.
pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.fixture(scope="module")
def replica_alias():
    """A second alias on the same database, as a streaming replica would be, with its own
    connection, so that the queries each alias runs can be told apart."""
    primary = connections.settings[DEFAULT_DB_ALIAS]
    # As a mirror it is left alone when the test empties the primary after each test.
    test = {**primary["TEST"], "MIRROR": DEFAULT_DB_ALIAS}
    connections.settings[REPLICA] = {**primary, "TEST": test}
    yield
    connections[REPLICA].close()
    del connections[REPLICA]
    del connections.settings[REPLICA]


@pytest.fixture
def replica(replica_alias):
    return connections[REPLICA]


def test_plain_reads_go_to_the_replica_and_see_what_was_committed(replica, mission_ce5):
    with CaptureQueriesContext(replica) as on_replica:
        codes = list(Mission.objects.values_list("code", flat=True))
    assert codes == ["CE5"]
    assert on_replica.captured_queries


def test_reads_inside_a_transaction_and_locking_reads_stay_on_the_primary(replica, mission_ce5):
    with transaction.atomic():
        assert Mission.objects.all().db == DEFAULT_DB_ALIAS
    assert Mission.objects.select_for_update().db == DEFAULT_DB_ALIAS
    assert Mission.objects.db_manager().db == REPLICA
    with CaptureQueriesContext(replica) as on_replica:
        Mission.objects.filter(code="CE5").update(name="Chang'e 5")
    assert not on_replica.captured_queries


def test_pages_read_from_the_replica_while_services_write_to_the_primary(
    client, replica, receive, mission_ce5, curator
):
    parent = receive("CE5C0400", mission_ce5, 2 * GRAM)
    with CaptureQueriesContext(replica) as on_replica:
        assert client.get("/samples/", {"mission": "CE5"}).status_code == 200
    assert any("catalog_sample" in q["sql"] for q in on_replica.captured_queries)

    with CaptureQueriesContext(replica) as on_replica:
        sample_split(
            actor=curator,
            sample_id=parent.pk,
            children=[ChildSpec(mass_ug=GRAM // 2), ChildSpec(mass_ug=GRAM // 2)],
        )
    assert not on_replica.captured_queries
    assert Sample.objects.filter(parent=parent).count() == 2
    assert custody_verify().ok


def test_reads_compiled_once_go_to_the_replica_too(client, replica, receive, mission_ce5):
    """The genealogy and the timeline run queries compiled once (FixedQuery), through the
    router like any other read."""
    receive("CE5C0400", mission_ce5, 2 * GRAM)
    with CaptureQueriesContext(replica) as on_replica:
        for part in ("genealogy", "timeline"):
            assert client.get(f"/api/v1/samples/CE5C0400/{part}").status_code == 200
    # The sample, its children and its descendants; a root has no ancestors to read. Then the
    # timeline.
    assert len(on_replica.captured_queries) == 4
    with CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary:
        events = client.get("/api/v1/samples/CE5C0400/timeline").json()["events"]
    assert [event["kind"] for event in events] == ["received"]
    assert not on_primary.captured_queries
