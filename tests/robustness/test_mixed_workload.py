"""32 people working on the same few samples at once lose and create nothing.

Thirty-two threads, each with its own database connection, split, weigh, move, consume, allocate,
ship, deliver, return, display and lose samples through the services for a fixed time, while some
of them drive research loans from signature to return. Everything commits for real. Collisions
must be refused as Conflict (409); any other exception fails the test — a deadlock, a lock
timeout or a serialization failure included, since no service turns those into a Conflict.
PostgreSQL serializes the writers with row locks, SQLite with its one write lock (IMMEDIATE
transactions); the test runs on both. Afterwards the ledger
verifies, every mission's mass balances, and the ledger grew by exactly the events the successful
operations account for: nothing refused left a trace, nothing accepted was lost.
"""

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.db.models import Count, Sum

from moonvault.catalog.models import Form, Mission, Pool, Sample, State, StorageLocation
from moonvault.catalog.services import (
    ChildSpec,
    sample_consume,
    sample_mark_lost,
    sample_move,
    sample_split,
    sample_weigh,
)
from moonvault.catalog.transitions import TRANSITIONS, samples_transition
from moonvault.core.errors import Conflict
from moonvault.custody.chain import CONSUMPTION_KINDS, CORRECTION_KINDS
from moonvault.custody.models import CustodyEvent
from moonvault.custody.selectors import ledger_head
from moonvault.custody.verification import custody_verify
from moonvault.loans.models import Loan, Shipment
from moonvault.loans.services import research
from tests.conftest import GRAM
from tests.robustness.conftest import report

WORKERS = 32
SECONDS = 15.0
LOCATIONS = ("MAIN", "MAIN-N2-01", "MAIN-N2-02")
# From a state read without a lock, the steps a worker may try next; the read may be stale by the
# time the service locks the sample, which is the point.
NEXT_STEPS = {
    State.STORED: ("allocate", "display"),
    State.ALLOCATED: ("pack", "ship", "deallocate"),
    State.IN_TRANSIT: ("deliver", "return", "display"),
    State.ON_LOAN: ("ship",),
    State.ON_DISPLAY: ("undisplay",),
    State.LOST: ("found",),
}
OPERATIONS = {
    "split": 25,
    "weigh": 12,
    "move": 12,
    "consume": 12,
    "transition": 30,
    "lose": 2,
    "loan": 7,
}

pytestmark = [
    pytest.mark.robustness,
    pytest.mark.django_db(transaction=True),
]


