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
from array import array
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
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    elif moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # isoformat() of a UTC time ends in "+00:00", six characters that become the "Z".
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


# The C encoder that json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":")) uses,
# made once: dumps builds a new one per call, which costs more than encoding a small dict.
_encode_sorted = json.encoder.c_make_encoder(
    None,  # no circular-reference check: event data is plain JSON
    json.JSONEncoder().default,
    json.encoder.encode_basestring,
    None,
    ":",
    ",",
    True,
    False,
    True,
)


def canonical_data(data: dict) -> str:
    return "".join(_encode_sorted(data, 0)) if data else "{}"


# JSON string quoting exactly as json.dumps(ensure_ascii=False) does it (the C version).
_quote = json.encoder.encode_basestring


def creation_data(
    identifier: str, mission: str, parent: int | None, form: str, pool: str, pristine: bool
) -> dict:
    """The data of the event that makes a sample (received, or split off): replay builds the
    sample from it."""
    return {
        "identifier": identifier,
        "mission": mission,
        "parent": parent,
        "form": form,
        "pool": pool,
        "pristine": pristine,
    }


def creation_text(
    identifier: str, mission: str, parent: int | None, form: str, pool: str, pristine: bool
) -> str:
    """`canonical_data(creation_data(...))`, written out: bulk loads make one per sample, and the
    encoder's sorting of the keys costs several times more."""
    return (
        f'{{"form":{_quote(form)},"identifier":{_quote(identifier)},'
        f'"mission":{_quote(mission)},"parent":{"null" if parent is None else parent},'
        f'"pool":{_quote(pool)},"pristine":{"true" if pristine else "false"}}}'
    )


def event_bytes(values: tuple) -> bytes:
    """`values` in the order of FIELDS, with recorded_at already canonical text.

    The same bytes as `json.dumps(list(values), ensure_ascii=False, separators=(",", ":"))` for
    the ledger's types (ints; strings; None for the location and the actor), written out field by
    field because the generic encoder costs several times more per event.
    """
    seq, prev, kind, sample, op, delta, loss, state, location, actor, at, reason, data = values
    return (
        f"[{seq},{_quote(prev)},{_quote(kind)},{sample},{_quote(op)},{delta},{loss},"
        f"{_quote(state)},{'null' if location is None else location},"
        f"{'null' if actor is None else actor},{_quote(at)},{_quote(reason)},{_quote(data)}]"
    ).encode()


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
STATE_CODES = {state: code for code, state in enumerate(STATES, start=1)}
# Sample ids index the replay's arrays; the database's ids are dense from 1.
ID_LIMIT = 1 << 27
# A sample's origin in one integer: pristine (0 unknown, 1 no, 2 yes), then the indexes of its
# pool, form and mission in the replay's tables, then its parent id + 1 (0 for none).
_POOL, _FORM, _MISSION, _PARENT = 2, 10, 20, 32
_WIDTH = {"pool": 8, "form": 10, "mission": 12}


