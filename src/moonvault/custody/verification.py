"""`custody_verify`: the chain, a replay of every sample's state, and conservation per mission.

It streams events in seq order and keeps one small record per sample, so memory grows with the
number of samples, not of events.
"""

import contextlib
import json
from collections import defaultdict
from dataclasses import dataclass, field

from moonvault.catalog.models import Mission, Sample, State
from moonvault.custody.chain import event_hash
from moonvault.custody.models import (
    CONSUMPTION_KINDS,
    CORRECTION_KINDS,
    CREATION_KINDS,
    GENESIS_HASH,
    EventKind,
)
from moonvault.custody.selectors import events_stream, ledger_head

MASS_NEUTRAL_KINDS = (
    frozenset(EventKind) - CREATION_KINDS - CORRECTION_KINDS - CONSUMPTION_KINDS - {EventKind.SPLIT}
)
REPLAYED_ATTRIBUTES = (
    "mass_ug",
    "state",
    "location_id",
    "parent_id",
    "mission",
    "pool",
    "form",
    "pristine",
)


@dataclass
class Accounts:
    """One mission's mass accounting, in micrograms."""

    received: int = 0
    corrections: int = 0
    consumed: int = 0
    handling_loss: int = 0
    by_state: dict[str, int] = field(default_factory=lambda: dict.fromkeys(State.values, 0))

    @property
    def held(self) -> int:
        return sum(self.by_state.values())

    @property
    def balances(self) -> bool:
        return self.received == self.held + self.consumed + self.handling_loss - self.corrections


@dataclass
class VerifyReport:
    events: int = 0
    samples: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    problems: list[str] = field(default_factory=list)
    accounts: dict[str, Accounts] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


class _Replayed:
    __slots__ = (
        "form",
        "location_id",
        "mass_ug",
        "mission",
        "parent_id",
        "pool",
        "pristine",
        "state",
    )


class _Enough(Exception):
    """Raised once `max_problems` are found: a broken ledger need not be read to its end."""


def custody_verify(*, max_problems: int = 20) -> VerifyReport:
    report = VerifyReport()

    def problem(text: str) -> None:
        report.problems.append(text)
        if len(report.problems) >= max_problems:
            raise _Enough

    with contextlib.suppress(_Enough):
        _verify(report, problem)
    return report


def _verify(report: VerifyReport, problem) -> None:
    replay: dict[int, _Replayed] = {}
    accounts: dict[str, Accounts] = defaultdict(Accounts)
    split_balance: dict[str, int] = {}
    prev_hash, expected_seq = GENESIS_HASH, 1
    for row in events_stream():
        seq, stored_prev, kind, sample_id, operation, delta, loss = row[:7]
        values = row[:13]
        report.events += 1
        if seq != expected_seq:
            problem(f"event #{seq}: expected #{expected_seq} next; events are missing or inserted")
            expected_seq = seq
        expected_seq += 1
        if stored_prev != prev_hash:
            problem(f"event #{seq}: its previous-hash does not match event #{seq - 1}")
        if event_hash(values) != row[13]:
            problem(f"event #{seq}: its content does not match its hash (edited after writing)")
        prev_hash = row[13]
        # Only creations and pool or pristine changes carry replayed data; parse nothing else.
        data_text = row[12]
        data = json.loads(data_text) if data_text != "{}" else {}
        state = replay.get(sample_id)
        if kind in CREATION_KINDS:
            if state is not None:
                problem(f"event #{seq}: sample {sample_id} is created twice")
            state = _Replayed()
            state.mass_ug = 0
            state.mission = data["mission"]
            state.parent_id = data["parent"]
            state.form = data["form"]
            replay[sample_id] = state
        elif state is None:
            problem(f"event #{seq}: sample {sample_id} has an event before it was created")
            continue
        if "pool" in data:
            state.pool = data["pool"]
        if "pristine" in data:
            state.pristine = data["pristine"]
        state.mass_ug += delta
        state.state = row[7]
        state.location_id = row[8]
        if state.mass_ug < 0:
            problem(f"event #{seq}: sample {sample_id} mass goes negative")
        book = accounts[state.mission]
        if kind == EventKind.RECEIVED:
            book.received += delta
        elif kind in CORRECTION_KINDS:
            book.corrections += delta
        elif kind in CONSUMPTION_KINDS:
            if delta > 0:
                problem(f"event #{seq}: a consumption adds mass")
            book.consumed -= delta
        elif kind == EventKind.SPLIT:
            split_balance[operation] = split_balance.get(operation, 0) + delta + loss
        elif kind == EventKind.SPLIT_OFF:
            split_balance[operation] = split_balance.get(operation, 0) + delta
        elif kind in MASS_NEUTRAL_KINDS and delta:
            problem(f"event #{seq}: a {kind} event changes mass by {delta} µg")
        book.handling_loss += loss
    report.head_seq = expected_seq - 1
    report.head_hash = prev_hash
    for operation, balance in split_balance.items():
        if balance:
            problem(
                f"split {operation}: children and loss differ from the mass taken by {balance} µg"
            )

    head = ledger_head()
    if (head.seq, head.hash) != (report.head_seq, report.head_hash):
        problem(
            f"ledger head says #{head.seq} but the chain ends at #{report.head_seq}; "
            "events were removed or the head was altered"
        )

    missions = dict(Mission.objects.values_list("id", "code"))
    stored = Sample.objects.order_by("id").values_list(
        "id",
        "mass_ug",
        "state",
        "location_id",
        "parent_id",
        "mission_id",
        "pool",
        "form",
        "pristine",
    )
    for (
        sample_id,
        mass,
        state_now,
        location_id,
        parent_id,
        mission_id,
        pool,
        form,
        pristine,
    ) in stored.iterator(chunk_size=20000):
        report.samples += 1
        mission_code = missions[mission_id]
        accounts[mission_code].by_state[state_now] += mass
        replayed = replay.pop(sample_id, None)
        if replayed is None:
            problem(f"sample {sample_id}: has no custody events")
            continue
        now = (mass, state_now, location_id, parent_id, mission_code, pool, form, pristine)
        for name, have, want in zip(REPLAYED_ATTRIBUTES, now, _values(replayed), strict=True):
            if have != want:
                problem(
                    f"sample {sample_id}: stored {name} is {have!r} but the ledger gives {want!r}"
                )
    for sample_id in replay:
        problem(f"sample {sample_id}: has events but no longer exists")
    for code, book in sorted(accounts.items()):
        if not book.balances:
            problem(
                f"mission {code}: received {book.received} µg but held {book.held} + consumed "
                f"{book.consumed} + handling loss {book.handling_loss} − corrections "
                f"{book.corrections} µg"
            )
    report.accounts = dict(sorted(accounts.items()))


def _values(replayed: _Replayed) -> tuple:
    return (
        replayed.mass_ug,
        replayed.state,
        replayed.location_id,
        replayed.parent_id,
        replayed.mission,
        replayed.pool,
        replayed.form,
        replayed.pristine,
    )