@dataclass
class Tally:
    """What the workers did, merged under a lock."""

    done: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)
    events: Counter = field(default_factory=Counter)  # ledger events the successes account for
    unexpected: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Workload:
    def __init__(self, roots, loans, curator, rng_seed):
        self.roots = [s.pk for s in roots]
        self.pool = list(self.roots)  # roots and every portion split from them
        self.loans = [(loan.pk, loan.pi) for loan in loans]
        self.curator = curator
        self.locations = {code: StorageLocation.objects.get(code=code) for code in LOCATIONS}
        self.tally = Tally()
        self.seed = rng_seed

    def pick(self, rng) -> Sample:
        sample_id = rng.choice(self.roots if rng.random() < 0.5 else self.pool)
        return Sample.objects.get(pk=sample_id)

    # Each operation returns the custody events it should have recorded, by kind.

    def split(self, rng):
        parent = self.pick(rng)
        children = [ChildSpec(rng.randint(1, 3) * 1_000) for _ in range(rng.randint(1, 2))]
        made = sample_split(
            actor=self.curator,
            sample_id=parent.pk,
            children=children,
            loss_ug=rng.randint(0, 50),
            reason="aliquots",
        )
        with self.tally.lock:
            self.pool += [c.pk for c in made]
        return Counter({"split": 1, "split_off": len(made)})

    def weigh(self, rng):
        sample = self.pick(rng)
        sample_weigh(
            actor=self.curator,
            sample_id=sample.pk,
            measured_ug=max(sample.mass_ug + rng.randint(-20, 20), 0),
            reason="reconciliation",
        )
        return Counter({"weighed": 1})

    def move(self, rng):
        sample = self.pick(rng)
        sample_move(actor=self.curator, sample_id=sample.pk, location_code=rng.choice(LOCATIONS))
        return Counter({"moved": 1})

    def consume(self, rng):
        sample = self.pick(rng)
        sample_consume(
            actor=self.curator,
            sample_id=sample.pk,
            mass_ug=rng.randint(1, 500),
            technique="LA-ICP-MS",
        )
        return Counter({"consumed": 1})

    def lose(self, rng):
        sample = self.pick(rng)
        sample_mark_lost(actor=self.curator, sample_id=sample.pk, reason="not at its place")
        return Counter({"lost": 1})

    def transition(self, rng):
        """One step for one to three samples at once, all or none."""
        first = self.pick(rng)
        ids = {first.pk} | {self.pick(rng).pk for _ in range(rng.randint(0, 2))}
        step = rng.choice(NEXT_STEPS.get(first.state, ("allocate",)))
        rule = TRANSITIONS[step]
        samples_transition(
            actor=self.curator,
            sample_ids=sorted(ids),
            step=step,
            location=self.locations[rng.choice(LOCATIONS)] if rule.needs_location else None,
            pristine=False if step == "return" else None,
            reason=f"{step} under load",
        )
        return Counter({rule.kind.value: len(ids)})

    def loan(self, rng):
        """The next step of a research loan, as its curator or borrower would take it."""
        loan_id, pi = rng.choice(self.loans)
        loan = Loan.objects.get(pk=loan_id)
        held = dict(loan.items.values_list("sample_id", "sample__mass_ug"))
        n = len(held)
        shipments = {
            (s.direction, s.status): s.pk for s in Shipment.objects.filter(loan_id=loan_id)
        }
        outbound_packed = shipments.get((Shipment.Direction.OUTBOUND, Shipment.Status.PACKED))
        return_packed = shipments.get((Shipment.Direction.RETURN, Shipment.Status.PACKED))
        return_shipped = shipments.get((Shipment.Direction.RETURN, Shipment.Status.SHIPPED))
        outbound_shipped = shipments.get((Shipment.Direction.OUTBOUND, Shipment.Status.SHIPPED))
        if loan.status == Loan.Status.AGREEMENT:
            research.loan_record_signature(
                actor=self.curator, loan_id=loan_id, signed_by_name="A. Official"
            )
            return Counter()
        if loan.status == Loan.Status.SIGNED and outbound_packed:
            research.shipment_dispatch(
                actor=self.curator, shipment_id=outbound_packed, courier="SF", tracking_number="1"
            )
            return Counter({"shipped": n})
        if loan.status == Loan.Status.SIGNED:
            research.shipment_pack(
                actor=self.curator,
                loan_id=loan_id,
                container_code="BOX",
                seal_number=f"SEAL-{loan_id}",
                nitrogen_purged=True,
                location_code="PACK",
            )
            return Counter({"packed": n})
        if loan.status == Loan.Status.SHIPPED and outbound_shipped:
            research.shipment_receive(
                actor=pi, shipment_id=outbound_shipped, seal_intact=True, measured=held
            )
            return Counter({"delivered": n})
        if loan.status == Loan.Status.ACTIVE:
            research.return_pack(
                actor=pi,
                loan_id=loan_id,
                sample_ids=sorted(held),
                container_code="BOX-R",
                seal_number=f"SEAL-R{loan_id}",
            )
            return Counter()
        if return_packed:
            research.shipment_dispatch(
                actor=pi, shipment_id=return_packed, courier="DHL", tracking_number="2"
            )
            return Counter({"shipped": n})
        if return_shipped:
            research.return_receive(
                actor=self.curator,
                shipment_id=return_shipped,
                seal_intact=True,
                measured=held,
                location_code="RET-01",
            )
            return Counter({"returned": n})
        return None  # the loan has come back: nothing left to do

    def run(self, worker: int, start: threading.Barrier, deadline_box: list) -> None:
        rng = random.Random(self.seed * 1000 + worker)
        names, weights = zip(*OPERATIONS.items(), strict=True)
        try:
            start.wait()
            while time.monotonic() < deadline_box[0]:
                name = rng.choices(names, weights)[0]
                try:
                    events = getattr(self, name)(rng)
                except Conflict:
                    with self.tally.lock:
                        self.tally.refused[name] += 1
                    continue
                except Exception as error:
                    with self.tally.lock:
                        self.tally.unexpected.append((name, repr(error)))
                    continue
                if events is None:
                    continue
                with self.tally.lock:
                    self.tally.done[name] += 1
                    self.tally.events += events
        finally:
            connection.close()


