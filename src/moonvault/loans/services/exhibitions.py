"""Exhibition loans: sealed display samples from the public-benefit pool, their itinerary and
every hand-over with its seal check."""

from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from moonvault.accounts.models import Role
from moonvault.accounts.permissions import require_role
from moonvault.catalog.models import Pool, Sample, State, StorageLocation
from moonvault.catalog.transitions import samples_transition
from moonvault.core.errors import Conflict, DomainError, NotFound
from moonvault.loans.models import (
    Exhibition,
    ExhibitionItem,
    Handover,
    Incident,
    ItineraryStop,
    Shipment,
    ShipmentItem,
)
from moonvault.loans.services.incidents import incident_open


@transaction.atomic
def exhibition_create(
    *,
    actor,
    title: str,
    organiser: str,
    starts_on: date,
    ends_on: date,
    responsible_official: str,
    deputy_official: str,
    insurance_value: Decimal,
    insurance_currency: str = "CNY",
    sample_identifiers: list[str],
    stops: list[dict],
    continuous_watch: bool = True,
    locked_case: bool = True,
    transfer_log: bool = True,
) -> Exhibition:
    require_role(actor, Role.CURATOR)
    for name, value in (
        ("title", title),
        ("organiser", organiser),
        ("responsible_official", responsible_official),
        ("deputy_official", deputy_official),
    ):
        if not value.strip():
            raise DomainError(_("required"), field=name)
    if responsible_official.strip() == deputy_official.strip():
        raise DomainError(_("the deputy must be another person"), field="deputy_official")
    if ends_on < starts_on:
        raise DomainError(_("the exhibition closes before it opens"), field="ends_on")
    if insurance_value <= 0:
        raise DomainError(_("state the insurance value"), field="insurance_value")
    samples = list(Sample.objects.filter(identifier__in=sample_identifiers))
    unknown = set(sample_identifiers) - {s.identifier for s in samples}
    if unknown or not samples:
        raise NotFound(
            _("unknown sample %(unknown)s") % {"unknown": repr(sorted(unknown)[0])}
            if unknown
            else _("choose display samples"),
            field="sample_identifiers",
        )
    for s in samples:
        if s.pool != Pool.PUBLIC_BENEFIT:
            raise DomainError(
                _("%(identifier)s is not in the public-benefit pool")
                % {"identifier": s.identifier},
                field="sample_identifiers",
            )
        if s.state != State.STORED:
            raise Conflict(
                _("%(identifier)s is not in storage") % {"identifier": s.identifier},
                field="sample_identifiers",
            )
    if not stops:
        raise DomainError(_("give at least one venue"), field="stops")
    exhibition = Exhibition.objects.create(
        title=title.strip(),
        organiser=organiser.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        responsible_official=responsible_official.strip(),
        deputy_official=deputy_official.strip(),
        insurance_value=insurance_value,
        insurance_currency=insurance_currency.upper(),
        continuous_watch=continuous_watch,
        locked_case=locked_case,
        transfer_log=transfer_log,
        created_by=actor,
    )
    ExhibitionItem.objects.bulk_create(
        ExhibitionItem(exhibition=exhibition, sample=s) for s in samples
    )
    previous_depart = None
    for n, stop in enumerate(stops):
        try:
            row = ItineraryStop(
                exhibition=exhibition,
                order=n + 1,
                venue=stop["venue"].strip(),
                city=stop["city"].strip(),
                country=stop["country"].strip().upper(),
                arrive_on=stop["arrive_on"],
                depart_on=stop["depart_on"],
            )
        except (KeyError, AttributeError):
            raise DomainError(
                _("venue, city, country, arrive_on and depart_on"), field=f"stops.{n}"
            ) from None
        if not row.venue or len(row.country) != 2 or row.depart_on < row.arrive_on:
            raise DomainError(
                _("a venue, a two-letter country and dates in order"), field=f"stops.{n}"
            )
        if previous_depart and row.arrive_on < previous_depart:
            raise DomainError(_("stops overlap"), field=f"stops.{n}")
        previous_depart = row.depart_on
        row.save()
    return exhibition


def _exhibition(exhibition_id: int) -> Exhibition:
    exhibition = Exhibition.objects.select_for_update().filter(pk=exhibition_id).first()
    if exhibition is None:
        raise NotFound(
            _("exhibition %(exhibition_id)s does not exist") % {"exhibition_id": exhibition_id},
            field="exhibition",
        )
    return exhibition


@transaction.atomic
def exhibition_approve(*, actor, exhibition_id: int) -> Exhibition:
    require_role(actor, Role.COMMITTEE)
    exhibition = _exhibition(exhibition_id)
    if exhibition.status != Exhibition.Status.PROPOSED:
        raise Conflict(_("the exhibition is not awaiting approval"), field="exhibition")
    exhibition.status = Exhibition.Status.APPROVED
    exhibition.approved_by = actor
    exhibition.save(update_fields=["status", "approved_by"])
    return exhibition


