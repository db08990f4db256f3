"""The committee chooses a round's review panel among thousands of reviewers: the round's page
shows the panel's members and what a search finds, never a list of every reviewer."""

import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from moonvault.accounts.models import Institution, Role
from tests.calls.conftest import register
from tests.web_rounds.conftest import log_in

HTMX = {"HTTP_HX_REQUEST": "true"}
CHECKBOX = re.compile(
    r'<input type="checkbox" name="panel" value="(\d+)" id="id_panel_\1"( checked)?>'
)


@pytest.fixture
def heidelberg(db) -> Institution:
    return Institution.objects.create(
        name="Heidelberg University", name_zh="海德堡大学", country="DE"
    )


@pytest.fixture
def zoe(people, heidelberg) -> User:
    """A reviewer off the open call's panel (rosa, ravi and claude sit on it)."""
    return register({"de": heidelberg}, {"zoe": ("de", Role.REVIEWER, "Zoe", "Fischer")})["zoe"]


def boxes(html: str) -> dict[int, bool]:
    """Each panel checkbox of a page: the reviewer's id, and whether it is ticked."""
    return {int(pk): bool(checked) for pk, checked in CHECKBOX.findall(html)}


def panel_url(call) -> str:
    return reverse("calls:call-panel", args=[call.pk])


def test_the_round_page_shows_the_members_with_their_details_and_no_other_reviewer(
    client, people, open_call, zoe
):
    people.reviewer.person.expertise = "noble gases, SIMS"
    people.reviewer.person.save()
    log_in(client, people.committee)
    html = client.get(reverse("calls:call-admin", args=[open_call.pk])).content.decode()
    members = [people.reviewer, people.reviewer2, people.conflicted]
    assert boxes(html) == {m.pk: True for m in members}
    row = re.search(rf'<tr><td><input [^>]* id="id_panel_{people.reviewer.pk}".*?</tr>', html)
    assert "Rosa" in row[0] and "rosa" in row[0]
    assert "<td>University College London</td><td>GB</td><td>noble gases, SIMS</td>" in row[0]
    assert "3 members; untick to remove." in html
    assert "zoe" not in html and "Fischer" not in html


def test_the_search_box_finds_reviewers_off_the_panel_and_keeps_the_ticked_members(
    client, people, open_call, zoe
):
    log_in(client, people.committee)
    url = reverse("calls:reviewer-search")
    ticked = [people.reviewer.pk, people.reviewer2.pk, people.conflicted.pk]
    html = client.get(url, {"panel_q": "heidelberg", "panel": ticked}, **HTMX).content.decode()
    found, members = html.split('<div id="id_panel_members" hx-swap-oob="true">')
    assert boxes(found) == {zoe.pk: False}
    assert boxes(members) == dict.fromkeys(ticked, True)
    # An unticked member is no longer on the panel being chosen: a search may find them again.
    html = client.get(url, {"panel_q": "Ravi", "panel": ticked[:1]}, **HTMX).content.decode()
    found, members = html.split('<div id="id_panel_members" hx-swap-oob="true">')
    assert (boxes(found), boxes(members)) == ({people.reviewer2.pk: False}, {ticked[0]: True})
    html = client.get(url, {"panel_q": "ravi", "panel": ticked}, **HTMX).content.decode()
    assert "No other reviewer matches “ravi”." in html
    # amelie is an applicant, not a reviewer.
    html = client.get(url, {"panel_q": "amelie"}, **HTMX).content.decode()
    assert not boxes(html) and "No other reviewer matches" in html


def test_only_the_committee_may_search_for_reviewers(client, people):
    url = reverse("calls:reviewer-search")
    assert client.get(url, {"panel_q": "ravi"})["Location"].startswith(reverse("login"))
    log_in(client, people.reviewer)
    response = client.get(url, {"panel_q": "ravi"}, **HTMX)
    assert response.status_code == 403 and not boxes(response.content.decode())


