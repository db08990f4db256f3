"""Writes to the inventory. Each one locks what it changes and records custody events.

Lock order everywhere: sample rows (ascending id), then identifier counters, then the ledger head,
and only then any write to a sample row: the facet table's triggers (migration 0004) lock facet
rows on every such write, and a split must hold the head before it inserts its children.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from moonvault.catalog.models import (
    HELD_IN_STORAGE,
    MAX_DEPTH,
    Form,
    IdConvention,
    IdentifierCounter,
    Mission,
    Pool,
    Sample,
    State,
    StorageLocation,
    path_segment,
)
from moonvault.core.errors import Conflict, DomainError, NotFound
from moonvault.core.identifiers import normalize_igsn
from moonvault.core.units import check_mass
from moonvault.custody.chain import creation_data
from moonvault.custody.models import EventKind
from moonvault.custody.services import PendingEvent, events_record, ledger_lock

IDENTIFIER_MAX = 64
IDENTIFIER_LOOKUP_CHUNK = 900  # under SQLite's 999 bound parameters per query


@dataclass(frozen=True)
class NewSample:
    """A root sample to register, as an importer or the receiving curator describes it."""

    identifier: str
    mission: Mission
    form: str
    pool: str
    mass_ug: int
    location: StorageLocation
    pristine: bool = True
    classification: str = ""
    subtype: str = ""
    pristinity_pct: Decimal | None = None
    igsn: str = ""
    description: str = ""


@dataclass(frozen=True)
class ChildSpec:
    """One portion of a split. Unset fields inherit from the parent."""

    mass_ug: int
    identifier: str = ""
    form: str = ""
    pool: str = ""
    location: StorageLocation | None = None


def _creation_data(sample: Sample) -> dict:
    return creation_data(
        sample.identifier,
        sample.mission.code,
        sample.parent_id,
        sample.form,
        sample.pool,
        sample.pristine,
    )


def _check_choice(value: str, choices, field: str) -> str:
    if value not in choices.values:
        raise DomainError(
            _("%(value)s is not one of: %(values)s")
            % {"value": repr(value), "values": ", ".join(choices.values)},
            field=field,
        )
    return value


def _locked_sample(sample_id: int, field: str = "sample") -> Sample:
    sample = (
        Sample.objects.select_for_update(of=("self",))
        .select_related("mission")
        .filter(pk=sample_id)
        .first()
    )
    if sample is None:
        raise NotFound(
            _("sample %(sample_id)s does not exist") % {"sample_id": sample_id}, field=field
        )
    return sample


def _next_sample_ids(count: int) -> list[int]:
    """Ids handed out under the ledger lock, so that paths are written in the same INSERT."""
    start = (Sample.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    return list(range(start, start + count))


def _counter_bump(prefix: str, at_least: int) -> None:
    counter, _ = IdentifierCounter.objects.select_for_update().get_or_create(prefix=prefix)
    if counter.last < at_least:
        counter.last = at_least
        counter.save(update_fields=["last"])


def _apollo_split_number(identifier: str) -> tuple[str, int] | None:
    generic, comma, split = identifier.partition(",")
    if comma and split.isdigit():
        return generic, int(split)
    return None


def _next_identifiers(parent: Sample, count: int, taken: set[str]) -> list[str]:
    """`count` new identifiers after the parent's, skipping those `taken` or already in use."""
    if not count:
        return []
    if parent.mission.id_convention == IdConvention.APOLLO:
        prefix = parent.identifier.partition(",")[0]
        template = prefix + ",{}"
    else:
        prefix = parent.identifier
        template = prefix + "-{}"
    counter, _ = IdentifierCounter.objects.select_for_update().get_or_create(prefix=prefix)
    found: list[str] = []
    while len(found) < count:
        start, counter.last = counter.last, counter.last + count - len(found)
        candidates = [template.format(n) for n in range(start + 1, counter.last + 1)]
        in_use = _identifiers_in_use(candidates)
        found += [c for c in candidates if c not in taken and c not in in_use]
    counter.save(update_fields=["last"])
    return found


def _identifiers_in_use(identifiers: list[str]) -> set[str]:
    # One query per chunk instead of one per sample: a catalog import receives thousands.
    in_use: set[str] = set()
    for start in range(0, len(identifiers), IDENTIFIER_LOOKUP_CHUNK):
        chunk = identifiers[start : start + IDENTIFIER_LOOKUP_CHUNK]
        in_use.update(
            Sample.objects.filter(identifier__in=chunk).values_list("identifier", flat=True)
        )
    return in_use


