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
    """`selected` maps dimensions to a chosen value (mission by id); absent means any."""
    return facet_counts(SampleFacet.objects.values_list(*_COLUMNS, "count"), selected=selected)


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
