"""A research loan end to end through the services, with the ledger checked at every turn."""

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from moonvault.accounts.models import Person
from moonvault.allocation.services import plan_apply, plan_decide, plan_propose
from moonvault.calls.models import CallStatus
from moonvault.calls.services import call_transition, eligibility_checks
from moonvault.catalog.models import Sample, State, StorageLocation
from moonvault.core.errors import Conflict, DomainError
from moonvault.custody.verification import custody_verify
from moonvault.loans.models import Incident, Loan
from moonvault.loans.services import incidents, obligations, publications, research
from tests.rounds import MG, run_round_to_ranking


@pytest.fixture
def approved_loan(mission_ce5, receive, round_people, curator, facility):
    call, committee, proposals, _ = run_round_to_ranking(
        mission_ce5, receive, round_people, requests_mg=[(1500, 1000), (1500, 1000), (1800, 1500)]
    )
    plan = plan_propose(actor=committee, call_id=call.pk)
    plan_apply(actor=committee, plan_id=plan.pk)
    plan_decide(actor=committee, plan_id=plan.pk)
    call_transition(actor=committee, call_id=call.pk, to_status=CallStatus.DECIDED)
    StorageLocation.objects.create(code="RET-01", name="Returned material", kind="cabinet")
    StorageLocation.objects.create(code="PACK", name="Packing bench", kind="room")
    loan = research.loan_create(
        actor=curator,
        proposal_id=proposals[0].pk,
        official_name="Dr. A. Official",
        allowed_techniques="SIMS, EPMA",
        destructive_allowed=True,
        destructive_max_ug=300 * MG,
        starts_on=date(2026, 1, 10),
    )
    return loan, proposals[0], curator


def _sign_pack_ship(loan, curator):
    research.loan_record_signature(actor=curator, loan_id=loan.pk, signed_by_name="A. Official")
    shipment = research.shipment_pack(
        actor=curator,
        loan_id=loan.pk,
        container_code="BOX-1",
        seal_number="SEAL-0001",
        nitrogen_purged=True,
        location_code="PACK",
    )
    research.shipment_dispatch(
        actor=curator, shipment_id=shipment.pk, courier="SF Express", tracking_number="SF123"
    )
    return shipment


def test_no_shipment_before_the_agreement_is_signed(approved_loan):
    loan, _, curator = approved_loan
    with pytest.raises(Conflict, match="signed"):
        research.shipment_pack(
            actor=curator,
            loan_id=loan.pk,
            container_code="BOX-1",
            seal_number="S",
            nitrogen_purged=True,
            location_code="PACK",
        )
    assert not loan.shipments.exists()