def _check_identifier(
    identifier: str, field: str, taken: set[str], in_use: set[str] | None = None
) -> str:
    """`in_use`: identifiers already looked up in the database, or None to look this one up."""
    identifier = identifier.strip()
    if not identifier:
        raise DomainError(_("identifier is required"), field=field)
    if len(identifier) > IDENTIFIER_MAX or any(c.isspace() for c in identifier):
        raise DomainError(
            _("identifier must be at most %(identifier_max)s characters without spaces")
            % {"identifier_max": IDENTIFIER_MAX},
            field=field,
        )
    if not (identifier.isascii() and identifier.isprintable()):
        # Look-alike letters, invisible and right-to-left marks would let two identifiers read
        # the same; NUL is refused by PostgreSQL. Every catalog convention is plain ASCII.
        raise DomainError(
            _("identifier %(identifier)s must be printable ASCII (letters, digits, punctuation)")
            % {"identifier": repr(identifier)},
            field=field,
        )
    in_database = (
        identifier in in_use
        if in_use is not None
        else Sample.objects.filter(identifier=identifier).exists()
    )
    if identifier in taken or in_database:
        raise Conflict(
            _("identifier %(identifier)s is already in use") % {"identifier": repr(identifier)},
            field=field,
        )
    return identifier


def _check_igsn(text: str, field: str, taken: set[str]) -> str:
    """An optional IGSN, normalized; a sample is registered under one IGSN and no other has it."""
    if not text.strip():
        return ""
    igsn = normalize_igsn(text, field=field)
    if igsn in taken or Sample.objects.filter(igsn=igsn).exists():
        raise Conflict(
            _("IGSN %(igsn)s is already given to another sample") % {"igsn": igsn}, field=field
        )
    taken.add(igsn)
    return igsn


def samples_receive(
    *, actor, samples: list[NewSample], reason: str = "", allow_zero_mass: bool = False
) -> list[Sample]:
    """Register returned material as new root samples, all or none.

    `allow_zero_mass` is for catalog imports: a catalog may list a generic number with 0 g left
    or recorded, and the identifier must still exist so that its record and splits have a root.
    """
    with transaction.atomic():
        in_use = _identifiers_in_use([new.identifier.strip() for new in samples])
        taken: set[str] = set()
        igsns_taken: set[str] = set()
        igsns = []
        for i, new in enumerate(samples):
            field = f"samples[{i}]" if len(samples) > 1 else ""
            prefix = f"{field}." if field else ""
            taken.add(_check_identifier(new.identifier, prefix + "identifier", taken, in_use))
            igsns.append(_check_igsn(new.igsn, prefix + "igsn", igsns_taken))
            check_mass(new.mass_ug, prefix + "mass_ug", allow_zero=allow_zero_mass)
            _check_choice(new.form, Form, prefix + "form")
            _check_choice(new.pool, Pool, prefix + "pool")
            if new.location is None:
                raise DomainError(
                    _("a received sample needs a storage location"), field=prefix + "location"
                )
        for new in samples:
            split = _apollo_split_number(new.identifier.strip())
            if split and new.mission.id_convention == IdConvention.APOLLO:
                _counter_bump(*split)
        head = ledger_lock()
        rows = []
        for sample_id, new, igsn in zip(
            _next_sample_ids(len(samples)), samples, igsns, strict=True
        ):
            rows.append(
                Sample(
                    id=sample_id,
                    identifier=new.identifier.strip(),
                    igsn=igsn,
                    mission=new.mission,
                    path=path_segment(sample_id),
                    depth=0,
                    form=new.form,
                    pool=new.pool,
                    state=State.STORED,
                    location=new.location,
                    pristine=new.pristine,
                    mass_ug=new.mass_ug,
                    classification=new.classification,
                    subtype=new.subtype,
                    pristinity_pct=new.pristinity_pct,
                    description=new.description,
                )
            )
        Sample.objects.bulk_create(rows, batch_size=2000)
        events_record(
            actor=actor,
            head=head,
            reason=reason,
            events=[
                PendingEvent(s, EventKind.RECEIVED, mass_delta_ug=s.mass_ug, data=_creation_data(s))
                for s in rows
            ],
        )
        return rows


def sample_receive(*, actor, new: NewSample, reason: str = "") -> Sample:
    return samples_receive(actor=actor, samples=[new], reason=reason)[0]


# A split is possible in our storage and at a borrower's laboratory (subsplits made on loan).
SPLITTABLE_STATES = frozenset({State.STORED, State.ON_LOAN})


