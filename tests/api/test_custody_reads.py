import pytest

from moonvault.catalog.models import Sample
from moonvault.catalog.services import sample_mark_lost
from moonvault.custody.models import CustodyEvent
from moonvault.custody.schemas import TimelineOut
from moonvault.custody.selectors import sample_timeline
from tests.api.conftest import MG, as_schema_renders
from tests.conftest import GRAM

pytestmark = pytest.mark.django_db


def test_timeline_lists_a_samples_events_oldest_first_with_their_hashes(client, inventory):
    response = client.get("/api/v1/samples/CE5C0400YJFM00505/timeline")
    assert response.status_code == 200
    body = response.json()
    assert body["identifier"] == "CE5C0400YJFM00505"
    kinds = [(e["kind"], e["mass_delta_ug"], e["loss_ug"]) for e in body["events"]]
    assert kinds == [("received", 2 * GRAM, 0), ("split", -800 * MG - 7, 7)]
    received, split = body["events"]
    assert split["seq"] == received["seq"] + 1
    assert split["prev_hash"] == received["hash"]
    assert split["data"]["children"] == [c.id for c in inventory.regolith_children]
    assert received["location"] == "MAIN"
    assert received["state_after"] == "stored"


def test_timelines_are_the_events_as_their_schema_shows_them(client, inventory):
    sample_mark_lost(actor=None, sample_id=inventory.rock_split.pk, reason="not on its shelf")
    locations = set()
    for sample in Sample.objects.all():
        body = client.get(f"/api/v1/samples/{sample.identifier}/timeline").json()
        expected = {"identifier": sample.identifier, "events": list(sample_timeline(sample=sample))}
        assert body == as_schema_renders(TimelineOut, expected)
        locations |= {e["location"] for e in body["events"]}
    assert locations == {"MAIN", None}


def test_timeline_of_an_identifier_with_a_comma(client, inventory):
    body = client.get("/api/v1/samples/74001,6041/timeline").json()
    assert [e["kind"] for e in body["events"]] == ["split_off"]


def test_ledger_head_is_the_last_event(client, inventory):
    last = CustodyEvent.objects.order_by("-seq").first()
    response = client.get("/api/v1/ledger/head")
    assert response.status_code == 200
    assert response.json() == {"seq": last.seq, "hash": last.hash}


def test_ledger_head_of_an_empty_ledger_is_the_genesis(client, db):
    assert client.get("/api/v1/ledger/head").json() == {"seq": 0, "hash": "0" * 64}
