"""`custody_verify`: the chain, a replay of every sample's state, and conservation per mission.

The replay itself lives in `chain.Replay` (standard library only, shared with the auditor's
file check); here it is fed from the database and its result compared with the stored samples.
It streams events in seq order and keeps one small record per sample, so memory grows with the
number of samples, not of events.
"""

import contextlib
from dataclasses import dataclass, field

from moonvault.catalog.models import Mission, Sample
from moonvault.custody.chain import GENESIS_HASH, REPLAYED_ATTRIBUTES, Accounts, Replay
from moonvault.custody.selectors import events_stream, ledger_head


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
    replay = Replay(problem)
    for row in events_stream():
        replay.feed(row)
    report.events, report.head_seq, report.head_hash = (
        replay.events,
        replay.head_seq,
        replay.head_hash,
    )
    head = ledger_head()
    if (head.seq, head.hash) != (replay.head_seq, replay.head_hash):
        problem(
            f"ledger head says #{head.seq} but the chain ends at #{replay.head_seq}; "
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
    seen = set()
    held: dict[tuple[str, str], int] = {}
    for sample_id, *now in stored.iterator(chunk_size=20000):
        report.samples += 1
        now[4] = missions[now[4]]
        held[now[4], now[1]] = held.get((now[4], now[1]), 0) + now[0]
        replayed = replay.samples.get(sample_id)
        seen.add(sample_id)
        if replayed is None:
            problem(f"sample {sample_id}: has no custody events")
            continue
        for name, have, want in zip(REPLAYED_ATTRIBUTES, now, replayed.values(), strict=True):
            if have != want:
                problem(
                    f"sample {sample_id}: stored {name} is {have!r} but the ledger gives {want!r}"
                )
    for sample_id in replay.samples.keys() - seen:
        problem(f"sample {sample_id}: has events but no longer exists")
    replay.finish([(mission, state, mass) for (mission, state), mass in held.items()])
    report.accounts = dict(sorted(replay.accounts.items()))
