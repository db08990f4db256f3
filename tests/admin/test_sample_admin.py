"""The sample list, the receive form, and what the change form leaves alone."""

import pytest

from moonvault.catalog.models import Form, Pool, Sample
from moonvault.custody.models import CustodyEvent, EventKind
from tests.conftest import GRAM

pytestmark = pytest.mark.django_db

LIST = "/admin/catalog/sample/"


def listed(response):
    return [s.identifier for s in response.context["cl"].result_list]


@pytest.fixture
def samples(receive, mission_ce5, mission_a17):
    return [
        receive("CE5C0400YJFM00505", mission_ce5, 2 * GRAM),
        receive("CE5Z0100", mission_ce5, 3 * GRAM, form=Form.DRILLED_REGOLITH),
        receive("74001,6040", mission_a17, 40 * GRAM, pool=Pool.PERMANENT),
    ]


def test_the_list_shows_samples_with_readable_and_exact_mass(curator_client, samples):
    response = curator_client.get(LIST)
    assert response.status_code == 200
    assert listed(response) == ["74001,6040", "CE5C0400YJFM00505", "CE5Z0100"]
    assert "40 g (40,000,000 µg)" in response.text


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"mission__id__exact": "MISSION_A17"}, ["74001,6040"]),
        ({"form__exact": "drilled_regolith"}, ["CE5Z0100"]),
        ({"pool__exact": "permanent"}, ["74001,6040"]),
        ({"state__exact": "stored"}, ["74001,6040", "CE5C0400YJFM00505", "CE5Z0100"]),
        ({"state__exact": "lost"}, []),
    ],
)
def test_the_list_filters_by_mission_form_pool_and_state(
    curator_client, samples, mission_a17, params, expected
):
    params = {k: str(mission_a17.pk) if v == "MISSION_A17" else v for k, v in params.items()}
    assert listed(curator_client.get(LIST, params)) == expected


def test_the_list_searches_by_identifier_prefix(curator_client, samples):
    assert listed(curator_client.get(LIST, {"q": "CE5C"})) == ["CE5C0400YJFM00505"]
    assert listed(curator_client.get(LIST, {"q": "74001,"})) == ["74001,6040"]
    assert listed(curator_client.get(LIST, {"q": "0400"})) == []


def test_custody_fields_are_read_only_on_the_change_form(curator_client, samples):
    sample = samples[0]
    form = curator_client.get(f"{LIST}{sample.pk}/change/").context["adminform"].form
    assert set(form.fields) == {
        "igsn",
        "classification",
        "subtype",
        "pristinity_pct",
        "description",
    }


def test_editing_the_description_writes_nothing_else(curator_client, samples):
    sample = samples[0]
    # The row changes behind the open form, as a concurrent split would change it.
    Sample.objects.filter(pk=sample.pk).update(mass_ug=GRAM)
    response = curator_client.post(
        f"{LIST}{sample.pk}/change/",
        {"igsn": "", "classification": "basalt", "subtype": "", "description": "dark grains"},
    )
    assert response.status_code == 302
    sample.refresh_from_db()
    assert (sample.classification, sample.description, sample.mass_ug) == (
        "basalt",
        "dark grains",
        GRAM,
    )


def test_posting_a_mass_to_the_change_form_does_not_change_it(curator_client, samples):
    sample = samples[0]
    curator_client.post(
        f"{LIST}{sample.pk}/change/", {"mass_ug": "1", "state": "lost", "description": "x"}
    )
    sample.refresh_from_db()
    assert (sample.mass_ug, sample.state) == (2 * GRAM, "stored")


def test_samples_cannot_be_deleted_even_by_a_superuser(client, superuser, samples):
    client.force_login(superuser)
    sample = samples[0]
    assert client.get(f"{LIST}{sample.pk}/delete/").status_code == 403
    assert client.post(f"{LIST}{sample.pk}/delete/", {"post": "yes"}).status_code == 403
    response = client.post(LIST, {"action": "delete_selected", "_selected_action": [sample.pk]})
    assert Sample.objects.filter(pk=sample.pk).exists()
    assert "delete_selected" not in str(response.content)


def test_adding_a_sample_is_receiving_it(curator_client, mission_ce5, cabinet):
    response = curator_client.get(f"{LIST}add/")
    assert response.status_code == 200
    assert "mass_ug_1" in response.text
    response = curator_client.post(
        f"{LIST}add/",
        {
            "identifier": "CE5C0100",
            "mission": mission_ce5.pk,
            "form": Form.SCOOPED_REGOLITH,
            "pool": Pool.RESEARCH,
            "mass_ug_0": "1.25",
            "mass_ug_1": "g",
            "location": cabinet.pk,
            "pristine": "on",
            "reason": "delivered by the return capsule",
        },
    )
    sample = Sample.objects.get(identifier="CE5C0100")
    assert response.status_code == 302
    assert response["Location"] == f"{LIST}{sample.pk}/change/"
    assert (sample.mass_ug, sample.location, sample.pristine) == (1_250_000, cabinet, True)
    event = CustodyEvent.objects.get(sample=sample)
    assert (event.kind, event.mass_delta_ug) == (EventKind.RECEIVED, 1_250_000)


def test_receiving_a_taken_identifier_shows_the_error_at_the_identifier(
    curator_client, samples, mission_ce5, cabinet
):
    events_before = CustodyEvent.objects.count()
    response = curator_client.post(
        f"{LIST}add/",
        {
            "identifier": "CE5Z0100",
            "mission": mission_ce5.pk,
            "form": Form.SCOOPED_REGOLITH,
            "pool": Pool.RESEARCH,
            "mass_ug_0": "1",
            "mass_ug_1": "kg",
            "location": cabinet.pk,
        },
    )
    assert response.status_code == 400
    assert "already in use" in response.context["form"].errors["identifier"][0]
    assert CustodyEvent.objects.count() == events_before


def test_a_committee_member_may_look_but_not_receive(client, committee_member, samples):
    client.force_login(committee_member)
    assert client.get(LIST).status_code == 200
    assert client.get(f"{LIST}add/").status_code == 403


def test_a_user_without_a_curation_role_sees_no_inventory(client, django_user_model, samples):
    clerk = django_user_model.objects.create_user("clerk", password="x-Clerk-2026", is_staff=True)
    client.force_login(clerk)
    assert client.get(LIST).status_code == 403
    assert "catalog" not in client.get("/admin/").text.lower().split("<title>")[0]


def test_the_admin_index_offers_the_inventory_to_a_curator(curator_client, samples):
    response = curator_client.get("/admin/")
    assert response.status_code == 200
    for model in ["sample", "mission", "storagelocation", "custodyevent", "apitoken"]:
        assert f"/{model}/" in response.text
