"""Database helpers shared by the apps."""

import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.db import connection, connections, models, router
from django.db.models import QuerySet


class ByteOrderCharField(models.CharField):
    """A CharField compared byte by byte on PostgreSQL (collation "C").

    Identifier and genealogy-path prefix searches become index range scans only when the index
    orders strings by bytes; SQLite's default BINARY collation already does.
    """

    def db_parameters(self, connection):
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params


# Bulk writers replace SQLite's per-row triggers on the tables they load by one statement per
# batch. The trigger is dropped inside the writer's own transaction and created again before it
# commits: SQLite lets one writer at a time in, and readers see the schema as committed, so no
# other connection ever sees the table without its trigger.


def sqlite_trigger_suspend(name: str) -> str | None:
    """Inside a transaction: drop a SQLite trigger; returns its SQL, to restore it.

    None where there is nothing to suspend (PostgreSQL, or a database without the trigger).
    """
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [name])
        found = cursor.fetchone()
        if found is None:
            return None
        cursor.execute(f'DROP TRIGGER "{name}"')
    return found[0]


def sqlite_trigger_restore(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def sql_by_vendor(statements_by_vendor: dict[str, list[str]]):
    """A RunPython function that executes the statements given for the database's vendor."""

    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class FixedQuery:
    """A read whose SQL is the same on every call but for its parameters, compiled once.

    Building a queryset and compiling it costs 150-600 µs, more than the database takes to
    answer an indexed lookup; the sample page's reads paid it four or five times per request.
    `build` makes the queryset of `model` from its parameters (keyword arguments, each declared
    with its type, str or int). It is called once per database connection with stand-in values,
    whose places among the compiled parameters receive the real values on each call; so each
    parameter must reach the SQL as given (one that arrives transformed is refused). The read
    goes where the router sends the model's reads, and the ORM's converters are kept, so rows
    come back as the queryset's own would (aware datetimes on SQLite, for one). `around`, SQL
    with `{}` where the queryset's goes, reads from it rather than the queryset itself (a count
    or a grouping of the rows, whose columns are then its own).
    """

    def __init__(
        self,
        model: type[models.Model],
        build: Callable[..., QuerySet],
        around: str = "",
        **parameters,
    ):
        self.model = model
        self.build = build
        self.around = around
        self.parameters: dict[str, type] = parameters
        self.compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def rows(self, **values) -> list[tuple]:
        using = connections[router.db_for_read(self.model)]
        compiler, sql, slots, converters = self.compiled.get(using) or self._compile(using)
        params = [values[slot] if isinstance(slot, _Slot) else slot for slot in slots]
        with using.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            return [tuple(row) for row in compiler.apply_converters(rows, converters)]
        return rows

    def _compile(self, using) -> tuple:
        stand_ins = {
            name: _STAND_INS[kind](n) for n, (name, kind) in enumerate(self.parameters.items())
        }
        compiler = self.build(**stand_ins).query.get_compiler(connection=using)
        sql, params = compiler.as_sql()
        slots: list = []
        for param in params:
            named = [name for name, stand_in in stand_ins.items() if stand_in == param]
            # A value made from a parameter (a prefix with a wildcard) would stay the stand-in's.
            made = [
                name
                for name, stand_in in stand_ins.items()
                if isinstance(param, str) and isinstance(stand_in, str) and stand_in in param
            ]
            if made and not named:
                raise ValueError(f"{made[0]}: transformed on its way into the query")
            slots.append(_Slot(named[0]) if named else param)
        missing = set(stand_ins) - {slot for slot in slots if isinstance(slot, _Slot)}
        if missing:
            raise ValueError(f"{', '.join(sorted(missing))}: not found in the query")
        if self.around:
            compiled = (compiler, self.around.format(sql), slots, {})
        else:
            columns = [column for column, _sql, _alias in compiler.select[: compiler.col_count]]
            compiled = (compiler, sql, slots, compiler.get_converters(columns))
        self.compiled[using] = compiled
        return compiled


Row = TypeVar("Row")


@dataclass(frozen=True)
class QueryRows(Generic[Row]):
    """The rows of a list built from its queryset one slice at a time, like the queryset itself.

    Some lists answer with more than a model's fields (a proposal with its review figures): a
    page of such a list builds only its own rows, and its size is one COUNT of the queryset.
    """

    queryset: QuerySet
    build: Callable[[list], list[Row]]

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, window: slice) -> list[Row]:
        return self.build(list(self.queryset[window]))

    def __iter__(self) -> Iterator[Row]:
        return iter(self.build(list(self.queryset)))


class _Slot(str):
    """The place of a FixedQuery parameter among the compiled ones."""


# Stand-in values no real parameter takes, by type and position.
_STAND_INS: dict[type, Callable[[int], object]] = {
    str: lambda n: f"\x00fixed query parameter {n}\x00",
    int: lambda n: -(2**62) - n,
}
