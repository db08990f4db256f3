"""Reads of the custody ledger."""

import contextlib
import json
import queue
import threading
from collections.abc import Callable, Iterator

from django.db import connection, transaction
from django.db.models import QuerySet

from moonvault.catalog.models import Sample
from moonvault.core.db import FixedQuery
from moonvault.custody.models import CustodyEvent, LedgerHead


def sample_timeline(*, sample: Sample) -> QuerySet[CustodyEvent]:
    return (
        CustodyEvent.objects.filter(sample=sample)
        .select_related("location_after", "actor")
        .order_by("seq")
    )


# EventOut's fields and the columns they are read from; `data` is parsed from its JSON text.
_TIMELINE_ROW = {
    "seq": "seq",
    "kind": "kind",
    "recorded_at": "recorded_at",
    "mass_delta_ug": "mass_delta_ug",
    "loss_ug": "loss_ug",
    "state_after": "state_after",
    "location": "location_after__code",
    "reason": "reason",
    "data": "data",
    "prev_hash": "prev_hash",
    "hash": "hash",
}


_TIMELINE = FixedQuery(
    CustodyEvent,
    lambda identifier: (
        CustodyEvent.objects.filter(sample__identifier=identifier)
        .order_by("seq")
        .values_list(*_TIMELINE_ROW.values())
    ),
    identifier=str,
)


def sample_timeline_rows(*, identifier: str) -> list[dict]:
    """The timeline of the sample with this identifier as the API lists it (EventOut's fields),
    read as plain rows in one query; empty when no such sample exists."""
    rows = _TIMELINE.rows(identifier=identifier)
    events = [dict(zip(_TIMELINE_ROW, row, strict=True)) for row in rows]
    for event in events:
        event["data"] = json.loads(event["data"])
    return events


def ledger_head() -> LedgerHead:
    """The head row, or the genesis values while nothing has been recorded."""
    return LedgerHead.objects.filter(pk=1).first() or LedgerHead()


# The hashed fields of chain.FIELDS, recorded_at already canonical, then the stored hash.
_STREAM_COLUMNS = (
    "seq, prev_hash, kind, sample_id, operation, mass_delta_ug, loss_ug, state_after, "
    "location_after_id, actor_id, {recorded_at}, reason, data, hash"
)
_CANONICAL_TIME = {
    "postgresql": """to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
    # Django writes "YYYY-MM-DD HH:MM:SS[.ffffff]" to SQLite, leaving out zero microseconds.
    "sqlite": (
        "replace(CASE WHEN length(recorded_at) = 19 THEN recorded_at || '.000000' "
        "ELSE recorded_at END, ' ', 'T') || 'Z'"
    ),
}


def events_stream(*, batch: int = 20_000, up_to: int | None = None) -> Iterator[tuple]:
    """Every event in chain order as a tuple of chain.FIELDS plus its hash, in bounded memory."""
    for rows in event_batches(batch=batch, up_to=up_to):
        yield from rows


def event_batches(*, batch: int = 20_000, up_to: int | None = None) -> Iterator[list[tuple]]:
    """The events of `events_stream` in lists of up to `batch`.

    Raw SQL with the timestamp formatted by the database: the ORM's per-row object and datetime
    conversions would cost more than hashing the event. PostgreSQL streams through a server-side
    cursor, SQLite through fetchmany; either way the rows arrive a batch per call.
    """
    sql = (
        f"SELECT {_STREAM_COLUMNS.format(recorded_at=_CANONICAL_TIME[connection.vendor])} "
        f"FROM {CustodyEvent._meta.db_table}"
        + ("" if up_to is None else f" WHERE seq <= {int(up_to)}")
        + " ORDER BY seq"
    )
    return query_batches(sql, batch=batch)


def query_batches(sql: str, *, batch: int = 20_000) -> Iterator[list[tuple]]:
    """The rows of a raw query in lists of up to `batch`, never the whole result in memory.

    PostgreSQL streams through a server-side cursor (a client cursor would fetch every row
    first), the next batch read while the caller works on this one (`read_ahead`). SQLite steps
    through the result with fetchmany in the caller's thread: its driver lets go of the
    interpreter for every row, and a thread beside the caller would wait for it as often.
    """
    if connection.vendor == "postgresql":
        with transaction.atomic():
            connection.ensure_connection()
            with connection.connection.cursor(name="moonvault_stream") as cursor:
                cursor.itersize = batch
                cursor.execute(sql)
                yield from read_ahead(lambda: cursor.fetchmany(batch))
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            while rows := cursor.fetchmany(batch):
                yield rows


def read_ahead(fetch: Callable[[], list], depth: int = 2) -> Iterator[list]:
    """The lists `fetch` returns until an empty one, fetched by a thread up to `depth` ahead.

    Waiting on the database and building its rows overlap the caller's work on the previous
    batch: the drivers let go of the interpreter while they wait. The thread only calls `fetch`
    on the cursor the caller opened, so it shares the caller's connection and transaction. Its
    errors are raised here; when the caller stops early, the thread ends after its fetch.
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(item) -> None:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                ready.put(item, timeout=0.1)
                return

    def run() -> None:
        try:
            while not stop.is_set():
                rows = fetch()
                hand_over(rows)
                if not rows:
                    return
        except BaseException as error:  # raised again in the caller's thread
            hand_over(error)

    worker = threading.Thread(target=run, name="moonvault-read-ahead", daemon=True)
    worker.start()
    try:
        while rows := ready.get():
            if isinstance(rows, BaseException):
                raise rows
            yield rows
    finally:
        stop.set()
        worker.join()
