"""Every loan page, opened by every role: the right ones see it, the others are refused."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from moonvault.loans.services import exhibitions, incidents
from tests.web_loans.conftest import MG

ROLES = ["anonymous", "pi", "other_applicant", "reviewer", "committee", "curator"]
EVERYONE = set(ROLES)

# page → (url name, which object its argument is, the roles that may open it)
PAGES = {
    "compliance": ("loans:compliance", None, {"curator"}),
    "new agreement": ("loans:loan-new", None, {"curator"}),
    "my loans": ("loans:my-loans", None, {"pi", "other_applicant"}),
    "loan page": ("loans:loan-detail", "loan", {"pi", "curator"}),
    "incidents": ("loans:incidents", None, {"curator"}),
    "stock checks": ("loans:stock-checks", None, {"curator"}),
    "stock check": ("loans:stock-check", "check", {"curator"}),
    "exhibitions": ("loans:exhibitions", None, {"curator", "committee"}),
    "new exhibition": ("loans:exhibition-new", None, {"curator"}),
    "exhibition": ("loans:exhibition", "exhibition", {"curator", "committee"}),
    "results": ("loans:results", None, EVERYONE),
    "sample results": ("loans:sample-results", "sample", EVERYONE),
}
# Signed in with a role the loan does not concern: the loan is reported as absent.
ABSENT = {("loan page", role) for role in ("other_applicant", "reviewer", "committee")}


@pytest.fixture
def objects(people, loan, display_sample, cabinet):
    check = incidents.stock_check_start(actor=people.curator, location_code=cabinet.code)
    exhibition = exhibitions.exhibition_create(
        actor=people.curator,
        title="Chang'e-6 at the IAC",
        organiser="IAC 2024 Milan",
        starts_on=date(2024, 10, 14),
        ends_on=date(2024, 10, 18),
        responsible_official="Ms. Official",
        deputy_official="Mr. Deputy",
        insurance_value=Decimal("1000000.00"),
        sample_identifiers=[display_sample.identifier],
        stops=[
            {
                "venue": "MiCo",
                "city": "Milan",
                "country": "IT",
                "arrive_on": date(2024, 10, 12),
                "depart_on": date(2024, 10, 19),
            }
        ],
    )
    return {
        "loan": loan.pk,
        "check": check.pk,
        "exhibition": exhibition.pk,
        "sample": loan.items.get().sample.identifier,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", PAGES)
def test_each_loan_page_opens_for_its_roles_only(client, people, objects, page, role):
    name, argument, allowed = PAGES[page]
    url = reverse(name, args=[objects[argument]] if argument else [])
    if role != "anonymous":
        client.force_login(getattr(people, role))
    response = client.get(url)
    if role in allowed:
        assert response.status_code == 200
    elif role == "anonymous":
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))
    elif (page, role) in ABSENT:
        assert response.status_code == 404
    else:
        assert response.status_code == 403


def test_another_applicant_cannot_act_on_a_loan_and_nothing_changes(client, people, loan):
    client.force_login(people.other_applicant)
    response = client.post(
        reverse("loans:loan-action", args=[loan.pk, "upload"]),
        {"upload-signed_by_name": "Someone"},
    )
    assert response.status_code == 404
    loan.refresh_from_db()
    assert loan.status == loan.Status.AGREEMENT and not loan.signed_by_name


def test_the_borrower_cannot_take_a_curators_action(client, people, loan):
    client.force_login(people.pi)
    response = client.post(
        reverse("loans:loan-action", args=[loan.pk, "sign"]), {"sign-signed_by_name": "Me"}
    )
    assert response.status_code == 403
    loan.refresh_from_db()
    assert loan.status == loan.Status.AGREEMENT


def test_an_unknown_action_or_loan_is_not_found(client, people, loan):
    client.force_login(people.curator)
    assert client.post(reverse("loans:loan-action", args=[loan.pk, "teleport"])).status_code == 404
    assert client.get(reverse("loans:loan-detail", args=[loan.pk + 999])).status_code == 404


def test_the_loan_page_offers_each_side_only_its_own_actions(client, people, active_loan):
    url = reverse("loans:loan-detail", args=[active_loan.pk])
    client.force_login(people.pi)
    borrower_page = client.get(url).content.decode()
    assert 'id="action-analysis"' in borrower_page
    assert 'id="action-inventory"' in borrower_page
    assert 'id="action-waive"' not in borrower_page
    client.force_login(people.curator)
    curator_page = client.get(url).content.decode()
    assert 'id="action-waive"' in curator_page
    assert 'id="action-analysis"' not in curator_page
    assert str(300 * MG // 1000) in curator_page  # the destructive allowance, in mg


def test_the_document_links_on_the_loan_page_download_for_the_borrower(client, people, active_loan):
    client.force_login(people.pi)
    html = client.get(reverse("loans:loan-detail", args=[active_loan.pk])).content.decode()
    links = re.findall(r'href="(/api/v1/loans/\d+/[a-z]+\.(?:pdf|csv))"', html)
    assert {link.rsplit("/", 1)[1] for link in links} == {
        "agreement.pdf",
        "certificate.pdf",
        "accountability.pdf",
        "accountability.csv",
    }
    for link in links:
        response = client.get(link)
        assert response.status_code == 200, link
        assert response.content.startswith(b"%PDF-") or link.endswith(".csv")
