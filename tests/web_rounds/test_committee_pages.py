"""The committee runs a round through the pages: create, move, screen, assign, rank, decide."""

import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from moonvault.calls import services as calls
from moonvault.calls.models import Call, CallStatus, CallTransition, ProposalStatus
from moonvault.catalog.models import Form, Pool
from moonvault.review.models import Assignment, RankEntry
from tests.web_rounds.conftest import (
    MG,
    Round,
    advance,
    complete_proposal,
    log_in,
    review_everything,
)

HTMX = {"HTTP_HX_REQUEST": "true"}


def _call_data(people, **changes):
    now = timezone.now()
    data = {
        "title": "Chang'e-6 far-side round",
        "missions": ["CE5"],
        "pools": [Pool.RESEARCH],
        "sample_forms": [Form.SCOOPED_REGOLITH, Form.POWDER],
        "release_budget": "12.5",
        "per_proposal_cap": "0.000001",
        "proposals_due": (now + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M"),
        "review_due": (now + timedelta(days=20)).date().isoformat(),
        "decision_due": (now + timedelta(days=30)).date().isoformat(),
        "panel": [people.reviewer.pk, people.reviewer2.pk],
        "reviewers_per_proposal": "2",
        "max_reviewer_load": "4",
        "coauthor_window_years": "5",
        "same_country_conflict": "on",
    }
    return {**data, **changes}


def test_the_dashboard_counts_calls_per_status(client, people, open_call, round_in_screening):
    log_in(client, people.committee)
    counts = {
        value: n for value, _label, n in client.get(reverse("calls:dashboard")).context["counts"]
    }
    assert counts[CallStatus.SCREENING] == 1
    assert counts[CallStatus.DRAFT] == 0


def test_the_committee_creates_a_call_with_exact_masses_in_grams(client, people):
    log_in(client, people.committee)
    response = client.post(reverse("calls:call-new"), _call_data(people))
    call = Call.objects.get()
    assert response["Location"] == reverse("calls:call-admin", args=[call.pk])
    assert call.release_budget_ug == 12_500_000
    assert call.per_proposal_cap_ug == 1
    assert call.status == CallStatus.DRAFT
    assert call.same_country_conflict and call.coauthor_window_years == 5
    assert set(call.panel.all()) == {people.reviewer, people.reviewer2}
    assert call.forms == [Form.SCOOPED_REGOLITH, Form.POWDER]


def test_a_search_for_reviewers_shows_the_new_call_again_as_typed_and_creates_nothing(
    client, people
):
    log_in(client, people.committee)
    typed = _call_data(
        people, title="", panel=[people.reviewer.pk], panel_q="ravi", panel_search="1"
    )
    response = client.post(reverse("calls:call-new"), typed)
    assert response.status_code == 200
    assert not Call.objects.exists()
    form = response.context["form"]
    # Not even the missing title is flagged: the chair has not finished.
    assert not form.errors and 'class="errorlist' not in response.content.decode()
    assert 'name="release_budget" value="12.5"' in response.content.decode()
    assert [u.pk for u in form.panel_choice.members] == [people.reviewer.pk]
    assert [u.pk for u in form.panel_choice.found.reviewers] == [people.reviewer2.pk]


def test_a_refused_call_shows_each_error_next_to_its_field_and_creates_nothing(client, people):
    log_in(client, people.committee)
    response = client.post(
        reverse("calls:call-new"), _call_data(people, per_proposal_cap="13", release_budget="12.5")
    )
    assert response.status_code == 400
    assert "within the budget" in response.context["form"].errors["per_proposal_cap"][0]
    response = client.post(reverse("calls:call-new"), _call_data(people, release_budget="1e-9"))
    assert response.status_code == 400
    assert "release_budget" in response.context["form"].errors
    response = client.post(reverse("calls:call-new"), _call_data(people, sample_forms=[]))
    assert "sample_forms" in response.context["form"].errors
    assert not Call.objects.exists()


def test_the_committee_moves_a_call_with_a_reason_and_sees_refusals(client, people, open_call):
    log_in(client, people.committee)
    url = reverse("calls:call-transition", args=[open_call.pk])
    response = client.post(url, {"to_status": CallStatus.CLOSED, "reason": ""})
    assert response.status_code == 400
    assert "reason" in response.context["transition_forms"][0][1].errors

    response = client.post(url, {"to_status": CallStatus.RANKING, "reason": "skip ahead"})
    assert response.status_code == 400
    assert "can only move to: Closed" in response.content.decode()
    open_call.refresh_from_db()
    assert open_call.status == CallStatus.OPEN

    response = client.post(url, {"to_status": "nonsense", "reason": "x"})
    assert response.status_code == 400

    response = client.post(url, {"to_status": CallStatus.CLOSED, "reason": "deadline reached"})
    assert response.status_code == 302
    open_call.refresh_from_db()
    assert open_call.status == CallStatus.CLOSED
    last = CallTransition.objects.filter(call=open_call).last()
    assert (last.actor, last.reason) == (people.committee, "deadline reached")
    page = client.get(reverse("calls:call-admin", args=[open_call.pk])).content.decode()
    assert "deadline reached" in page


def test_the_committee_extends_the_deadline_with_a_reason(client, people, open_call):
    log_in(client, people.committee)
    url = reverse("calls:call-extend", args=[open_call.pk])
    later = (open_call.proposals_due + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, {"proposals_due": later, "reason": ""})
    assert response.status_code == 400
    assert "reason" in response.context["extension_form"].errors
    response = client.post(url, {"proposals_due": later, "reason": "holiday week"})
    assert response.status_code == 302
    before = open_call.proposals_due
    open_call.refresh_from_db()
    assert open_call.proposals_due > before


def test_the_screening_table_shows_reasons_and_records_confirmations_and_overrides(
    client, people, round_in_screening
):
    r = round_in_screening
    person = people.other_applicant.person
    person.obligations_overdue_since = timezone.now().date() - timedelta(days=40)
    person.save()
    log_in(client, people.committee)
    assert client.post(reverse("calls:screening", args=[r.call.pk])).status_code == 302
    body = client.get(reverse("calls:screening", args=[r.call.pk])).content.decode()
    assert "overdue loan obligations since" in body

    decide = reverse("calls:screen-decide", args=[r.second.pk])
    response = client.post(decide, {"eligible": "yes", "reason": ""})
    assert response.status_code == 400
    assert "reason" in response.context["rows"][1][2].errors
    r.second.refresh_from_db()
    assert r.second.status == ProposalStatus.SUBMITTED

    client.post(decide, {"eligible": "yes", "reason": "report received yesterday"})
    client.post(reverse("calls:screen-decide", args=[r.proposal.pk]), {"eligible": "yes"})
    r.second.refresh_from_db()
    r.proposal.refresh_from_db()
    assert r.second.screening.reason == "report received yesterday"
    assert {r.proposal.status, r.second.status} == {ProposalStatus.UNDER_REVIEW}


def test_the_committee_returns_a_proposal_with_a_reason(client, people, round_in_screening):
    log_in(client, people.committee)
    url = reverse("calls:proposal-return", args=[round_in_screening.proposal.pk])
    assert client.post(url, {"reason": ""}).status_code == 400
    assert client.post(url, {"reason": "add the mass budget"}).status_code == 302
    round_in_screening.proposal.refresh_from_db()
    assert round_in_screening.proposal.status == ProposalStatus.RETURNED


def test_the_assignment_matrix_marks_conflicts_and_load_and_assigns(
    client, people, round_in_review
):
    r = round_in_review
    log_in(client, people.committee)
    page = client.get(reverse("review:assignments", args=[r.call.pk]))
    matrix = page.context["matrix"]
    first_row = next(row for row in matrix.rows if row.proposal == r.proposal)
    claude = next(c for c in first_row.cells if c.reviewer == people.conflicted)
    assert claude.automatic_conflicts == ["shares an institution with the team"]
    assert "shares an institution with the team" in page.content.decode()

    add = reverse("review:assignment-add", args=[r.call.pk])
    response = client.post(add, {"proposal": r.proposal.pk, "reviewer": people.reviewer.pk}, **HTMX)
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assignment = Assignment.objects.get(proposal=r.proposal, reviewer=people.reviewer)
    load = dict(
        client.get(reverse("review:assignments", args=[r.call.pk])).context["matrix"].reviewers
    )
    assert load[people.reviewer] == 1

    response = client.post(add, {"proposal": r.proposal.pk, "reviewer": people.conflicted.pk})
    assert response.status_code == 400
    assert "conflict of interest" in response.content.decode()
    response = client.post(add, {"proposal": "x", "reviewer": ""})
    assert response.status_code == 400

    remove = reverse("review:assignment-remove", args=[r.call.pk])
    assert client.post(remove, {"assignment": assignment.pk}).status_code == 302
    assert not Assignment.objects.exists()


def test_the_matrix_says_which_proposals_cannot_be_covered_and_why(client, people, round_in_review):
    r = round_in_review
    r.call.reviewers_per_proposal = 3
    r.call.save()
    log_in(client, people.committee)
    page = client.get(reverse("review:assignments", args=[r.call.pk]))
    rows = {row.proposal: row for row in page.context["matrix"].rows}
    assert rows[r.proposal].short and rows[r.proposal].free == 2
    assert not rows[r.second].short
    assert "only 2 of the panel's 3 are free of conflicts" in page.content.decode()


def test_the_committee_reorders_the_ranking_with_reasons(client, people, round_in_ranking):
    r = round_in_ranking
    log_in(client, people.committee)
    url = reverse("review:ranking", args=[r.call.pk])
    page = client.get(url)
    (first, _), (second, _) = [(e, reviews) for e, reviews, *_ in page.context["rows"]]
    assert first.proposal == r.proposal and first.raw_mean > second.raw_mean
    assert "Confidential note from rosa" in page.content.decode()

    swapped = {f"rank_{first.proposal_id}": 2, f"rank_{second.proposal_id}": 1}
    response = client.post(url, swapped)
    assert response.status_code == 400
    assert f"reason_{second.proposal_id}" in response.context["form"].errors
    assert RankEntry.objects.get(proposal=r.proposal).final_rank == 1

    response = client.post(url, {**swapped, f"rank_{first.proposal_id}": 1})
    assert response.status_code == 400  # two proposals in one place

    reasons = {
        f"reason_{first.proposal_id}": "less mass available",
        f"reason_{second.proposal_id}": "unique far-side comparison",
    }
    assert client.post(url, {**swapped, **reasons}).status_code == 302
    entry = RankEntry.objects.get(proposal=r.second)
    assert (entry.final_rank, entry.reason) == (1, "unique far-side comparison")


def test_the_committee_decides_per_item_and_the_public_sees_the_outcome(
    client, people, round_in_ranking
):
    r = round_in_ranking
    item = r.proposal.items.get()
    log_in(client, people.committee)
    url = reverse("calls:decision", args=[r.proposal.pk])
    page = client.get(url)
    assert page.context["form"][f"approved_{item.pk}"].value() == "500"

    response = client.post(url, {f"approved_{item.pk}": "200", f"reason_{item.pk}": ""})
    assert response.status_code == 400
    assert response.context["form"].errors[f"reason_{item.pk}"] == [
        "a cut or declined item needs a reason"
    ]
    response = client.post(url, {f"approved_{item.pk}": "50", f"reason_{item.pk}": "little left"})
    assert response.status_code == 400
    assert "minimum useful mass" in response.context["form"].errors[f"approved_{item.pk}"][0]
    r.proposal.refresh_from_db()
    assert r.proposal.status == ProposalStatus.RANKED

    response = client.post(
        url,
        {
            f"approved_{item.pk}": "200.5",
            f"reason_{item.pk}": "ranked 1 of 2; the pool is short",
            "comment": "Congratulations.",
        },
    )
    assert response.status_code == 302
    r.proposal.refresh_from_db()
    assert r.proposal.status == ProposalStatus.PARTIALLY_APPROVED
    assert r.proposal.decision.items.get().approved_mass_ug == 200_500

    second_item = r.second.items.get()
    client.post(
        reverse("calls:decision", args=[r.second.pk]),
        {f"approved_{second_item.pk}": "0", f"reason_{second_item.pk}": "ranked 2 of 2"},
    )
    advance(people.committee, r.call, CallStatus.DECIDED)
    client.logout()
    page = client.get(reverse("calls:call-detail", args=[r.call.pk]))
    outcome = page.context["outcome"]
    assert outcome.released_mass_ug == 200_500
    assert (outcome.proposals, outcome.partially_approved, outcome.declined) == (2, 1, 1)
    assert [i.name for i in outcome.institutions] == ["Institut de physique du globe"]
    assert "200.5 mg" in page.content.decode()
    assert r.proposal.title not in page.content.decode()  # the outcome names no proposal


def test_the_whole_round_runs_through_the_committee_pages(client, people, open_call):
    """From open to decided, every lifecycle step taken by posting the call page's forms."""
    proposal = complete_proposal(open_call, people.applicant)
    calls.proposal_submit(actor=people.applicant, proposal_id=proposal.pk)
    second = complete_proposal(open_call, people.other_applicant, "Second")
    calls.proposal_submit(actor=people.other_applicant, proposal_id=second.pk)
    log_in(client, people.committee)
    move = reverse("calls:call-transition", args=[open_call.pk])

    def to(status):
        response = client.post(move, {"to_status": status, "reason": f"now {status}"})
        assert response.status_code == 302, response.content.decode()

    to(CallStatus.CLOSED)
    to(CallStatus.SCREENING)
    client.post(reverse("calls:screening", args=[open_call.pk]))
    for p in (proposal, second):
        client.post(reverse("calls:screen-decide", args=[p.pk]), {"eligible": "yes"})
    to(CallStatus.REVIEW)
    review_everything(people, Round(open_call, proposal, second))
    to(CallStatus.RANKING)
    for p in (proposal, second):
        item = p.items.get()
        client.post(
            reverse("calls:decision", args=[p.pk]),
            {f"approved_{item.pk}": "500", "comment": "Approved in full."},
        )
    to(CallStatus.DECIDED)
    open_call.refresh_from_db()
    assert open_call.status == CallStatus.DECIDED
    for p in (proposal, second):
        p.refresh_from_db()
        assert p.status == ProposalStatus.APPROVED
        assert p.items.get().decision.approved_mass_ug == 500 * MG
    reasons = CallTransition.objects.filter(call=open_call).values_list("reason", flat=True)
    assert list(reasons)[-1] == f"now {CallStatus.DECIDED}"


def test_every_field_on_the_call_page_has_its_own_id(client, people, open_call):
    log_in(client, people.committee)
    html = client.get(f"/calls/committee/{open_call.pk}/").content.decode()
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert ids
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
