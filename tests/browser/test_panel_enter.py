"""Enter in a form with a review panel picker, in Chromium: Enter in the panel's search box
searches, Enter anywhere else does what the form's visible button does (create the call, save the
panel), with and without JavaScript."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from moonvault.calls.models import Call
from tests.browser.conftest import open_call

SEARCH_LABEL = "Find a reviewer to add"


def fill_new_call(page, title: str) -> None:
    """Everything a new call needs, the panel aside (Django's labels end in a colon: by id)."""
    now = timezone.localtime()
    page.locator("#id_title").fill(title)
    page.locator("#id_missions").select_option("CE5")
    page.get_by_label("Scooped regolith").check()
    page.locator("#id_release_budget").fill("3")
    page.locator("#id_per_proposal_cap").fill("1")
    page.locator("#id_proposals_due").fill((now + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M"))
    page.locator("#id_review_due").fill((now + timedelta(days=20)).date().isoformat())
    page.locator("#id_decision_due").fill((now + timedelta(days=30)).date().isoformat())


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_enter_in_the_title_creates_the_call_with_the_reviewers_found(
    journey, mission_ce5, round_people, javascript
):
    committee, _applicants, (_rev0, rev1, _rev2) = round_people
    j = journey(f"new-call-enter-{'js' if javascript else 'nojs'}", javascript=javascript)
    j.log_in(committee.username)
    page = j.go("/calls/committee/new/")
    fill_new_call(page, "Far-side round")
    search = page.get_by_label(SEARCH_LABEL)
    search.fill("brown")
    if not javascript:
        page.get_by_role("button", name="Search", exact=True).click()
    page.locator("#id_panel_found").get_by_label("rev1", exact=True).check()
    j.shot("a reviewer found and ticked")
    assert not Call.objects.exists()

    page.locator("#id_title").press("Enter")
    expect(page.locator("ul.messages")).to_contain_text("The call is created as a draft.")
    call = Call.objects.get()
    assert call.title == "Far-side round"
    assert list(call.panel.all()) == [rev1]
    j.shot("created")


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_enter_in_the_search_box_searches_and_creates_nothing(
    journey, mission_ce5, round_people, javascript
):
    committee, _applicants, (_rev0, rev1, _rev2) = round_people
    j = journey(f"new-call-search-enter-{'js' if javascript else 'nojs'}", javascript=javascript)
    j.log_in(committee.username)
    page = j.go("/calls/committee/new/")
    fill_new_call(page, "Far-side round")
    search = page.get_by_label(SEARCH_LABEL)
    search.fill("rev1")
    found = page.locator("#id_panel_found")
    if javascript:
        # The search as typed has run: the form's default button alone would now create the call.
        expect(found.get_by_label("rev1", exact=True)).not_to_be_checked()
        expect(page.locator("#id_panel_searched")).to_have_value("rev1")
    search.press("Enter")
    page.wait_for_load_state()
    expect(found.get_by_label("rev1", exact=True)).not_to_be_checked()
    expect(page.get_by_label(SEARCH_LABEL)).to_be_focused()
    expect(page.locator("#id_title")).to_have_value("Far-side round")
    assert not Call.objects.exists()

    found.get_by_label("rev1", exact=True).check()
    j.shot("searched and ticked")
    page.get_by_role("button", name="Create the call").click()
    expect(page.locator("ul.messages")).to_contain_text("The call is created as a draft.")
    assert list(Call.objects.get().panel.all()) == [rev1]


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_on_the_round_page_enter_on_a_tick_box_saves_the_panel_and_in_the_box_searches(
    journey, mission_ce5, round_people, javascript
):
    committee, _applicants, (rev0, rev1, _rev2) = round_people
    call = open_call(committee, [rev0], title="Chang'e-5 panel round")
    j = journey(f"panel-enter-{'js' if javascript else 'nojs'}", javascript=javascript)
    j.log_in(committee.username)
    page = j.go(f"/calls/committee/{call.pk}/")
    panel = page.locator("#panel")
    search = panel.get_by_label(SEARCH_LABEL)
    search.fill("rev1")
    search.press("Enter")
    expect(panel.locator("#id_panel_found").get_by_label("rev1", exact=True)).not_to_be_checked()
    expect(panel.get_by_label(SEARCH_LABEL)).to_be_focused()
    assert set(call.panel.all()) == {rev0}

    panel.get_by_label("rev1", exact=True).check()
    panel.get_by_label("rev1", exact=True).press("Enter")
    expect(page.locator("ul.messages")).to_contain_text("The panel is saved.")
    assert set(call.panel.all()) == {rev0, rev1}


def test_the_hidden_default_button_is_out_of_the_tab_order(journey, mission_ce5, round_people):
    committee, _applicants, _reviewers = round_people
    j = journey("new-call-tab-order")
    j.log_in(committee.username)
    page = j.go("/calls/committee/new/")
    main = page.get_by_role("main")
    # Only the visible button is a button to assistive technology.
    expect(main.get_by_role("button", name="Create the call")).to_have_count(1)
    expect(main.get_by_role("button", name="Create the call")).to_be_visible()
    # Tab from the last field before the form lands on the title, not on the hidden button.
    page.locator("#id_title").focus()
    page.keyboard.press("Shift+Tab")
    focused = page.evaluate("document.activeElement.getAttribute('name')")
    assert focused != "panel_enter"
