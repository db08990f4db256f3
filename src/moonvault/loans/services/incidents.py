"""Incidents and stock checks: every discrepancy is opened, then resolved by a curator."""

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from moonvault.accounts.models import Role
from moonvault.accounts.permissions import require_role
from moonvault.catalog.models import HELD_IN_STORAGE, Sample, StorageLocation
from moonvault.catalog.services import sample_mark_lost, sample_weigh
from moonvault.catalog.transitions import samples_transition
from moonvault.core.errors import Conflict, DomainError, NotFound
from moonvault.core.notify import notify
from moonvault.core.units import check_mass
from moonvault.custody.selectors import ledger_head
from moonvault.loans.models import Incident, StockCheck, StockCheckLine
from moonvault.loans.services.common import balance_tolerance_ug


def incident_open(*, kind: str, description: str, **links) -> Incident:
    """Opened by the services that find a discrepancy; curators hear of it by email."""
    incident = Incident.objects.create(kind=kind, description=description, **links)
    curators = User.objects.filter(groups__name=Role.CURATOR.value, is_active=True)
    notify(curators, f"Incident: {incident.get_kind_display()}", description)
    return incident


RESOLUTIONS = ("accept", "reweigh", "lost", "found")


@transaction.atomic
def incident_resolve(
    *,
    actor,
    incident_id: int,
    resolution: str,
    action: str = "accept",
    measured_ug: int | None = None,
    location_code: str = "",
) -> Incident:
    """Close an incident, with a correcting custody event where the records were wrong.

    `reweigh` records the true mass (a weighing correction), `lost` marks the sample lost, `found`
    puts a lost sample back into a location, `accept` closes it with no change to the sample.
    """
    require_role(actor, Role.CURATOR)
    incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
    if incident is None:
        raise NotFound(
            _("incident %(incident_id)s does not exist") % {"incident_id": incident_id},
            field="incident",
        )
    if incident.status == Incident.Status.RESOLVED:
        raise Conflict(_("the incident is already resolved"), field="incident")
    if not resolution.strip():
        raise DomainError(_("describe the resolution"), field="resolution")
    if action not in RESOLUTIONS:
        raise DomainError(
            _("action is one of %(resolutions)s") % {"resolutions": ", ".join(RESOLUTIONS)},
            field="action",
        )
    if action != "accept" and incident.sample_id is None:
        raise DomainError(_("this incident concerns no single sample"), field="action")
    if action == "reweigh":
        if measured_ug is None:
            raise DomainError(_("give the measured mass"), field="measured_ug")
        check_mass(measured_ug, "measured_ug", allow_zero=True)
        sample_weigh(
            actor=actor, sample_id=incident.sample_id, measured_ug=measured_ug, reason=resolution
        )
    elif action == "lost":
        sample_mark_lost(actor=actor, sample_id=incident.sample_id, reason=resolution)
    elif action == "found":
        location = StorageLocation.objects.filter(code=location_code).first()
        if location is None:
            raise NotFound(
                _("storage location %(location_code)s does not exist")
                % {"location_code": repr(location_code)},
                field="location",
            )
        samples_transition(
            actor=actor,
            sample_ids=[incident.sample_id],
            step="found",
            location=location,
            reason=resolution,
        )
    incident.status = Incident.Status.RESOLVED
    incident.resolved_at = timezone.now()
    incident.resolved_by = actor
    incident.resolution = resolution.strip()
    if action != "accept":
        incident.correcting_event_seq = ledger_head().seq
    incident.save()
    return incident


def _location_subtree(location: StorageLocation) -> list[int]:
    ids, frontier = [location.pk], [location.pk]
    while frontier:
        frontier = list(
            StorageLocation.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
        )
        ids += frontier
    return ids


@transaction.atomic
def stock_check_start(*, actor, location_code: str) -> StockCheck:
    """List what the records say is in a location (and everything inside it)."""
    require_role(actor, Role.CURATOR)
    location = StorageLocation.objects.filter(code=location_code).first()
    if location is None:
        raise NotFound(
            _("storage location %(location_code)s does not exist")
            % {"location_code": repr(location_code)},
            field="location",
        )
    if StockCheck.objects.filter(location=location, status=StockCheck.Status.OPEN).exists():
        raise Conflict(_("a stock check of this location is already open"), field="location")
    check = StockCheck.objects.create(location=location, started_by=actor)
    samples = Sample.objects.filter(
        location_id__in=_location_subtree(location), state__in=list(HELD_IN_STORAGE)
    ).order_by("pk")
    StockCheckLine.objects.bulk_create(
        StockCheckLine(stock_check=check, sample=s, expected_mass_ug=s.mass_ug) for s in samples
    )
    return check


@transaction.atomic
def stock_check_record(
    *, actor, line_id: int, found: bool, measured_ug: int | None = None, note: str = ""
) -> StockCheckLine:
    require_role(actor, Role.CURATOR)
    line = StockCheckLine.objects.select_related("stock_check").filter(pk=line_id).first()
    if line is None:
        raise NotFound(
            _("stock check line %(line_id)s does not exist") % {"line_id": line_id}, field="line"
        )
    if line.stock_check.status != StockCheck.Status.OPEN:
        raise Conflict(_("the stock check is closed"), field="line")
    if found and measured_ug is not None:
        check_mass(measured_ug, "measured_ug", allow_zero=True)
    line.found = found
    line.measured_mass_ug = measured_ug if found else None
    line.note = note
    line.save()
    return line


@transaction.atomic
def stock_check_close(*, actor, check_id: int) -> list[Incident]:
    """Close the check; every missing sample or mass beyond the balance tolerance opens an
    incident for a correcting event."""
    require_role(actor, Role.CURATOR)
    check = StockCheck.objects.select_for_update().filter(pk=check_id).first()
    if check is None:
        raise NotFound(
            _("stock check %(check_id)s does not exist") % {"check_id": check_id}, field="check"
        )
    if check.status != StockCheck.Status.OPEN:
        raise Conflict(_("the stock check is already closed"), field="check")
    lines = list(check.lines.select_related("sample"))
    unrecorded = [line.sample.identifier for line in lines if line.found is None]
    if unrecorded:
        raise Conflict(
            _("%(count)s sample(s) are not checked yet, e.g. %(unrecorded)s")
            % {"count": len(unrecorded), "unrecorded": unrecorded[0]},
            field="check",
        )
    incidents = []
    for line in lines:
        sample = line.sample
        if not line.found:
            text = f"{sample.identifier} was not found in {check.location.code} at the stock check"
        elif line.measured_mass_ug is not None and abs(
            line.measured_mass_ug - line.expected_mass_ug
        ) > balance_tolerance_ug(line.expected_mass_ug):
            text = (
                f"{sample.identifier} weighed {line.measured_mass_ug} µg at the stock check; the "
                f"records say {line.expected_mass_ug} µg"
            )
        else:
            continue
        incidents.append(
            incident_open(
                kind=Incident.Kind.STOCK_CHECK, description=text, sample=sample, stock_check=check
            )
        )
    check.status = StockCheck.Status.CLOSED
    check.closed_at = timezone.now()
    check.save()
    return incidents
