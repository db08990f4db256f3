"""The ledger's canonical serialization, its hash chain and its replay — standard library only.

This one file is also the outside auditor's verifier: `python chain.py ledger.jsonl` checks an
exported ledger (`moonvault export-ledger`) with no Moonvault, Django or database: the chain, the
replay of every sample, and conservation per mission.

An event's hash is SHA-256 over its fields, in the order of FIELDS, as a compact JSON array (UTF-8,
no ASCII escaping); the previous event's hash is one of the fields, which makes the chain.
"""

import hashlib
import json
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime

GENESIS_HASH = "0" * 64
FIELDS = (
    "seq",
    "prev_hash",
    "kind",
    "sample_id",
    "operation",
    "mass_delta_ug",
    "loss_ug",
    "state_after",
    "location_after_id",
    "actor_id",
    "recorded_at",
    "reason",
    "data",
)
STATES = ("stored", "allocated", "in_transit", "on_loan", "on_display", "consumed", "lost")

# How each kind of event may change a sample's mass; conservation is checked against these.
RECEIVED, SPLIT, SPLIT_OFF = "received", "split", "split_off"
CREATION_KINDS = frozenset({RECEIVED, SPLIT_OFF})
CORRECTION_KINDS = frozenset({"weighed", "corrected"})
CONSUMPTION_KINDS = frozenset({"consumed", "destroyed"})
MASS_KINDS = CREATION_KINDS | CORRECTION_KINDS | CONSUMPTION_KINDS | {SPLIT}


def canonical_time(moment: datetime) -> str:
    """UTC with microseconds and a Z: 2024-06-25T06:07:08.000009Z."""
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


_encode_sorted = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def canonical_data(data: dict) -> str:
    return _encode_sorted(data) if data else "{}"


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def event_bytes(values: tuple) -> bytes:
    """`values` in the order of FIELDS, with recorded_at already canonical text."""
    return _encode(values).encode()


def event_hash(values: tuple) -> str:
    return hashlib.sha256(event_bytes(values)).hexdigest()


@dataclass
class Accounts:
    """One mission's mass accounting, in micrograms."""

    received: int = 0
    corrections: int = 0
    consumed: int = 0
    handling_loss: int = 0
    by_state: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))

    @property
    def held(self) -> int:
        return sum(self.by_state.values())

    @property
    def balances(self) -> bool:
        return self.received + self.corrections == self.held + self.consumed + self.handling_loss


