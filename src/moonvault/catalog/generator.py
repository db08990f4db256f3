"""A realistic generated inventory for benchmarks and scale tests.

Split trees grow the way curation does: a returned sample is split, some of its portions are split
again (up to 12 levels), most portions are moved and re-weighed over the years, some are consumed
by analyses, lent, put on display or lost. Masses conserve by construction and every change is a
custody event in a valid chain, so `moonvault verify` passes on the result. Trees are generated
and written one batch at a time, so memory stays bounded whatever the size.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import connection

from moonvault.catalog.models import (
    Form,
    IdConvention,
    Mission,
    Pool,
    Sample,
    SampleFacet,
    State,
    StorageLocation,
    path_segment,
)
from moonvault.custody.bulk import BulkLedger
from moonvault.custody.chain import creation_text
from moonvault.custody.models import EventKind

MAX_DEPTH = 12
GRAM = 1_000_000
EPOCH = datetime(1990, 1, 1, tzinfo=UTC)

GENERATED_MISSIONS = [
    # code, name, agency, returned mass (g), identifier convention
    ("GA11", "Generated Apollo 11", "NASA", 21_550, IdConvention.APOLLO),
    ("GA17", "Generated Apollo 17", "NASA", 110_520, IdConvention.APOLLO),
    ("GCE5", "Generated Chang'e-5", "CNSA", 1_731, IdConvention.SUFFIX),
    ("GCE6", "Generated Chang'e-6", "CNSA", 1_935, IdConvention.SUFFIX),
]
ROOT_FORMS = [Form.SCOOPED_REGOLITH, Form.DRILLED_REGOLITH, Form.ROCK_FRAGMENT]
CHILD_FORMS = [
    Form.POWDER,
    Form.POWDER,
    Form.THIN_SECTION,
    Form.PARTICLE,
    Form.POLISHED_MOUNT,
    Form.GLASS_BEAD,
]
POOLS = [Pool.PERMANENT, Pool.BACKUP, Pool.RESEARCH, Pool.RESEARCH, Pool.PUBLIC_BENEFIT]
# A returned sample's classification, which its portions keep; seven, so that each mission's
# trees (every fourth) go through all of them. Not drawn from the random stream, which stays as
# it was for a given seed.
CLASSIFICATIONS = [
    "Mare basalt",
    "Regolith breccia",
    "Impact melt breccia",
    "Ferroan anorthosite",
    "Soil",
    "Volcanic glass beads",
    "Norite",
]


@dataclass
class _Node:
    id: int
    identifier: str
    path: str
    depth: int
    mass: int
    form: str
    pool: str
    location: int
    parent: int | None
    born_mass: int = 0
    children: int = 0
    state: str = State.STORED
    pristine: bool = True
    created: datetime = EPOCH
    extra: list = field(default_factory=list)


@dataclass
class GenerateReport:
    samples: int = 0
    events: int = 0
    missions: int = 0
    # What `then` returned (loans.generator's programme).
    then: object = None


def _locations() -> list[int]:
    facility, _ = StorageLocation.objects.get_or_create(
        code="GEN", defaults={"name": "Generated facility", "kind": StorageLocation.Kind.FACILITY}
    )
    ids = []
    for n in range(1, 41):
        cabinet, _ = StorageLocation.objects.get_or_create(
            code=f"GEN-C{n:02d}",
            defaults={
                "name": f"Generated cabinet {n}",
                "kind": StorageLocation.Kind.CABINET,
                "parent": facility,
                "environment": StorageLocation.Environment.NITROGEN,
            },
        )
        ids.append(cabinet.pk)
    return ids


def _missions() -> list[Mission]:
    missions = []
    for code, name, agency, grams, convention in GENERATED_MISSIONS:
        mission, _ = Mission.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "agency": agency,
                "returned_mass_ug": grams * GRAM,
                "id_convention": convention,
            },
        )
        missions.append(mission)
    return missions


def generate(
    *,
    samples: int,
    seed: int = 1,
    events_per_sample: int = 10,
    batch_events: int = 50_000,
    progress=None,
    then: Callable[..., object] | None = None,
) -> GenerateReport:
    """Append about `samples` samples and `samples * events_per_sample` events.

    Everything goes in one transaction, written every `batch_events` events so that memory stays
    bounded; an interrupted run adds nothing. When the run at least doubles the inventory, the
    writer drops the secondary indexes (and on PostgreSQL the foreign keys) of samples and events
    and builds them again in one pass each. `then`, when given, is called in that transaction
    once the samples are written, with the ledger writer, the random generator and the ledger's
    clock (`then(writer=…, rng=…, clock=…)`), to add what builds on the samples.
    """
    rng = random.Random(seed)
    missions = _missions()
    locations = _locations()
    writer = BulkLedger(defer_indexes=True, batch_triggers=True)
    bulk = connection.vendor == "postgresql" and samples >= writer.next_id - 1
    report = GenerateReport(missions=len(missions))
    clock = [EPOCH]
    tree_no = 0
    try:
        while report.samples < samples:
            tree_no += 1
            mission = missions[tree_no % len(missions)]
            size = min(samples - report.samples, max(1, int(rng.paretovariate(1.2) * 8)))
            nodes = _grow_tree(rng, writer, mission, seed, tree_no, size, locations, clock)
            classification = CLASSIFICATIONS[tree_no % len(CLASSIFICATIONS)]
            _write_tree(
                rng, writer, mission, nodes, classification, locations, events_per_sample, clock
            )
            report.samples += len(nodes)
            if len(writer.events) >= batch_events:
                writer.flush()
                if progress:
                    progress(report.samples, writer.total_events)
        if then is not None:
            report.then = then(writer=writer, rng=rng, clock=lambda: tick(rng, clock))
        writer.close()
    except BaseException:
        writer.abort()
        raise
    if bulk or connection.vendor == "sqlite":
        _refresh_statistics()
    report.events = writer.total_events
    return report


def _refresh_statistics() -> None:
    """Planner statistics for every table that just grew, the programme's included: without
    them, the first queries are planned for empty tables. On PostgreSQL the samples are also
    vacuumed, which marks their pages all-visible so that index-only scans skip the heap (the
    held samples' index answers the compliance page alone so), and the facet table, rewritten
    by the trigger once per batch, is compacted: left as it is, each of its live rows sits among
    dead ones, and every catalog search reads them (5 ms instead of 18 ms at 1,000,000
    samples)."""
    if connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"VACUUM {Sample._meta.db_table}")
            cursor.execute(f"VACUUM (FULL) {SampleFacet._meta.db_table}")
        cursor.execute("ANALYZE")


# The clock moves 1 to 120 seconds between actions; the steps are made once, not per event.
_STEPS = [timedelta(seconds=n) for n in range(1, 121)]


def tick(rng, clock) -> datetime:
    clock[0] += _STEPS[int(rng.random() * 120)]
    return clock[0]


def _grow_tree(rng, writer, mission, seed, tree_no, size, locations, clock) -> list[_Node]:
    root_id = writer.new_sample_id()
    if mission.id_convention == IdConvention.APOLLO:
        identifier = f"{seed % 10}{tree_no:06d}"
    else:
        identifier = f"{mission.code[1:]}C{seed % 100:02d}{tree_no:07d}"
    form = rng.choice(ROOT_FORMS)
    root = _Node(
        id=root_id,
        identifier=identifier,
        path=path_segment(root_id),
        depth=0,
        mass=rng.randint(GRAM, 400 * GRAM),
        form=form,
        pool=rng.choice(POOLS),
        location=rng.choice(locations),
        parent=None,
        created=tick(rng, clock),
    )
    root.born_mass = root.mass
    nodes = [root]
    splits: list[tuple[_Node, list[_Node], int]] = []
    while len(nodes) < size:
        # Recent portions are split more often, which makes the deep chains of real genealogies.
        candidates = nodes[-8:] if rng.random() < 0.7 else nodes
        parent = rng.choice(candidates)
        if parent.depth >= MAX_DEPTH or parent.mass < 10_000:
            parent = root
            if root.mass < 10_000:
                break
        count = min(rng.randint(1, 5), size - len(nodes))
        taken = int(parent.mass * rng.uniform(0.05, 0.5))
        loss = rng.randint(0, max(0, taken // 1000))
        shares = sorted(rng.sample(range(1, taken - loss), count - 1)) if count > 1 else []
        bounds = [0, *shares, taken - loss]
        children = []
        for k in range(count):
            mass = bounds[k + 1] - bounds[k]
            if mass <= 0:
                continue
            child_id = writer.new_sample_id()
            parent.children += 1
            if mission.id_convention == IdConvention.APOLLO:
                child_identifier = f"{root.identifier},{len(nodes)}"
            else:
                child_identifier = f"{parent.identifier}-{parent.children}"
            children.append(
                _Node(
                    id=child_id,
                    identifier=child_identifier,
                    path=parent.path + path_segment(child_id),
                    depth=parent.depth + 1,
                    mass=mass,
                    form=rng.choice(CHILD_FORMS) if parent.depth else parent.form,
                    pool=parent.pool,
                    location=parent.location,
                    parent=parent.id,
                    born_mass=mass,
                )
            )
            nodes.append(children[-1])
        if not children:
            break
        parent.mass -= sum(c.born_mass for c in children) + loss
        splits.append((parent, children, loss))
    root.extra = splits
    return nodes


def _write_tree(
    rng, writer, mission, nodes, classification, locations, events_per_sample, clock
) -> None:
    root = nodes[0]
    masses = {root.id: root.born_mass}
    op = writer.new_operation()
    writer.add_event(
        sample_id=root.id,
        kind=EventKind.RECEIVED,
        operation=op,
        recorded_at=root.created,
        state_after=State.STORED,
        location_after_id=root.location,
        mass_delta_ug=root.born_mass,
        data=_creation(root, mission),
    )
    for parent, children, loss in root.extra:
        when = tick(rng, clock)
        taken = sum(c.born_mass for c in children) + loss
        op = writer.new_operation()
        masses[parent.id] -= taken
        writer.add_event(
            sample_id=parent.id,
            kind=EventKind.SPLIT,
            operation=op,
            recorded_at=when,
            state_after=State.STORED,
            location_after_id=parent.location,
            mass_delta_ug=-taken,
            loss_ug=loss,
            data={"children": [c.id for c in children]},
        )
        for child in children:
            child.created = when
            masses[child.id] = child.born_mass
            writer.add_event(
                sample_id=child.id,
                kind=EventKind.SPLIT_OFF,
                operation=op,
                recorded_at=when,
                state_after=State.STORED,
                location_after_id=child.location,
                mass_delta_ug=child.born_mass,
                data=_creation(child, mission),
            )
    for node in nodes:
        _life(rng, writer, node, masses, locations, events_per_sample, clock)
        if masses[node.id] != node.mass:
            raise RuntimeError(f"generated sample {node.identifier} does not conserve mass")
        writer.add_sample(
            (
                node.id,
                node.identifier,
                "",
                node.path,
                node.depth,
                node.form,
                node.pool,
                node.state,
                node.pristine,
                node.mass,
                classification,
                "",
                None,
                "",
                writer.stored_time(node.created),
                writer.stored_time(clock[0]),
                mission.pk,
                node.parent,
                node.location if node.state in (State.STORED, State.ALLOCATED) else None,
            )
        )


def _creation(node: _Node, mission: Mission) -> str:
    return creation_text(node.identifier, mission.code, node.parent, node.form, node.pool, True)


def _record(writer, node: _Node, kind, operation: str, when: datetime, **extra) -> None:
    """One event on a generated sample, from its state now; it has a location only in storage."""
    in_storage = node.state in (State.STORED, State.ALLOCATED)
    writer.add_event(
        sample_id=node.id,
        kind=kind,
        operation=operation,
        recorded_at=when,
        state_after=node.state,
        location_after_id=node.location if in_storage else None,
        **extra,
    )


def _life(rng, writer, node, masses, locations, events_per_sample, clock) -> None:
    """The years after creation: moves and re-weighings, then perhaps one way out of storage."""
    random, add, new_operation = rng.random, writer.add_event, writer.new_operation
    steps, places = _STEPS, len(locations)
    budget = max(0, int(rng.gauss(events_per_sample - 2, 2)))
    for _ in range(budget):
        clock[0] += steps[int(random() * 120)]
        # Moves are three in four of these events and the cheapest to write: no data, no mass.
        if random() < 0.75 or node.mass < 1000:
            node.location = locations[int(random() * places)]
            add(
                sample_id=node.id,
                kind=EventKind.MOVED,
                operation=new_operation(),
                recorded_at=clock[0],
                state_after=State.STORED,
                location_after_id=node.location,
            )
        else:
            delta = int(random() * (min(node.mass, 50) + 51)) - min(node.mass, 50)
            node.mass += delta
            masses[node.id] += delta
            add(
                sample_id=node.id,
                kind=EventKind.WEIGHED,
                operation=new_operation(),
                recorded_at=clock[0],
                state_after=State.STORED,
                location_after_id=node.location,
                mass_delta_ug=delta,
                reason="annual inventory re-weighing",
                data={"measured_ug": node.mass},
            )
    _fate(rng, writer, node, masses, clock)


def _fate(rng, writer, node, masses, clock) -> None:
    """Perhaps one way out of storage: consumed, lent, displayed, lost or allocated."""
    fate = rng.random()
    when = tick(rng, clock)
    op = writer.new_operation()
    if fate < 0.08 and node.mass:
        used = node.mass if rng.random() < 0.5 else rng.randint(1, node.mass)
        node.mass -= used
        masses[node.id] -= used
        if node.mass == 0:
            node.state = State.CONSUMED
        _record(
            writer,
            node,
            EventKind.CONSUMED,
            op,
            when,
            mass_delta_ug=-used,
            data={"technique": rng.choice(["SIMS", "EPMA", "LA-ICP-MS", "noble gas MS"])},
        )
    elif fate < 0.14:
        for kind, state in (
            (EventKind.SHIPPED, State.IN_TRANSIT),
            (EventKind.DELIVERED, State.ON_LOAN),
        ):
            node.state = state
            _record(writer, node, kind, op, when)
            if rng.random() < 0.3:
                break
    elif fate < 0.16 and node.pool == Pool.PUBLIC_BENEFIT:
        node.state = State.ON_DISPLAY
        _record(writer, node, EventKind.DISPLAYED, op, when)
    elif fate < 0.165:
        node.state = State.LOST
        _record(writer, node, EventKind.LOST, op, when, reason="not found at the annual inventory")
    elif fate < 0.25:
        node.state = State.ALLOCATED
        _record(writer, node, EventKind.ALLOCATED, op, when)
