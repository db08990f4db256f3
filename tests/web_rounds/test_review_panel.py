"""The committee chooses a round's review panel among thousands of reviewers: the round's page
shows the panel's members and what a search finds, never a list of every reviewer."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from moonvault.accounts.models import Institution, Role
from moonvault.calls.models import Call
from moonvault.catalog.models import Form, Pool
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


def _new_call(people, **changes) -> dict:
    """A complete new call with one reviewer ticked."""
    now = timezone.now()
    return {
        "title": "Chang'e-6 far-side round",
        "missions": ["CE5"],
        "pools": [Pool.RESEARCH],
        "sample_forms": [Form.SCOOPED_REGOLITH],
        "release_budget": "12.5",
        "per_proposal_cap": "1",
        "proposals_due": (now + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M"),
        "review_due": (now + timedelta(days=20)).date().isoformat(),
        "decision_due": (now + timedelta(days=30)).date().isoformat(),
        "panel": [people.reviewer.pk],
        "reviewers_per_proposal": "2",
        "max_reviewer_load": "4",
        "coauthor_window_years": "3",
        **changes,
    }


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


class SubmitButtons(HTMLParser):
    """The submit buttons of the form that holds the panel picker, in tree order."""

    def __init__(self):
        super().__init__()
        self.forms: list[list[dict]] = []
        self.in_form = False
        self.text: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append([])
            self.in_form = True
        elif tag == "button" and self.in_form and attrs.get("type", "submit") == "submit":
            self.forms[-1].append(attrs)
            self.text = []
        elif tag == "input" and self.in_form and attrs.get("name") == "panel_q":
            self.forms[-1].append({"search box": True})

    def handle_data(self, data):
        if self.text is not None:
            self.text.append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "button" and self.text is not None:
            self.forms[-1][-1]["text"] = "".join(self.text).strip()
            self.text = None

    @classmethod
    def of_panel_form(cls, html: str) -> list[dict]:
        parser = cls()
        parser.feed(html)
        (form,) = [f for f in parser.forms if {"search box": True} in f]
        return [b for b in form if b != {"search box": True}]


@pytest.mark.parametrize("page", ["new call", "round page"])
def test_the_first_submit_button_of_a_panel_form_is_a_hidden_copy_of_its_visible_button(
    client, people, open_call, page
):
    """Enter in a one-line field submits with the form's first button: it must not be the
    search; the copy is out of sight, out of the tab order and hidden from screen readers."""
    log_in(client, people.committee)
    url = (
        reverse("calls:call-new")
        if page == "new call"
        else reverse("calls:call-admin", args=[open_call.pk])
    )
    default, search, visible = SubmitButtons.of_panel_form(client.get(url).content.decode())
    assert default["name"] == "panel_enter" and "formnovalidate" in default
    assert (default["class"], default["tabindex"], default["aria-hidden"]) == (
        "visually-hidden",
        "-1",
        "true",
    )
    assert search["name"] == "panel_search" and search["text"] == "Search"
    assert "name" not in visible and "class" not in visible and "tabindex" not in visible
    assert (
        default["text"]
        == visible["text"]
        == ("Create the call" if page == "new call" else "Save the panel")
    )


def test_enter_with_a_query_not_searched_yet_searches_and_creates_nothing(client, people, zoe):
    """Without JavaScript, Enter in the search box posts the form's default button; the query
    typed differs from the one whose results the page showed: the chair was searching."""
    log_in(client, people.committee)
    typed = _new_call(people, panel_q="fischer", panel_searched="", panel_enter="1")
    response = client.post(reverse("calls:call-new"), typed)
    assert response.status_code == 200 and not Call.objects.exists()
    html = response.content.decode()
    assert boxes(html) == {people.reviewer.pk: True, zoe.pk: False}
    assert '<input type="hidden" name="panel_searched" value="fischer"' in html
    assert re.search(r'<input type="search" [^>]* autofocus', html)


def test_enter_with_the_query_already_searched_creates_the_call(client, people, zoe):
    """Enter in another field once the search has run (as typed, or posted) creates the call."""
    log_in(client, people.committee)
    typed = _new_call(people, panel_q=" fischer", panel_searched="fischer ", panel_enter="1")
    response = client.post(reverse("calls:call-new"), typed)
    assert response.status_code == 302
    assert set(Call.objects.get().panel.all()) == {people.reviewer}


def test_the_visible_button_creates_the_call_whatever_the_search_box_holds(client, people, zoe):
    log_in(client, people.committee)
    typed = _new_call(people, panel_q="fischer", panel_searched="")
    assert client.post(reverse("calls:call-new"), typed).status_code == 302
    assert Call.objects.count() == 1


def test_enter_on_the_round_page_saves_the_panel_unless_a_new_query_waits(
    client, people, open_call, zoe
):
    log_in(client, people.committee)
    ticked = {"panel": [people.reviewer.pk, zoe.pk], "panel_enter": "1"}
    response = client.post(panel_url(open_call), {**ticked, "panel_q": "ravi"})
    assert response.status_code == 200
    assert set(open_call.panel.all()) == {people.reviewer, people.reviewer2, people.conflicted}
    response = client.post(
        panel_url(open_call), {**ticked, "panel_q": "ravi", "panel_searched": "ravi"}
    )
    assert response.status_code == 302
    assert set(open_call.panel.all()) == {people.reviewer, zoe}


def test_the_search_as_typed_tells_the_page_which_query_its_results_answer(client, people, zoe):
    log_in(client, people.committee)
    html = client.get(
        reverse("calls:reviewer-search"), {"panel_q": "  fischer "}, **HTMX
    ).content.decode()
    assert (
        '<input type="hidden" name="panel_searched" value="fischer" id="id_panel_searched"'
        ' hx-swap-oob="true">'
    ) in html