class Replayed:
    """A sample as the ledger says it is."""

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

    def values(self) -> tuple:
        return (
            self.mass_ug,
            self.state,
            self.location_id,
            self.parent_id,
            self.mission,
            self.pool,
            self.form,
            self.pristine,
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


class Replay:
    """Feed events in seq order (FIELDS values, recorded_at canonical, then the stored hash).

    It checks the chain and each event's effect as it goes and keeps one small record per
    sample; `problem(text)` is called for each fault found.
    """

    def __init__(self, problem):
        self.problem = problem
        self.samples: dict[int, Replayed] = {}
        self.accounts: dict[str, Accounts] = {}
        self.split_balance: dict[str, int] = {}
        self.events = 0
        self.head_seq = 0
        self.head_hash = GENESIS_HASH

    def feed(self, row) -> None:
        problem = self.problem
        seq, stored_prev, kind, sample_id, operation, delta, loss = row[:7]
        self.events += 1
        if seq != self.head_seq + 1:
            problem(
                f"event #{seq}: expected #{self.head_seq + 1} next; events are missing or inserted"
            )
        if stored_prev != self.head_hash:
            problem(f"event #{seq}: its previous-hash does not match event #{seq - 1}")
        if event_hash(tuple(row[:13])) != row[13]:
            problem(f"event #{seq}: its content does not match its hash (edited after writing)")
        self.head_seq, self.head_hash = seq, row[13]
        data_text = row[12]
        # Only creations and pool or pristine changes carry replayed data; parse nothing else.
        data = json.loads(data_text) if data_text != "{}" else {}
        state = self.samples.get(sample_id)
        if kind in CREATION_KINDS:
            if state is not None:
                problem(f"event #{seq}: sample {sample_id} is created twice")
            state = Replayed()
            state.mass_ug = 0
            state.mission = data["mission"]
            state.parent_id = data["parent"]
            state.form = data["form"]
            self.samples[sample_id] = state
        elif state is None:
            problem(f"event #{seq}: sample {sample_id} has an event before it was created")
            return
        if "pool" in data:
            state.pool = data["pool"]
        if "pristine" in data:
            state.pristine = data["pristine"]
        state.mass_ug += delta
        state.state = row[7]
        state.location_id = row[8]
        if state.mass_ug < 0:
            problem(f"event #{seq}: sample {sample_id} mass goes negative")
        book = self.accounts.get(state.mission)
        if book is None:
            book = self.accounts[state.mission] = Accounts()
        if kind == RECEIVED:
            book.received += delta
        elif kind in CORRECTION_KINDS:
            book.corrections += delta
        elif kind in CONSUMPTION_KINDS:
            if delta > 0:
                problem(f"event #{seq}: a consumption adds mass")
            book.consumed -= delta
        elif kind == SPLIT:
            self.split_balance[operation] = self.split_balance.get(operation, 0) + delta + loss
        elif kind == SPLIT_OFF:
            self.split_balance[operation] = self.split_balance.get(operation, 0) + delta
        elif delta:
            problem(f"event #{seq}: a {kind} event changes mass by {delta} µg")
        book.handling_loss += loss

    def finish(self, held: list[tuple[str, str, int]] | None = None) -> None:
        """Checks that need the whole ledger: split balances, and conservation per mission.

        `held` is (mission, state, mass) as the inventory stores it (per sample or summed), so
        that the stored state itself is proven to conserve; without it the replay is used.
        """
        for operation, balance in self.split_balance.items():
            if balance:
                self.problem(
                    f"split {operation}: children and loss differ from the mass taken by "
                    f"{balance} µg"
                )
        if held is None:
            held = [(s.mission, s.state, s.mass_ug) for s in self.samples.values()]
        for mission, state, mass in held:
            book = self.accounts.get(mission)
            if book is None:
                book = self.accounts[mission] = Accounts()
            book.by_state[state] += mass
        for code, book in sorted(self.accounts.items()):
            if not book.balances:
                self.problem(
                    f"mission {code}: received {book.received} µg but held {book.held} + "
                    f"consumed {book.consumed} + handling loss {book.handling_loss} − "
                    f"corrections {book.corrections} µg"
                )


def verify_file(path: str, *, max_problems: int = 20) -> tuple[Replay, list[str], dict]:
    """Check an exported ledger file; returns the replay, the problems and the file's header."""
    problems: list[str] = []

    class Enough(Exception):
        pass

    def problem(text: str) -> None:
        problems.append(text)
        if len(problems) >= max_problems:
            raise Enough

    replay = Replay(problem)
    header: dict = {}
    try:
        with open(path, encoding="utf-8") as handle:
            header = json.loads(handle.readline() or "{}")
            if header.get("format") != "moonvault-ledger":
                problem("not a Moonvault ledger export (missing header line)")
            for number, line in enumerate(handle, start=2):
                try:
                    event = json.loads(line)
                    row = [event[name] for name in FIELDS] + [event["hash"]]
                except (ValueError, KeyError, TypeError):
                    problem(f"line {number}: not a ledger event")
                    continue
                replay.feed(row)
            replay.finish()
            if (header.get("head_seq"), header.get("head_hash")) != (
                replay.head_seq,
                replay.head_hash,
            ):
                problem(
                    f"the header names head #{header.get('head_seq')} but the events end at "
                    f"#{replay.head_seq}: the file is truncated or was extended"
                )
    except Enough:
        pass
    return replay, problems, header


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python chain.py LEDGER.jsonl", file=sys.stderr)
        return 2
    replay, problems, _ = verify_file(argv[1])
    for text in problems:
        print(f"FAIL {text}")
    if problems:
        return 1
    print(f"ledger OK: {replay.events} events, head #{replay.head_seq} {replay.head_hash}")
    for code, book in sorted(replay.accounts.items()):
        held = ", ".join(f"{s} {m} µg" for s, m in book.by_state.items() if m)
        print(
            f"  {code}: received {book.received} + corrections {book.corrections} = held "
            f"({held or 'nothing'}) + consumed {book.consumed} + handling loss "
            f"{book.handling_loss} (µg)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
