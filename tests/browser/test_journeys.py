"""Whole journeys through the site in Chromium, one person (or several) at a time.

Each test builds what comes before its journey through the services, then drives the pages as a
person would: labels, roles and headings rather than positions. Screenshots of every step land
in var/screenshots/<journey>/.
"""

import re

from django.utils import translation
from playwright.sync_api import expect

from moonvault.allocation.models import AllocationPlan
from moonvault.calls.forms import mass_in
from moonvault.calls.models import CallStatus, Proposal, ProposalStatus
from moonvault.core.units import format_mass
from moonvault.loans.models import Incident, Loan
from moonvault.review import services as review
from moonvault.review.models import ConflictDeclaration, Review
from tests.browser.conftest import MG, open_call, review_all


def row(page, text: str):
    """The table row that mentions `text`."""
    return page.get_by_role("row").filter(has_text=text)


def zh(text: str) -> str:
    """The Chinese of an English interface string; the test fails if it is untranslated."""
    with translation.override("zh-hans"):
        translated = translation.gettext(text)
    assert translated != text, f"no Chinese translation for {text!r}"
    return translated


# --- the public catalog -----------------------------------------------------------------------


def test_a_visitor_searches_the_catalog_and_opens_a_sample(journey, catalog_family):
    j = journey("visitor")
    page = j.go("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    j.shot("home")

    search = page.get_by_role("search")
    search.get_by_label("Sample identifier").fill("CE5C0300")
    search.get_by_label("Sample identifier").press("Enter")
    expect(page).to_have_url(re.compile(r"/samples/\?q=CE5C0300"))
    results = page.get_by_role("main")
    for sample in (catalog_family.root, catalog_family.aliquot, catalog_family.fragment):
        expect(results.get_by_role("link", name=sample.identifier, exact=True)).to_be_visible()
    expect(results.get_by_role("link", name="CE5Z0100YJFM00100", exact=True)).to_have_count(0)
    expect(results).to_contain_text("3 samples")
    j.shot("search results")

    page.get_by_label("Form", exact=True).select_option(label="Powder aliquot")
    aliquot = catalog_family.aliquot.identifier
    expect(
        results.get_by_role("link", name=catalog_family.fragment.identifier, exact=True)
    ).to_have_count(0)
    expect(results.get_by_role("link", name=aliquot, exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"form=powder"))
    j.shot("filtered by form")

    results.get_by_role("link", name=aliquot, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(aliquot)
    expect(page.get_by_role("main")).to_contain_text(format_mass(250 * MG))
    # The genealogy leads back to the parent, and the timeline shows the split that made it.
    parent = page.get_by_role("link", name=catalog_family.root.identifier, exact=True).first
    expect(parent).to_be_visible()
    expect(row(page, "Created by split")).to_be_visible()
    j.shot("sample page")

    parent.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(catalog_family.root.identifier)
    expect(page.get_by_role("link", name=aliquot, exact=True).first).to_be_visible()
    j.shot("parent sample")


def test_the_visitor_journey_in_chinese(journey, catalog_family):
    j = journey("visitor-zh", locale="zh-CN")
    page = j.go("/zh-hans/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1)).to_have_text(zh("Lunar samples, kept and shared"))
    j.shot("home")

    search = page.get_by_role("search")
    search.get_by_label(zh("Sample identifier")).fill("CE5C0300")
    search.get_by_label(zh("Sample identifier")).press("Enter")
    expect(page).to_have_url(re.compile(r"/zh-hans/samples/\?q=CE5C0300"))
    expect(page.get_by_role("heading", level=1)).to_have_text(zh("Sample catalog"))
    results = page.get_by_role("main")
    expect(
        results.get_by_role("link", name=catalog_family.fragment.identifier, exact=True)
    ).to_be_visible()
    j.shot("search results")

    page.get_by_label(zh("Form"), exact=True).select_option(value="powder")
    aliquot = catalog_family.aliquot.identifier
    expect(
        results.get_by_role("link", name=catalog_family.fragment.identifier, exact=True)
    ).to_have_count(0)
    j.shot("filtered by form")

    results.get_by_role("link", name=aliquot, exact=True).click()
    expect(page).to_have_url(re.compile(rf"/zh-hans/samples/{aliquot}/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(aliquot)
    expect(page.get_by_role("heading", level=2, name=zh("Custody timeline"))).to_be_visible()
    main = page.get_by_role("main")
    expect(main).to_contain_text(zh("Powder aliquot"))
    expect(row(page, zh("Created by split"))).to_be_visible()
    expect(main).to_contain_text(format_mass(250 * MG))
    j.shot("sample page")


# --- an allocation round ----------------------------------------------------------------------


def test_an_applicant_drafts_saves_returns_to_and_submits_a_proposal(
    journey, round_people, mission_ce5
):
    committee, _applicants, reviewers = round_people
    call = open_call(committee, reviewers, title="Chang'e-5 second round")
    j = journey("applicant")
    j.log_in("pi0")
    page = j.go("/calls/")
    open_calls = page.get_by_role("table", name="Open calls")
    open_calls.get_by_role("link", name=call.title, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(call.title)
    j.shot("call")

    page.get_by_role("button", name="Start a proposal").click()
    expect(page).to_have_url(re.compile(r"/proposals/\d+/step/1/$"))
    page.get_by_label("Title").fill("Solar wind water in Chang'e-5 glass")
    page.get_by_label("Abstract").fill("Hydrogen isotopes in impact glass beads.")
    page.get_by_label("Science case").fill("Where the water in the regolith comes from.")
    page.get_by_label("Keywords").fill("water, SIMS")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("ul.messages")).to_contain_text("Saved.")
    j.shot("summary saved")

    # Leave the editor; the draft waits on the applicant's list.
    page = j.go("/calls/proposals/")
    draft = row(page, "Solar wind water in Chang'e-5 glass")
    expect(draft).to_contain_text("Draft")
    j.shot("my proposals")
    draft.get_by_role("link", name="Solar wind water in Chang'e-5 glass").click()
    page.get_by_role("link", name="Continue editing").click()
    expect(page.get_by_label("Science case")).to_have_value(
        "Where the water in the regolith comes from."
    )
    j.shot("back in the editor")

    page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_url(re.compile(r"/step/2/$"))
    page.get_by_role("navigation", name="Steps").get_by_role("link", name="Next step").click()
    expect(page).to_have_url(re.compile(r"/step/3/$"))
    methods = page.locator("#methods")
    methods.get_by_label("Technique").fill("NanoSIMS")
    methods.get_by_label("Destructive").check()
    methods.get_by_label("Mass needed").fill("200")
    methods.get_by_role("button", name="Add the method").click()
    expect(row(page, "NanoSIMS")).to_contain_text("200 mg")
    j.shot("method added")

    page.get_by_role("navigation", name="Steps").get_by_role("link", name="Next step").click()
    items = page.locator("#items")
    items.get_by_label("Mission").select_option("CE5")
    items.get_by_label("Purpose pool").select_option("research")
    items.get_by_label(re.compile(r"^Form:?$")).select_option("scooped_regolith")
    items.get_by_label("Requested mass").fill("500")
    items.get_by_label("Minimum useful mass").fill("300")
    items.get_by_role("button", name="Add the item").click()
    expect(row(page, "CE5")).to_contain_text("500 mg")
    j.shot("item added")

    page.get_by_role("navigation", name="Steps").get_by_role("link", name="Next step").click()
    page.get_by_label("Data-sharing plan").fill("Data in the lunar archive after a year.")
    page.get_by_role("button", name="Save and continue").click()
    expect(page).to_have_url(re.compile(r"/step/6/$"))
    expect(page.locator(".problems")).to_have_count(0)
    j.shot("ready to submit")

    page.get_by_role("button", name="Submit the proposal").click()
    expect(page.locator("ul.messages")).to_contain_text("Your proposal is submitted")
    expect(page.locator(".facts")).to_contain_text("Submitted")
    j.shot("submitted")
    proposal = Proposal.objects.get(title="Solar wind water in Chang'e-5 glass")
    assert proposal.status == ProposalStatus.SUBMITTED
    assert proposal.items.get().requested_mass_ug == 500 * MG


def test_a_reviewer_declares_a_conflict_on_one_proposal_and_reviews_another(
    journey, round_in_review
):
    r = round_in_review
    reviewer = r.reviewers[0]
    conflicted, assigned = r.proposals[0], r.proposals[1]
    review.assignment_add(actor=r.committee, proposal_id=assigned.pk, reviewer_id=reviewer.pk)

    j = journey("reviewer")
    j.log_in(reviewer.username)
    page = j.go("/review/")
    expect(row(page, conflicted.title)).to_be_visible()
    j.shot("my reviews")

    row(page, conflicted.title).get_by_role("link", name="Declare").click()
    expect(page.get_by_role("heading", level=2)).to_have_text(conflicted.title)
    page.get_by_label("I have a conflict").check()
    page.get_by_label("Reason").fill("Co-author of the principal investigator in 2025.")
    j.shot("declaring a conflict")
    page.get_by_role("button", name="Declare").click()
    expect(page.locator("ul.messages")).to_contain_text("Your declaration is recorded.")
    expect(row(page, conflicted.title)).to_have_count(0)
    j.shot("conflict declared")

    page.get_by_role("link", name=assigned.title, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(assigned.title)
    for criterion, score in (
        ("Scientific merit", "4"),
        ("Feasibility and capability", "5"),
        ("Justification of mass and samples", "3"),
    ):
        page.get_by_role("group", name=re.compile(criterion)).get_by_label(score).check()
    page.get_by_label("Comments to the applicant").fill("A clear plan; the mass is generous.")
    j.shot("review filled in")
    page.get_by_role("button", name="Submit the review").click()
    expect(page.locator("ul.messages")).to_contain_text("Your review is submitted.")
    expect(page.get_by_role("main")).to_contain_text("Scientific merit: 4")
    j.shot("review submitted")

    page = j.go("/review/")
    assigned_row = row(page, assigned.title).filter(
        has=page.get_by_role("link", name=assigned.title, exact=True)
    )
    expect(assigned_row).to_contain_text("submitted")
    j.shot("my reviews after")
    declaration = ConflictDeclaration.objects.get(proposal=conflicted, reviewer=reviewer)
    assert declaration.conflicted and "Co-author" in declaration.reason
    saved = Review.objects.get(assignment__proposal=assigned, assignment__reviewer=reviewer)
    assert (saved.merit, saved.feasibility, saved.justification) == (4, 5, 3)


def move_call(page, label: str, reason: str) -> None:
    lifecycle = page.locator("#lifecycle")
    lifecycle.get_by_label("Reason").fill(reason)
    lifecycle.get_by_role("button", name=label, exact=True).click()
    expect(page.locator("ul.messages")).to_contain_text("The call has moved on.")


def test_the_committee_finds_reviewers_by_typing_and_saves_the_panel(
    journey, mission_ce5, round_people
):
    committee, _applicants, (rev0, rev1, rev2) = round_people
    call = open_call(committee, [rev0], title="Chang'e-5 panel round")
    j = journey("panel")
    j.log_in(committee.username)
    page = j.go(f"/calls/committee/{call.pk}/")
    panel = page.locator("#panel")
    # Only the member is listed, ticked; the other reviewers wait to be searched for.
    expect(panel.get_by_role("checkbox")).to_have_count(1)
    expect(panel.get_by_label("rev0", exact=True)).to_be_checked()
    expect(row(panel, "rev0")).to_contain_text("Purple Mountain Observatory")

    search = panel.get_by_label("Find a reviewer to add")
    search.press_sequentially("brown", delay=50)
    expect(panel.get_by_label("rev1", exact=True)).not_to_be_checked()
    expect(row(panel, "rev1")).to_contain_text("epma, petrology")
    panel.get_by_label("rev1", exact=True).check()
    j.shot("found by institution and ticked")
    search.fill("paris")
    # The next search shows the reviewer ticked from the last one among the members.
    expect(panel.locator("#id_panel_members").get_by_label("rev1", exact=True)).to_be_checked()
    panel.locator("#id_panel_found").get_by_label("rev2", exact=True).check()
    panel.get_by_label("rev0", exact=True).uncheck()
    j.shot("panel changed")
    panel.get_by_role("button", name="Save the panel").click()
    expect(page.locator("ul.messages")).to_contain_text("The panel is saved.")
    assert set(call.panel.all()) == {rev1, rev2}
    expect(panel.get_by_role("checkbox", checked=True)).to_have_count(2)
    j.shot("panel saved")


def test_the_panel_search_works_without_javascript(journey, mission_ce5, round_people):
    committee, _applicants, (rev0, rev1, _rev2) = round_people
    call = open_call(committee, [rev0], title="Chang'e-5 panel round")
    j = journey("panel-without-javascript", javascript=False)
    j.log_in(committee.username)
    page = j.go(f"/calls/committee/{call.pk}/")
    panel = page.locator("#panel")
    panel.get_by_label("Find a reviewer to add").fill("rev1")
    panel.get_by_label("Find a reviewer to add").press("Enter")
    expect(panel.get_by_label("rev1", exact=True)).not_to_be_checked()
    expect(panel.get_by_label("rev0", exact=True)).to_be_checked()
    expect(panel.get_by_label("Find a reviewer to add")).to_be_focused()
    assert set(call.panel.all()) == {rev0}
    panel.get_by_label("rev1", exact=True).check()
    j.shot("found and ticked")
    panel.get_by_role("button", name="Save the panel").click()
    expect(page.locator("ul.messages")).to_contain_text("The panel is saved.")
    assert set(call.panel.all()) == {rev0, rev1}


def test_the_committee_assigns_reviewers_ranks_allocates_and_decides(journey, round_in_review):
    r = round_in_review
    first, second, third = r.proposals
    j = journey("committee")
    j.log_in(r.committee.username)
    page = j.go("/calls/committee/")
    page.get_by_role("link", name=r.call.title, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(r.call.title)
    j.shot("call")

    page.get_by_role("link", name="Reviewer assignment").click()
    matrix = page.locator("#matrix")
    page.get_by_role("button", name="Complete the assignment automatically").click()
    for proposal in r.proposals:
        expect(row(matrix, proposal.title)).to_contain_text("2 / 2")
    # Brown University's reviewer cannot review Brown University's proposal.
    expect(row(matrix, third.title)).to_contain_text("Conflict")
    j.shot("reviewers assigned")
    assert sum(p.assignments.count() for p in r.proposals) == 6

    # The reviewers' side is a journey of its own.
    review_all(r.call)
    page.get_by_role("link", name="Back to the call").click()
    move_call(page, "Ranking", "All reviews are in.")
    j.shot("call in ranking")

    page.get_by_role("link", name="Ranking", exact=True).click()
    expect(row(page, first.title).get_by_label("Position")).to_have_value("1")
    # The committee puts the second proposal first, with its reasons.
    row(page, first.title).get_by_label("Position").fill("2")
    row(page, first.title).get_by_label("Reason for the change").fill("Needs less mass.")
    row(page, second.title).get_by_label("Position").fill("1")
    row(page, second.title).get_by_label("Reason for the change").fill("Unique far-side link.")
    j.shot("ranking changed")
    page.get_by_role("button", name="Save the order").click()
    expect(page.locator("ul.messages")).to_contain_text("The ranking is saved.")
    expect(row(page, second.title).get_by_label("Position")).to_have_value("1")
    j.shot("ranking saved")

    page.get_by_role("link", name="Back to the call").click()
    page.get_by_role("link", name="Allocation plan").click()
    page.get_by_role("button", name="Propose a plan").click()
    # The plan is proposed in the background of the page, which shows its progress meanwhile.
    expect(page.get_by_role("button", name="Apply the plan")).to_be_visible()
    plan = AllocationPlan.objects.get(call=r.call)
    funded = {o.item.proposal_id: o.funded_mass_ug for o in plan.outcomes.select_related("item")}
    assert funded[second.pk] >= second.items.get().minimum_mass_ug
    expect(row(page, second.title)).to_contain_text(format_mass(funded[second.pk]))
    j.shot("plan proposed")
    page.get_by_role("button", name="Apply the plan").click()
    expect(page.get_by_role("button", name="Record the decisions from this plan")).to_be_visible()
    j.shot("plan applied")
    page.get_by_label("Comment to every applicant").fill("Thank you for applying.")
    page.get_by_role("button", name="Record the decisions from this plan").click()
    plan.refresh_from_db()
    assert plan.status == AllocationPlan.Status.APPLIED
    j.shot("decisions recorded")

    expected = {}
    for proposal in r.proposals:
        requested = proposal.items.get().requested_mass_ug
        expected[proposal.pk] = (
            ProposalStatus.APPROVED
            if funded[proposal.pk] == requested
            else ProposalStatus.DECLINED
            if funded[proposal.pk] == 0
            else ProposalStatus.PARTIALLY_APPROVED
        )
        proposal.refresh_from_db()
        assert proposal.status == expected[proposal.pk]

    # The committee reads the decision on the last proposal and records it again with a note.
    page.get_by_role("link", name="Committee").click()
    page.get_by_role("link", name=r.call.title, exact=True).click()
    row(page.locator("#proposals"), third.title).get_by_role("link", name="Decision").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(third.title)
    # Typed in full: until the decisions are published the form starts from the request, not
    # from the decision already recorded.
    page.get_by_label("Approved mass (mg)").fill(mass_in(funded[third.pk], "mg"))
    if funded[third.pk] < third.items.get().requested_mass_ug:
        page.get_by_label("Reason for a cut").fill("The released mass is spent.")
    page.get_by_label("Comment to the applicant").fill("We hope to fund this next round.")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator("ul.messages")).to_contain_text("The decision is recorded.")
    third.refresh_from_db()
    assert third.status == expected[third.pk]
    expect(page.locator(".facts")).to_contain_text(str(third.get_status_display()))
    j.shot("decision on the last proposal")
    page.locator(".facts").get_by_role("link", name=r.call.title, exact=True).click()

    move_call(page, "Decided", "Decisions agreed by the committee.")
    j.shot("decisions published")
    page.get_by_role("link", name="Public page").click()
    approved = sum(s == ProposalStatus.APPROVED for s in expected.values())
    expect(page.locator("dt", has_text=re.compile("^Approved$")).locator("+ dd")).to_have_text(
        str(approved)
    )
    j.shot("public outcome")
    r.call.refresh_from_db()
    assert r.call.status == CallStatus.DECIDED


# --- a loan -----------------------------------------------------------------------------------


def test_a_curator_signs_packs_and_ships_a_loan(journey, agreement):
    loan = agreement.loan
    j = journey("curator")
    j.log_in("curator")
    page = j.go("/loans/")
    row(page, loan.number).get_by_role("link", name=loan.number, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(loan.number)
    j.shot("agreement")

    sign = page.locator("#action-sign")
    sign.get_by_label("Signed by").fill("Dr. A. Official")
    sign.get_by_role("button", name="Record the signature").click()
    expect(page.locator("ul.messages")).to_contain_text("The signature is recorded")
    j.shot("signed")

    pack = page.locator("#action-pack")
    pack.get_by_label("Container").fill("BOX-7")
    pack.get_by_label("Seal number").fill("SEAL-0007")
    expect(pack.get_by_label("Nitrogen-purged")).to_be_checked()
    pack.get_by_label("Packing location").fill("PACK")
    pack.get_by_role("button", name="Pack and seal").click()
    expect(page.locator("ul.messages")).to_contain_text("Packed and sealed.")
    j.shot("packed")

    dispatch = page.locator("#action-dispatch")
    dispatch.get_by_label("Courier").fill("SF Express")
    dispatch.get_by_label("Tracking number").fill("SF9990001")
    dispatch.get_by_role("button", name="Dispatch").click()
    expect(page.locator("ul.messages")).to_contain_text("Dispatched.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Shipped")
    expect(page.get_by_role("main")).to_contain_text("SEAL-0007")
    expect(page.get_by_role("main")).to_contain_text("SF9990001")
    j.shot("shipped")
    loan.refresh_from_db()
    assert loan.status == Loan.Status.SHIPPED


def test_the_borrower_reports_a_short_mass_and_the_curator_resolves_the_incident(
    journey, shipped_loan
):
    loan, sample = shipped_loan.loan, shipped_loan.sample
    sent = sample.mass_ug
    measured = sent - 5 * MG

    borrower = journey("receipt-borrower")
    borrower.log_in(shipped_loan.pi.username)
    page = borrower.go("/loans/mine/")
    expect(row(page, loan.number)).to_contain_text("Confirm receipt")
    borrower.shot("my loans")
    row(page, loan.number).get_by_role("link", name=loan.number, exact=True).click()
    receive = page.locator("#action-receive")
    expect(receive.get_by_label("Seal intact")).to_be_checked()
    receive.get_by_label("Unit").select_option("mg")
    receive.get_by_label(f"Mass of {sample.identifier}").fill(mass_in(measured, "mg"))
    borrower.shot("weighing on arrival")
    receive.get_by_role("button", name="Confirm receipt").click()
    expect(page.locator("ul.messages")).to_contain_text("Receipt confirmed.")
    expect(page.locator("ul.messages")).to_contain_text("1 incident was opened")
    expect(page.get_by_role("main")).to_contain_text(format_mass(measured))
    borrower.shot("receipt confirmed")

    curator = journey("receipt-curator")
    curator.log_in("curator")
    page = curator.go("/loans/incidents/")
    incident = page.locator("article").filter(has_text=sample.identifier)
    expect(incident).to_contain_text("Open")
    curator.shot("incident open")
    incident.get_by_label("Action").select_option("reweigh")
    incident.get_by_label("Resolution").fill("The borrower's balance is right; record it.")
    incident.get_by_label("Measured mass").fill(mass_in(measured, "mg"))
    incident.get_by_label("Unit").select_option("mg")
    incident.get_by_role("button", name="Resolve").click()
    expect(page.locator("ul.messages")).to_contain_text("Incident resolved.")
    resolved = page.locator("article").filter(has_text=sample.identifier)
    expect(resolved).to_contain_text("Resolved")
    expect(resolved).to_contain_text("correcting event")
    curator.shot("incident resolved")

    page = curator.go(f"/samples/{sample.identifier}/")
    expect(page.locator(".facts")).to_contain_text(format_mass(measured))
    curator.shot("sample mass corrected")
    sample.refresh_from_db()
    assert sample.mass_ug == measured
    assert Incident.objects.get(sample=sample).status == Incident.Status.RESOLVED