def held_by_mission() -> dict[str, int]:
    return dict(Sample.objects.values_list("mission__code").annotate(m=Sum("mass_ug")).order_by())


def ledger_sums_since(seq: int) -> dict[str, dict[str, int]]:
    """Per mission: mass consumed, handling loss and weighing corrections recorded after `seq`."""
    sums: dict[str, dict[str, int]] = {}
    rows = (
        CustodyEvent.objects.filter(seq__gt=seq)
        .values_list("sample__mission__code", "kind")
        .annotate(delta=Sum("mass_delta_ug"), loss=Sum("loss_ug"))
        .order_by()
    )
    for mission, kind, delta, loss in rows:
        book = sums.setdefault(mission, {"consumed": 0, "loss": 0, "corrections": 0})
        book["loss"] += loss
        if kind in CONSUMPTION_KINDS:
            book["consumed"] -= delta
        elif kind in CORRECTION_KINDS:
            book["corrections"] += delta
    return sums


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def test_thirty_two_workers_on_the_same_samples_lose_nothing(
    decided_round, curator, mission_ce5, mission_a17, facility, cabinet, receive
):
    StorageLocation.objects.create(
        code="MAIN-N2-02", name="Nitrogen cabinet 2", kind="cabinet", parent=facility
    )
    roots = [
        receive(f"CE5C0100YJFM0010{i}", mission_ce5, 10 * GRAM, pool=Pool.RESEARCH)
        for i in range(3)
    ] + [
        # Two Apollo samples of one generic share its split counter: 74220,1, 74220,2 …
        receive(f"74220,{n}", mission_a17, 10 * GRAM, form=Form.ROCK_FRAGMENT)
        for n in (6040, 7000)
    ]
    workload = Workload(roots, decided_round, curator, rng_seed=20261122)
    held_before = held_by_mission()
    head_before = ledger_head().seq
    assert custody_verify().ok
    rss_before = rss_mb()

    start = threading.Barrier(WORKERS + 1)
    deadline = [0.0]
    threads = [
        threading.Thread(target=workload.run, args=(i, start, deadline)) for i in range(WORKERS)
    ]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + SECONDS
    started = time.monotonic()
    start.wait()
    for thread in threads:
        thread.join(timeout=SECONDS + 30)
    elapsed = time.monotonic() - started
    assert not any(t.is_alive() for t in threads), "a worker is still waiting: deadlock"

    tally = workload.tally
    verification = custody_verify()
    new_events = Counter(
        dict(
            CustodyEvent.objects.filter(seq__gt=head_before)
            .values_list("kind")
            .annotate(n=Count("seq"))
            .order_by()
        )
    )
    done, refused = sum(tally.done.values()), sum(tally.refused.values())
    report(
        f"{WORKERS} workers for {elapsed:.1f} s on {connection.vendor}",
        {
            "operations completed": f"{done} ({done / elapsed:.0f}/s)",
            **{f"  {k}": v for k, v in sorted(tally.done.items())},
            "conflicts refused": refused,
            **{f"  {k} refused": v for k, v in sorted(tally.refused.items())},
            "ledger events added": sum(new_events.values()),
            "samples now": verification.samples,
            "test process RSS": f"{rss_before:.0f} MB -> {rss_mb():.0f} MB",
        },
    )

    assert not tally.unexpected, tally.unexpected[:10]
    assert verification.ok, verification.problems
    # Every accepted operation is in the ledger, and nothing else is.
    assert new_events == tally.events
    # Per mission: what is held now plus what was consumed or lost in handling, less weighing
    # corrections, is what was held before; exactly, to the microgram.
    held_after = held_by_mission()
    changes = ledger_sums_since(head_before)
    for mission in Mission.objects.values_list("code", flat=True):
        book = changes.get(mission, {"consumed": 0, "loss": 0, "corrections": 0})
        assert held_after.get(mission, 0) + book["consumed"] + book["loss"] - book[
            "corrections"
        ] == held_before.get(mission, 0), mission
    # A sample is in one place at a time: no sample sits in two shipments that are not closed.
    open_items = Counter(
        Shipment.objects.exclude(status=Shipment.Status.RECEIVED)
        .filter(items__isnull=False)
        .values_list("items__sample_id", flat=True)
    )
    assert all(count == 1 for count in open_items.values()), open_items
    assert tally.done["split"] > 0 and tally.refused["transition"] > 0
