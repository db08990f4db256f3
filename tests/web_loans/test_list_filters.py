"""Every list of the loan pages has filters: they narrow the list, and a bad value is named."""

import re

from moonvault.loans.models import Incident, Loan
from moonvault.loans.services.incidents import incident_open, stock_check_start


def filter_error(response, field: str) -> str:
    html = response.content.decode()
    match = re.search(rf'<span class="error" id="error-{field}"[^>]*>(.*?)</span>', html)
    return match.group(1).strip() if match else ""


def shown(response) -> list:
    return list(response.context["listing"].page)


def test_curator_filters_incidents_by_status_kind_and_sample(client, people, active_loan):
    sample = active_loan.items.get().sample
    seal = incident_open(kind=Incident.Kind.SEAL_BROKEN, description="Tape cut", sample=sample)
    other = incident_open(kind=Incident.Kind.INVENTORY, description="Count differs")
    Incident.objects.filter(pk=other.pk).update(status=Incident.Status.RESOLVED)
    client.force_login(people.curator)

    assert {i.pk for i, _form in client.get("/loans/incidents/").context["rows"]} >= {
        seal.pk,
        other.pk,
    }
    open_seals = client.get("/loans/incidents/", {"status": "open", "kind": "seal_broken"})
    assert [i.pk for i, _form in open_seals.context["rows"]] == [seal.pk]
    by_sample = client.get("/loans/incidents/", {"q": sample.identifier})
    assert [i.pk for i in shown(by_sample)] == [seal.pk]
    bad = client.get("/loans/incidents/", {"kind": "meteor"})
    assert "meteor" in filter_error(bad, "kind")


def test_curator_filters_stock_checks_and_exhibitions(client, people, active_loan):
    check = stock_check_start(actor=people.curator, location_code="RET-01")
    client.force_login(people.curator)
    assert [c.pk for c in shown(client.get("/loans/stock-checks/", {"status": "open"}))] == [
        check.pk
    ]
    assert shown(client.get("/loans/stock-checks/", {"status": "closed"})) == []
    assert shown(client.get("/loans/exhibitions/", {"status": "on_display"})) == []
    assert "later" in filter_error(client.get("/loans/exhibitions/", {"status": "later"}), "status")


def test_borrower_filters_own_loans_by_status(client, people, active_loan):
    client.force_login(people.pi)
    assert [loan.pk for loan in shown(client.get("/loans/mine/"))] == [active_loan.pk]
    assert [
        loan.pk for loan in shown(client.get("/loans/mine/", {"status": Loan.Status.ACTIVE}))
    ] == [active_loan.pk]
    none = client.get("/loans/mine/", {"status": Loan.Status.CLOSED})
    assert shown(none) == []
    assert "No loan matches." in none.content.decode()
