"""Every list of the rounds' pages has filters: they narrow the list, and a bad value is named."""

import re

from moonvault.calls import services as calls
from moonvault.calls.models import CallStatus
from moonvault.review import services as review
from tests.web_rounds.conftest import complete_proposal, log_in


def titles(response, pattern: str) -> list[str]:
    return re.findall(pattern, response.content.decode())


def filter_error(response, field: str) -> str:
    match = re.search(
        rf'<span class="error" id="error-{field}"[^>]*>(.*?)</span>', response.content.decode()
    )
    return match.group(1).strip() if match else ""


def test_public_call_list_filters_by_status_and_title(client, people, open_call):
    calls.call_create(
        actor=people.committee,
        title="Far-side basalt round",
        missions=["CE5"],
        pools=open_call.pools,
        forms=open_call.forms,
        release_budget_ug=open_call.release_budget_ug,
        per_proposal_cap_ug=open_call.per_proposal_cap_ug,
        proposals_due=open_call.proposals_due,
        review_due=open_call.review_due,
        decision_due=open_call.decision_due,
        panel=[people.reviewer],
        reviewers_per_proposal=1,
        max_reviewer_load=5,
    )
    # A draft is the committee's: the public never lists it, filtered or not.
    everything = client.get("/calls/")
    assert "Far-side basalt round" not in everything.content.decode()
    assert (
        client.get("/calls/", {"status": CallStatus.DRAFT}).context["listing"].page.paginator.count
        == 0
    )

    open_only = client.get("/calls/", {"status": CallStatus.OPEN, "q": "chang"})
    assert [c.pk for c in open_only.context["listing"].page] == [open_call.pk]
    assert (
        client.get("/calls/", {"q": "no such words"}).context["listing"].page.paginator.count == 0
    )


def test_committee_dashboard_filters_calls_including_drafts(client, people, open_call):
    log_in(client, people.committee)
    response = client.get("/calls/committee/", {"status": CallStatus.OPEN, "mission": "CE5"})
    assert [c.pk for c in response.context["listing"].page] == [open_call.pk]
    assert (
        client.get("/calls/committee/", {"status": CallStatus.DRAFT})
        .context["listing"]
        .page.paginator.count
        == 0
    )


def test_a_bad_filter_value_is_named_next_to_its_field_and_ignored(client, people, open_call):
    response = client.get("/calls/", {"status": "finished-ish", "q": "chang"})
    assert response.status_code == 200
    assert "finished-ish" in filter_error(response, "status")
    # The valid filter still applies; the invalid one is left out.
    assert [c.pk for c in response.context["listing"].page] == [open_call.pk]
    too_long = client.get("/calls/", {"q": "x" * 101})
    assert "100" in filter_error(too_long, "q")


def test_applicant_filters_own_proposals_by_status(client, people, open_call):
    submitted = complete_proposal(open_call, people.applicant, "Agglutinate rims")
    calls.proposal_submit(actor=people.applicant, proposal_id=submitted.pk)
    draft = complete_proposal(open_call, people.applicant, "Glass beads")
    complete_proposal(open_call, people.other_applicant, "Someone else's glass")
    log_in(client, people.applicant)

    mine = client.get("/calls/proposals/").context["listing"].page
    assert {p.pk for p in mine} == {submitted.pk, draft.pk}
    drafts = client.get("/calls/proposals/", {"status": "draft"}).context["listing"].page
    assert [p.pk for p in drafts] == [draft.pk]
    by_title = client.get("/calls/proposals/", {"q": "glass"}).context["listing"].page
    assert [p.pk for p in by_title] == [draft.pk]


def test_reviewer_filters_assignments_by_review_due_or_submitted(client, people, round_in_review):
    r = round_in_review
    for proposal in (r.proposal, r.second):
        review.assignment_add(
            actor=people.committee, proposal_id=proposal.pk, reviewer_id=people.reviewer.pk
        )
    review.review_submit(
        actor=people.reviewer,
        proposal_id=r.proposal.pk,
        merit=4,
        feasibility=4,
        justification=4,
        comments_to_applicant="Sound plan.",
    )
    log_in(client, people.reviewer)
    due = client.get("/review/", {"review": "due"}).context["listing"].page
    assert [a.proposal_id for a in due] == [r.second.pk]
    done = client.get("/review/", {"review": "submitted"}).context["listing"].page
    assert [a.proposal_id for a in done] == [r.proposal.pk]
    assert "late" in filter_error(client.get("/review/", {"review": "late"}), "review")
