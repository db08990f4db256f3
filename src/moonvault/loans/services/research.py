"""A research loan from decision to closure: agreement, signature and certificate, packing and
shipping, receipt, use, subsplits, reports, return and closure."""

from datetime import date

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from moonvault.accounts.models import Role
from moonvault.accounts.permissions import require_role
from moonvault.allocation.models import Allocation
from moonvault.calls.models import DECIDED_STATUSES, Proposal, ProposalStatus
from moonvault.catalog.models import Sample, State, StorageLocation
from moonvault.catalog.services import ChildSpec, sample_consume, sample_split, sample_weigh
from moonvault.catalog.transitions import samples_transition
from moonvault.core.errors import Conflict, DomainError, NotFound
from moonvault.core.identifiers import normalize_doi
from moonvault.core.notify import notify
from moonvault.core.units import check_mass
from moonvault.core.uploads import pdf_check
from moonvault.custody.selectors import ledger_head
from moonvault.loans.models import (
    Analysis,
    DataDeposit,
    Incident,
    InventoryReport,
    Loan,
    LoanItem,
    Shipment,
    ShipmentItem,
    UsageReport,
    Waiver,
)
from moonvault.loans.services.common import balance_tolerance_ug, loan_for
from moonvault.loans.services.incidents import incident_open

DEFAULT_YEARS = 5
DEFAULT_ACKNOWLEDGEMENT = (
    "The lunar samples used in this work were provided by {repository} under loan {number}."
)


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _next_number(today: date) -> str:
    prefix = f"MV-{today.year}-"
    last = (
        Loan.objects.filter(number__startswith=prefix)
        .order_by("-number")
        .values_list("number", flat=True)
    ).first()
    return f"{prefix}{(int(last[len(prefix) :]) if last else 0) + 1:04d}"


@transaction.atomic
def loan_create(
    *,
    actor,
    proposal_id: int,
    official_name: str,
    allowed_techniques: str,
    destructive_allowed: bool,
    destructive_max_ug: int = 0,
    years: int = DEFAULT_YEARS,
    starts_on: date | None = None,
    acknowledgement: str = "",
    data_embargo_until: date | None = None,
    repository: str = "the national lunar sample repository",
) -> Loan:
    """Draw up the agreement for an approved proposal's allocated samples."""
    require_role(actor, Role.CURATOR)
    proposal = (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("pi__person__institution")
        .filter(pk=proposal_id)
        .first()
    )
    if proposal is None:
        raise NotFound(
            _("proposal %(proposal_id)s does not exist") % {"proposal_id": proposal_id},
            field="proposal",
        )
    if proposal.status not in DECIDED_STATUSES - {ProposalStatus.DECLINED}:
        raise Conflict(
            _("only an approved or partly approved proposal gets a loan"), field="proposal"
        )
    if Loan.objects.filter(proposal=proposal).exists():
        raise Conflict(_("this proposal already has a loan agreement"), field="proposal")
    allocations = list(Allocation.objects.filter(item__proposal=proposal).select_related("sample"))
    if not allocations:
        raise Conflict(_("nothing is allocated to this proposal yet"), field="proposal")
    person = getattr(proposal.pi, "person", None)
    if person is None or person.institution is None:
        raise DomainError(_("the PI has no institution on record"), field="proposal")
    if not official_name.strip():
        raise DomainError(_("name the borrower's authorized official"), field="official_name")
    if not allowed_techniques.strip():
        raise DomainError(_("list the allowed techniques"), field="allowed_techniques")
    check_mass(destructive_max_ug, "destructive_max_ug", allow_zero=True)
    if destructive_allowed and destructive_max_ug == 0:
        raise DomainError(
            _("say up to what mass destructive use is allowed"), field="destructive_max_ug"
        )
    total = sum(a.mass_ug for a in allocations)
    if destructive_max_ug > total:
        raise DomainError(_("more destructive use than is lent"), field="destructive_max_ug")
    if not 1 <= years <= 10:
        raise DomainError(_("a loan runs from 1 to 10 years"), field="years")
    start = starts_on or timezone.localdate()
    if not 1969 <= start.year <= 2200:
        raise DomainError(_("a start date between 1969 and 2200"), field="starts_on")
    end = _years_later(start, years)
    number = _next_number(start)
    loan = Loan.objects.create(
        number=number,
        proposal=proposal,
        pi=proposal.pi,
        institution=person.institution,
        official_name=official_name.strip(),
        allowed_techniques=allowed_techniques.strip(),
        destructive_allowed=destructive_allowed,
        destructive_max_ug=destructive_max_ug if destructive_allowed else 0,
        starts_on=start,
        ends_on=end,
        inventory_due=_years_later(start, 1),
        usage_report_due=_years_later(start, 1),
        return_due=end,
        acknowledgement=acknowledgement.strip()
        or DEFAULT_ACKNOWLEDGEMENT.format(repository=repository, number=number),
        data_embargo_until=data_embargo_until,
        created_by=actor,
    )
    LoanItem.objects.bulk_create(
        LoanItem(loan=loan, sample=a.sample, lent_mass_ug=a.mass_ug) for a in allocations
    )
    notify(
        [loan.pi],
        f"Loan agreement {loan.number}",
        "Your loan agreement is ready for your institution's authorized official to sign.",
    )
    return loan


