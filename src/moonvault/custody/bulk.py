"""Appending many samples and custody events at once: generated inventories and large imports.

The chain is computed here exactly as `events_record` computes it, event by event; only the
writing differs (COPY on PostgreSQL, executemany on SQLite), so that a million samples load in
minutes. Each `commit()` closes one transaction with the ledger head moved to the last event, so
an interrupted load leaves a consistent ledger behind.
"""

import uuid
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Max

from moonvault.catalog.models import Sample
from moonvault.custody.chain import canonical_data, canonical_time, event_hash
from moonvault.custody.models import CustodyEvent, LedgerHead
from moonvault.custody.services import ledger_lock

SAMPLE_COLUMNS = (
    "id",
    "identifier",
    "igsn",
    "path",
    "depth",
    "form",
    "pool",
    "state",
    "pristine",
    "mass_ug",
    "classification",
    "subtype",
    "pristinity_pct",
    "description",
    "created_at",
    "updated_at",
    "mission_id",
    "parent_id",
    "location_id",
)
EVENT_COLUMNS = (
    "seq",
    "sample_id",
    "kind",
    "operation",
    "mass_delta_ug",
    "loss_ug",
    "state_after",
    "location_after_id",
    "actor_id",
    "recorded_at",
    "reason",
    "data",
    "prev_hash",
    "hash",
)


def _sqlite_time(moment: datetime) -> str:
    # Django keeps aware datetimes in SQLite as naive UTC text.
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class BulkLedger:
    """Buffered writer of samples and events; use inside no transaction, call commit() often."""

    def __init__(self, *, actor_id: int | None = None):
        self.actor_id = actor_id
        self.samples: list[tuple] = []
        self.events: list[tuple] = []
        self.atomic = None
        self.total_samples = 0
        self.total_events = 0
        self.operation_prefix = uuid.uuid4().hex[:16]
        self.operations = 0
        self._begin()

    def _begin(self) -> None:
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        head = ledger_lock()
        self.seq, self.prev = head.seq, head.hash
        self.next_id = (Sample.objects.aggregate(m=Max("id"))["m"] or 0) + 1

    def new_sample_id(self) -> int:
        sample_id = self.next_id
        self.next_id += 1
        return sample_id

    def add_sample(self, row: tuple) -> None:
        """`row` in the order of SAMPLE_COLUMNS."""
        self.samples.append(row)

    def new_operation(self) -> str:
        """Unique like a UUID, cheaper: a random prefix per writer and a counter."""
        self.operations += 1
        return f"{self.operation_prefix}{self.operations:016x}"

    def add_event(
        self,
        *,
        sample_id: int,
        kind: str,
        operation: str,
        recorded_at: datetime,
        state_after: str,
        location_after_id: int | None,
        mass_delta_ug: int = 0,
        loss_ug: int = 0,
        reason: str = "",
        data: dict | None = None,
    ) -> None:
        self.seq += 1
        data_text = canonical_data(data or {})
        values = (
            self.seq,
            self.prev,
            kind,
            sample_id,
            operation,
            mass_delta_ug,
            loss_ug,
            state_after,
            location_after_id,
            self.actor_id,
            canonical_time(recorded_at),
            reason,
            data_text,
        )
        digest = event_hash(values)
        self.events.append(
            (
                self.seq,
                sample_id,
                kind,
                operation,
                mass_delta_ug,
                loss_ug,
                state_after,
                location_after_id,
                self.actor_id,
                recorded_at,
                reason,
                data_text,
                self.prev,
                digest,
            )
        )
        self.prev = digest

    def flush(self) -> None:
        """Write buffered rows inside the current transaction."""
        if connection.vendor == "postgresql":
            self._copy(Sample._meta.db_table, SAMPLE_COLUMNS, self.samples)
        else:
            time_at = SAMPLE_COLUMNS.index("created_at"), SAMPLE_COLUMNS.index("updated_at")
            samples = [
                tuple(_sqlite_time(v) if i in time_at else v for i, v in enumerate(row))
                for row in self.samples
            ]
            self._insert(Sample._meta.db_table, SAMPLE_COLUMNS, samples)
        self.insert_events(self.events)
        self.total_samples += len(self.samples)
        self.total_events += len(self.events)
        self.samples.clear()
        self.events.clear()

    def commit(self) -> None:
        """Flush, move the head to the last event and commit; then open the next transaction."""
        self._finish()
        self._begin()

    def close(self) -> None:
        self._finish()
        self.atomic = None

    def abort(self) -> None:
        """Roll back everything since the last commit()."""
        if self.atomic is not None:
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)
            self.atomic = None

    def _finish(self) -> None:
        self.flush()
        LedgerHead.objects.filter(pk=1).update(seq=self.seq, hash=self.prev)
        self.atomic.__exit__(None, None, None)

    @classmethod
    def insert_events(cls, rows: list[tuple]) -> None:
        """Write event rows (EVENT_COLUMNS order) as they are, hashes included."""
        if connection.vendor == "postgresql":
            cls._copy(CustodyEvent._meta.db_table, EVENT_COLUMNS, rows)
        else:
            at = EVENT_COLUMNS.index("recorded_at")
            cls._insert(
                CustodyEvent._meta.db_table,
                EVENT_COLUMNS,
                [(*e[:at], _sqlite_time(e[at]), *e[at + 1 :]) for e in rows],
            )

    @staticmethod
    def _copy(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    @staticmethod
    def _insert(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        marks = ", ".join("?" for _ in columns)
        connection.ensure_connection()
        connection.connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
        )
