"""Large imports: batches, the facet table, indexes, re-runs, all-or-nothing, progress.

The batch size and the index-rebuild threshold are made small, so that a few hundred rows take
every path a million-row import takes: several batches, the facet delta per batch instead of the
per-row trigger, secondary indexes dropped and built again.
"""

import io
import multiprocessing
import os
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from moonvault.catalog import importers_mapped
from moonvault.catalog.facets import sample_facets_drift
from moonvault.catalog.importers_mapped import MappedReport, RootRow, refusal, rows_read_aside
from moonvault.catalog.models import Mission, Pool, Sample
from moonvault.catalog.text_index import sample_text_exact, sample_text_filter
from moonvault.core.errors import Conflict, DomainError
from moonvault.custody import bulk
from moonvault.custody.models import CustodyEvent
from moonvault.custody.verification import custody_verify
from tests.conftest import GRAM

ROWS = 230
BATCH = 50
MAPPING = """[columns]
identifier = "Sample ID"
mission = "Mission"
form = "Type"
mass = "Mass"
mass_unit = "Unit"
igsn = "IGSN"
"""


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    monkeypatch.setattr(importers_mapped, "FLUSH_ROWS", BATCH)
    monkeypatch.setattr(importers_mapped, "ASIDE_ROWS", 7)
    monkeypatch.setattr(bulk, "DEFER_INDEXES_MIN_ROWS", 20)


@pytest.fixture
def missions(mission_ce5):
    ce6 = Mission.objects.create(
        code="CE6", name="Chang'e-6", agency="CNSA", returned_mass_ug=1935 * GRAM
    )
    return mission_ce5, ce6


def catalog(tmp_path, rows=ROWS, *, last=None, igsn_every=7):
    lines = ["Sample ID,Mission,Type,Mass,Unit,IGSN"]
    for n in range(1, rows + 1):
        form = ("powder", "particle", "thin_section")[n % 3]
        igsn = f"IEBLK{n:04d}" if n % igsn_every == 0 else ""
        lines.append(f"BULK{n:05d},{('CE5', 'CE6')[n % 2]},{form},{n}.5,mg,{igsn}")
    if last is not None:
        lines[-1] = last
    path = tmp_path / "catalog.csv"
    path.write_text("\n".join(lines) + "\n")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING)
    return path, mapping


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run(path, mapping, *args, stderr=None):
    out, err = io.StringIO(), stderr or io.StringIO()
    call_command(
        "import-samples", str(path), "--format", "mapped", "--mapping", str(mapping), *args,
        stdout=out, stderr=err,
    )  # fmt: skip
    return out.getvalue(), err.getvalue()


def counts():
    return Sample.objects.count(), CustodyEvent.objects.count()