@transaction.atomic
def loan_record_signature(*, actor, loan_id: int, signed_by_name: str, signed_pdf=None) -> Loan:
    """The official's signature is recorded (by a curator, or by the PI uploading the signed PDF);
    the sample certificate is then issued with the ledger's head hash."""
    loan = loan_for(actor, loan_id)
    if loan.status != Loan.Status.AGREEMENT:
        raise Conflict(_("the agreement is already signed"), field="loan")
    if not signed_by_name.strip():
        raise DomainError(_("who signed?"), field="signed_by_name")
    if signed_pdf is not None:
        pdf_check(signed_pdf, field="signed_pdf")
        loan.signed_pdf = signed_pdf
    elif loan.pi_id == actor.pk:
        raise DomainError(_("upload the signed agreement"), field="signed_pdf")
    head = ledger_head()
    now = timezone.now()
    loan.signed_by_name = signed_by_name.strip()
    loan.signed_at = now
    loan.certificate_hash, loan.certificate_seq = head.hash, head.seq
    loan.certificate_issued_at = now
    loan.status = Loan.Status.SIGNED
    loan.save()
    return loan


def _shipment_items(shipment: Shipment, samples: list[Sample]) -> None:
    ShipmentItem.objects.bulk_create(
        ShipmentItem(shipment=shipment, sample=s, mass_sent_ug=s.mass_ug) for s in samples
    )


@transaction.atomic
def shipment_pack(
    *,
    actor,
    loan_id: int,
    container_code: str,
    seal_number: str,
    nitrogen_purged: bool,
    location_code: str,
) -> Shipment:
    """Pack every lent sample into one sealed container. Only a signed agreement releases it."""
    require_role(actor, Role.CURATOR)
    loan = loan_for(actor, loan_id)
    if loan.status == Loan.Status.AGREEMENT:
        raise Conflict(_("no shipment before the agreement is signed"), field="loan")
    if loan.status != Loan.Status.SIGNED or loan.shipments.exists():
        raise Conflict(_("this loan is already packed"), field="loan")
    for name, value in (("container_code", container_code), ("seal_number", seal_number)):
        if not value.strip():
            raise DomainError(_("required"), field=name)
    location = StorageLocation.objects.filter(code=location_code).first()
    if location is None:
        raise NotFound(
            _("storage location %(location_code)s does not exist")
            % {"location_code": repr(location_code)},
            field="location",
        )
    sample_ids = list(loan.items.values_list("sample_id", flat=True))
    samples = samples_transition(
        actor=actor,
        sample_ids=sample_ids,
        step="pack",
        location=location,
        reason=f"packed for loan {loan.number}, seal {seal_number.strip()}",
        data={"loan": loan.number, "seal": seal_number.strip()},
    )
    shipment = Shipment.objects.create(
        loan=loan,
        direction=Shipment.Direction.OUTBOUND,
        container_code=container_code.strip(),
        seal_number=seal_number.strip(),
        nitrogen_purged=nitrogen_purged,
        packed_by=actor,
    )
    _shipment_items(shipment, samples)
    return shipment


