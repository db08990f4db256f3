import pytest

from moonvault.custody.models import CustodyEvent
from tests.api.conftest import MG
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