def sample_split(
    *, actor, sample_id: int, children: list[ChildSpec], loss_ug: int = 0, reason: str = ""
) -> list[Sample]:
    """Take portions from a sample. Children plus the handling loss equal the mass taken."""
    if not children:
        raise DomainError(_("a split needs at least one child"), field="children")
    check_mass(loss_ug, "loss_ug", allow_zero=True)
    for i, child in enumerate(children):
        check_mass(child.mass_ug, f"children[{i}].mass_ug")
        if child.form:
            _check_choice(child.form, Form, f"children[{i}].form")
        if child.pool:
            _check_choice(child.pool, Pool, f"children[{i}].pool")
    taken_mass = sum(c.mass_ug for c in children) + loss_ug
    with transaction.atomic():
        parent = _locked_sample(sample_id)
        if parent.state not in SPLITTABLE_STATES:
            raise Conflict(
                _("sample %(identifier)s is %(state)s and cannot be split")
                % {"identifier": parent.identifier, "state": parent.get_state_display().lower()},
                field="sample",
            )
        if parent.depth + 1 >= MAX_DEPTH:
            raise Conflict(
                _(
                    "%(identifier)s is %(depth)s splits deep; the genealogy holds "
                    "%(max_depth)s levels"
                )
                % {"identifier": parent.identifier, "depth": parent.depth, "max_depth": MAX_DEPTH},
                field="sample",
            )
        if taken_mass > parent.mass_ug:
            raise Conflict(
                _(
                    "children and handling loss (%(taken_mass)s µg) exceed the mass of "
                    "%(identifier)s (%(mass_ug)s µg)"
                )
                % {
                    "taken_mass": taken_mass,
                    "identifier": parent.identifier,
                    "mass_ug": parent.mass_ug,
                },
                field="children",
            )
        in_use = _identifiers_in_use([c.identifier.strip() for c in children if c.identifier])
        taken_ids: set[str] = set()
        named: list[str | None] = []
        for i, child in enumerate(children):
            if child.identifier:
                identifier = _check_identifier(
                    child.identifier, f"children[{i}].identifier", taken_ids, in_use
                )
                taken_ids.add(identifier)
                named.append(identifier)
            else:
                named.append(None)
        # Numbered after the named ones are known, so that no number collides with a later name.
        numbered = iter(_next_identifiers(parent, named.count(None), taken_ids))
        identifiers = [identifier or next(numbered) for identifier in named]
        head = ledger_lock()
        parent.mass_ug -= taken_mass
        parent.save(update_fields=["mass_ug", "updated_at"])
        rows = []
        for sample_id_new, identifier, child in zip(
            _next_sample_ids(len(children)), identifiers, children, strict=True
        ):
            rows.append(
                Sample(
                    id=sample_id_new,
                    identifier=identifier,
                    mission=parent.mission,
                    parent=parent,
                    path=parent.path + path_segment(sample_id_new),
                    depth=parent.depth + 1,
                    form=child.form or parent.form,
                    pool=child.pool or parent.pool,
                    state=parent.state,
                    location=child.location or parent.location,
                    pristine=parent.pristine,
                    mass_ug=child.mass_ug,
                    classification=parent.classification,
                    subtype=parent.subtype,
                )
            )
        Sample.objects.bulk_create(rows)
        events = [
            PendingEvent(
                parent,
                EventKind.SPLIT,
                mass_delta_ug=-taken_mass,
                loss_ug=loss_ug,
                data={"children": [r.id for r in rows]},
            )
        ]
        events += [
            PendingEvent(r, EventKind.SPLIT_OFF, mass_delta_ug=r.mass_ug, data=_creation_data(r))
            for r in rows
        ]
        events_record(actor=actor, head=head, reason=reason, events=events)
        return rows


# Correct a weighing only where our balance or the borrower's can reach the sample.
WEIGHABLE_STATES = frozenset({State.STORED, State.ALLOCATED, State.ON_LOAN, State.ON_DISPLAY})


def sample_weigh(*, actor, sample_id: int, measured_ug: int, reason: str = "") -> Sample:
    """Record a re-weighing; a difference is a weighing correction and needs a reason."""
    check_mass(measured_ug, "measured_ug", allow_zero=True)
    with transaction.atomic():
        sample = _locked_sample(sample_id)
        if sample.state not in WEIGHABLE_STATES:
            raise Conflict(
                _("sample %(identifier)s is %(state)s and cannot be weighed")
                % {"identifier": sample.identifier, "state": sample.get_state_display().lower()},
                field="sample",
            )
        delta = measured_ug - sample.mass_ug
        if delta and not reason.strip():
            raise DomainError(_("a weighing that changes the mass needs a reason"), field="reason")
        head = ledger_lock()
        sample.mass_ug = measured_ug
        sample.save(update_fields=["mass_ug", "updated_at"])
        events_record(
            actor=actor,
            head=head,
            reason=reason,
            events=[
                PendingEvent(
                    sample,
                    EventKind.WEIGHED,
                    mass_delta_ug=delta,
                    data={"measured_ug": measured_ug},
                )
            ],
        )
        return sample