@transaction.atomic
def shipment_dispatch(
    *,
    actor,
    shipment_id: int,
    courier: str = "",
    tracking_number: str = "",
    hand_carried_by: str = "",
    hand_carry_log: str = "",
    export_reference: str = "",
    customs_reference: str = "",
) -> Shipment:
    """Hand a packed container to a courier or a person; its samples are then in transit."""
    shipment = (
        Shipment.objects.select_for_update(of=("self",))
        .select_related("loan")
        .filter(pk=shipment_id)
        .first()
    )
    if shipment is None:
        raise NotFound(
            _("shipment %(shipment_id)s does not exist") % {"shipment_id": shipment_id},
            field="shipment",
        )
    loan = loan_for(actor, shipment.loan_id) if shipment.loan_id else None
    if shipment.direction != Shipment.Direction.RETURN:
        require_role(actor, Role.CURATOR)
    if shipment.status != Shipment.Status.PACKED:
        raise Conflict(_("the shipment has already left"), field="shipment")
    if not (courier.strip() and tracking_number.strip()) and not hand_carried_by.strip():
        raise DomainError(
            _("give the courier and tracking number, or who carries it by hand"), field="courier"
        )
    samples_transition(
        actor=actor,
        sample_ids=list(shipment.items.values_list("sample_id", flat=True)),
        step="ship",
        reason=f"shipped, seal {shipment.seal_number}"
        + (f", {courier.strip()} {tracking_number.strip()}" if courier.strip() else ""),
        data={"shipment": shipment.pk, "seal": shipment.seal_number},
    )
    shipment.courier = courier.strip()
    shipment.tracking_number = tracking_number.strip()
    shipment.hand_carried_by = hand_carried_by.strip()
    shipment.hand_carry_log = hand_carry_log.strip()
    shipment.export_reference = export_reference.strip()
    shipment.customs_reference = customs_reference.strip()
    shipment.status = Shipment.Status.SHIPPED
    shipment.shipped_at = timezone.now()
    shipment.save()
    if loan and shipment.direction == Shipment.Direction.OUTBOUND:
        loan.status = Loan.Status.SHIPPED
        loan.save(update_fields=["status"])
    return shipment


def _check_measured(shipment: Shipment, measured: dict[int, int]) -> list[ShipmentItem]:
    items = list(shipment.items.select_related("sample"))
    expected = {i.sample_id for i in items}
    if set(measured) != expected:
        raise DomainError(
            _("give the measured mass of every sample in the shipment"), field="measured"
        )
    for sample_id, mass in measured.items():
        check_mass(mass, f"measured.{sample_id}", allow_zero=True)
    return items