def test_a_search_without_javascript_shows_the_ticked_panel_and_what_it_found_and_saves_nothing(
    client, people, open_call, zoe
):
    log_in(client, people.committee)
    response = client.post(
        panel_url(open_call),
        {"panel": [people.reviewer.pk], "panel_q": "fischer", "panel_search": "1"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert boxes(html) == {people.reviewer.pk: True, zoe.pk: False}
    assert 'value="fischer"' in html and 'class="errorlist' not in html
    # The chair goes on typing in the search box.
    assert re.search(r'<input type="search" [^>]* autofocus', html)
    assert set(open_call.panel.all()) == {people.reviewer, people.reviewer2, people.conflicted}


def test_the_committee_adds_and_removes_members_through_the_form(client, people, open_call, zoe):
    log_in(client, people.committee)
    response = client.post(
        panel_url(open_call), {"panel": [people.reviewer.pk, people.reviewer2.pk, zoe.pk]}
    )
    assert response.status_code == 302
    assert set(open_call.panel.all()) == {people.reviewer, people.reviewer2, zoe}
    html = client.get(response["Location"]).content.decode()
    assert "The panel is saved." in html
    assert boxes(html) == dict.fromkeys([people.reviewer.pk, people.reviewer2.pk, zoe.pk], True)
    assert client.post(panel_url(open_call), {"panel_q": "x"}).status_code == 302
    assert not open_call.panel.exists()


@pytest.mark.parametrize("who", ["applicant", "closed account"])
def test_a_panel_with_someone_who_is_not_an_active_reviewer_is_refused_and_changes_nothing(
    client, people, open_call, zoe, who
):
    outsider = people.applicant if who == "applicant" else zoe
    User.objects.filter(pk=zoe.pk).update(is_active=who != "closed account")
    log_in(client, people.committee)
    response = client.post(panel_url(open_call), {"panel": [people.reviewer.pk, outsider.pk]})
    assert response.status_code == 400
    message = f"User {outsider.pk} is not an active reviewer."
    assert response.context["panel_form"].errors == {"panel": [message]}
    html = response.content.decode()
    field = html[html.index('<fieldset id="id_panel_picker"') : html.index("</fieldset>")]
    assert 'aria-describedby="id_panel_error"' in field and message in field
    assert boxes(html) == {people.reviewer.pk: True}
    assert set(open_call.panel.all()) == {people.reviewer, people.reviewer2, people.conflicted}


def test_the_panel_is_fixed_once_review_has_started(client, people, round_in_review, zoe):
    call = round_in_review.call
    log_in(client, people.committee)
    response = client.post(panel_url(call), {"panel": [people.reviewer.pk, zoe.pk]})
    assert response.status_code == 400
    assert response.context["panel_form"].errors == {
        "panel": ["the panel is fixed once review has started"]
    }
    assert set(call.panel.all()) == {people.reviewer, people.reviewer2, people.conflicted}


def add_reviewers(count: int, start: int, institution: Institution) -> list[User]:
    specs = {
        f"reviewer{i:03d}": ("place", Role.REVIEWER, "Reviewer", f"Number {i:03d}")
        for i in range(start, start + count)
    }
    return list(register({"place": institution}, specs).values())


def test_the_round_page_reads_as_many_queries_with_60_reviewers_as_with_5(
    client, people, open_call, heidelberg, django_assert_num_queries
):
    """The fixture's three panel members and two more; then 55 more, half of all on the panel."""
    log_in(client, people.committee)
    url = reverse("calls:call-admin", args=[open_call.pk])
    open_call.panel.add(*add_reviewers(2, 0, heidelberg))
    client.get(url)  # the session's first request reads what later ones find cached
    with CaptureQueriesContext(connection) as five:
        html = client.get(url).content.decode()
    assert len(boxes(html)) == 5 == User.objects.filter(groups__name=Role.REVIEWER).count()

    more = add_reviewers(55, 2, heidelberg)
    open_call.panel.add(*more[:25])
    assert User.objects.filter(groups__name=Role.REVIEWER).count() == 60
    with django_assert_num_queries(len(five)):
        html = client.get(url).content.decode()
    assert boxes(html) == {u.pk: True for u in open_call.panel.all()} and len(boxes(html)) == 30
    assert all(f'value="{u.pk}"' not in html for u in more[25:])


def test_the_new_call_page_lists_no_reviewer_until_searched(client, people, zoe):
    log_in(client, people.committee)
    html = client.get(reverse("calls:call-new")).content.decode()
    assert not boxes(html) and "Nobody is on the panel yet." in html
    assert "zoe" not in html
    html = client.get(reverse("calls:reviewer-search"), {"panel_q": "海德堡"}, **HTMX)
    assert boxes(html.content.decode()) == {zoe.pk: False}
