"""Curators change samples only through pages that call the services."""

import pytest

from moonvault.catalog.models import Pool, Sample, State, StorageLocation
from moonvault.custody.models import CustodyEvent, EventKind
from moonvault.custody.verification import custody_verify
from tests.conftest import GRAM

pytestmark = pytest.mark.django_db

MG = 1_000


def action_url(sample, action):
    return f"/admin/catalog/sample/{sample.pk}/action/{action}/"


def split_data(*children, loss=("", "g"), reason=""):
    data = {
        "children-TOTAL_FORMS": str(max(len(children), 3)),
        "children-INITIAL_FORMS": "0",
        "children-MIN_NUM_FORMS": "1",
        "children-MAX_NUM_FORMS": "1000",
        "loss_ug_0": loss[0],
        "loss_ug_1": loss[1],
        "reason": reason,
    }
    for i, (amount, unit, identifier) in enumerate(children):
        data[f"children-{i}-mass_ug_0"] = amount
        data[f"children-{i}-mass_ug_1"] = unit
        data[f"children-{i}-identifier"] = identifier
    return data


def events_of(sample):
    return list(CustodyEvent.objects.filter(sample=sample).values_list("kind", flat=True))


def test_each_action_page_opens_for_a_curator(curator_client, regolith):
    for action in ["split", "weigh", "move", "consume", "mark-lost", "reassign-pool"]:
        response = curator_client.get(action_url(regolith, action))
        assert response.status_code == 200, action
        assert "CE5C0400YJFM00505" in response.text


def test_an_unknown_action_is_404(curator_client, regolith):
    assert curator_client.get(action_url(regolith, "melt")).status_code == 404


def test_the_change_page_links_to_every_action_and_the_timeline(curator_client, regolith):
    response = curator_client.get(f"/admin/catalog/sample/{regolith.pk}/change/")
    assert response.status_code == 200
    for action in ["split", "weigh", "move", "consume", "mark-lost", "reassign-pool"]:
        assert action_url(regolith, action) in response.text
    assert "/admin/custody/custodyevent/?q=CE5C0400YJFM00505" in response.text


def test_split_converts_milligrams_and_grams_exactly_and_records_the_loss(curator_client, regolith):
    data = split_data(("250.5", "mg", ""), ("0.5", "g", "CE5-MY-CHILD"), loss=("3", "ug"))
    response = curator_client.post(action_url(regolith, "split"), data)
    assert response.status_code == 302
    children = list(Sample.objects.filter(parent=regolith).order_by("id"))
    assert [(c.identifier, c.mass_ug) for c in children] == [
        ("CE5C0400YJFM00505-1", 250_500),
        ("CE5-MY-CHILD", 500 * MG),
    ]
    regolith.refresh_from_db()
    assert regolith.mass_ug == 2 * GRAM - 750_500 - 3
    assert events_of(regolith) == [EventKind.RECEIVED, EventKind.SPLIT]
    assert custody_verify().ok


def test_split_heavier_than_the_parent_shows_the_error_and_changes_nothing(
    curator_client, regolith
):
    response = curator_client.post(
        action_url(regolith, "split"), split_data(("1.5", "g", ""), ("0.6", "g", ""))
    )
    assert response.status_code == 400
    assert "exceed the mass of CE5C0400YJFM00505" in response.text
    assert not Sample.objects.filter(parent=regolith).exists()
    regolith.refresh_from_db()
    assert regolith.mass_ug == 2 * GRAM
    assert events_of(regolith) == [EventKind.RECEIVED]


def test_a_mass_finer_than_a_microgram_is_refused_next_to_its_row(curator_client, regolith):
    response = curator_client.post(action_url(regolith, "split"), split_data(("0.0001", "mg", "")))
    assert response.status_code == 400
    child_errors = response.context["children"].forms[0].errors
    assert "not a whole number of micrograms" in child_errors["mass_ug"][0]
    assert not Sample.objects.filter(parent=regolith).exists()


def test_a_taken_child_identifier_is_shown_next_to_that_child(curator_client, regolith, receive):
    receive("CE5-TAKEN", regolith.mission, GRAM)
    response = curator_client.post(
        action_url(regolith, "split"),
        split_data(("1", "mg", ""), ("", "g", ""), ("2", "mg", "CE5-TAKEN")),
    )
    assert response.status_code == 400
    forms = response.context["children"].forms
    assert "already in use" in forms[2].errors["identifier"][0]
    assert not forms[0].errors
    assert not Sample.objects.filter(parent=regolith).exists()


def test_a_split_needs_at_least_one_child(curator_client, regolith):
    response = curator_client.post(action_url(regolith, "split"), split_data())
    assert response.status_code == 400
    assert not Sample.objects.filter(parent=regolith).exists()


def test_weighing_records_the_measured_mass_with_a_reason(curator_client, regolith):
    response = curator_client.post(
        action_url(regolith, "weigh"),
        {"measured_ug_0": "1999.998", "measured_ug_1": "mg", "reason": "annual inventory"},
    )
    assert response.status_code == 302
    regolith.refresh_from_db()
    assert regolith.mass_ug == 1_999_998
    assert events_of(regolith)[-1] == EventKind.WEIGHED


