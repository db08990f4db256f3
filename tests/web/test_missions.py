"""Mission pages: facts, payloads, the lunar map and the mass accounting."""

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from moonvault.catalog.models import Payload, Pool
from moonvault.catalog.services import (
    ChildSpec,
    sample_consume,
    sample_mark_lost,
    sample_split,
    sample_weigh,
)
from moonvault.custody.verification import custody_verify
from tests.conftest import GRAM
from tests.web.test_sample_page import by_label, texts

pytestmark = pytest.mark.django_db


@pytest.fixture
def sites(mission_ce5, mission_a17):
    mission_ce5.latitude, mission_ce5.longitude = Decimal("43.06"), Decimal("-51.92")
    mission_ce5.landing_site = "Oceanus Procellarum"
    mission_ce5.save()
    mission_a17.latitude, mission_a17.longitude = Decimal("20.19"), Decimal("30.77")
    mission_a17.save()
    Payload.objects.create(
        mission=mission_ce5, name="Lunar regolith radar", agency="CNSA", country="CN"
    )
    return mission_ce5, mission_a17


def test_the_mission_page_shows_facts_payloads_and_the_map(client, sites):
    response = client.get("/missions/CE5/")
    assert response.status_code == 200
    assert "Oceanus Procellarum" in response.text
    assert "<td>Lunar regolith radar</td>" in response.text
    moon = by_label(response.text, "Landing sites")
    labels = texts(moon)
    assert {"CE5", "A17", "Near side", "Far side"} <= set(labels)
    assert ET.tostring(moon).count(b"<") > 50


def test_the_missions_page_links_each_mission_and_shows_the_map(client, sites):
    response = client.get("/missions/")
    assert 'href="/missions/CE5/"' in response.text
    assert "A17" in texts(by_label(response.text, "Landing sites"))


def test_an_unknown_mission_is_a_404_page(client, db):
    assert client.get("/missions/XX9/").status_code == 404


def test_the_accounting_matches_the_ledger_verification(client, sites, receive, cabinet):
    mission_ce5, _ = sites
    root = receive("CE5C0001", mission_ce5, 10 * GRAM)
    first, second = sample_split(
        actor=None,
        sample_id=root.pk,
        children=[ChildSpec(2 * GRAM), ChildSpec(GRAM, pool=Pool.PUBLIC_BENEFIT)],
        loss_ug=500,
    )
    sample_consume(actor=None, sample_id=first.pk, mass_ug=300_000, technique="SIMS")
    sample_mark_lost(actor=None, sample_id=second.pk, reason="not found")
    sample_weigh(
        actor=None, sample_id=root.pk, measured_ug=7 * GRAM - 500 - 20, reason="re-weighed"
    )
    response = client.get("/missions/CE5/")
    accounting = response.context["accounting"]
    verified = custody_verify().accounts["CE5"]
    assert accounting.accounts.received == verified.received == 10 * GRAM
    assert accounting.accounts.consumed == verified.consumed == 300_000
    assert accounting.accounts.handling_loss == verified.handling_loss == 500
    assert accounting.accounts.corrections == verified.corrections == -20
    assert accounting.accounts.by_state == verified.by_state
    assert accounting.accounts.balances
    assert accounting.by_pool[Pool.RESEARCH] == 7 * GRAM - 520 + 2 * GRAM - 300_000
    assert accounting.by_pool[Pool.PUBLIC_BENEFIT] == 0  # lost, no longer held
    assert "The accounts balance" in response.text


def test_the_mission_page_in_chinese(client, sites):
    response = client.get("/zh-hans/missions/CE5/")
    assert response.status_code == 200
    assert "着陆点" in response.text
    assert "质量核算" in response.text
    assert "嫦娥五号" in response.text
    moon = by_label(response.text, "着陆点")
    assert any(t == "CE5" for t in texts(moon))
