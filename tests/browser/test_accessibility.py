"""axe-core, run inside Chromium on the main pages, and the catalog driven by keyboard alone.

axe's script comes from the axe-playwright-python package (installed with the dev dependencies),
never from a CDN, so the check runs offline. Violations of impact "serious" or "critical" fail;
lesser ones are printed for the record.
"""

import re

import pytest
from playwright.sync_api import expect

from moonvault.calls import services as calls
from moonvault.calls.models import CallStatus
from moonvault.review import services as review
from tests.browser.conftest import open_call, submitted_proposal

FAILING_IMPACTS = {"serious", "critical"}
# axe no longer checks duplicate ids; a label whose target id is not unique names the wrong field.
SHARED_LABEL_TARGETS = """() => [...document.querySelectorAll('label[for]')]
  .map(label => label.htmlFor)
  .filter(id => document.querySelectorAll(`[id="${CSS.escape(id)}"]`).length > 1)"""


@pytest.fixture(scope="session")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def violations(axe, page) -> list[dict]:
    return axe.run(page).response["violations"]


def describe(url: str, found: list[dict]) -> list[str]:
    lines = []
    for v in found:
        targets = ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        lines.append(f"{url}: [{v['impact']}] {v['id']}: {v['help']} — {targets}")
    return lines


@pytest.fixture
def pages_to_check(shipped_loan, catalog_family):
    """Every main page with real content: a proposal being drafted, a proposal waiting for the
    reviewer, and loans for the curator."""
    r = shipped_loan.round
    committee, reviewer = r.committee, r.reviewers[0]
    drafting = open_call(committee, r.reviewers, title="Chang'e-5 third round")
    draft = calls.proposal_create(actor=r.applicants[0], call_id=drafting.pk, title="Glass beads")
    reviewing = open_call(committee, r.reviewers, title="Chang'e-5 second round")
    waiting = submitted_proposal(
        reviewing, r.applicants[1], "Volatiles in basalt", requested_mg=300, minimum_mg=200
    )
    for status in (CallStatus.CLOSED, CallStatus.SCREENING):
        calls.call_transition(actor=committee, call_id=reviewing.pk, to_status=status)
    calls.call_screen(actor=committee, call_id=reviewing.pk)
    calls.proposal_screen_decide(actor=committee, proposal_id=waiting.pk, eligible=True)
    calls.call_transition(actor=committee, call_id=reviewing.pk, to_status=CallStatus.REVIEW)
    review.assignment_add(actor=committee, proposal_id=waiting.pk, reviewer_id=reviewer.pk)
    sample = catalog_family.aliquot.identifier
    return {
        None: [
            "/",
            "/samples/",
            f"/samples/{sample}/",
            "/missions/",
            "/login/",
            "/calls/",
            "/zh-hans/",
            f"/zh-hans/samples/{sample}/",
        ],
        r.applicants[0].username: [
            f"/calls/proposals/{draft.pk}/step/1/",
            f"/calls/proposals/{draft.pk}/step/4/",
            f"/calls/proposals/{draft.pk}/step/6/",
            "/loans/mine/",
            f"/loans/{shipped_loan.loan.pk}/",
        ],
        reviewer.username: [
            "/review/",
            f"/review/proposals/{waiting.pk}/declare/",
            f"/review/proposals/{waiting.pk}/",
        ],
        "curator": ["/loans/", f"/loans/{shipped_loan.loan.pk}/", "/loans/incidents/"],
        committee.username: [
            "/calls/committee/new/",
            f"/calls/committee/{r.call.pk}/",
            f"/review/calls/{reviewing.pk}/assignments/",
            f"/review/calls/{r.call.pk}/ranking/",
            f"/calls/committee/proposals/{r.proposals[0].pk}/decision/",
        ],
    }


def test_the_main_pages_have_no_serious_accessibility_violations(journey, axe, pages_to_check):
    failing, minor = [], []
    for username, urls in pages_to_check.items():
        j = journey(f"accessibility-{username or 'visitor'}")
        if username:
            j.log_in(username)
        for url in urls:
            page = j.go(url)
            j.shot(url.strip("/").replace("/", "-") or "home")
            found = violations(axe, page)
            failing += describe(url, [v for v in found if v["impact"] in FAILING_IMPACTS])
            minor += describe(url, [v for v in found if v["impact"] not in FAILING_IMPACTS])
            minor += [
                f"{url}: label target id {target!r} is not unique"
                for target in sorted(set(page.evaluate(SHARED_LABEL_TARGETS)))
            ]
    print("\n".join(["Minor accessibility findings:", *minor] if minor else []))
    assert not failing, "\n".join(failing)


FOCUSED = """() => {
  const el = document.activeElement;
  const filters = document.querySelector('input[name=q]').form;
  return {name: el.name || el.textContent.trim(), tag: el.tagName, inFilters: el.form === filters,
          labelled: !!((el.labels && el.labels.length) || el.getAttribute('aria-label')
                       || (el.tagName === 'BUTTON' && el.textContent.trim()))};
}"""


def test_the_catalog_filters_work_from_the_keyboard_alone(journey, catalog_family):
    j = journey("keyboard")
    page = j.go("/samples/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name=re.compile("Skip to content"))).to_be_focused()
    j.shot("skip link")
    page.keyboard.press("Enter")

    visited = []
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused["inFilters"]:
            assert focused["labelled"], f"{focused} has no label"
            visited.append(focused["name"])
        elif visited:
            break
    for name in ("q", "mission", "form", "pool", "state", "mass_min", "mass_max"):
        assert name in visited, f"the filter {name} is not reached by Tab: {visited}"
    assert visited.index("q") < visited.index("mission") < visited.index("mass_max")

    # Back to the search field, type, and submit with Enter.
    for _ in range(len(visited) + 1):
        if page.evaluate(FOCUSED)["name"] == "q":
            break
        page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED)["name"] == "q"
    page.keyboard.type("CE5C0300")
    page.keyboard.press("Enter")
    results = page.get_by_role("main")
    expect(page).to_have_url(re.compile(r"q=CE5C0300"))
    expect(
        results.get_by_role("link", name=catalog_family.fragment.identifier, exact=True)
    ).to_be_visible()
    expect(results.get_by_role("link", name="CE5Z0100YJFM00100", exact=True)).to_have_count(0)
    j.shot("searched with enter")

    # Narrow by form: Tab to the select and type the start of the option's name.
    for _ in range(len(visited)):
        if page.evaluate(FOCUSED)["name"] == "form":
            break
        page.keyboard.press("Tab")
    page.keyboard.type("Powder")
    expect(page).to_have_url(re.compile(r"form=powder"))
    expect(
        results.get_by_role("link", name=catalog_family.fragment.identifier, exact=True)
    ).to_have_count(0)
    expect(
        results.get_by_role("link", name=catalog_family.aliquot.identifier, exact=True)
    ).to_be_visible()
    j.shot("filtered by keyboard")
