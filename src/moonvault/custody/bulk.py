"""Appending many samples and custody events at once: generated inventories and large imports.

The chain is computed here exactly as `events_record` computes it, event by event; only the
writing differs (COPY on PostgreSQL, executemany on SQLite), so that a million samples load in
minutes. On PostgreSQL a flush's COPY runs in a thread while the caller builds the next rows, so
that the server stores one batch while Python makes the next. Each `commit()` closes one
transaction with the ledger head moved to the last event, so an interrupted load leaves a
consistent ledger behind.

Two options serve loads that are large against the tables they go into (imports).
`batch_triggers` replaces SQLite's per-row insert triggers on the samples by one statement per
flush: the flush's samples are counted into the facet table and added to the text index.
`defer_indexes` drops a table's secondary (non-unique) indexes once the rows being added
outnumber the rows already there, and builds them again in one pass each before the transaction
commits: sorting a million keys once is faster than a million B-tree insertions.
On PostgreSQL the table's foreign keys go too and are added back after the indexes. Dropping
either locks the table against readers until the commit, which is why it waits for that point
instead of happening for any load.
"""

import functools
import threading
import uuid
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Max

from moonvault.catalog import facets, text_index
from moonvault.catalog.models import Sample
from moonvault.core.db import sqlite_trigger_restore, sqlite_trigger_suspend
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
_FACET_KEY = tuple(
    SAMPLE_COLUMNS.index(c) for c in ("mission_id", "form", "pool", "state", "mass_ug")
)
_TEXT_KEY = tuple(SAMPLE_COLUMNS.index(c) for c in ("id", *text_index.FIELDS))
# SQLite's page cache during a load, in KiB.
BULK_CACHE_KIB = 65_536
# A load of fewer rows than this, so far, is not worth an index rebuild.
DEFER_INDEXES_MIN_ROWS = 10_000
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


def _sqlite_time(canonical: str) -> str:
    """Django keeps aware datetimes in SQLite as naive UTC text, which the canonical UTC text of
    the ledger holds already: 2024-06-25T06:07:08.000009Z is stored 2024-06-25 06:07:08.000009."""
    return f"{canonical[:10]} {canonical[11:-1]}"


@functools.lru_cache(maxsize=4096)
def _stored_time(moment: datetime, vendor: str) -> datetime | str:
    """A moment as the writer hands it to the database; rows of one import or generator step
    share one."""
    if vendor == "sqlite":
        return _sqlite_time(canonical_time(moment))
    # Binary COPY sends the datetime as it is.
    return moment


@functools.lru_cache(maxsize=16)
def _column_types(table: str, columns: tuple[str, ...]) -> list[int]:
    """The type of each column, for binary COPY: PostgreSQL's built-in type ids never change."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass",
            [table],
        )
        types = dict(cursor.fetchall())
    return [types[c] for c in columns]


def _copy_rows(raw, table: str, columns: tuple[str, ...], rows: list[tuple], types) -> None:
    """Binary COPY: the server reads numbers and times without parsing text, which halves the
    time of a load's rows."""
    if not rows:
        return
    with raw.cursor() as cursor:
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        with cursor.copy(sql) as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)


