"""The committee's pages of a round read as many queries for a full round as for an empty one,
and still show every proposal with what the committee needs of it."""

import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from moonvault.calls.models import Call, CallStatus, ProposalStatus
from moonvault.calls.services import call_screen, proposal_screen_decide

pytestmark = pytest.mark.django_db

ROW = re.compile(r'<tr id="proposal-(\d+)">(.*?)</tr>', re.DOTALL)


@pytest.fixture
def chair(generated_programme) -> User:
    """A generated programme with a round in every status; the screening round has had its
    automatic checks, and the chair has confirmed some of them, so that its table holds rows
    awaiting a decision, decided rows and rows never checked."""
    chair = User.objects.get(username="gen4-chair-000001")
    screening = Call.objects.get(status=CallStatus.SCREENING)
    checked = call_screen(actor=chair, call_id=screening.pk)
    for s in checked[: len(checked) // 2]:
        proposal_screen_decide(
            actor=chair,
            proposal_id=s.proposal_id,
            eligible=not s.automatic_eligible,
            reason="checked by hand",
        )
    return chair


def rounds_by_size() -> list[Call]:
    """Every round, the empty draft first."""
    calls = sorted(Call.objects.all(), key=lambda c: c.proposals.count())
    assert calls[0].status == CallStatus.DRAFT and not calls[0].proposals.exists()
    assert calls[-1].proposals.count() > 30
    return calls


def rows_of(page: str) -> dict[int, str]:
    return {int(pk): row for pk, row in ROW.findall(page)}


def pages_with_their_queries(client, url_name: str, django_assert_num_queries):
    """(call, page) for every round, each read in as many queries as the empty round's page."""
    empty, *others = rounds_by_size()
    url = reverse(url_name, args=[empty.pk])
    client.get(url)  # the session's first request reads what later ones find cached
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    assert rows_of(response.content.decode()) == {}
    for call in others:
        with django_assert_num_queries(len(queries)):
            response = client.get(reverse(url_name, args=[call.pk]))
        assert response.status_code == 200
        yield call, response.content.decode()


def test_the_screening_page_reads_as_many_queries_for_a_full_round_as_for_an_empty_one(
    chair, client, django_assert_num_queries
):
    client.force_login(chair)
    seen = set()
    for call, page in pages_with_their_queries(
        client, "calls:screening", django_assert_num_queries
    ):
        rows = rows_of(page)
        proposals = call.proposals.exclude(status=ProposalStatus.DRAFT).order_by("id")
        assert list(rows) == [p.pk for p in proposals]
        for proposal in proposals.select_related("pi", "screening__decided_by"):
            row = rows[proposal.pk]
            assert f"{escape(proposal.title)}<br><small>{escape(proposal.pi)}</small>" in row
            assert f"<td>{ProposalStatus(proposal.status).label}</td>" in row
            screening = getattr(proposal, "screening", None)
            if screening is None:
                seen.add("never checked")
                assert "Not checked yet." in row
            else:
                eligible = "Eligible" if screening.automatic_eligible else "Not eligible"
                assert f"<strong>{eligible}</strong>" in row
                assert all(escape(c["message"]) in row for c in screening.checks)
            if screening is not None and screening.decided_at:
                seen.add("decided")
                decided = f"Decided by {escape(screening.decided_by)} on "
                assert decided in row
                assert (f": {escape(screening.reason)}</p>" in row) is bool(screening.reason)
            awaiting = (call.status, proposal.status) == (
                CallStatus.SCREENING,
                ProposalStatus.SUBMITTED,
            )
            decide = reverse("calls:screen-decide", args=[proposal.pk])
            assert (decide in row) is (awaiting and screening is not None)
            assert (reverse("calls:proposal-return", args=[proposal.pk]) in row) is awaiting
            if awaiting and screening is not None:
                seen.add("awaiting a decision")
                assert f'id="id_{proposal.pk}_eligible_0"' in row
    assert seen == {"never checked", "decided", "awaiting a decision"}


def test_the_round_page_reads_as_many_queries_for_a_full_round_as_for_an_empty_one(
    chair, client, django_assert_num_queries
):
    client.force_login(chair)
    ranked = 0
    for call, page in pages_with_their_queries(
        client, "calls:call-admin", django_assert_num_queries
    ):
        rows = dict(re.findall(r"<tr><td>(\d+)</td>(.*?)</tr>", page, re.DOTALL))
        proposals = call.proposals.exclude(status=ProposalStatus.DRAFT).order_by("id")
        assert [int(pk) for pk in rows] == [p.pk for p in proposals]
        for proposal in proposals.select_related("pi__person__institution", "rank"):
            row = rows[str(proposal.pk)]
            institution = proposal.pi.person.institution
            pi = f"{escape(proposal.pi)} — {escape(institution)}"
            rank = getattr(proposal, "rank", None)
            ranked += rank is not None
            assert (
                f"<td>{escape(proposal.title)}</td><td>{pi}</td>"
                f"<td>{ProposalStatus(proposal.status).label}</td>"
                f"<td>{rank.final_rank if rank else '—'}</td>"
            ) in row
            assert reverse("calls:decision", args=[proposal.pk]) in row
    assert ranked


def test_the_api_lists_a_decided_round_with_its_decisions_in_a_fixed_number_of_queries(
    client, chair, django_assert_max_num_queries
):
    decided = Call.objects.get(status=CallStatus.DECIDED)
    assert decided.proposals.filter(decision__isnull=False).count() > 20
    client.force_login(chair)
    url = f"/api/v1/calls/{decided.pk}/proposals"
    count = client.get(url, {"limit": 1}).json()["count"]
    rows = []
    for offset in range(0, count, 20):
        with django_assert_max_num_queries(20):
            rows += client.get(url, {"limit": 20, "offset": offset}).json()["items"]
    assert len(rows) == count == decided.proposals.exclude(status=ProposalStatus.DRAFT).count()
    with_decision = [p for p in rows if p["decision"]]
    assert len(with_decision) == decided.proposals.filter(decision__isnull=False).count()
    for proposal in with_decision:
        items = proposal["decision"]["items"]
        assert items and [i["item_id"] for i in items] == sorted(i["item_id"] for i in items)
