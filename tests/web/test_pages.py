from pathlib import Path

import pytest
from django.urls import reverse

import moonvault
from moonvault.catalog.models import Form, Payload
from moonvault.custody.models import LedgerHead
from tests.conftest import GRAM

pytestmark = pytest.mark.django_db


def test_home_lists_missions_and_the_ledger_head(client, mission_ce5, regolith):
    response = client.get("/")
    assert response.status_code == 200
    assert "Chang&#x27;e-5" in response.text
    assert "1.731 kg" in response.text
    head = LedgerHead.objects.get()
    assert f"Custody ledger: {head.seq} events" in response.text
    assert head.hash in response.text


def test_missions_page_shows_landing_site_returned_mass_and_payloads(client, mission_ce5):
    mission_ce5.landing_site = "Mons Rümker, Oceanus Procellarum"
    mission_ce5.save()
    Payload.objects.create(
        mission=mission_ce5, name="Panoramic camera", agency="CNSA", country="CN"
    )
    response = client.get("/missions/")
    assert response.status_code == 200
    for text in ["嫦娥五号", "Mons Rümker", "1.731 kg", "Panoramic camera", "?mission=CE5"]:
        assert text in response.text


def test_sample_page_shows_identifiers_mass_and_exact_micrograms_on_hover(client, family):
    regolith = family[0]
    regolith.refresh_from_db()
    response = client.get(reverse("sample-detail", args=[regolith.identifier]))
    assert response.status_code == 200
    assert "<h1>Sample CE5C0400YJFM00505</h1>" in response.text
    assert regolith.mass_ug == 2 * GRAM - 251_512
    assert '<span title="1,748,488 µg">1.748 g</span>' in response.text


def test_sample_page_shows_ancestors_children_and_descendant_count(client, family):
    regolith, children, grandchild = family
    response = client.get(reverse("sample-detail", args=[children[0].identifier]))
    assert [a["identifier"] for a in response.context["ancestors"]] == [regolith.identifier]
    assert f'href="/samples/{regolith.identifier}/"' in response.text
    assert f'href="/samples/{grandchild.identifier}/"' in response.text
    assert "1 descendant in all" in response.text

    root = client.get(reverse("sample-detail", args=[regolith.identifier]))
    assert [c["identifier"] for c in root.context["children"]] == [c.identifier for c in children]
    assert "3 descendants in all" in root.text
    assert "Powder aliquot" in root.text


def test_sample_page_shows_the_custody_timeline(client, family):
    regolith = family[0]
    response = client.get(reverse("sample-detail", args=[regolith.identifier]))
    events = list(response.context["events"])
    assert [e.kind for e in events] == ["received", "split"]
    assert "first allocation round" in response.text
    assert "Received" in response.text
    assert events[1].hash[:12] in response.text
    assert '<span title="12 µg">12 µg</span>' in response.text


def test_a_sample_page_works_for_an_identifier_with_a_comma(client, apollo_rock):
    url = reverse("sample-detail", args=["74001,6040"])
    assert url == "/samples/74001,6040/"
    response = client.get(url)
    assert response.status_code == 200
    assert "Apollo 17" in response.text
    assert "Rock fragment" in response.text


def test_an_unknown_sample_is_a_404_page_naming_it(client, db):
    response = client.get("/samples/CE5-NOWHERE/")
    assert response.status_code == 404
    assert "There is no sample with the identifier CE5-NOWHERE." in response.text


def test_an_unknown_page_is_the_404_page(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "There is no such page." in response.text
    assert response["Content-Type"].startswith("text/html")


def test_login_and_logout(client, curator):
    page = client.get("/login/")
    assert page.status_code == 200
    assert 'name="username"' in page.text
    response = client.post("/login/", {"username": "curator", "password": "x-Curator-2026"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert "Log out" in home.text
    assert "Curation" in home.text
    response = client.post("/logout/")
    assert response.status_code == 302
    assert "Log in" in client.get("/").text


def test_a_wrong_password_shows_an_error_and_logs_no_one_in(client, curator):
    response = client.post("/login/", {"username": "curator", "password": "wrong"})
    assert response.status_code == 200
    assert 'role="alert"' in response.text
    assert "_auth_user_id" not in client.session


def test_logout_needs_a_post(client, curator):
    client.force_login(curator)
    assert client.get("/logout/").status_code == 405
    assert "_auth_user_id" in client.session


def test_receiving_forms_are_listed_with_their_display_names(client, receive, mission_ce5):
    receive("CE5Z0001", mission_ce5, GRAM, form=Form.DRILLED_REGOLITH)
    assert "Drilled regolith / core section" in client.get("/samples/").text


def test_no_template_comment_reaches_a_page(client, mission_ce5):
    # The template language's {# #} comment ends at its line: one spread over lines is text.
    for url in ["/", "/missions/", "/samples/", "/transparency/"]:
        page = client.get(url).text
        assert "{#" not in page and "#}" not in page, url


def test_no_template_has_a_comment_over_several_lines():
    for template in Path(moonvault.__file__).parent.rglob("templates/**/*.html"):
        for number, line in enumerate(template.read_text().splitlines(), 1):
            assert line.count("{#") == line.count("#}"), f"{template}:{number}"