def test_a_loan_runs_from_agreement_to_closure_and_the_ledger_holds(approved_loan):
    loan, proposal, curator = approved_loan
    pi = proposal.pi
    assert loan.ends_on == date(2031, 1, 10)
    shipment = _sign_pack_ship(loan, curator)
    loan.refresh_from_db()
    assert loan.certificate_hash and loan.status == Loan.Status.SHIPPED

    item = loan.items.get()
    sample = item.sample
    opened = research.shipment_receive(
        actor=pi,
        shipment_id=shipment.pk,
        seal_intact=True,
        measured={sample.pk: sample.mass_ug - 5 * MG},
    )
    assert [i.kind for i in opened] == [Incident.Kind.MASS_ON_ARRIVAL]
    incidents.incident_resolve(
        actor=curator,
        incident_id=opened[0].pk,
        resolution="balance at the borrower confirmed; record the true mass",
        action="reweigh",
        measured_ug=sample.mass_ug - 5 * MG,
    )
    sample.refresh_from_db()
    assert sample.state == State.ON_LOAN

    with pytest.raises(Conflict, match="allows"):
        research.analysis_record(
            actor=pi,
            loan_id=loan.pk,
            sample_id=sample.pk,
            technique="SIMS",
            destructive=True,
            mass_consumed_ug=301 * MG,
        )
    research.analysis_record(
        actor=pi,
        loan_id=loan.pk,
        sample_id=sample.pk,
        technique="SIMS",
        destructive=True,
        mass_consumed_ug=200 * MG,
    )
    children = research.loan_subsplit(
        actor=pi, loan_id=loan.pk, sample_id=sample.pk, masses_ug=[100 * MG], loss_ug=10
    )
    research.usage_report_submit(actor=pi, loan_id=loan.pk, text="Two SIMS sessions.")
    sample.refresh_from_db()
    research.inventory_report_submit(
        actor=pi,
        loan_id=loan.pk,
        lines=[
            {"sample": sample.pk, "mass_ug": sample.mass_ug, "place": "Lab 2 desiccator"},
            {"sample": children[0].pk, "mass_ug": 100 * MG, "place": "Lab 2 desiccator"},
        ],
    )
    with pytest.raises(Conflict, match="cannot close"):
        research.loan_close(actor=curator, loan_id=loan.pk)

    back = research.return_pack(
        actor=pi,
        loan_id=loan.pk,
        sample_ids=[sample.pk, children[0].pk],
        container_code="BOX-1R",
        seal_number="SEAL-R1",
    )
    research.shipment_dispatch(actor=pi, shipment_id=back.pk, courier="DHL", tracking_number="DHL9")
    research.return_receive(
        actor=curator,
        shipment_id=back.pk,
        seal_intact=True,
        measured={sample.pk: sample.mass_ug, children[0].pk: 100 * MG},
        location_code="RET-01",
    )
    sample.refresh_from_db()
    assert sample.state == State.STORED and sample.pristine is False
    publications.publication_record(
        actor=pi,
        loan_id=loan.pk,
        doi="10.1038/s41586-021-04100-2",
        title="Two-billion-year-old volcanism on the Moon",
        journal="Nature",
        year=2021,
        authors=["Li, Q.-L."],
        sample_identifiers=[sample.identifier],
    )
    research.waiver_grant(
        actor=curator, loan_id=loan.pk, obligation="data", reason="data in the paper's supplement"
    )
    closed = research.loan_close(actor=curator, loan_id=loan.pk)
    assert closed.status == Loan.Status.CLOSED
    report = custody_verify()
    assert report.ok, report.problems
    assert report.accounts["CE5"].consumed == 200 * MG


def test_overdue_obligations_block_screening_until_met(approved_loan):
    loan, proposal, curator = approved_loan
    shipment = _sign_pack_ship(loan, curator)
    sample = loan.items.get().sample
    research.shipment_receive(
        actor=proposal.pi,
        shipment_id=shipment.pk,
        seal_intact=True,
        measured={sample.pk: sample.mass_ug},
    )
    overdue = obligations.obligations_check(today=date(2027, 2, 1))
    assert {o.what for o in overdue} == {"annual inventory", "usage report"}
    person = Person.objects.get(user=proposal.pi)
    assert person.obligations_overdue_since == date(2027, 1, 10)
    proposal.refresh_from_db()
    checks = {c["rule"]: c["passed"] for c in eligibility_checks(proposal)}
    assert checks["obligations"] is False

    research.usage_report_submit(actor=proposal.pi, loan_id=loan.pk, text="Report.")
    research.inventory_report_submit(
        actor=proposal.pi,
        loan_id=loan.pk,
        lines=[{"sample": sample.pk, "mass_ug": sample.mass_ug, "place": "Lab"}],
    )
    assert obligations.obligations_check(today=date(2027, 2, 1)) == []
    person.refresh_from_db()
    assert person.obligations_overdue_since is None


def test_a_broken_seal_and_a_non_pdf_signature_are_handled(approved_loan):
    loan, proposal, curator = approved_loan
    with pytest.raises(DomainError) as refused:
        research.loan_record_signature(
            actor=proposal.pi,
            loan_id=loan.pk,
            signed_by_name="A. Official",
            signed_pdf=SimpleUploadedFile("signed.pdf", b"GIF89a not a pdf"),
        )
    assert refused.value.problems[0].field == "signed_pdf"
    loan.refresh_from_db()
    assert loan.status == Loan.Status.AGREEMENT
    shipment = _sign_pack_ship(loan, curator)
    sample = loan.items.get().sample
    opened = research.shipment_receive(
        actor=proposal.pi,
        shipment_id=shipment.pk,
        seal_intact=False,
        measured={sample.pk: sample.mass_ug},
    )
    assert [i.kind for i in opened] == [Incident.Kind.SEAL_BROKEN]
    assert Sample.objects.get(pk=sample.pk).state == State.ON_LOAN