@transaction.atomic
def shipment_receive(
    *, actor, shipment_id: int, seal_intact: bool, measured: dict[int, int]
) -> list[Incident]:
    """The borrower confirms arrival; a broken seal or a mass outside the balance tolerance
    opens an incident for a curator. The ledger keeps the shipped mass until a curator decides."""
    shipment = Shipment.objects.select_for_update().filter(pk=shipment_id).first()
    if shipment is None or shipment.loan_id is None:
        raise NotFound(
            _("shipment %(shipment_id)s does not exist") % {"shipment_id": shipment_id},
            field="shipment",
        )
    loan = loan_for(actor, shipment.loan_id)
    if shipment.direction != Shipment.Direction.OUTBOUND or loan.pi_id != actor.pk:
        raise NotFound(
            _("shipment %(shipment_id)s does not exist") % {"shipment_id": shipment_id},
            field="shipment",
        )
    if shipment.status != Shipment.Status.SHIPPED:
        raise Conflict(_("the shipment is not on its way"), field="shipment")
    items = _check_measured(shipment, measured)
    samples_transition(
        actor=actor,
        sample_ids=[i.sample_id for i in items],
        step="deliver",
        reason=f"received by {loan.institution.name}"
        + ("" if seal_intact else "; seal broken on arrival"),
        data={"shipment": shipment.pk, "seal_intact": seal_intact},
    )
    incidents = []
    if not seal_intact:
        incidents.append(
            incident_open(
                kind=Incident.Kind.SEAL_BROKEN,
                description=f"Seal {shipment.seal_number} of loan {loan.number} arrived broken.",
                loan=loan,
            )
        )
    for item in items:
        item.mass_received_ug = measured[item.sample_id]
        item.save(update_fields=["mass_received_ug"])
        if abs(item.mass_received_ug - item.mass_sent_ug) > balance_tolerance_ug(item.mass_sent_ug):
            incidents.append(
                incident_open(
                    kind=Incident.Kind.MASS_ON_ARRIVAL,
                    description=(
                        f"{item.sample.identifier} weighed {item.mass_received_ug} µg on arrival "
                        f"at {loan.institution.name}; {item.mass_sent_ug} µg were shipped."
                    ),
                    sample=item.sample,
                    loan=loan,
                )
            )
    shipment.status = Shipment.Status.RECEIVED
    shipment.received_at = timezone.now()
    shipment.received_by = actor
    shipment.seal_intact = seal_intact
    shipment.save()
    loan.status = Loan.Status.ACTIVE
    loan.save(update_fields=["status"])
    return incidents


def _held_item(loan: Loan, sample_id: int) -> LoanItem:
    item = loan.items.select_related("sample").filter(sample_id=sample_id).first()
    if item is None:
        raise NotFound(
            _("sample %(sample_id)s is not part of loan %(number)s")
            % {"sample_id": sample_id, "number": loan.number},
            field="sample",
        )
    if item.sample.state != State.ON_LOAN:
        raise Conflict(
            _("%(identifier)s is not held by the borrower")
            % {"identifier": item.sample.identifier},
            field="sample",
        )
    return item


def destructive_used_ug(loan: Loan) -> int:
    return loan.analyses.filter(destructive=True).aggregate(m=Sum("mass_consumed_ug"))["m"] or 0


@transaction.atomic
def analysis_record(
    *,
    actor,
    loan_id: int,
    sample_id: int,
    technique: str,
    destructive: bool,
    mass_consumed_ug: int = 0,
    performed_on: date | None = None,
) -> Analysis:
    """Record an analysis; destructive use is refused beyond what the agreement allows."""
    loan = loan_for(actor, loan_id)
    if loan.status != Loan.Status.ACTIVE:
        raise Conflict(_("the samples are not with the borrower"), field="loan")
    item = _held_item(loan, sample_id)
    if not technique.strip():
        raise DomainError(_("name the technique"), field="technique")
    if destructive:
        if not loan.destructive_allowed:
            raise Conflict(
                _("the agreement does not allow destructive analysis"), field="destructive"
            )
        check_mass(mass_consumed_ug, "mass_consumed_ug")
        left = loan.destructive_max_ug - destructive_used_ug(loan)
        if mass_consumed_ug > left:
            raise Conflict(
                _(
                    "the agreement allows %(left)s µg more destructive use; "
                    "%(mass_consumed_ug)s µg asked"
                )
                % {"left": left, "mass_consumed_ug": mass_consumed_ug},
                field="mass_consumed_ug",
            )
        sample_consume(
            actor=actor,
            sample_id=item.sample_id,
            mass_ug=mass_consumed_ug,
            technique=technique,
            reason=f"analysis under loan {loan.number}",
        )
    elif mass_consumed_ug:
        raise DomainError(
            _("a non-destructive analysis consumes nothing"), field="mass_consumed_ug"
        )
    return Analysis.objects.create(
        loan=loan,
        sample_id=item.sample_id,
        technique=technique.strip(),
        destructive=destructive,
        mass_consumed_ug=mass_consumed_ug if destructive else 0,
        performed_on=performed_on or timezone.localdate(),
        recorded_by=actor,
    )


