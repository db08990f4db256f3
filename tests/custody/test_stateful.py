"""Random sequences of curation work, valid and invalid, never break conservation or the ledger.

The machine keeps its own model of every sample and of each mission's books, built only from what
it asked for, and after every step compares it with the database, with `custody_verify` and with
the conservation formula: received + corrections = held + consumed + handling loss.
"""

from dataclasses import dataclass

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from moonvault.catalog.models import (
    Form,
    IdConvention,
    Mission,
    Pool,
    Sample,
    State,
    StorageLocation,
)
from moonvault.catalog.services import (
    ChildSpec,
    NewSample,
    sample_consume,
    sample_mark_lost,
    sample_move,
    sample_receive,
    sample_split,
    sample_weigh,
)
from moonvault.core.errors import Conflict, DomainError, NotFound
from moonvault.custody.models import LedgerHead
from moonvault.custody.verification import custody_verify
from tests.conftest import GRAM

MISSIONS = ("CE5", "A17")
LOCATIONS = ("MAIN", "MAIN-N2-01", "BACKUP-V-01")
UNKNOWN_LOCATION = "NOWHERE"
SPLITTABLE = {State.STORED, State.ON_LOAN}
WEIGHABLE = {State.STORED, State.ALLOCATED, State.ON_LOAN, State.ON_DISPLAY}
MOVABLE = {State.STORED, State.ALLOCATED}
CONSUMABLE = {State.STORED, State.ON_LOAN}

portions = st.integers(min_value=1, max_value=GRAM) | st.integers(min_value=-3, max_value=0)


@dataclass
class Modelled:
    mission: str
    mass_ug: int
    state: str
    location: str | None


@dataclass
class Books:
    received: int = 0
    corrections: int = 0
    consumed: int = 0
    handling_loss: int = 0


def database_state():
    return (
        sorted(Sample.objects.values_list("id", "mass_ug", "state", "location_id", "pool")),
        LedgerHead.objects.values_list("seq", "hash").get(pk=1),
    )


