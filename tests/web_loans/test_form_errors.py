"""Refused input: the error stands next to the field it concerns, and nothing changes."""

import pytest
from django.urls import reverse

from moonvault.custody.models import CustodyEvent
from moonvault.loans.models import Analysis, Loan, Shipment
from tests.web_loans.conftest import act, field_error


def test_consuming_more_than_the_agreement_allows_is_refused_at_the_mass_field(
    client, people, active_loan
):
    sample = active_loan.items.get().sample
    events = CustodyEvent.objects.count()
    client.force_login(people.pi)
    response = act(
        client,
        active_loan,
        "analysis",
        {
            "analysis-sample": sample.pk,
            "analysis-technique": "SIMS",
            "analysis-destructive": "on",
            "analysis-mass_consumed": "301",
            "analysis-unit": "mg",
        },
    )
    assert response.status_code == 400
    assert "allows" in field_error(response, "analysis-mass_consumed")
    assert not Analysis.objects.exists()
    assert CustodyEvent.objects.count() == events


def test_a_mass_that_is_no_whole_number_of_micrograms_is_refused_before_any_service(
    client, people, active_loan
):
    sample = active_loan.items.get().sample
    client.force_login(people.pi)
    response = act(
        client,
        active_loan,
        "analysis",
        {
            "analysis-sample": sample.pk,
            "analysis-technique": "SIMS",
            "analysis-destructive": "on",
            "analysis-mass_consumed": "0.0001",
            "analysis-unit": "mg",
        },
    )
    assert response.status_code == 400
    assert "whole number of micrograms" in field_error(response, "analysis-mass_consumed")
    assert not Analysis.objects.exists()


def test_packing_at_an_unknown_location_names_the_location_field(client, people, loan):
    client.force_login(people.curator)
    act(client, loan, "sign", {"sign-signed_by_name": "A. Official"})
    response = act(
        client,
        loan,
        "pack",
        {
            "pack-container_code": "BOX-1",
            "pack-seal_number": "SEAL-1",
            "pack-location_code": "NOWHERE",
        },
    )
    assert response.status_code == 400
    assert "NOWHERE" in field_error(response, "pack-location_code")
    assert not Shipment.objects.exists()
    loan.refresh_from_db()
    assert loan.status == Loan.Status.SIGNED


def test_the_agreement_form_shows_the_services_refusal_next_to_its_field(client, people):
    client.force_login(people.curator)
    response = client.post(
        reverse("loans:loan-new"),
        {
            "proposal": people.proposal.pk,
            "official_name": "Dr. A. Official",
            "allowed_techniques": "SIMS",
            "destructive_allowed": "on",
            "destructive_max": "",
            "unit": "mg",
            "years": "5",
        },
    )
    assert response.status_code == 400
    assert "up to what mass" in field_error(response, "destructive_max")
    assert not Loan.objects.exists()


def test_closing_with_obligations_open_is_refused_and_the_loan_stays_open(
    client, people, active_loan
):
    client.force_login(people.curator)
    response = act(client, active_loan, "close", {})
    assert response.status_code == 400
    assert "cannot close" in response.content.decode()
    active_loan.refresh_from_db()
    assert active_loan.status == Loan.Status.ACTIVE


def test_a_receipt_names_the_sample_whose_mass_is_missing(client, people, loan):
    client.force_login(people.curator)
    act(client, loan, "sign", {"sign-signed_by_name": "A. Official"})
    act(
        client,
        loan,
        "pack",
        {"pack-container_code": "B", "pack-seal_number": "S", "pack-location_code": "PACK"},
    )
    shipment = loan.shipments.get()
    act(
        client,
        loan,
        "dispatch",
        {"dispatch-shipment": shipment.pk, "dispatch-hand_carried_by": "Dr. C"},
    )
    sample = loan.items.get().sample
    client.force_login(people.pi)
    response = act(
        client,
        loan,
        "receive",
        {"receive-shipment": shipment.pk, "receive-seal_intact": "on", "receive-unit": "g"},
    )
    assert response.status_code == 400
    assert field_error(response, f"receive-mass_{sample.pk}")
    shipment.refresh_from_db()
    assert shipment.status == Shipment.Status.SHIPPED


ODD_INPUTS = [
    "",
    "-5",
    "1e400",
    "NaN",
    "99999999999999999999999999",
    "x" * 5000,
    "\x00",
    "１２",
]


@pytest.mark.parametrize("text", ODD_INPUTS)
def test_odd_input_in_any_borrower_form_never_causes_a_server_error(
    client, people, active_loan, text
):
    sample = active_loan.items.get().sample
    client.force_login(people.pi)
    posts = {
        "analysis": {
            "analysis-sample": text,
            "analysis-technique": text,
            "analysis-destructive": "on",
            "analysis-mass_consumed": text,
            "analysis-unit": text,
            "analysis-performed_on": text,
        },
        "subsplit": {
            "subsplit-sample": sample.pk,
            "subsplit-masses": f"{text}; {text}",
            "subsplit-loss": text,
            "subsplit-unit": "mg",
        },
        "inventory": {
            "inventory-unit": "mg",
            f"inventory-mass_{sample.pk}": text,
            f"inventory-place_{sample.pk}": text,
        },
        "publication": {
            "publication-doi": text,
            "publication-title": text,
            "publication-year": text,
            "publication-authors": text,
            "publication-samples": [text],
        },
        "deposit": {"deposit-reference": text, "deposit-embargo_until": text},
        "return_pack": {
            "return_pack-samples": [text],
            "return_pack-container_code": text,
            "return_pack-seal_number": text,
        },
        "usage": {"usage-text": text},
    }
    for action, data in posts.items():
        response = act(client, active_loan, action, data)
        assert response.status_code in (302, 400), (action, response.status_code)


@pytest.mark.parametrize("text", ODD_INPUTS)
def test_odd_input_in_any_curator_form_never_causes_a_server_error(client, people, loan, text):
    client.force_login(people.curator)
    for url, data in [
        (
            reverse("loans:loan-new"),
            {
                "proposal": text,
                "official_name": text,
                "allowed_techniques": text,
                "destructive_max": text,
                "years": text,
                "starts_on": text,
            },
        ),
        (
            reverse("loans:loan-new"),
            {
                "proposal": people.proposal.pk,
                "official_name": "O",
                "allowed_techniques": "SIMS",
                "years": "10",
                "unit": "mg",
                "starts_on": "9999-12-31",
            },
        ),
        (reverse("loans:loan-action", args=[loan.pk, "waive"]), {"waive-obligation": text}),
        (reverse("loans:stock-checks"), {"location_code": text}),
        (
            reverse("loans:exhibition-new"),
            {
                "title": text,
                "starts_on": text,
                "insurance_value": text,
                "sample_identifiers": text,
                "stops": f"{text}; Milan; IT; 2024-10-12; 2024-10-19\n{text}",
            },
        ),
    ]:
        response = client.post(url, data)
        assert response.status_code in (302, 400), (url, response.status_code)