def schema():
    """The sample and event tables' triggers and indexes, as the database has them."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename IN "
                "('catalog_sample', 'custody_custodyevent') UNION ALL "
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger') "
                "AND tbl_name IN ('catalog_sample', 'custody_custodyevent')"
            )
        return sorted(name for (name,) in cursor.fetchall())


def assert_exact_and_verified():
    assert sample_facets_drift() == []
    assert sample_text_exact()
    verification = custody_verify()
    assert verification.ok, verification.problems


def test_a_bulk_import_keeps_the_facet_table_equal_to_a_recount(
    tmp_path, missions, facility, receive
):
    ce5, _ = missions
    receive("CE5-EARLIER-1", ce5, 3 * GRAM)
    receive("CE5-EARLIER-2", ce5, 2 * GRAM)
    before = schema()
    path, mapping = catalog(tmp_path)
    out, _ = run(path, mapping)
    assert f"{ROWS} samples were received into MAIN (pool permanent)." in out
    assert counts() == (ROWS + 2, ROWS + 2)
    assert_exact_and_verified()
    assert schema() == before
    # The per-row trigger is back: an ordinary service keeps the table exact again.
    receive("CE5-LATER", ce5, GRAM)
    assert sample_facets_drift() == []


def test_the_imported_samples_carry_the_file_values(tmp_path, missions, facility):
    path, mapping = catalog(tmp_path)
    run(path, mapping, "--pool", Pool.RESEARCH)
    sample = Sample.objects.get(identifier="BULK00007")
    assert (sample.mission.code, sample.form, sample.mass_ug, sample.igsn, sample.pool) == (
        "CE6",
        "particle",
        7_500,
        "IEBLK0007",
        Pool.RESEARCH,
    )
    assert CustodyEvent.objects.values("operation").distinct().count() == 1


def test_a_second_run_of_the_same_file_changes_nothing(tmp_path, missions, facility):
    path, mapping = catalog(tmp_path)
    run(path, mapping)
    before = counts()
    out, _ = run(path, mapping)
    assert f"{ROWS} samples are already in the inventory and were left unchanged." in out
    assert "Nothing changed" in out
    assert counts() == before
    assert_exact_and_verified()


def test_a_file_that_grew_imports_only_its_new_rows(tmp_path, missions, facility):
    path, mapping = catalog(tmp_path, rows=120)
    run(path, mapping)
    path, mapping = catalog(tmp_path)
    out, _ = run(path, mapping)
    assert "120 samples are already in the inventory" in out
    assert f"{ROWS - 120} samples were received" in out
    assert counts() == (ROWS, ROWS)
    assert_exact_and_verified()


@pytest.mark.parametrize(
    ("last", "why"),
    [
        ("BULK00230,CE5,powder,lots,mg,", "row 231, column Mass"),
        ("BULK00230,CE9,powder,1,mg,", "row 231, column Mission: unknown mission 'CE9'"),
        ("BULK00001,CE5,powder,1,mg,", "row 231, column Sample ID: BULK00001 already appears"),
    ],
)
def test_a_bad_row_in_the_last_batch_leaves_nothing_behind(
    tmp_path, missions, facility, receive, last, why
):
    receive("CE5-EARLIER", missions[0], GRAM)
    before, layout = counts(), schema()
    path, mapping = catalog(tmp_path, last=last)
    with pytest.raises(CommandError, match=why):
        run(path, mapping)
    assert counts() == before
    assert schema() == layout
    assert_exact_and_verified()


def test_an_igsn_taken_in_the_inventory_refuses_the_file_at_its_last_row(
    tmp_path, missions, facility, receive
):
    Sample.objects.filter(pk=receive("CE5-OLD", missions[0], GRAM).pk).update(igsn="IEBLK9999")
    before = counts()
    path, mapping = catalog(tmp_path, last="BULK00230,CE5,powder,1,mg,IEBLK9999")
    with pytest.raises(CommandError, match="row 231, column IGSN: IGSN IEBLK9999 belongs to"):
        run(path, mapping)
    assert counts() == before
    assert_exact_and_verified()


def test_the_lookup_of_taken_igsns_uses_their_partial_index(
    tmp_path, monkeypatch, missions, facility
):
    """Without the index's own condition in the query neither planner uses the index, and each
    batch scans every sample (on SQLite 150-170 ms a batch against 1,000,000 samples, 1 ms
    through the index).
    PostgreSQL sees the condition implied by a list of up to 100 values, so the batch has more."""
    monkeypatch.setattr(importers_mapped, "FIRST_ROWS", 150)
    monkeypatch.setattr(importers_mapped, "FLUSH_ROWS", 150)
    path, mapping = catalog(tmp_path, rows=150, igsn_every=1)
    with CaptureQueriesContext(connection) as captured:
        run(path, mapping, "--dry-run")
    (lookup, *_) = [q["sql"] for q in captured if q["sql"].startswith("SELECT igsn FROM")]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The test table is small enough to scan; the question is whether the index can serve.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {lookup}")
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {lookup}")
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "sample_igsn_unique" in plan, plan


def test_a_dry_run_of_a_large_file_lists_every_refusal_and_writes_nothing(
    tmp_path, missions, facility
):
    path, mapping = catalog(tmp_path, last="BULK00230,CE5,powder,lots,mg,")
    path.write_text(path.read_text().replace("BULK00011,CE6", "BULK00011,CE9"))
    with pytest.raises(CommandError, match="2 rows cannot be imported"):
        run(path, mapping, "--dry-run")
    assert counts() == (0, 0)


def test_progress_shows_rows_and_rate_per_batch_when_asked(tmp_path, missions, facility):
    path, mapping = catalog(tmp_path)
    _, err = run(path, mapping, "--progress")
    lines = err.splitlines()
    assert [line.split(" samples")[0].strip() for line in lines] == [
        "50",
        "100",
        "150",
        "200",
        "230",
    ]
    assert all(line.endswith(" rows/s") for line in lines)


def test_progress_is_quiet_when_stderr_is_not_a_terminal(tmp_path, missions, facility):
    path, mapping = catalog(tmp_path)
    _, err = run(path, mapping)
    assert err == ""


def test_progress_redraws_one_line_on_a_terminal_unless_quiet(tmp_path, missions, facility):
    path, mapping = catalog(tmp_path)
    _, err = run(path, mapping, stderr=Terminal())
    assert err.count("\r") == 5
    assert "\r  230 samples written, " in err
    assert err.endswith("\n")


def test_quiet_silences_progress_even_on_a_terminal(tmp_path, missions, facility):
    path, mapping = catalog(tmp_path)
    _, err = run(path, mapping, "--quiet", stderr=Terminal())
    assert err == ""
    assert counts() == (ROWS, ROWS)


def test_a_file_that_is_not_utf8_is_refused_clearly(tmp_path, missions, facility):
    path, mapping = catalog(tmp_path)
    path.write_bytes(path.read_bytes() + b"BULK99999,CE5,powder,1,mg,\xff\n")
    with pytest.raises(CommandError, match="not UTF-8"):
        run(path, mapping)
    assert counts() == (0, 0)


# The reading process (rows_read_aside), on its own: what it sends is what a reader in this
# process would give, and its end, however it comes, leaves no process or thread behind.


def rows_of(count, report, *, then=None):
    """A reader like mapped_csv_read: rows, a refusal every tenth row, and `then` at the end."""
    for n in range(1, count + 1):
        if n % 10 == 0:
            report.refused.append(refusal(n, "Mass", f"bad mass in row {n}"))
            continue
        report.usable += 1
        yield RootRow(row=n, identifier=f"S{n}", mission="CE5", form="powder", mass_ug=n)
    if then is not None:
        then(report)


def no_new_threads(before: set[threading.Thread]) -> bool:
    # Compared as sets: threads that other tests left behind may end meanwhile.
    return set(threading.enumerate()) <= before


def read_aside(count, *, then=None):
    report = MappedReport()
    before = set(threading.enumerate())
    try:
        return report, list(rows_read_aside(rows_of(count, report, then=then), report))
    finally:
        assert multiprocessing.active_children() == []
        assert no_new_threads(before)


def test_rows_read_aside_arrive_in_order_with_the_report_filled():
    report, rows = read_aside(100)
    assert [r.row for r in rows] == [n for n in range(1, 101) if n % 10]
    assert rows[0] == RootRow(row=1, identifier="S1", mission="CE5", form="powder", mass_ug=1)
    assert report.usable == 90
    assert [p.message for p in report.refused] == [
        f"row {n}, column Mass: bad mass in row {n}" for n in range(10, 101, 10)
    ]


def test_a_domain_error_of_the_reader_is_raised_with_its_problems_after_its_rows():
    def fail(report):
        raise Conflict("the file is wrong", problems=[refusal(99, "ID", "taken")])

    report = MappedReport()
    seen = []
    with pytest.raises(Conflict) as raised:
        for r in rows_read_aside(rows_of(20, report, then=fail), report):
            seen.append(r.row)
    assert seen == [n for n in range(1, 21) if n % 10]
    assert raised.value.message == "the file is wrong"
    assert [p.message for p in raised.value.problems] == ["row 99, column ID: taken"]
    assert len(report.refused) == 2
    assert multiprocessing.active_children() == []


def test_a_reader_that_dies_is_a_clear_error_not_a_hang():
    with pytest.raises(DomainError, match=r"reading the file stopped unexpectedly \(exit code 3\)"):
        read_aside(30, then=lambda report: os._exit(3))


def test_stopping_early_ends_the_reader_and_its_thread():
    report = MappedReport()
    before = set(threading.enumerate())
    rows = rows_read_aside(rows_of(1000, report), report)
    assert next(rows).row == 1
    rows.close()
    assert multiprocessing.active_children() == []
    assert no_new_threads(before)


def test_a_load_that_outnumbers_the_inventory_indexes_its_text_in_one_pass(
    tmp_path, missions, facility
):
    lines = ["Sample ID,Mission,Type,Mass,Unit,Lithology"]
    lines += [
        f"TXT{n:05d},CE5,powder,{n},mg,{('Mare basalt', 'Regolith breccia')[n % 2]}"
        for n in range(1, ROWS + 1)
    ]
    path = tmp_path / "catalog.csv"
    path.write_text("\n".join(lines) + "\n")
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(MAPPING.replace('igsn = "IGSN"', 'classification = "Lithology"'))
    run(path, mapping)
    assert sample_text_exact()
    found = Sample.objects.filter(sample_text_filter("basalt"))
    assert sorted(found.values_list("identifier", flat=True)) == [
        f"TXT{n:05d}" for n in range(1, ROWS + 1) if n % 2 == 0
    ]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            assert cursor.fetchone() == (-2000,)  # the load's larger cache is given back


def test_small_batches_that_add_up_to_a_large_load_still_rebuild_the_indexes_once(
    tmp_path, monkeypatch, missions, facility
):
    monkeypatch.setattr(importers_mapped, "FLUSH_ROWS", 10)  # each batch under the threshold
    rebuilt = []
    rebuild = bulk.BulkLedger._indexes_rebuild

    def recorded(writer):
        rebuilt.extend(writer.deferred)
        rebuild(writer)

    monkeypatch.setattr(bulk.BulkLedger, "_indexes_rebuild", recorded)
    before = schema()
    path, mapping = catalog(tmp_path)
    run(path, mapping)
    assert sorted(rebuilt) == ["catalog_sample", "custody_custodyevent"]
    assert counts() == (ROWS, ROWS)
    assert schema() == before
    assert_exact_and_verified()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the COPY thread is PostgreSQL's")
def test_a_copy_that_fails_in_its_thread_is_the_error_raised_and_leaves_nothing(
    tmp_path, monkeypatch, missions, facility
):
    import psycopg

    copy_rows = bulk._copy_rows
    calls = []

    def doubled(raw, table, columns, rows, types):
        calls.append(table)
        if len(calls) == 4:  # the second batch's events, one of them twice
            rows = [*rows, rows[0]]
        copy_rows(raw, table, columns, rows, types)

    monkeypatch.setattr(bulk, "_copy_rows", doubled)
    before = schema()
    path, mapping = catalog(tmp_path)
    with pytest.raises(psycopg.errors.UniqueViolation):
        run(path, mapping)
    assert counts() == (0, 0)
    assert schema() == before
    assert not [t for t in threading.enumerate() if t.name == "bulk-copy"]
    assert_exact_and_verified()
