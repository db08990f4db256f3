"""The pre-counted facet table: samples and mass per mission, form, pool, state and mass bucket.

Counting the catalog's facets with GROUP BY costs time in proportion to the matching samples —
hundreds of milliseconds for a broad filter over 1,000,000 samples. `SampleFacet` holds those
counts already grouped (missions × 8 forms × 4 pools × 7 states × the mass buckets in use: about
ten thousand rows at 1,000,000 samples, and not many more at any size, plus one row for every
mass at once per mission, form, pool and state), so that facet counts and result totals for any
mix of those four filters and a mass range cost one read of a small table. A mass range whose
ends are not bucket edges adds the samples of the two edge buckets, counted from the samples.
Database triggers keep the table exact (migrations 0004, 0008 and 0010);
this module reads it, rebuilds it from scratch and checks it against the samples.
"""

from collections import Counter
from dataclasses import dataclass

from django.db import connection, transaction

from moonvault.catalog.models import Sample, SampleFacet

DIMENSIONS = ("mission", "form", "pool", "state")
FACET_COLUMNS = ("mission_id", "form", "pool", "state")
_KEY = ", ".join((*FACET_COLUMNS, "bucket"))

# mass_bucket as SQL; the triggers of migration 0008 hold the same expression.
_BUCKET_SQL = (
    "CASE WHEN mass_ug <= 0 THEN 0 ELSE 3 * (LENGTH(CAST(mass_ug AS TEXT)) - 1) "
    "+ CASE WHEN SUBSTR(CAST(mass_ug AS TEXT), 1, 1) < '2' THEN 1 "
    "WHEN SUBSTR(CAST(mass_ug AS TEXT), 1, 1) < '5' THEN 2 ELSE 3 END END"
)
# The bucket of the rows that count every mass at once: a search without a mass range reads
# these few hundred rows instead of summing every bucket.
ALL_MASSES = -1
_GROUPED = " UNION ALL ".join(
    f"SELECT {', '.join(FACET_COLUMNS)}, {bucket}, count(*), sum(mass_ug) "
    f"FROM {Sample._meta.db_table} GROUP BY 1, 2, 3, 4, 5"
    for bucket in (_BUCKET_SQL, ALL_MASSES)
)


def mass_bucket(mass_ug: int) -> int:
    """0 for no mass, else 3 × (digits − 1) + 1, 2 or 3 for a leading 1, 2-4 or 5-9: bucket
    edges fall on 1, 2 and 5 × 10^k µg, the round figures people type (1 g, 500 mg, 20 µg)."""
    if mass_ug <= 0:
        return 0
    digits = str(mass_ug)
    lead = int(digits[0])
    return 3 * (len(digits) - 1) + (1 if lead < 2 else 2 if lead < 5 else 3)


_LEADS = (1, 2, 5, 10)


def bucket_bounds(bucket: int) -> tuple[int, int]:
    """The least and the greatest mass of a bucket, in µg."""
    if bucket == 0:
        return 0, 0
    power, step = divmod(bucket - 1, 3)
    return _LEADS[step] * 10**power, _LEADS[step + 1] * 10**power - 1


# Above every mass a BigIntegerField holds.
_LAST_BUCKET = mass_bucket(2**63 - 1)


@dataclass(frozen=True)
class MassSplit:
    """A mass range as the buckets wholly inside it and the (at most two) ranges left over."""

    buckets: tuple[int, int] | None
    edges: tuple[tuple[int, int | None], ...]


def mass_split(low: int | None, high: int | None) -> MassSplit:
    low = low or 0
    first = mass_bucket(low)
    if bucket_bounds(first)[0] < low:
        first += 1
    last = _LAST_BUCKET
    if high is not None:
        last = mass_bucket(high)
        if bucket_bounds(last)[1] > high:
            last -= 1
    if first > last:
        return MassSplit(buckets=None, edges=((low, high),))
    edges: list[tuple[int, int | None]] = []
    if low < bucket_bounds(first)[0]:
        edges.append((low, bucket_bounds(first)[0] - 1))
    if high is not None and high > bucket_bounds(last)[1]:
        edges.append((bucket_bounds(last)[1] + 1, high))
    return MassSplit(buckets=(first, last), edges=tuple(edges))


