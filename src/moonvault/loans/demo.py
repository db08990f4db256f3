"""Demo loans in every state, an exhibition on its itinerary, an open incident, and overdue
obligations — all driven through the loan services from the demo round's decisions."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.utils import timezone

from moonvault.accounts.models import Role
from moonvault.catalog.models import Pool, Sample, State, StorageLocation
from moonvault.loans.models import Loan
from moonvault.loans.services import exhibitions, incidents, obligations, publications, research

MG = 1_000
PACKING = "MAIN-R102-PACK"
RETURNED = "MAIN-R103-RET"


def _demo_locations() -> None:
    main = StorageLocation.objects.get(code="MAIN")
    processing = StorageLocation.objects.get(code="MAIN-R102")
    StorageLocation.objects.get_or_create(
        code=PACKING,
        defaults={
            "name": "Packing bench",
            "kind": "cabinet",
            "parent": processing,
            "environment": "nitrogen",
        },
    )
    room, _ = StorageLocation.objects.get_or_create(
        code="MAIN-R103",
        defaults={"name": "Room 103, returned material", "kind": "room", "parent": main},
    )
    StorageLocation.objects.get_or_create(
        code=RETURNED,
        defaults={
            "name": "Cabinet for returned material",
            "kind": "cabinet",
            "parent": room,
            "environment": "nitrogen",
        },
    )


def _agreement(curator: User, proposal, *, started_days_ago: int) -> Loan:
    return research.loan_create(
        actor=curator,
        proposal_id=proposal.pk,
        official_name="Head of research administration",
        allowed_techniques="SIMS, EPMA, noble gas mass spectrometry, VNIR spectroscopy",
        destructive_allowed=True,
        destructive_max_ug=100 * MG,
        starts_on=timezone.localdate() - timedelta(days=started_days_ago),
    )


def _ship(curator: User, loan: Loan, seal: str):
    research.loan_record_signature(
        actor=curator, loan_id=loan.pk, signed_by_name="Head of research administration"
    )
    shipment = research.shipment_pack(
        actor=curator,
        loan_id=loan.pk,
        container_code=f"BOX-{loan.number}",
        seal_number=seal,
        nitrogen_purged=True,
        location_code=PACKING,
    )
    research.shipment_dispatch(
        actor=curator,
        shipment_id=shipment.pk,
        courier="China Post EMS",
        tracking_number=f"EE{loan.pk:09d}CN",
        export_reference=f"EXP-{loan.number}",
    )
    return shipment


def _receive(loan: Loan, shipment, *, short_ug: int = 0):
    pi = loan.pi
    measured = {i.sample_id: i.mass_sent_ug - short_ug for i in shipment.items.all()}
    return research.shipment_receive(
        actor=pi, shipment_id=shipment.pk, seal_intact=True, measured=measured
    )


def demo_loans(*, users: dict[str, User], approved: list) -> dict:
    """Loans from the approved proposals, one per state, as far as there are proposals.

    The active loan started over a year ago, so its annual inventory and usage report are
    overdue, and it arrived 40 mg light, which left an incident open for the curator.
    """
    _demo_locations()
    curator = users[Role.CURATOR]
    plan = ["closed", "returned", "returning", "active", "shipped", "signed", "agreement"]
    made = {}
    for state, proposal in zip(plan, approved, strict=False):
        days = 30 if state in {"shipped", "signed", "agreement"} else 420
        loan = _agreement(curator, proposal, started_days_ago=days)
        made[state] = loan
        if state == "agreement":
            continue
        if state == "signed":
            research.loan_record_signature(
                actor=curator, loan_id=loan.pk, signed_by_name="Head of research administration"
            )
            continue
        shipment = _ship(curator, loan, seal=f"SEAL-{loan.pk:05d}")
        if state == "shipped":
            continue
        _receive(loan, shipment, short_ug=40 * MG if state == "active" else 0)
        sample = loan.items.select_related("sample").first().sample
        research.analysis_record(
            actor=loan.pi,
            loan_id=loan.pk,
            sample_id=sample.pk,
            technique="SIMS",
            destructive=True,
            mass_consumed_ug=min(50 * MG, sample.mass_ug // 4),
        )
        if state == "active":
            continue
        _send_back(curator, loan, receive=state != "returning")
        if state == "closed":
            _report_and_close(curator, loan, sample)
    obligations.obligations_check(today=timezone.localdate())
    return made


def _send_back(curator: User, loan: Loan, *, receive: bool) -> None:
    held = list(loan.items.filter(sample__state=State.ON_LOAN).select_related("sample"))
    back = research.return_pack(
        actor=loan.pi,
        loan_id=loan.pk,
        sample_ids=[i.sample_id for i in held],
        container_code=f"RET-{loan.number}",
        seal_number=f"SEAL-R{loan.pk:05d}",
    )
    research.shipment_dispatch(
        actor=loan.pi, shipment_id=back.pk, courier="DHL", tracking_number=f"DHL{loan.pk:08d}"
    )
    if receive:
        research.return_receive(
            actor=curator,
            shipment_id=back.pk,
            seal_intact=True,
            measured={i.sample_id: i.sample.mass_ug for i in held},
            location_code=RETURNED,
        )


def _report_and_close(curator: User, loan: Loan, sample: Sample) -> None:
    research.usage_report_submit(
        actor=loan.pi, loan_id=loan.pk, text="Three SIMS sessions; results published."
    )
    publications.publication_record(
        actor=loan.pi,
        loan_id=loan.pk,
        doi="10.1038/s41586-021-04100-2",
        title="Two-billion-year-old volcanism on the Moon from Chang'e-5 basalts",
        journal="Nature",
        year=2021,
        authors=["Li, Q.-L.", "Zhou, Q.", "Liu, Y."],
        sample_identifiers=[sample.identifier],
    )
    research.data_deposit_record(
        actor=loan.pi, loan_id=loan.pk, reference="https://doi.org/10.12345/moonvault-demo"
    )
    research.loan_close(actor=curator, loan_id=loan.pk)


def demo_exhibition(*, users: dict[str, User]) -> None:
    """A travelling exhibition of public-benefit samples, on display at its first venue."""
    curator, committee = users[Role.CURATOR], users[Role.COMMITTEE]
    samples = list(
        Sample.objects.filter(pool=Pool.PUBLIC_BENEFIT, state=State.STORED, parent__isnull=False)
        .order_by("identifier")
        .values_list("identifier", flat=True)[:2]
    )
    if not samples:
        return
    today = timezone.localdate()
    show = exhibitions.exhibition_create(
        actor=curator,
        title="Samples from the Moon: a travelling exhibition",
        organiser="International Astronautical Federation",
        starts_on=today - timedelta(days=5),
        ends_on=today + timedelta(days=80),
        responsible_official="Exhibition security officer",
        deputy_official="Deputy curator on tour",
        insurance_value=Decimal("2000000.00"),
        sample_identifiers=samples,
        stops=[
            {
                "venue": "Fiera Milano (IAC)",
                "city": "Milan",
                "country": "IT",
                "arrive_on": today - timedelta(days=6),
                "depart_on": today + timedelta(days=10),
            },
            {
                "venue": "Hong Kong Science Museum",
                "city": "Hong Kong",
                "country": "CN",
                "arrive_on": today + timedelta(days=20),
                "depart_on": today + timedelta(days=80),
            },
        ],
    )
    exhibitions.exhibition_approve(actor=committee, exhibition_id=show.pk)
    shipment = exhibitions.exhibition_dispatch(
        actor=curator,
        exhibition_id=show.pk,
        container_code="DISPLAY-CASE-1",
        seal_number="SEAL-EX-0001",
        courier="Hand carried by the curator on tour",
        location_code="MAIN-R104-N2-01-C02",
    )
    exhibitions.handover_record(
        actor=curator,
        exhibition_id=show.pk,
        at=timezone.make_aware(datetime.combine(today - timedelta(days=6), datetime.min.time())),
        place="Milan Malpensa airport",
        from_party="Curator on tour",
        to_party="Fiera Milano security",
        seal_number=shipment.seal_number,
        seal_intact=True,
    )
    exhibitions.exhibition_display(actor=curator, exhibition_id=show.pk, on_display=True)


def demo_stock_check(*, users: dict[str, User]) -> None:
    """A stock check of the display-sample container that found one vial light."""
    curator = users[Role.CURATOR]
    check = incidents.stock_check_start(actor=curator, location_code="MAIN-R104-N2-01-C01")
    for n, line in enumerate(check.lines.all()):
        light = 300 * MG if n == 0 else 0
        incidents.stock_check_record(
            actor=curator,
            line_id=line.pk,
            found=True,
            measured_ug=max(line.expected_mass_ug - light, 0),
        )
    incidents.stock_check_close(actor=curator, check_id=check.pk)
