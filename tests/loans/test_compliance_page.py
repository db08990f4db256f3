"""The curator's compliance page reads every open loan in a fixed number of queries."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from moonvault.accounts.models import Person
from moonvault.catalog.models import Sample, State
from moonvault.loans.models import Loan
from moonvault.loans.services.obligations import compliance_list, loan_obligations

pytestmark = pytest.mark.django_db


@pytest.fixture
def curator_client(client, generated_programme):
    client.force_login(Person.objects.get(user__username="gen4-curator-000001").user)
    # The first request of a session reads what later ones find cached.
    assert client.get("/loans/").status_code == 200
    return client


def _page(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/loans/")
    assert response.status_code == 200
    return response, len(queries)


def test_the_page_shows_every_open_loan_as_the_per_loan_reading_did(curator_client):
    # Every generated open loan still holds samples and none is late: one shipment was lost and
    # one borrower missed an inventory, so that the page shows both cases too.
    lost = Loan.objects.filter(status=Loan.Status.SHIPPED).order_by("pk").first()
    late = Loan.objects.filter(status=Loan.Status.ACTIVE).order_by("pk").first()
    Sample.objects.filter(loan_items__loan=lost).update(state=State.LOST)
    Loan.objects.filter(pk=late.pk).update(inventory_due=date(2001, 1, 1))
    response, _ = _page(curator_client)
    rows = response.context["rows"]
    # Each loan's obligations read on their own, samples included: the reference.
    for obligation, _overdue, loan in rows:
        assert obligation == next(iter(loan_obligations(loan)), None), loan.number
    shown = {loan.number for _, _, loan in rows}
    assert shown == set(
        Loan.objects.exclude(status=Loan.Status.CLOSED).values_list("number", flat=True)
    )
    assert rows[0][1] and rows[0][2] == late and not any(overdue for _, overdue, _ in rows[1:])
    assert "end of loan" in {o.what for o, _, loan in rows if loan == lost}
    assert {"annual inventory", "return of remnants"} <= {o.what for o, _, _ in rows if o}
    html = response.content.decode()
    for number in shown:
        assert number in html
    closed = Loan.objects.filter(status=Loan.Status.CLOSED).first()
    assert closed is not None and closed.number not in html


def test_the_number_of_queries_does_not_grow_with_the_loans(
    curator_client, django_assert_num_queries
):
    many, queries = _page(curator_client)
    assert len(many.context["rows"]) >= 30
    with django_assert_num_queries(1):
        compliance_list(today=timezone.localdate())
    keep = Loan.objects.exclude(status=Loan.Status.CLOSED).order_by("pk")[:2]
    Loan.objects.exclude(pk__in=list(keep.values_list("pk", flat=True))).update(
        status=Loan.Status.CLOSED
    )
    with django_assert_num_queries(queries):
        few = curator_client.get("/loans/")
    assert len(few.context["rows"]) == 2


def test_the_loans_are_shown_a_page_at_a_time_in_their_order(curator_client, monkeypatch):
    monkeypatch.setattr("moonvault.web.listing.PAGE_SIZE", 10)
    everything = [loan.number for _, _, loan in compliance_list(today=timezone.localdate())]
    assert len(everything) > 20
    shown = []
    for number in range(1, 5):
        response = curator_client.get("/loans/", {"page": number})
        shown += [loan.number for _, _, loan in response.context["rows"]]
    assert shown == everything[:40]
    assert 'page=2" rel="next"' in curator_client.get("/loans/").content.decode()