class Replay:
    """Feed events in seq order (FIELDS values, recorded_at canonical, then the stored hash).

    It checks the chain and each event's effect as it goes; `problem(text)` is called for each
    fault found. A sample is three 64-bit integers in arrays indexed by its id (mass; state and
    location; origin), so that memory grows with the number of samples, by 24 bytes each, and no
    object is made per event or per sample.
    """

    def __init__(self, problem):
        self.problem = problem
        self.mass = array("q")
        self.place = array("q")
        self.origin = array("q")
        self.tables: dict[str, list] = {"pool": [None], "form": [None], "mission": [None]}
        self.index: dict[str, dict] = {name: {} for name in self.tables}
        self.books: list[Accounts | None] = [None]
        self.accounts: dict[str, Accounts] = {}
        self.split_balance: dict[str, int] = {}
        self.events = 0
        self.head_seq = 0
        self.head_hash = GENESIS_HASH

    def feed(self, row) -> None:
        self.feed_rows((row,))

    def feed_rows(self, rows) -> None:
        """Many events at once: the hot loop of `moonvault verify`, kept free of calls."""
        problem, sha256, quote = self.problem, hashlib.sha256, _quote
        mass, place, origin, books = self.mass, self.place, self.origin, self.books
        states, creation = STATE_CODES, CREATION_KINDS
        seq_now, head, events = self.head_seq, self.head_hash, self.events
        try:
            for row in rows:
                seq, prev, kind, sample_id, op, delta, loss, state, location, actor, at = row[:11]
                reason, data, digest = row[11:]
                events += 1
                if seq != seq_now + 1:
                    problem(
                        f"event #{seq}: expected #{seq_now + 1} next; events are missing or "
                        "inserted"
                    )
                if prev != head:
                    problem(f"event #{seq}: its previous-hash does not match event #{seq - 1}")
                # event_bytes, inlined.
                text = (
                    f"[{seq},{quote(prev)},{quote(kind)},{sample_id},{quote(op)},{delta},{loss},"
                    f"{quote(state)},{'null' if location is None else location},"
                    f"{'null' if actor is None else actor},{quote(at)},{quote(reason)},"
                    f"{quote(data)}]"
                )
                if sha256(text.encode()).hexdigest() != digest:
                    problem(
                        f"event #{seq}: its content does not match its hash (edited after writing)"
                    )
                seq_now, head = seq, digest
                if not 0 < sample_id < ID_LIMIT:
                    problem(f"event #{seq}: sample id {sample_id} is out of range")
                    continue
                if sample_id >= len(mass):
                    self._grow(sample_id)
                born = origin[sample_id]
                if kind in creation:
                    if born:
                        problem(f"event #{seq}: sample {sample_id} is created twice")
                    born = origin[sample_id] = self._origin(seq, data)
                    mass[sample_id] = 0
                    if not born:
                        continue
                elif not born:
                    problem(f"event #{seq}: sample {sample_id} has an event before it was created")
                    continue
                elif data != "{}" and ('"pool"' in data or '"pristine"' in data):
                    born = origin[sample_id] = self._restamp(seq, born, data)
                now = mass[sample_id] + delta
                try:
                    mass[sample_id] = now
                except OverflowError:
                    problem(f"event #{seq}: sample {sample_id} mass is beyond 64 bits")
                    continue
                code = states.get(state)
                if code is None:
                    problem(f"event #{seq}: {state!r} is not a state")
                else:
                    place[sample_id] = (0 if location is None else location + 1) << 3 | code
                if now < 0:
                    problem(f"event #{seq}: sample {sample_id} mass goes negative")
                if delta or loss:
                    self._account(seq, kind, op, delta, loss, books[born >> _MISSION & 0xFFF])
        finally:
            self.head_seq, self.head_hash, self.events = seq_now, head, events

    def _grow(self, sample_id: int) -> None:
        extra = max(sample_id + 1, 2 * len(self.mass)) - len(self.mass)
        zeros = bytes(8 * extra)
        for column in (self.mass, self.place, self.origin):
            column.frombytes(zeros)

    def _code(self, seq: int, name: str, value) -> int:
        codes = self.index[name]
        code = codes.get(value)
        if code is None:
            table = self.tables[name]
            if len(table) >= 1 << _WIDTH[name]:
                self.problem(f"event #{seq}: too many distinct {name} values")
                return 0
            code = codes[value] = len(table)
            table.append(value)
            if name == "mission":
                book = self.accounts.setdefault(value, Accounts())
                self.books.append(book)
        return code

    def _origin(self, seq: int, data_text: str) -> int:
        """The packed origin from a creation event's data; 0 (and a problem) if it is unusable."""
        try:
            data = json.loads(data_text)
            mission, parent, form = data["mission"], data["parent"], data["form"]
            ok = (
                type(mission) is str
                and type(form) is str
                and (parent is None or (type(parent) is int and 0 < parent < ID_LIMIT))
            )
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            self.problem(f"event #{seq}: its creation data is not usable")
            return 0
        packed = (
            (0 if parent is None else parent + 1) << _PARENT
            | self._code(seq, "mission", mission) << _MISSION
            | self._code(seq, "form", form) << _FORM
        )
        return self._restamp(seq, packed, data_text, data)

    def _restamp(self, seq: int, packed: int, data_text: str, data: dict | None = None) -> int:
        """Apply a pool or pristine change carried in an event's data."""
        if data is None:
            try:
                data = json.loads(data_text)
            except ValueError:
                return packed
        if not isinstance(data, dict):
            return packed
        if "pool" in data:
            pool = data["pool"]
            code = self._code(seq, "pool", pool) if type(pool) is str else 0
            packed = packed & ~(0xFF << _POOL) | code << _POOL
        if "pristine" in data:
            packed = packed & ~3 | (2 if data["pristine"] is True else 1)
        return packed

    def _account(self, seq, kind, operation, delta, loss, book) -> None:
        if kind == RECEIVED:
            book.received += delta
        elif kind in CORRECTION_KINDS:
            book.corrections += delta
        elif kind in CONSUMPTION_KINDS:
            if delta > 0:
                self.problem(f"event #{seq}: a consumption adds mass")
            book.consumed -= delta
        elif kind in (SPLIT, SPLIT_OFF):
            balance = self.split_balance.get(operation, 0) + delta + (loss if kind == SPLIT else 0)
            # Balanced operations are dropped, so memory holds only splits still open.
            if balance:
                self.split_balance[operation] = balance
            else:
                self.split_balance.pop(operation, None)
        elif delta:
            self.problem(f"event #{seq}: a {kind} event changes mass by {delta} µg")
        book.handling_loss += loss

    def replayed(self, sample_id: int) -> tuple | None:
        """(values of REPLAYED_ATTRIBUTES) for a sample, or None if the ledger never created it."""
        if not 0 < sample_id < len(self.origin) or not (born := self.origin[sample_id]):
            return None
        place = self.place[sample_id]
        pristine = born & 3
        return (
            self.mass[sample_id],
            STATES[(place & 7) - 1] if place & 7 else None,
            (place >> 3) - 1 if place >> 3 else None,
            (born >> _PARENT) - 1 if born >> _PARENT else None,
            self.tables["mission"][born >> _MISSION & 0xFFF],
            self.tables["pool"][born >> _POOL & 0xFF],
            self.tables["form"][born >> _FORM & 0x3FF],
            None if not pristine else pristine == 2,
        )

    def sample_ids(self):
        """The ids of every sample the ledger created, ascending."""
        origin = self.origin
        return (sample_id for sample_id in range(len(origin)) if origin[sample_id])

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
            held = []
            for sample_id in self.sample_ids():
                mass, state, _, _, mission, *_ = self.replayed(sample_id)
                if state is not None:
                    held.append((mission, state, mass))
        for mission, state, mass in held:
            book = self.accounts.get(mission)
            if book is None:
                book = self.accounts[mission] = Accounts()
            book.by_state[state] = book.by_state.get(state, 0) + mass
        for code, book in sorted(self.accounts.items()):
            if not book.balances:
                self.problem(
                    f"mission {code}: received {book.received} µg but held {book.held} + "
                    f"consumed {book.consumed} + handling loss {book.handling_loss} − "
                    f"corrections {book.corrections} µg"
                )


_INTEGERS, _OPTIONAL = (0, 3, 5, 6), (8, 9)


def _well_typed(row: list) -> bool:
    """The types the database gives each field: a file could hold 1.0 or "1" where 1 was hashed."""
    for i, value in enumerate(row):
        if i in _INTEGERS or i in _OPTIONAL:
            if value is None and i in _OPTIONAL:
                continue
            if type(value) is not int or not -(1 << 58) < value < 1 << 58:
                return False
        elif type(value) is not str:
            return False
    return True


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
                    row = None
                if row is None or not _well_typed(row):
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