@transaction.atomic
def exhibition_dispatch(
    *,
    actor,
    exhibition_id: int,
    container_code: str,
    seal_number: str,
    courier: str,
    location_code: str,
) -> Shipment:
    """Seal the display case and send it on its way: allocated, packed and shipped in one act."""
    require_role(actor, Role.CURATOR)
    exhibition = _exhibition(exhibition_id)
    if exhibition.status != Exhibition.Status.APPROVED:
        raise Conflict(_("only an approved exhibition is dispatched"), field="exhibition")
    if not seal_number.strip() or not container_code.strip() or not courier.strip():
        raise DomainError(_("container, seal number and courier are required"), field="seal_number")
    location = StorageLocation.objects.filter(code=location_code).first()
    if location is None:
        raise NotFound(
            _("storage location %(location_code)s does not exist")
            % {"location_code": repr(location_code)},
            field="location",
        )
    ids = list(exhibition.items.values_list("sample_id", flat=True))
    for step in ("allocate", "pack"):
        samples_transition(
            actor=actor,
            sample_ids=ids,
            step=step,
            location=location,
            reason=f"exhibition {exhibition.title}, seal {seal_number.strip()}",
            data={"exhibition": exhibition.pk, "seal": seal_number.strip()},
        )
    samples = samples_transition(
        actor=actor, sample_ids=ids, step="ship", reason=f"to exhibition {exhibition.title}"
    )
    shipment = Shipment.objects.create(
        exhibition=exhibition,
        direction=Shipment.Direction.EXHIBITION,
        status=Shipment.Status.SHIPPED,
        container_code=container_code.strip(),
        seal_number=seal_number.strip(),
        courier=courier.strip(),
        packed_by=actor,
    )
    ShipmentItem.objects.bulk_create(
        ShipmentItem(shipment=shipment, sample=s, mass_sent_ug=s.mass_ug) for s in samples
    )
    exhibition.status = Exhibition.Status.TRAVELLING
    exhibition.save(update_fields=["status"])
    return shipment


@transaction.atomic
def handover_record(
    *,
    actor,
    exhibition_id: int,
    at: datetime,
    place: str,
    from_party: str,
    to_party: str,
    seal_number: str,
    seal_intact: bool,
    notes: str = "",
) -> Handover:
    """Each hand-over of the sealed case; a failed seal check opens an incident."""
    require_role(actor, Role.CURATOR)
    exhibition = _exhibition(exhibition_id)
    if exhibition.status not in {Exhibition.Status.TRAVELLING, Exhibition.Status.ON_DISPLAY}:
        raise Conflict(_("the exhibition samples are not out"), field="exhibition")
    for name, value in (("place", place), ("from_party", from_party), ("to_party", to_party)):
        if not value.strip():
            raise DomainError(_("required"), field=name)
    last_seal = (
        exhibition.shipments.order_by("-packed_at").values_list("seal_number", flat=True).first()
    )
    if seal_number.strip() != last_seal:
        seal_intact = False
        notes = (notes + f" Seal number {seal_number.strip()} differs from {last_seal}.").strip()
    handover = Handover.objects.create(
        exhibition=exhibition,
        at=at,
        place=place.strip(),
        from_party=from_party.strip(),
        to_party=to_party.strip(),
        seal_number=seal_number.strip(),
        seal_intact=seal_intact,
        notes=notes,
        recorded_by=actor,
    )
    if not seal_intact:
        incident_open(
            kind=Incident.Kind.SEAL_BROKEN,
            description=(
                f"Seal check failed at {place.strip()} for exhibition {exhibition.title}: "
                f"{from_party.strip()} to {to_party.strip()}. {notes}"
            ),
            exhibition=exhibition,
        )
    return handover


@transaction.atomic
def exhibition_display(*, actor, exhibition_id: int, on_display: bool) -> Exhibition:
    """Put the samples on display at the current venue, or take them down to travel on."""
    require_role(actor, Role.CURATOR)
    exhibition = _exhibition(exhibition_id)
    expected = Exhibition.Status.TRAVELLING if on_display else Exhibition.Status.ON_DISPLAY
    if exhibition.status != expected:
        raise Conflict(
            _("the samples are not travelling")
            if on_display
            else _("the samples are not on display"),
            field="exhibition",
        )
    samples_transition(
        actor=actor,
        sample_ids=list(exhibition.items.values_list("sample_id", flat=True)),
        step="display" if on_display else "undisplay",
        reason=f"exhibition {exhibition.title}",
        data={"exhibition": exhibition.pk},
    )
    exhibition.status = Exhibition.Status.ON_DISPLAY if on_display else Exhibition.Status.TRAVELLING
    exhibition.save(update_fields=["status"])
    return exhibition


@transaction.atomic
def exhibition_return(*, actor, exhibition_id: int, location_code: str) -> Exhibition:
    """Back home: returned material, never merged into pristine storage."""
    require_role(actor, Role.CURATOR)
    exhibition = _exhibition(exhibition_id)
    if exhibition.status != Exhibition.Status.TRAVELLING:
        raise Conflict(_("take the samples off display first"), field="exhibition")
    location = StorageLocation.objects.filter(code=location_code).first()
    if location is None:
        raise NotFound(
            _("storage location %(location_code)s does not exist")
            % {"location_code": repr(location_code)},
            field="location",
        )
    samples_transition(
        actor=actor,
        sample_ids=list(exhibition.items.values_list("sample_id", flat=True)),
        step="return",
        location=location,
        pristine=False,
        reason=f"returned from exhibition {exhibition.title}",
        data={"exhibition": exhibition.pk},
    )
    exhibition.status = Exhibition.Status.RETURNED
    exhibition.save(update_fields=["status"])
    return exhibition