@transaction.atomic
def loan_subsplit(
    *, actor, loan_id: int, sample_id: int, masses_ug: list[int], loss_ug: int = 0
) -> list[Sample]:
    """A split made at the borrower's laboratory: it enters the genealogy and the ledger, and
    the new portions stay on the loan."""
    loan = loan_for(actor, loan_id)
    if loan.status != Loan.Status.ACTIVE:
        raise Conflict(_("the samples are not with the borrower"), field="loan")
    item = _held_item(loan, sample_id)
    children = sample_split(
        actor=actor,
        sample_id=item.sample_id,
        children=[ChildSpec(mass_ug=m) for m in masses_ug],
        loss_ug=loss_ug,
        reason=f"subsplit at {loan.institution.name} under loan {loan.number}",
    )
    LoanItem.objects.bulk_create(
        LoanItem(loan=loan, sample=c, lent_mass_ug=0, subsplit_of=item) for c in children
    )
    return children


@transaction.atomic
def usage_report_submit(*, actor, loan_id: int, text: str) -> UsageReport:
    loan = loan_for(actor, loan_id)
    if loan.pi_id != actor.pk:
        raise NotFound(_("loan %(loan_id)s does not exist") % {"loan_id": loan_id}, field="loan")
    if not text.strip():
        raise DomainError(_("the report is empty"), field="text")
    report = UsageReport.objects.create(loan=loan, text=text.strip(), submitted_by=actor)
    loan.usage_report_due = _years_later(max(loan.usage_report_due, timezone.localdate()), 1)
    loan.save(update_fields=["usage_report_due"])
    return report


@transaction.atomic
def inventory_report_submit(*, actor, loan_id: int, lines: list[dict]) -> InventoryReport:
    """The annual inventory: mass and place of every sample held; differences open incidents."""
    loan = loan_for(actor, loan_id)
    if loan.pi_id != actor.pk:
        raise NotFound(_("loan %(loan_id)s does not exist") % {"loan_id": loan_id}, field="loan")
    held = {
        i.sample_id: i.sample
        for i in loan.items.select_related("sample").filter(sample__state=State.ON_LOAN)
    }
    reported: dict[int, int] = {}
    rows = []
    for n, line in enumerate(lines):
        sample_id, place = line.get("sample"), str(line.get("place", "")).strip()
        if sample_id not in held:
            raise DomainError(
                _("sample %(sample_id)s is not held under this loan") % {"sample_id": sample_id},
                field=f"lines.{n}",
            )
        if sample_id in reported:
            raise DomainError(_("each sample is reported once"), field=f"lines.{n}")
        check_mass(line.get("mass_ug"), f"lines.{n}.mass_ug", allow_zero=True)
        if not place:
            raise DomainError(_("say where the sample is kept"), field=f"lines.{n}.place")
        reported[sample_id] = line["mass_ug"]
        rows.append({"sample": sample_id, "mass_ug": line["mass_ug"], "place": place})
    missing = set(held) - set(reported)
    if missing:
        raise DomainError(
            _("report every sample held, including %(identifier)s")
            % {"identifier": held[min(missing)].identifier},
            field="lines",
        )
    report = InventoryReport.objects.create(loan=loan, lines=rows, submitted_by=actor)
    for sample_id, mass in reported.items():
        sample = held[sample_id]
        if abs(mass - sample.mass_ug) > balance_tolerance_ug(sample.mass_ug):
            incident_open(
                kind=Incident.Kind.INVENTORY,
                description=(
                    f"{sample.identifier}: the annual inventory of loan {loan.number} reports "
                    f"{mass} µg; the ledger says {sample.mass_ug} µg."
                ),
                sample=sample,
                loan=loan,
            )
    loan.inventory_due = _years_later(max(loan.inventory_due, timezone.localdate()), 1)
    loan.save(update_fields=["inventory_due"])
    return report


