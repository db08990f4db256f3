"""Every page of the rounds, opened by every role: the right one sees it, the others are refused."""

import pytest
from django.urls import reverse

from moonvault.calls import services as calls
from moonvault.calls.models import CallStatus
from moonvault.catalog.models import Form, Pool
from moonvault.review.models import Assignment, Review
from tests.web_rounds.conftest import log_in

ROLES = [
    "anonymous",
    "applicant",
    "other_applicant",
    "reviewer",
    "conflicted",
    "committee",
    "curator",
]

# page → (url name, which object its argument is, the roles that may open it)
PAGES = {
    "call list": ("calls:call-list", None, set(ROLES)),
    "call page": ("calls:call-detail", "call", set(ROLES)),
    "my proposals": ("calls:my-proposals", None, {"applicant", "other_applicant"}),
    "proposal page": ("calls:proposal-detail", "proposal", {"applicant"}),
    "my reviews": ("review:my-reviews", None, {"reviewer", "conflicted"}),
    "declaration": ("review:declare", "proposal", {"reviewer"}),
    "review": ("review:review", "proposal", {"reviewer"}),
    "committee dashboard": ("calls:dashboard", None, {"committee"}),
    "new call": ("calls:call-new", None, {"committee"}),
    "call admin": ("calls:call-admin", "call", {"committee"}),
    "screening": ("calls:screening", "call", {"committee"}),
    "assignments": ("review:assignments", "call", {"committee"}),
    "ranking": ("review:ranking", "call", {"committee"}),
    "decision": ("calls:decision", "proposal", {"committee"}),
}
# Roles that have the page's role but not the object: the object is reported as absent.
ABSENT = {
    ("proposal page", "other_applicant"),
    ("declaration", "conflicted"),
    ("review", "conflicted"),
}


def _url(name, argument, r):
    if argument is None:
        return reverse(name)
    return reverse(name, args=[r.call.pk if argument == "call" else r.proposal.pk])


def _expected(page, role):
    allowed = PAGES[page][2]
    if role in allowed:
        return 200
    if (page, role) in ABSENT:
        return 404
    return 302 if role == "anonymous" else 403


@pytest.mark.parametrize("page", PAGES)
def test_each_page_opens_for_its_roles_only(client, people, round_in_ranking, page):
    name, argument, _allowed = PAGES[page]
    url = _url(name, argument, round_in_ranking)
    for role in ROLES:
        client.logout()
        if role != "anonymous":
            log_in(client, getattr(people, role))
        response = client.get(url)
        assert response.status_code == _expected(page, role), role
        if role == "anonymous" and response.status_code == 302:
            assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("step", range(1, 7))
def test_only_the_pi_opens_the_editor_of_a_draft(client, people, open_call, step):
    draft = calls.proposal_create(actor=people.applicant, call_id=open_call.pk)
    url = reverse("calls:proposal-edit", args=[draft.pk, step])
    assert log_in(client, people.applicant).get(url).status_code == 200
    assert log_in(client, people.other_applicant).get(url).status_code == 404
    assert log_in(client, people.reviewer).get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302


def test_a_draft_call_is_not_public(client, people, open_call):
    draft = calls.call_create(
        actor=people.committee,
        title="Not yet",
        missions=["CE5"],
        pools=[Pool.RESEARCH],
        forms=[Form.POWDER],
        release_budget_ug=10,
        per_proposal_cap_ug=10,
        proposals_due=open_call.proposals_due,
        review_due=open_call.review_due,
        decision_due=open_call.decision_due,
    )
    assert client.get(reverse("calls:call-detail", args=[draft.pk])).status_code == 404
    assert "Not yet" not in client.get(reverse("calls:call-list")).content.decode()
    log_in(client, people.committee)
    assert client.get(reverse("calls:call-admin", args=[draft.pk])).status_code == 200


def test_another_applicant_cannot_change_a_draft(client, people, open_call):
    draft = calls.proposal_create(actor=people.applicant, call_id=open_call.pk, title="Mine")
    log_in(client, people.other_applicant)
    response = client.post(reverse("calls:proposal-edit", args=[draft.pk, 1]), {"title": "Stolen"})
    assert response.status_code == 404
    response = client.post(
        reverse("calls:part-add", args=[draft.pk, "method"]),
        {"technique": "SIMS", "mass": "1", "unit": "mg"},
    )
    assert response.status_code == 404
    draft.refresh_from_db()
    assert draft.title == "Mine"
    assert not draft.methods.exists()


def test_people_without_the_committee_role_cannot_move_a_call(client, people, open_call):
    for role in ("applicant", "reviewer", "curator"):
        log_in(client, getattr(people, role))
        response = client.post(
            reverse("calls:call-transition", args=[open_call.pk]),
            {"to_status": CallStatus.CLOSED, "reason": "early"},
        )
        assert response.status_code == 403
    open_call.refresh_from_db()
    assert open_call.status == CallStatus.OPEN


def test_a_conflicted_reviewer_can_neither_read_nor_review_nor_declare(
    client, people, round_in_review
):
    proposal = round_in_review.proposal
    log_in(client, people.conflicted)
    assert client.get(reverse("review:review", args=[proposal.pk])).status_code == 404
    assert client.get(reverse("review:declare", args=[proposal.pk])).status_code == 404
    response = client.post(
        reverse("review:review", args=[proposal.pk]),
        {"merit": 5, "feasibility": 5, "justification": 5, "comments_to_applicant": "x"},
    )
    assert response.status_code == 404
    my_reviews = client.get(reverse("review:my-reviews")).content.decode()
    assert proposal.title not in my_reviews
    assert not Review.objects.exists()


def test_a_reviewer_who_declared_a_conflict_cannot_open_the_proposal(
    client, people, round_in_review
):
    proposal = round_in_review.proposal
    log_in(client, people.reviewer)
    response = client.post(
        reverse("review:declare", args=[proposal.pk]),
        {"conflicted": "yes", "reason": "I supervised the PI's thesis"},
    )
    assert response.status_code == 302
    log_in(client, people.committee)
    response = client.post(
        reverse("review:assignment-add", args=[round_in_review.call.pk]),
        {"proposal": proposal.pk, "reviewer": people.reviewer.pk},
    )
    assert response.status_code == 400
    assert not Assignment.objects.filter(reviewer=people.reviewer).exists()
    log_in(client, people.reviewer)
    assert client.get(reverse("review:review", args=[proposal.pk])).status_code == 404
