"""`custody_verify`: the chain, a replay of every sample's state, and conservation per mission.

The replay itself lives in `chain.Replay` (standard library only, shared with the auditor's
file check); here it is fed from the database and its result compared with the stored samples.
It streams events in seq order and keeps one small record per sample, so memory grows with the
number of samples, not of events.
"""

import contextlib
from dataclasses import dataclass, field

from django.db import connection

from moonvault.catalog.models import Mission, Sample
from moonvault.custody.chain import GENESIS_HASH, REPLAYED_ATTRIBUTES, Accounts, Replay
from moonvault.custody.selectors import event_batches, ledger_head, query_batches


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
    # Smaller batches than the default: a batch in flight is most of what the replay holds.
    for rows in event_batches(batch=5_000):
        replay.feed_rows(rows)
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
    seen = bytearray(len(replay.origin))
    for rows in _stored_samples():
        report.samples += len(rows)
        for sample_id, mass, state, location, parent, mission, pool, form, pristine in rows:
            stored = (mass, state, location, parent, missions[mission], pool, form, bool(pristine))
            replayed = replay.replayed(sample_id)
            if replayed is None:
                problem(f"sample {sample_id}: has no custody events")
                continue
            seen[sample_id] = 1
            if stored != replayed:
                for name, have, want in zip(REPLAYED_ATTRIBUTES, stored, replayed, strict=True):
                    if have != want:
                        problem(
                            f"sample {sample_id}: stored {name} is {have!r} but the ledger "
                            f"gives {want!r}"
                        )
    for sample_id in replay.sample_ids():
        if not seen[sample_id]:
            problem(f"sample {sample_id}: has events but no longer exists")
    replay.finish(_held(missions))
    report.accounts = dict(sorted(replay.accounts.items()))


def _stored_samples(batch: int = 20_000):
    """The samples' replayed attributes as stored, in lists of up to `batch`."""
    return query_batches(
        "SELECT id, mass_ug, state, location_id, parent_id, mission_id, pool, form, pristine "
        f"FROM {Sample._meta.db_table} ORDER BY id",
        batch=batch,
    )


def _held(missions: dict[int, str]) -> list[tuple[str, str, int]]:
    """Mass held per mission and state, summed by the database."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT mission_id, state, SUM(mass_ug) FROM {Sample._meta.db_table} "
            "GROUP BY mission_id, state"
        )
        return [(missions[mission], state, int(mass)) for mission, state, mass in cursor]
