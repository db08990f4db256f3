import pytest

from moonvault.accounts.models import ApiToken
from moonvault.accounts.services import api_token_create, token_digest
from moonvault.catalog.models import Payload
from moonvault.catalog.services import ChildSpec, sample_split
from moonvault.custody.models import CustodyEvent
from tests.conftest import GRAM

pytestmark = pytest.mark.django_db

EVENTS = "/admin/custody/custodyevent/"


def test_custody_events_are_listed_filtered_by_kind_and_searched_by_sample(
    curator_client, regolith, receive
):
    receive("74001,6040", regolith.mission, GRAM)
    sample_split(actor=None, sample_id=regolith.pk, children=[ChildSpec(GRAM // 4)])
    response = curator_client.get(EVENTS)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 4

    split_only = curator_client.get(EVENTS, {"kind__exact": "split"}).context["cl"].result_list
    assert [e.sample.identifier for e in split_only] == ["CE5C0400YJFM00505"]

    found = curator_client.get(EVENTS, {"q": "CE5C0400YJFM00505"}).context["cl"].result_list
    assert sorted(e.kind for e in found) == ["received", "split", "split_off"]


@pytest.mark.parametrize("who", ["curator", "superuser"])
def test_custody_events_can_be_viewed_but_never_added_changed_or_deleted(
    client, request, regolith, who
):
    client.force_login(request.getfixturevalue(who))
    event = CustodyEvent.objects.get(sample=regolith)
    page = client.get(f"{EVENTS}{event.pk}/change/")
    assert page.status_code == 200
    assert event.hash in page.text
    assert client.get(f"{EVENTS}add/").status_code == 403
    assert client.get(f"{EVENTS}{event.pk}/delete/").status_code == 403
    client.post(f"{EVENTS}{event.pk}/change/", {"reason": "rewritten"})
    event.refresh_from_db()
    assert event.reason == ""
    model_admin = page.context["adminform"].model_admin
    req = page.wsgi_request
    assert not model_admin.has_add_permission(req)
    assert not model_admin.has_change_permission(req, event)
    assert not model_admin.has_delete_permission(req, event)


def test_a_mission_is_edited_with_its_payloads_inline(curator_client, mission_ce5):
    response = curator_client.get(f"/admin/catalog/mission/{mission_ce5.pk}/change/")
    assert response.status_code == 200
    assert "payloads-TOTAL_FORMS" in response.text
    Payload.objects.create(mission=mission_ce5, name="Camera", agency="CNSA", country="CN")
    assert "1.731 kg" in curator_client.get("/admin/catalog/mission/").text


def test_storage_locations_are_listed_and_searched(curator_client, cabinet):
    response = curator_client.get("/admin/catalog/storagelocation/", {"q": "N2"})
    assert [loc.code for loc in response.context["cl"].result_list] == ["MAIN-N2-01"]


def test_institutions_and_people_are_for_administrators(client, curator, superuser):
    client.force_login(curator)
    assert client.get("/admin/accounts/person/").status_code == 403
    assert client.get("/admin/accounts/institution/add/").status_code == 403
    client.force_login(superuser)
    people = client.get("/admin/accounts/person/")
    assert people.status_code == 200
    assert "Curator" in people.text
    assert client.get("/admin/accounts/institution/add/").status_code == 200


TOKENS = "/admin/accounts/apitoken/"


def test_creating_a_token_shows_it_once_and_stores_only_its_digest(curator_client, curator):
    response = curator_client.post(f"{TOKENS}add/", {"name": "balance script", "scope": "write"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    raw = response.context["raw_token"]
    assert raw.startswith("mv_")
    assert raw in response.text
    token = ApiToken.objects.get(user=curator)
    assert (token.name, token.scope, token.digest) == ("balance script", "write", token_digest(raw))

    listing = curator_client.get(TOKENS)
    detail = curator_client.get(f"{TOKENS}{token.pk}/change/")
    for page in (listing, detail):
        assert page.status_code == 200
        assert raw not in page.text
        assert token.digest not in page.text
        assert f"{raw[:8]}…" in page.text


def test_a_token_needs_a_name(curator_client):
    response = curator_client.post(f"{TOKENS}add/", {"name": " ", "scope": "read"})
    assert response.context["raw_token"] is None
    assert response.context["form"].errors["name"]
    assert not ApiToken.objects.exists()


def test_the_revoke_action_revokes_the_selected_tokens(curator_client, curator):
    api_token_create(actor=curator, name="one")
    api_token_create(actor=curator, name="two")
    first = ApiToken.objects.get(name="one")
    response = curator_client.post(
        TOKENS, {"action": "revoke", "_selected_action": [first.pk]}, follow=True
    )
    assert "1 token(s) revoked." in response.text
    assert ApiToken.objects.get(name="one").revoked_at is not None
    assert ApiToken.objects.get(name="two").revoked_at is None


def test_a_user_sees_only_their_own_tokens(client, curator, superuser):
    api_token_create(actor=curator, name="curator's")
    client.force_login(superuser)
    assert list(client.get(TOKENS).context["cl"].result_list) == []