class BulkLedger:
    """Buffered writer of samples and events; use inside no transaction, call commit() often."""

    def __init__(
        self,
        *,
        actor_id: int | None = None,
        batch_triggers: bool = False,
        defer_indexes: bool = False,
    ):
        self.actor_id = actor_id
        self.batch_triggers = batch_triggers
        self.defer_indexes = defer_indexes
        self.suspended: dict[str, str] = {}  # trigger name -> its SQL, to restore
        self.deferred: dict[str, list[str]] = {}  # table -> CREATE INDEX statements
        self.samples: list[tuple] = []
        self.events: list[tuple] = []
        self.atomic = None
        self._copying: threading.Thread | None = None
        self._copy_error: BaseException | None = None
        self.total_samples = 0
        self.total_events = 0
        self.operation_prefix = uuid.uuid4().hex[:16]
        self.operations = 0
        self.vendor = connection.vendor
        self._time_of: datetime | None = None
        self._time_text = self._time_stored = ""
        self.cache_size: int | None = None  # SQLite's own, while the load has a larger one
        self._cache_grow()
        self._begin()

    def _begin(self) -> None:
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        head = ledger_lock()
        self.seq, self.prev = head.seq, head.hash
        self.next_id = (Sample.objects.aggregate(m=Max("id"))["m"] or 0) + 1
        # What the tables held when the transaction began, as the ids give it (no count query).
        self.held = {Sample._meta.db_table: self.next_id - 1, CustodyEvent._meta.db_table: self.seq}
        self.added = dict.fromkeys(self.held, 0)
        if self.batch_triggers:
            for name in (facets.INSERT_TRIGGER, text_index.INSERT_TRIGGER):
                if (sql := sqlite_trigger_suspend(name)) is not None:
                    self.suspended[name] = sql

    def new_sample_id(self) -> int:
        sample_id = self.next_id
        self.next_id += 1
        return sample_id

    def add_sample(self, row: tuple) -> None:
        """`row` in the order of SAMPLE_COLUMNS, its two times given by `stored_time`."""
        self.samples.append(row)

    def stored_time(self, moment: datetime) -> datetime | str:
        """A moment as the writer hands it to the database, for `add_sample`: prepared once for
        the many rows that share it, where a datetime would be converted row by row."""
        return _stored_time(moment, self.vendor)

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
        data: dict | str | None = None,
    ) -> None:
        """`data` as a dict, or as its canonical text already (`chain.creation_text`)."""
        self.seq += 1
        if recorded_at is not self._time_of:
            # A load stamps many events with the same moment: format it once.
            text = canonical_time(recorded_at)
            self._time_of, self._time_text = recorded_at, text
            # Events mostly differ in time (the generator's clock moves for each): derived from
            # the text already made, not looked up in a cache that would rarely hold it.
            self._time_stored = _sqlite_time(text) if self.vendor == "sqlite" else recorded_at
        data_text = data if isinstance(data, str) else canonical_data(data or {})
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
            self._time_text,
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
                self._time_stored,
                reason,
                data_text,
                self.prev,
                digest,
            )
        )
        self.prev = digest

    def flush(self) -> None:
        """Write buffered rows inside the current transaction; on PostgreSQL the writing goes on
        in a thread after this returns (`_copy_behind`)."""
        self._copied()
        if self.defer_indexes:
            self._maybe_defer(Sample._meta.db_table, len(self.samples))
            self._maybe_defer(CustodyEvent._meta.db_table, len(self.events))
        if self.vendor == "postgresql":
            self._copy_behind(
                (Sample._meta.db_table, SAMPLE_COLUMNS, self.samples),
                (CustodyEvent._meta.db_table, EVENT_COLUMNS, self.events),
            )
        else:
            self._insert(Sample._meta.db_table, SAMPLE_COLUMNS, self.samples)
            if facets.INSERT_TRIGGER in self.suspended:
                facets.sample_facets_add(tuple(row[i] for i in _FACET_KEY) for row in self.samples)
            if text_index.INSERT_TRIGGER in self.suspended and not self._text_rebuild:
                text_index.sample_text_add(
                    [tuple(row[i] for i in _TEXT_KEY) for row in self.samples]
                )
            self._insert(CustodyEvent._meta.db_table, EVENT_COLUMNS, self.events)
        self.added[Sample._meta.db_table] += len(self.samples)
        self.added[CustodyEvent._meta.db_table] += len(self.events)
        self.total_samples += len(self.samples)
        self.total_events += len(self.events)
        # New lists: a thread may still be copying the old ones.
        self.samples, self.events = [], []

    def _copy_behind(self, *batches: tuple[str, tuple[str, ...], list[tuple]]) -> None:
        """Binary COPY of `batches` in a thread, while the caller builds the next rows: the
        server stores one batch as Python makes the next, instead of each waiting for the other.
        The thread uses the same connection, so the same transaction; psycopg holds the
        connection for the COPY, so any other use of it waits for the COPY to end, and
        `_copied` waits before this writer uses the database again."""
        if not any(rows for _table, _columns, rows in batches):
            return
        raw = connection.connection  # a thread's Django connection would be another one
        typed = [
            (table, columns, rows, _column_types(table, columns))
            for table, columns, rows in batches
        ]

        def copy() -> None:
            try:
                for table, columns, rows, types in typed:
                    _copy_rows(raw, table, columns, rows, types)
            except BaseException as exc:  # raised again in the writer's thread
                self._copy_error = exc

        self._copying = threading.Thread(target=copy, name="bulk-copy", daemon=True)
        self._copying.start()

    def written(self) -> None:
        """Flush, and wait until the rows are in the database: reads inside the transaction
        then see them."""
        self.flush()
        self._copied()

    def _copied(self) -> None:
        """Wait for the COPY thread; its error, if any, is raised here."""
        if (error := self._copy_join()) is not None:
            raise error

    def _copy_join(self) -> BaseException | None:
        """Wait for the COPY thread, if one runs; the error it ended with."""
        if self._copying is None:
            return None
        self._copying.join()
        error, self._copying, self._copy_error = self._copy_error, None, None
        return error

    def commit(self) -> None:
        """Flush, move the head to the last event and commit; then open the next transaction."""
        self._finish()
        self._begin()

    def close(self) -> None:
        self._finish()
        self.atomic = None
        self._cache_restore()

    def abort(self) -> None:
        """Roll back everything since the last commit(), dropped indexes and trigger included."""
        error = self._copy_join()
        if self.atomic is not None:
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)
            self.atomic = None
        self.deferred = {}
        self.suspended = {}
        self._cache_restore()
        if error is not None:
            # The cause, in place of what it caused (a query refused in the failed transaction).
            raise error

    def _cache_grow(self) -> None:
        """SQLite's page cache, 2 MB by default, holds few of the pages a load touches: index
        rebuilds and inserts spill and read back less with more."""
        if self.vendor != "sqlite":
            return
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            (self.cache_size,) = cursor.fetchone()
            cursor.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")

    def _cache_restore(self) -> None:
        if self.cache_size is not None:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(self.cache_size)}")
            self.cache_size = None

    def _finish(self) -> None:
        self.flush()
        self._copied()
        LedgerHead.objects.filter(pk=1).update(seq=self.seq, hash=self.prev)
        self._indexes_rebuild()
        for sql in self.suspended.values():
            sqlite_trigger_restore(sql)
        self.suspended = {}
        self.atomic.__exit__(None, None, None)

    def _maybe_defer(self, table: str, pending: int) -> None:
        adding = self.added[table] + pending
        if table in self.deferred or adding < DEFER_INDEXES_MIN_ROWS or adding < self.held[table]:
            return
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = "
                    "current_schema() AND tablename = %s AND indexdef NOT LIKE 'CREATE UNIQUE%%'",
                    [table],
                )
            else:
                cursor.execute(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                    "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%%'",
                    [table],
                )
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            keys = self._foreign_keys_drop(cursor, table)
        self.deferred[table] = [sql for _, sql in indexes] + [
            f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for name, definition in keys
        ]

    @staticmethod
    def _foreign_keys_drop(cursor, table: str) -> list[tuple[str, str]]:
        """On PostgreSQL, a table's foreign keys, dropped: added back after the load, each is
        checked by one join instead of one trigger call per row."""
        if connection.vendor != "postgresql":
            return []
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = %s::regclass",
            [table],
        )
        keys = cursor.fetchall()
        # PostgreSQL alters no table with foreign-key checks still queued in the transaction.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name, _ in keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        return keys

    @property
    def _text_rebuild(self) -> bool:
        """Whether the text index is built again in one pass when the samples' indexes are: when
        the load outnumbers the samples already there, that costs less than adding each batch."""
        sample_table = Sample._meta.db_table
        return sample_table in self.deferred and text_index.INSERT_TRIGGER in self.suspended

    def _indexes_rebuild(self) -> None:
        if not self.deferred:
            return
        if self._text_rebuild:
            text_index.sample_text_rebuild()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Deferred foreign-key checks queued by the load must run before an index build.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for statements in self.deferred.values():
                for sql in statements:
                    cursor.execute(sql)
            if connection.vendor == "postgresql":
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        self.deferred = {}

    @classmethod
    def insert_events(cls, rows: list[tuple]) -> None:
        """Write event rows (EVENT_COLUMNS order) as they are, hashes included."""
        vendor, at = connection.vendor, EVENT_COLUMNS.index("recorded_at")
        cls._write(
            CustodyEvent._meta.db_table,
            EVENT_COLUMNS,
            [(*e[:at], _stored_time(e[at], vendor), *e[at + 1 :]) for e in rows],
        )

    @classmethod
    def _write(cls, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if connection.vendor == "postgresql":
            cls._copy(table, columns, rows)
        else:
            cls._insert(table, columns, rows)

    @staticmethod
    def _copy(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        types = _column_types(table, columns)  # not inside the COPY, which holds the connection
        connection.ensure_connection()
        _copy_rows(connection.connection, table, columns, rows, types)

    @staticmethod
    def _insert(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        if not rows:
            return
        marks = ", ".join("?" for _ in columns)
        connection.ensure_connection()
        connection.connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
        )
