"""The pre-counted facet table: samples and mass per mission, form, purpose pool and state.

Counting the catalog's facets with GROUP BY costs time in proportion to the matching samples —
hundreds of milliseconds for a broad filter over 1,000,000 samples. `SampleFacet` holds those
counts already grouped (a few hundred rows at most: missions × 8 forms × 4 pools × 7 states), so
that facet counts and result totals for any mix of those four filters cost one read of a small
table whatever the size of the catalog. Database triggers keep it exact (migration 0004); this
module reads it, rebuilds it from scratch and checks it against the samples.
"""

from collections import Counter
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, Sum

from moonvault.catalog.models import Sample, SampleFacet

DIMENSIONS = ("mission", "form", "pool", "state")
_COLUMNS = ("mission_id", "form", "pool", "state")


@dataclass(frozen=True)
class FacetTableCounts:
    total: int
    # For each dimension, the counts per value under every selected filter except its own, so
    # that an option shows how many samples choosing it instead would give.
    by_dimension: dict[str, Counter]


def facet_table_counts(*, selected: dict[str, object]) -> FacetTableCounts:
    """`selected` maps dimensions to a chosen value (mission by id); absent means any.

    One statement of four GROUP BYs over the facet table, one per dimension with the other
    dimensions' filters, so that a few dozen sums come back instead of every facet row.
    """
    table, parts, params = SampleFacet._meta.db_table, [], []
    for name, column in zip(DIMENSIONS, _COLUMNS, strict=True):
        others = [
            (c, selected[n])
            for n, c in zip(DIMENSIONS, _COLUMNS, strict=True)
            if n != name and n in selected
        ]
        where = " AND ".join(f"{c} = %s" for c, _ in others)
        parts.append(
            f"SELECT %s, CAST({column} AS TEXT), SUM(count) FROM {table}"
            + (f" WHERE {where}" if where else "")
            + f" GROUP BY {column}"
        )
        params += [name, *(value for _, value in others)]
    by_dimension = {name: Counter() for name in DIMENSIONS}
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        for name, value, count in cursor.fetchall():
            by_dimension[name][int(value) if name == "mission" else value] += int(count)
    mission = selected.get("mission", _ANY)
    total = sum(n for value, n in by_dimension["mission"].items() if mission in (_ANY, value))
    return FacetTableCounts(total=total, by_dimension=by_dimension)


_ANY = object()


def facet_counts(rows, *, selected: dict[str, object]) -> FacetTableCounts:
    """Counts from rows of (mission_id, form, pool, state, count): the facet table's, or a
    GROUP BY of the samples that pass the filters the table cannot hold."""
    total = 0
    by_dimension = {name: Counter() for name in DIMENSIONS}
    for *key, count in rows:
        misses = [
            name
            for name, value in zip(DIMENSIONS, key, strict=True)
            if _miss(selected, name, value)
        ]
        if not misses:
            total += count
        if len(misses) > 1:
            continue
        for name, value in zip(DIMENSIONS, key, strict=True):
            if not misses or misses == [name]:
                by_dimension[name][value] += count
    return FacetTableCounts(total=total, by_dimension=by_dimension)


def _miss(selected: dict[str, object], name: str, value: object) -> bool:
    return name in selected and selected[name] != value


def sample_facets_grouped() -> dict[tuple, tuple[int, int]]:
    """The facet rows as the samples give them now: (mission_id, form, pool, state) → (n, µg)."""
    rows = Sample.objects.values(*_COLUMNS).annotate(n=Count("id"), m=Sum("mass_ug")).order_by()
    return {tuple(row[c] for c in _COLUMNS): (row["n"], row["m"]) for row in rows}


def sample_facets_stored() -> dict[tuple, tuple[int, int]]:
    return {
        tuple(row[:4]): (row[4], row[5])
        for row in SampleFacet.objects.values_list(*_COLUMNS, "count", "mass_ug")
    }


def sample_facets_drift() -> list[str]:
    """Differences between the facet table and the samples; empty when the table is exact."""
    want, have = sample_facets_grouped(), sample_facets_stored()
    return [
        f"{key}: table has {have.get(key)}, samples give {want.get(key)}"
        for key in sorted(want.keys() | have.keys(), key=str)
        if want.get(key) != have.get(key)
    ]


@transaction.atomic
def sample_facets_rebuild() -> int:
    """Recount the facet table from the samples; returns the number of facet rows.

    The triggers keep the table exact, so this is for repairs: after a restore of a partial dump,
    or a manual edit with the triggers disabled.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # Writers wait until the recount commits, so that none of their changes is lost.
            cursor.execute(f"LOCK TABLE {Sample._meta.db_table} IN SHARE MODE")
    SampleFacet.objects.all().delete()
    table, key = SampleFacet._meta.db_table, ", ".join(_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key}, count, mass_ug) "
            f"SELECT {key}, count(*), sum(mass_ug) FROM {Sample._meta.db_table} GROUP BY {key}"
        )
    return SampleFacet.objects.count()


# Bulk loads. SQLite's per-row insert trigger costs as much as the insert itself; a bulk writer
# drops it inside its own write transaction, adds each batch's delta in one statement, and
# creates it again before committing. SQLite lets one writer at a time in, and readers see the
# schema as committed, so no other connection ever sees the table without its trigger.
# PostgreSQL's trigger is already per statement: one COPY, one grouped delta.

_INSERT_TRIGGER = "catalog_sample_facet_insert"


def sample_facet_trigger_suspend() -> str | None:
    """Inside a transaction: drop SQLite's per-row insert trigger; returns its SQL to restore.

    None where there is nothing to suspend (PostgreSQL, or a database without the trigger).
    """
    if connection.vendor != "sqlite":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [_INSERT_TRIGGER]
        )
        found = cursor.fetchone()
        if found is None:
            return None
        cursor.execute(f"DROP TRIGGER {_INSERT_TRIGGER}")
    return found[0]


def sample_facet_trigger_restore(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def sample_facets_add(rows) -> None:
    """Count inserted samples into the facet table: rows of (mission_id, form, pool, state, µg)."""
    delta: dict[tuple, list[int]] = {}
    for mission_id, form, pool, state, mass in rows:
        entry = delta.get((mission_id, form, pool, state))
        if entry is None:
            delta[(mission_id, form, pool, state)] = [1, mass]
        else:
            entry[0] += 1
            entry[1] += mass
    if not delta:
        return
    table, key = SampleFacet._meta.db_table, ", ".join(_COLUMNS)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({key}, count, mass_ug) VALUES (%s, %s, %s, %s, %s, %s) "
            f"ON CONFLICT ({key}) DO UPDATE SET count = {table}.count + excluded.count, "
            f"mass_ug = {table}.mass_ug + excluded.mass_ug",
            [(*k, n, m) for k, (n, m) in delta.items()],
        )