@transaction.atomic
def return_pack(
    *, actor, loan_id: int, sample_ids: list[int], container_code: str, seal_number: str
) -> Shipment:
    """The borrower packs remnants to send back."""
    loan = loan_for(actor, loan_id)
    if loan.pi_id != actor.pk:
        raise NotFound(_("loan %(loan_id)s does not exist") % {"loan_id": loan_id}, field="loan")
    if loan.status not in {Loan.Status.ACTIVE, Loan.Status.RETURNING}:
        raise Conflict(_("the loan holds nothing to return"), field="loan")
    if not sample_ids:
        raise DomainError(_("choose the samples to return"), field="sample_ids")
    if len(set(sample_ids)) != len(sample_ids):
        raise DomainError(_("each sample is returned once"), field="sample_ids")
    samples = [_held_item(loan, sid).sample for sid in sample_ids]
    # A sample waits in one return container at a time (the loan row lock serializes this).
    packed = (
        ShipmentItem.objects.filter(
            sample_id__in=sample_ids,
            shipment__direction=Shipment.Direction.RETURN,
            shipment__status=Shipment.Status.PACKED,
        )
        .select_related("sample")
        .first()
    )
    if packed is not None:
        raise Conflict(
            _("%(identifier)s is already packed to come back")
            % {"identifier": packed.sample.identifier},
            field="sample_ids",
        )
    for name, value in (("container_code", container_code), ("seal_number", seal_number)):
        if not value.strip():
            raise DomainError(_("required"), field=name)
    shipment = Shipment.objects.create(
        loan=loan,
        direction=Shipment.Direction.RETURN,
        container_code=container_code.strip(),
        seal_number=seal_number.strip(),
        packed_by=actor,
    )
    _shipment_items(shipment, samples)
    loan.status = Loan.Status.RETURNING
    loan.save(update_fields=["status"])
    return shipment


@transaction.atomic
def return_receive(
    *,
    actor,
    shipment_id: int,
    seal_intact: bool,
    measured: dict[int, int],
    location_code: str,
) -> list[Incident]:
    """Remnants come back: stored as returned material (never pristine again), re-weighed, and
    checked against the mass the ledger accounts for."""
    require_role(actor, Role.CURATOR)
    shipment = Shipment.objects.select_for_update().filter(pk=shipment_id).first()
    if shipment is None or shipment.direction != Shipment.Direction.RETURN:
        raise NotFound(
            _("return shipment %(shipment_id)s does not exist") % {"shipment_id": shipment_id},
            field="shipment",
        )
    loan = loan_for(actor, shipment.loan_id)
    if shipment.status != Shipment.Status.SHIPPED:
        raise Conflict(_("the return shipment is not on its way"), field="shipment")
    location = StorageLocation.objects.filter(code=location_code).first()
    if location is None:
        raise NotFound(
            _("storage location %(location_code)s does not exist")
            % {"location_code": repr(location_code)},
            field="location",
        )
    items = _check_measured(shipment, measured)
    lent = loan.items.aggregate(m=Sum("lent_mass_ug"))["m"] or 0
    back_before = (
        ShipmentItem.objects.filter(
            shipment__loan=loan,
            shipment__direction=Shipment.Direction.RETURN,
            shipment__status=Shipment.Status.RECEIVED,
        ).aggregate(m=Sum("mass_received_ug"))["m"]
        or 0
    )
    back = back_before + sum(measured.values())
    if back > lent + balance_tolerance_ug(lent):
        raise Conflict(
            _("%(back)s µg would have come back under this loan; only %(lent)s µg were lent")
            % {"back": back, "lent": lent},
            field="measured",
        )
    samples_transition(
        actor=actor,
        sample_ids=[i.sample_id for i in items],
        step="return",
        location=location,
        pristine=False,
        reason=f"returned under loan {loan.number}",
        data={"shipment": shipment.pk, "seal_intact": seal_intact},
    )
    incidents = []
    if not seal_intact:
        incidents.append(
            incident_open(
                kind=Incident.Kind.SEAL_BROKEN,
                description=f"Return seal {shipment.seal_number} of loan {loan.number} was broken.",
                loan=loan,
            )
        )
    for item in items:
        accounted = item.sample.mass_ug
        got = measured[item.sample_id]
        item.mass_received_ug = got
        item.save(update_fields=["mass_received_ug"])
        if got != accounted:
            sample_weigh(
                actor=actor,
                sample_id=item.sample_id,
                measured_ug=got,
                reason=f"re-weighed on return from loan {loan.number}",
            )
        if abs(got - accounted) > balance_tolerance_ug(accounted):
            incidents.append(
                incident_open(
                    kind=Incident.Kind.MASS_ON_RETURN,
                    description=(
                        f"{item.sample.identifier} came back at {got} µg; the ledger accounted "
                        f"for {accounted} µg."
                    ),
                    sample=item.sample,
                    loan=loan,
                )
            )
    shipment.status = Shipment.Status.RECEIVED
    shipment.received_at = timezone.now()
    shipment.received_by = actor
    shipment.seal_intact = seal_intact
    shipment.save()
    still_out = loan.items.filter(
        sample__state__in=[State.ON_LOAN, State.IN_TRANSIT, State.ALLOCATED]
    ).exists()
    loan.status = Loan.Status.RETURNING if still_out else Loan.Status.RETURNED
    loan.save(update_fields=["status"])
    return incidents