_TABLE_ROWS = (
    f"SELECT {', '.join(FACET_COLUMNS)}, count FROM {SampleFacet._meta.db_table} WHERE bucket = %s"
)
# The sum cast back to a 64-bit integer: PostgreSQL's SUM of a bigint is a numeric.
_TABLE_RANGE = (
    f"SELECT {', '.join(FACET_COLUMNS)}, CAST(SUM(count) AS BIGINT) "
    f"FROM {SampleFacet._meta.db_table} WHERE bucket BETWEEN %s AND %s "
    f"GROUP BY {', '.join(FACET_COLUMNS)}"
)


@dataclass(frozen=True)
class FacetTableCounts:
    total: int
    # For each dimension, the counts per value under every selected filter except its own, so
    # that an option shows how many samples choosing it instead would give.
    by_dimension: dict[str, Counter]


def facet_table_rows(*, buckets: tuple[int, int]) -> list[tuple]:
    """The facet table summed over a range of mass buckets: (mission_id, form, pool, state, n).

    A few hundred rows at most, whatever the size of the catalog. Read with a plain cursor: every
    catalog search reads them, and the ORM's per-row work cost as much as the query.
    """
    with connection.cursor() as cursor:
        if buckets == (0, _LAST_BUCKET):
            cursor.execute(_TABLE_ROWS, [ALL_MASSES])
        else:
            cursor.execute(_TABLE_RANGE, list(buckets))
        return cursor.fetchall()


def facet_counts(rows, *, selected: dict[str, object]) -> FacetTableCounts:
    """Counts from rows of (mission_id, form, pool, state, count), from the facet table or from
    a GROUP BY of the samples; `selected` maps dimensions to a chosen value (mission by id).

    A row missing no selected value counts in the total and in every dimension; a row missing
    exactly one counts for that dimension only (choosing its value instead would match it)."""
    chosen = [(i, selected[name]) for i, name in enumerate(DIMENSIONS) if name in selected]
    # One counter per dimension, written out: every catalog search runs this over some 800 rows.
    missions: dict = {}
    forms: dict = {}
    pools: dict = {}
    states: dict = {}
    counters = (missions, forms, pools, states)
    total = 0
    for row in rows:
        missed = None
        for i, value in chosen:
            if row[i] != value:
                if missed is not None:
                    break
                missed = i
        else:
            mission, form, pool, state, count = row
            if missed is None:
                total += count
                missions[mission] = missions.get(mission, 0) + count
                forms[form] = forms.get(form, 0) + count
                pools[pool] = pools.get(pool, 0) + count
                states[state] = states.get(state, 0) + count
            else:
                counter, key = counters[missed], row[missed]
                counter[key] = counter.get(key, 0) + count
    return FacetTableCounts(
        total=total,
        by_dimension={name: Counter(c) for name, c in zip(DIMENSIONS, counters, strict=True)},
    )


def sample_facets_grouped() -> dict[tuple, tuple[int, int]]:
    """The facet rows as the samples give them now: (mission_id, form, pool, state, bucket) →
    (n, µg)."""
    with connection.cursor() as cursor:
        cursor.execute(_GROUPED)
        return {tuple(row[:5]): (row[5], row[6]) for row in cursor.fetchall()}


def sample_facets_stored() -> dict[tuple, tuple[int, int]]:
    return {
        tuple(row[:5]): (row[5], row[6])
        for row in SampleFacet.objects.values_list(*FACET_COLUMNS, "bucket", "count", "mass_ug")
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
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SampleFacet._meta.db_table} ({_KEY}, count, mass_ug) {_GROUPED}"
        )
    return SampleFacet.objects.count()


# Bulk loads (custody/bulk.py) drop SQLite's per-row insert trigger, which costs as much as the
# insert itself, and add each batch's delta in one statement. PostgreSQL's trigger is already
# per statement: one COPY, one grouped delta.
INSERT_TRIGGER = "catalog_sample_facet_insert"


def sample_facets_add(rows) -> None:
    """Count inserted samples into the facet table: rows of (mission_id, form, pool, state, µg)."""
    delta: dict[tuple, list[int]] = {}
    for mission_id, form, pool, state, mass in rows:
        for key in (
            (mission_id, form, pool, state, mass_bucket(mass)),
            (mission_id, form, pool, state, ALL_MASSES),
        ):
            entry = delta.get(key)
            if entry is None:
                delta[key] = [1, mass]
            else:
                entry[0] += 1
                entry[1] += mass
    if not delta:
        return
    table = SampleFacet._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({_KEY}, count, mass_ug) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            f"ON CONFLICT ({_KEY}) DO UPDATE SET count = {table}.count + excluded.count, "
            f"mass_ug = {table}.mass_ug + excluded.mass_ug",
            [(*k, n, m) for k, (n, m) in delta.items()],
        )