def test_a_weighing_that_changes_the_mass_without_a_reason_is_refused_at_the_reason(
    curator_client, regolith
):
    response = curator_client.post(
        action_url(regolith, "weigh"), {"measured_ug_0": "1.9", "measured_ug_1": "g"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["reason"] == [
        "a weighing that changes the mass needs a reason"
    ]
    regolith.refresh_from_db()
    assert regolith.mass_ug == 2 * GRAM


def test_a_negative_weighing_is_refused_at_the_mass(curator_client, regolith):
    response = curator_client.post(
        action_url(regolith, "weigh"),
        {"measured_ug_0": "-1", "measured_ug_1": "g", "reason": "x"},
    )
    assert response.status_code == 400
    assert "measured_ug" in response.context["form"].errors


def test_moving_puts_the_sample_in_the_chosen_location(curator_client, regolith, cabinet):
    response = curator_client.post(
        action_url(regolith, "move"), {"location": cabinet.pk, "reason": "to nitrogen"}
    )
    assert response.status_code == 302
    regolith.refresh_from_db()
    assert regolith.location == cabinet
    assert events_of(regolith)[-1] == EventKind.MOVED


def test_moving_to_the_same_location_is_refused_at_the_location(curator_client, regolith):
    response = curator_client.post(action_url(regolith, "move"), {"location": regolith.location_id})
    assert response.status_code == 400
    assert "already in MAIN" in response.context["form"].errors["location"][0]


def test_consuming_records_the_technique_and_mass(curator_client, regolith):
    response = curator_client.post(
        action_url(regolith, "consume"),
        {"technique": "ICP-MS", "mass_ug_0": "12", "mass_ug_1": "mg"},
    )
    assert response.status_code == 302
    regolith.refresh_from_db()
    assert regolith.mass_ug == 2 * GRAM - 12 * MG
    assert events_of(regolith)[-1] == EventKind.CONSUMED


def test_consuming_more_than_the_sample_holds_is_refused_at_the_mass(curator_client, regolith):
    response = curator_client.post(
        action_url(regolith, "consume"),
        {"technique": "ICP-MS", "mass_ug_0": "3", "mass_ug_1": "g"},
    )
    assert response.status_code == 400
    assert "holds 2000000 µg" in response.context["form"].errors["mass_ug"][0]
    regolith.refresh_from_db()
    assert regolith.mass_ug == 2 * GRAM


def test_marking_lost_needs_a_reason(curator_client, regolith):
    response = curator_client.post(action_url(regolith, "mark-lost"), {"reason": ""})
    assert response.status_code == 400
    regolith.refresh_from_db()
    assert regolith.state == State.STORED

    response = curator_client.post(
        action_url(regolith, "mark-lost"), {"reason": "not found at the 2026 inventory"}
    )
    assert response.status_code == 302
    regolith.refresh_from_db()
    assert regolith.state == State.LOST
    assert regolith.location is None


def test_a_lost_sample_cannot_be_split_and_the_error_is_shown_for_the_whole_form(
    curator_client, regolith
):
    curator_client.post(action_url(regolith, "mark-lost"), {"reason": "gone"})
    response = curator_client.post(action_url(regolith, "split"), split_data(("1", "mg", "")))
    assert response.status_code == 400
    assert "is lost and cannot be split" in str(response.context["form"].non_field_errors())


def test_reassigning_the_pool(curator_client, regolith):
    response = curator_client.post(
        action_url(regolith, "reassign-pool"),
        {"pool": Pool.PUBLIC_BENEFIT, "reason": "exhibition in Beijing"},
    )
    assert response.status_code == 302
    regolith.refresh_from_db()
    assert regolith.pool == Pool.PUBLIC_BENEFIT
    assert events_of(regolith)[-1] == EventKind.RECLASSIFIED


def test_reassigning_to_the_same_pool_is_refused_at_the_pool(curator_client, regolith):
    response = curator_client.post(
        action_url(regolith, "reassign-pool"), {"pool": Pool.RESEARCH, "reason": "x"}
    )
    assert response.status_code == 400
    assert "already in that pool" in response.context["form"].errors["pool"][0]


def test_actions_are_recorded_with_the_curator_as_actor(curator_client, curator, regolith):
    curator_client.post(action_url(regolith, "weigh"), {"measured_ug_0": "2", "measured_ug_1": "g"})
    assert CustodyEvent.objects.order_by("-seq").first().actor == curator


def test_a_committee_member_sees_samples_but_cannot_open_an_action(
    client, committee_member, regolith
):
    client.force_login(committee_member)
    assert client.get(f"/admin/catalog/sample/{regolith.pk}/change/").status_code == 200
    assert client.get(action_url(regolith, "weigh")).status_code == 403
    response = client.post(
        action_url(regolith, "weigh"), {"measured_ug_0": "1", "measured_ug_1": "g", "reason": "x"}
    )
    assert response.status_code == 403
    regolith.refresh_from_db()
    assert regolith.mass_ug == 2 * GRAM


def test_action_pages_of_a_missing_sample_go_back_to_the_list(curator_client):
    response = curator_client.get("/admin/catalog/sample/999/action/weigh/")
    assert response.status_code == 302


def test_the_location_choices_are_the_storage_locations(curator_client, regolith, cabinet):
    response = curator_client.get(action_url(regolith, "move"))
    codes = {loc.code for loc in response.context["form"].fields["location"].queryset}
    assert codes == set(StorageLocation.objects.values_list("code", flat=True))
