"""A whole research loan driven through the pages, as the curator and the borrower use them."""

from decimal import Decimal

from django.urls import reverse

from moonvault.catalog.models import Sample, State
from moonvault.custody.verification import custody_verify
from moonvault.loans.models import Analysis, Incident, Loan, Shipment
from tests.web_loans.conftest import MG, act


def mg(micrograms: int) -> str:
    return str(Decimal(micrograms) / 1000)


def _follow_ok(response):
    assert response.status_code == 302, response.content.decode()[:3000]
    return response


def test_a_loan_runs_from_agreement_to_closure_through_the_pages(client, people):
    curator, pi = people.curator, people.pi

    client.force_login(curator)
    new_page = client.get(reverse("loans:loan-new"))
    assert people.proposal.title in new_page.content.decode()
    created = _follow_ok(
        client.post(
            reverse("loans:loan-new"),
            {
                "proposal": people.proposal.pk,
                "official_name": "Dr. A. Official",
                "allowed_techniques": "SIMS, EPMA",
                "destructive_allowed": "on",
                "destructive_max": "300",
                "unit": "mg",
                "years": "5",
                "starts_on": "2026-01-10",
            },
        )
    )
    loan = Loan.objects.get(proposal=people.proposal)
    assert created.url == reverse("loans:loan-detail", args=[loan.pk])
    assert loan.destructive_max_ug == 300 * MG
    sample = loan.items.get().sample

    _follow_ok(act(client, loan, "sign", {"sign-signed_by_name": "A. Official"}))
    _follow_ok(
        act(
            client,
            loan,
            "pack",
            {
                "pack-container_code": "BOX-1",
                "pack-seal_number": "SEAL-0001",
                "pack-nitrogen_purged": "on",
                "pack-location_code": "PACK",
            },
        )
    )
    outbound = loan.shipments.get()
    _follow_ok(
        act(
            client,
            loan,
            "dispatch",
            {
                "dispatch-shipment": outbound.pk,
                "dispatch-courier": "SF Express",
                "dispatch-tracking_number": "SF123",
                "dispatch-export_reference": "EX-2026-1",
            },
        )
    )
    loan.refresh_from_db()
    assert loan.status == Loan.Status.SHIPPED and loan.certificate_hash

    client.force_login(pi)
    assert "SF123" in client.get(reverse("loans:loan-detail", args=[loan.pk])).content.decode()
    arrived = sample.mass_ug - 5 * MG
    received = _follow_ok(
        act(
            client,
            loan,
            "receive",
            {
                "receive-shipment": outbound.pk,
                "receive-seal_intact": "on",
                "receive-unit": "mg",
                f"receive-mass_{sample.pk}": mg(arrived),
            },
        )
    )
    assert "incident" in client.get(received.url).content.decode()
    incident = Incident.objects.get(loan=loan)
    assert incident.kind == Incident.Kind.MASS_ON_ARRIVAL

    client.force_login(curator)
    assert incident.description in client.get(reverse("loans:incidents")).content.decode()
    _follow_ok(
        client.post(
            reverse("loans:incident-resolve", args=[incident.pk]),
            {
                f"incident{incident.pk}-action": "reweigh",
                f"incident{incident.pk}-resolution": "The borrower's balance is right.",
                f"incident{incident.pk}-measured": mg(arrived),
                f"incident{incident.pk}-unit": "mg",
            },
        )
    )
    sample.refresh_from_db()
    assert sample.mass_ug == arrived and sample.state == State.ON_LOAN

    client.force_login(pi)
    _follow_ok(
        act(
            client,
            loan,
            "analysis",
            {
                "analysis-sample": sample.pk,
                "analysis-technique": "SIMS",
                "analysis-destructive": "on",
                "analysis-mass_consumed": "0.2",
                "analysis-unit": "g",
            },
        )
    )
    assert Analysis.objects.get(loan=loan).mass_consumed_ug == 200 * MG
    _follow_ok(act(client, loan, "usage", {"usage-text": "Two SIMS sessions."}))
    _follow_ok(
        act(
            client,
            loan,
            "return_pack",
            {
                "return_pack-samples": [sample.pk],
                "return_pack-container_code": "BOX-1R",
                "return_pack-seal_number": "SEAL-R1",
            },
        )
    )
    back = loan.shipments.get(direction=Shipment.Direction.RETURN)
    _follow_ok(
        act(
            client,
            loan,
            "return_dispatch",
            {
                "return_dispatch-shipment": back.pk,
                "return_dispatch-hand_carried_by": "Dr. B. Courier",
                "return_dispatch-hand_carry_log": "Flight CA934; seal checked at boarding.",
            },
        )
    )

    client.force_login(curator)
    sample.refresh_from_db()
    _follow_ok(
        act(
            client,
            loan,
            "return_receive",
            {
                "return_receive-shipment": back.pk,
                "return_receive-seal_intact": "on",
                "return_receive-unit": "mg",
                f"return_receive-mass_{sample.pk}": mg(sample.mass_ug),
                "return_receive-location_code": "RET-01",
            },
        )
    )
    returned_page = client.get(reverse("loans:loan-detail", args=[loan.pk])).content.decode()
    assert "Return accountability" in returned_page
    for obligation in ("publications", "data"):
        _follow_ok(
            act(
                client,
                loan,
                "waive",
                {"waive-obligation": obligation, "waive-reason": "Results not yet published."},
            )
        )
    _follow_ok(act(client, loan, "close", {}))

    loan.refresh_from_db()
    sample = Sample.objects.get(pk=sample.pk)
    assert loan.status == Loan.Status.CLOSED
    assert sample.state == State.STORED and sample.pristine is False
    assert sample.mass_ug == arrived - 200 * MG
    report = custody_verify()
    assert report.ok, report.problems