class Curation(RuleBasedStateMachine):
    samples = Bundle("samples")

    def __init__(self):
        super().__init__()
        # Custody events cannot be deleted, so each example runs in a savepoint that is discarded.
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.missions = {m.code: m for m in Mission.objects.filter(code__in=MISSIONS)}
        self.locations = {loc.code: loc for loc in StorageLocation.objects.all()}
        self.model: dict[int, Modelled] = {}
        self.books = {code: Books() for code in MISSIONS}
        self.events = LedgerHead.objects.get(pk=1).seq
        self.received = 0

    def teardown(self):
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def refuse(self, error, field, call):
        before = database_state()
        with pytest.raises(DomainError) as caught:
            call()
        assert type(caught.value) is error, caught.value
        assert [p.field for p in caught.value.problems] == [field]
        assert database_state() == before

    @rule(
        target=samples,
        mission=st.sampled_from(MISSIONS),
        mass=st.integers(min_value=1, max_value=3 * GRAM),
        location=st.sampled_from(LOCATIONS),
    )
    def receive(self, mission, mass, location):
        self.received += 1
        identifier = f"{70000 + self.received}" if mission == "A17" else f"CE5C{self.received:04d}"
        sample = sample_receive(
            actor=None,
            new=NewSample(
                identifier=identifier,
                mission=self.missions[mission],
                form=Form.SCOOPED_REGOLITH,
                pool=Pool.RESEARCH,
                mass_ug=mass,
                location=self.locations[location],
            ),
        )
        self.model[sample.id] = Modelled(mission, mass, State.STORED, location)
        self.books[mission].received += mass
        self.events += 1
        return sample.id

    @rule(mass=st.integers(min_value=-3, max_value=0))
    def receive_without_mass(self, mass):
        new = NewSample(
            identifier="CE5C-EMPTY",
            mission=self.missions["CE5"],
            form=Form.POWDER,
            pool=Pool.RESEARCH,
            mass_ug=mass,
            location=self.locations[LOCATIONS[0]],
        )
        self.refuse(DomainError, "mass_ug", lambda: sample_receive(actor=None, new=new))

    @rule(sample=samples)
    def receive_an_identifier_in_use(self, sample):
        existing = Sample.objects.get(pk=sample)
        new = NewSample(
            identifier=existing.identifier,
            mission=existing.mission,
            form=existing.form,
            pool=existing.pool,
            mass_ug=GRAM,
            location=self.locations[LOCATIONS[0]],
        )
        self.refuse(Conflict, "identifier", lambda: sample_receive(actor=None, new=new))

    @rule(
        target=samples,
        sample=samples,
        masses=st.lists(portions, min_size=1, max_size=3),
        loss=st.integers(min_value=0, max_value=20_000),
    )
    def split(self, sample, masses, loss):
        parent = self.model[sample]
        children = [ChildSpec(m) for m in masses]

        def call():
            return sample_split(actor=None, sample_id=sample, children=children, loss_ug=loss)

        bad = [i for i, m in enumerate(masses) if m <= 0]
        if bad:
            self.refuse(DomainError, f"children[{bad[0]}].mass_ug", call)
        elif parent.state not in SPLITTABLE:
            self.refuse(Conflict, "sample", call)
        elif sum(masses) + loss > parent.mass_ug:
            self.refuse(Conflict, "children", call)
        else:
            made = call()
            parent.mass_ug -= sum(masses) + loss
            for child, mass in zip(made, masses, strict=True):
                self.model[child.id] = Modelled(parent.mission, mass, parent.state, parent.location)
            self.books[parent.mission].handling_loss += loss
            self.events += 1 + len(made)
            return multiple(*(c.id for c in made))
        return multiple()

    @rule(
        sample=samples,
        delta=st.integers(min_value=-2_000, max_value=2_000),
        reason=st.sampled_from(["", "balance recalibrated"]),
    )
    def weigh(self, sample, delta, reason):
        modelled = self.model[sample]
        measured = modelled.mass_ug + delta

        def call():
            return sample_weigh(actor=None, sample_id=sample, measured_ug=measured, reason=reason)

        if measured < 0:
            self.refuse(DomainError, "measured_ug", call)
        elif modelled.state not in WEIGHABLE:
            self.refuse(Conflict, "sample", call)
        elif delta and not reason:
            self.refuse(DomainError, "reason", call)
        else:
            call()
            modelled.mass_ug = measured
            self.books[modelled.mission].corrections += delta
            self.events += 1

    @rule(sample=samples, code=st.sampled_from((*LOCATIONS, UNKNOWN_LOCATION)))
    def move(self, sample, code):
        modelled = self.model[sample]

        def call():
            return sample_move(actor=None, sample_id=sample, location_code=code)

        if code == UNKNOWN_LOCATION:
            self.refuse(NotFound, "location", call)
        elif modelled.state not in MOVABLE:
            self.refuse(Conflict, "sample", call)
        elif code == modelled.location:
            self.refuse(Conflict, "location", call)
        else:
            call()
            modelled.location = code
            self.events += 1

    @rule(
        sample=samples,
        mass=st.integers(min_value=-2, max_value=3 * GRAM) | st.just("all"),
    )
    def consume(self, sample, mass):
        modelled = self.model[sample]
        amount = modelled.mass_ug if mass == "all" else mass

        def call():
            return sample_consume(
                actor=None, sample_id=sample, mass_ug=amount, technique="LA-ICP-MS"
            )

        if amount <= 0:
            self.refuse(DomainError, "mass_ug", call)
        elif modelled.state not in CONSUMABLE:
            self.refuse(Conflict, "sample", call)
        elif amount > modelled.mass_ug:
            self.refuse(Conflict, "mass_ug", call)
        else:
            call()
            modelled.mass_ug -= amount
            if modelled.mass_ug == 0:
                modelled.state, modelled.location = State.CONSUMED, None
            self.books[modelled.mission].consumed += amount
            self.events += 1

    @rule(sample=samples)
    def mark_lost(self, sample):
        modelled = self.model[sample]

        def call():
            return sample_mark_lost(actor=None, sample_id=sample, reason="missing at inventory")

        if modelled.state in {State.LOST, State.CONSUMED}:
            self.refuse(Conflict, "sample", call)
        else:
            call()
            modelled.state, modelled.location = State.LOST, None
            self.events += 1

    @invariant()
    def database_model_books_and_ledger_agree(self):
        # One pass over the samples and one verification per step keep 750 steps fast.
        stored, held = {}, dict.fromkeys(MISSIONS, 0)
        for s in Sample.objects.select_related("mission", "location"):
            assert s.mass_ug >= 0, f"sample {s.identifier} holds {s.mass_ug} µg"
            stored[s.id] = Modelled(
                s.mission.code, s.mass_ug, s.state, s.location and s.location.code
            )
            held[s.mission.code] += s.mass_ug
        assert stored == self.model
        for code, books in self.books.items():
            assert books.received + books.corrections == (
                held[code] + books.consumed + books.handling_loss
            ), f"mission {code} does not conserve mass"
        report = custody_verify()
        assert report.ok, report.problems
        assert (report.events, report.head_seq) == (self.events, self.events)
        for code, accounts in report.accounts.items():
            books = self.books[code]
            assert (
                accounts.received,
                accounts.corrections,
                accounts.consumed,
                accounts.handling_loss,
            ) == (books.received, books.corrections, books.consumed, books.handling_loss)


@pytest.fixture
def inventory(db):
    for code, convention in (("CE5", IdConvention.SUFFIX), ("A17", IdConvention.APOLLO)):
        Mission.objects.create(
            code=code, name=code, agency="", returned_mass_ug=0, id_convention=convention
        )
    for code in LOCATIONS:
        StorageLocation.objects.create(code=code, name=code, kind=StorageLocation.Kind.CABINET)


def test_random_curation_keeps_every_microgram_accounted_for(inventory):
    run_state_machine_as_test(
        Curation,
        settings=settings(
            max_examples=20,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
