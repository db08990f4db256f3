"""The curator's compliance page: the database finds each open loan's next obligation by the
rules of `loan_obligations`, sorts the loans, and reads only the page shown."""

from datetime import date
from itertools import product

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from moonvault.accounts.models import Person
from moonvault.catalog.models import Sample, State
from moonvault.loans.models import Loan
from moonvault.loans.services.obligations import compliance_list, loan_obligations

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 2)
DUE_FIELDS = ("inventory_due", "usage_report_due", "return_due", "ends_on")
# The rules written out: a loan's first obligation when all fall due the same day (none if not
# listed). Only open loans return remnants, and only while the borrower holds samples.
FIRST_OF_ALL_DUE_TOGETHER = {
    (Loan.Status.ACTIVE, State.ON_LOAN): "annual inventory",
    (Loan.Status.ACTIVE, State.LOST): "annual inventory",
    (Loan.Status.SHIPPED, State.ON_LOAN): "return of remnants",
    (Loan.Status.SHIPPED, State.LOST): "end of loan",
    (Loan.Status.RETURNING, State.ON_LOAN): "return of remnants",
    (Loan.Status.RETURNING, State.LOST): "end of loan",
}


@pytest.fixture
def curator_client(client, generated_programme):
    client.force_login(Person.objects.get(user__username="gen4-curator-000001").user)
    # The first request of a session reads what later ones find cached.
    assert client.get("/loans/").status_code == 200
    return client


def _page(client, **params):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/loans/", params)
    assert response.status_code == 200
    return response, queries


def _next(loan: Loan, today: date):
    """The loan's next obligation read on its own, samples included: the reference."""
    obligation = next(iter(loan_obligations(loan)), None)
    if obligation is None:
        return None, None, False
    return obligation.what, obligation.due, obligation.due < today


def test_the_database_finds_the_next_obligation_loan_obligations_gives(generated_programme):
    loan = Loan.objects.filter(items__isnull=False).order_by("pk").first()
    # Each due date before or on today: every order of the four dates, ties included.
    layouts = list(product((date(2026, 3, 1), TODAY), repeat=len(DUE_FIELDS)))
    # Held by the borrower, and not.
    states = (State.ON_LOAN, State.LOST)
    seen = set()
    for status, state, dates in product(Loan.Status.values, states, layouts):
        Loan.objects.filter(pk=loan.pk).update(
            status=status, starts_on=date(2026, 1, 1), **dict(zip(DUE_FIELDS, dates, strict=True))
        )
        Sample.objects.filter(loan_items__loan=loan).update(state=state)
        found = next((o for o in compliance_list(today=TODAY) if o.pk == loan.pk), None)
        if status == Loan.Status.CLOSED:
            assert found is None
            continue
        expected = _next(Loan.objects.get(pk=loan.pk), TODAY)
        assert (found.next_what, found.next_due, found.overdue) == expected, (status, state, dates)
        if len(set(dates)) == 1:
            assert expected[0] == FIRST_OF_ALL_DUE_TOGETHER.get((status, state)), (status, state)
        seen.add(expected[0])
    assert seen == {"annual inventory", "usage report", "return of remnants", "end of loan", None}


def test_the_loans_come_in_the_order_of_their_next_obligations(generated_programme):
    # Every generated open loan still holds samples and none is late: one shipment was lost and
    # one borrower missed an inventory, so that the list shows both cases too.
    lost = Loan.objects.filter(status=Loan.Status.SHIPPED).order_by("pk").first()
    late = Loan.objects.filter(status=Loan.Status.ACTIVE).order_by("pk").first()
    Sample.objects.filter(loan_items__loan=lost).update(state=State.LOST)
    Loan.objects.filter(pk=late.pk).update(inventory_due=date(2001, 1, 1))
    today = timezone.localdate()
    loans = list(compliance_list(today=today))
    reference = {loan.number: _next(loan, today) for loan in loans}
    for loan in loans:
        assert (loan.next_what, loan.next_due, loan.overdue) == reference[loan.number]
    # The order the page had when it sorted the whole list in Python.
    assert [loan.number for loan in loans] == sorted(
        reference,
        key=lambda number: (
            not reference[number][2],
            reference[number][1] or date.max,
            number,
        ),
    )
    assert {loan.number for loan in loans} == set(
        Loan.objects.exclude(status=Loan.Status.CLOSED).values_list("number", flat=True)
    )
    assert loans[0] == late and loans[0].overdue and not any(loan.overdue for loan in loans[1:])
    assert reference[lost.number][0] == "end of loan"
    assert {"annual inventory", "return of remnants", None} <= {
        what for what, _, _ in reference.values()
    }


def test_the_page_shows_each_loan_with_its_next_obligation(curator_client):
    late = Loan.objects.filter(status=Loan.Status.ACTIVE).order_by("pk").first()
    Loan.objects.filter(pk=late.pk).update(inventory_due=date(2001, 1, 1))
    response, _ = _page(curator_client)
    rows = list(response.context["rows"])
    assert rows[0] == late
    html = response.content.decode()
    first = html[html.index(f">{late.number}<") :].split("</tr>")[0]
    assert "Annual inventory" in first and "2001-01-01" in first and "overdue" in first
    assert late.pi.get_full_name() in first and late.institution.name in first
    assert html.count('class="overdue"') == 1
    for loan in rows:
        assert f">{loan.number}<" in html
    closed = Loan.objects.filter(status=Loan.Status.CLOSED).first()
    assert closed is not None and closed.number not in html


def test_the_page_reads_one_page_of_loans_in_a_fixed_number_of_queries(
    curator_client, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr("moonvault.web.listing.PAGE_SIZE", 10)
    many, queries = _page(curator_client)
    assert Loan.objects.exclude(status=Loan.Status.CLOSED).count() > 10
    assert len(many.context["rows"]) == 10
    (read,) = [q["sql"] for q in queries if "ORDER BY" in q["sql"] and "loans_loan" in q["sql"]]
    assert "LIMIT 10" in read
    # PostgreSQL runs the "holds samples" subquery once per place it is written: whether the
    # loan holds samples, and inside its next date.
    assert read.count("EXISTS") == 2
    keep = Loan.objects.exclude(status=Loan.Status.CLOSED).order_by("pk")[:2]
    Loan.objects.exclude(pk__in=list(keep.values_list("pk", flat=True))).update(
        status=Loan.Status.CLOSED
    )
    with django_assert_num_queries(len(queries)):
        few = curator_client.get("/loans/")
    assert len(few.context["rows"]) == 2


def test_the_loans_are_shown_a_page_at_a_time_in_their_order(curator_client, monkeypatch):
    monkeypatch.setattr("moonvault.web.listing.PAGE_SIZE", 10)
    everything = [loan.number for loan in compliance_list(today=timezone.localdate())]
    assert len(everything) > 20
    shown = []
    for number in range(1, 5):
        response, _ = _page(curator_client, page=number)
        shown += [loan.number for loan in response.context["rows"]]
    assert shown == everything[:40]
    assert 'page=2" rel="next"' in curator_client.get("/loans/").content.decode()