@transaction.atomic
def data_deposit_record(
    *, actor, loan_id: int, reference: str, embargo_until: date | None = None
) -> DataDeposit:
    loan = loan_for(actor, loan_id)
    reference = reference.strip()
    if reference.lower().startswith(("10.", "doi:")):
        reference = normalize_doi(reference, field="reference")
    elif not reference.startswith(("https://", "http://")):
        raise DomainError(_("give a DOI (10.…) or a URL"), field="reference")
    return DataDeposit.objects.create(loan=loan, reference=reference, embargo_until=embargo_until)


@transaction.atomic
def waiver_grant(*, actor, loan_id: int, obligation: str, reason: str) -> Waiver:
    require_role(actor, Role.CURATOR)
    loan = loan_for(actor, loan_id)
    if obligation not in Waiver.Obligation.values:
        raise DomainError(
            _("one of %(values)s") % {"values": ", ".join(Waiver.Obligation.values)},
            field="obligation",
        )
    if not reason.strip():
        raise DomainError(_("a waiver needs a reason"), field="reason")
    if loan.waivers.filter(obligation=obligation).exists():
        raise Conflict(_("already waived"), field="obligation")
    return Waiver.objects.create(
        loan=loan, obligation=obligation, reason=reason.strip(), waived_by=actor
    )


def closure_blockers(loan: Loan) -> list[str]:
    """What still stands between a loan and its closure."""
    blockers = []
    out = loan.items.exclude(
        sample__state__in=[State.CONSUMED, State.STORED, State.ALLOCATED]
    ).select_related("sample")
    for item in out:
        blockers.append(
            _("%(identifier)s is %(state)s")
            % {
                "identifier": item.sample.identifier,
                "state": item.sample.get_state_display().lower(),
            }
        )
    waived = set(loan.waivers.values_list("obligation", flat=True))
    if not loan.usage_reports.exists() and Waiver.Obligation.USAGE_REPORT not in waived:
        blockers.append(_("no usage report"))
    if not loan.publications.exists() and Waiver.Obligation.PUBLICATIONS not in waived:
        blockers.append(_("no publication recorded"))
    if not loan.data_deposits.exists() and Waiver.Obligation.DATA not in waived:
        blockers.append(_("no data deposit recorded"))
    if loan.incidents.filter(status=Incident.Status.OPEN).exists():
        blockers.append(_("an incident is still open"))
    return blockers


@transaction.atomic
def loan_close(*, actor, loan_id: int) -> Loan:
    require_role(actor, Role.CURATOR)
    loan = loan_for(actor, loan_id)
    if loan.status == Loan.Status.CLOSED:
        raise Conflict(_("the loan is already closed"), field="loan")
    if loan.status in {Loan.Status.AGREEMENT, Loan.Status.SIGNED, Loan.Status.SHIPPED}:
        raise Conflict(_("the loan has not started"), field="loan")
    blockers = closure_blockers(loan)
    if blockers:
        raise Conflict(
            _("the loan cannot close yet: %(blockers)s") % {"blockers": "; ".join(blockers)},
            field="loan",
        )
    loan.status = Loan.Status.CLOSED
    loan.closed_at = timezone.now()
    loan.save(update_fields=["status", "closed_at"])
    return loan