def sample_move(*, actor, sample_id: int, location_code: str, reason: str = "") -> Sample:
    with transaction.atomic():
        sample = _locked_sample(sample_id)
        location = StorageLocation.objects.filter(code=location_code).first()
        if location is None:
            raise NotFound(
                _("storage location %(location_code)s does not exist")
                % {"location_code": repr(location_code)},
                field="location",
            )
        if sample.state not in HELD_IN_STORAGE:
            raise Conflict(
                _("sample %(identifier)s is %(state)s, not in storage, and cannot be moved")
                % {"identifier": sample.identifier, "state": sample.get_state_display().lower()},
                field="sample",
            )
        if location.pk == sample.location_id:
            raise Conflict(
                _("sample %(identifier)s is already in %(code)s")
                % {"identifier": sample.identifier, "code": location.code},
                field="location",
            )
        head = ledger_lock()
        sample.location = location
        sample.save(update_fields=["location", "updated_at"])
        events_record(
            actor=actor, head=head, reason=reason, events=[PendingEvent(sample, EventKind.MOVED)]
        )
        return sample


# Destructive analysis happens in our laboratory or at the borrower's.
CONSUMABLE_STATES = frozenset({State.STORED, State.ON_LOAN})


def sample_consume(
    *, actor, sample_id: int, mass_ug: int, technique: str, reason: str = ""
) -> Sample:
    """Record mass used up by a destructive analysis."""
    check_mass(mass_ug, "mass_ug")
    if not technique.strip():
        raise DomainError(_("name the analytical technique"), field="technique")
    with transaction.atomic():
        sample = _locked_sample(sample_id)
        if sample.state not in CONSUMABLE_STATES:
            raise Conflict(
                _("sample %(identifier)s is %(state)s and cannot be consumed")
                % {"identifier": sample.identifier, "state": sample.get_state_display().lower()},
                field="sample",
            )
        if mass_ug > sample.mass_ug:
            raise Conflict(
                _("cannot consume %(mass_ug)s µg: %(identifier)s holds %(held_ug)s µg")
                % {
                    "mass_ug": mass_ug,
                    "identifier": sample.identifier,
                    "held_ug": sample.mass_ug,
                },
                field="mass_ug",
            )
        head = ledger_lock()
        sample.mass_ug -= mass_ug
        if sample.mass_ug == 0:
            sample.state = State.CONSUMED
            sample.location = None
        sample.save(update_fields=["mass_ug", "state", "location", "updated_at"])
        events_record(
            actor=actor,
            head=head,
            reason=reason,
            events=[
                PendingEvent(
                    sample,
                    EventKind.CONSUMED,
                    mass_delta_ug=-mass_ug,
                    data={"technique": technique.strip()},
                )
            ],
        )
        return sample


def sample_mark_lost(*, actor, sample_id: int, reason: str) -> Sample:
    """A sample that cannot be found keeps its last known mass, accounted as lost."""
    if not reason.strip():
        raise DomainError(_("say how the sample was lost"), field="reason")
    with transaction.atomic():
        sample = _locked_sample(sample_id)
        if sample.state in {State.LOST, State.CONSUMED}:
            raise Conflict(
                _("sample %(identifier)s is already %(state)s")
                % {"identifier": sample.identifier, "state": sample.get_state_display().lower()},
                field="sample",
            )
        head = ledger_lock()
        sample.state = State.LOST
        sample.location = None
        sample.save(update_fields=["state", "location", "updated_at"])
        events_record(
            actor=actor, head=head, reason=reason, events=[PendingEvent(sample, EventKind.LOST)]
        )
        return sample


def sample_reassign_pool(*, actor, sample_id: int, pool: str, reason: str) -> Sample:
    _check_choice(pool, Pool, "pool")
    if not reason.strip():
        raise DomainError(_("a change of purpose pool needs a reason"), field="reason")
    with transaction.atomic():
        sample = _locked_sample(sample_id)
        if sample.state != State.STORED:
            raise Conflict(
                _("only stored samples change pool; %(identifier)s is %(state)s")
                % {"identifier": sample.identifier, "state": sample.get_state_display().lower()},
                field="sample",
            )
        if sample.pool == pool:
            raise Conflict(
                _("sample %(identifier)s is already in that pool")
                % {"identifier": sample.identifier},
                field="pool",
            )
        head = ledger_lock()
        sample.pool = pool
        sample.save(update_fields=["pool", "updated_at"])
        events_record(
            actor=actor,
            head=head,
            reason=reason,
            events=[PendingEvent(sample, EventKind.RECLASSIFIED, data={"pool": pool})],
        )
        return sample
