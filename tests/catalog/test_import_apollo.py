"""The Apollo catalog importer, on the real published file and on variants built from it."""

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from moonvault.catalog.importers import (
    CaseVariant,
    apollo_catalog_import,
    apollo_csv_parse,
)
from moonvault.catalog.models import Form, Mission, Pool, Sample, StorageLocation
from moonvault.core.errors import Conflict, DomainError
from moonvault.custody.models import CustodyEvent, EventKind
from moonvault.custody.verification import custody_verify
from tests.conftest import GRAM

CATALOG = Path(__file__).resolve().parents[2] / "src/moonvault/catalog/data/apollo_rocksamples.csv"
# Sum of the Weight (g) column, 375,035.99 g.
CATALOG_MASS_UG = 375_035_990_000


@pytest.fixture(scope="module")
def catalog_bytes() -> bytes:
    return CATALOG.read_bytes()


@pytest.fixture(scope="module")
def report(catalog_bytes):
    return apollo_csv_parse(catalog_bytes)


def catalog_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode())))


def as_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


def variant(data: bytes, row: int, column: str, value: str) -> bytes:
    """The catalog with one cell changed; rows are numbered as in a spreadsheet (header = 1)."""
    rows = catalog_rows(data)
    rows[row - 1][rows[0].index(column)] = value
    return as_csv(rows)


def subset(data: bytes, per_mission: int = 3) -> bytes:
    """The header and the first few rows of each mission: enough for tests that need no totals."""
    rows = catalog_rows(data)
    seen: dict[str, int] = {}
    kept = [rows[0]]
    for row in rows[1:]:
        seen[row[1]] = seen.get(row[1], 0) + 1
        if seen[row[1]] <= per_mission:
            kept.append(row)
    return as_csv(kept)


def ledger_counts():
    return Sample.objects.count(), CustodyEvent.objects.count(), Mission.objects.count()


def ledger_verifies():
    verification = custody_verify()
    assert verification.ok, verification.problems
    return verification


# Parsing the real file


def test_parsing_keeps_every_row_of_the_real_catalog_with_its_exact_mass(report):
    assert len(report.rows) == 2229
    assert report.total_mass_ug == CATALOG_MASS_UG
    assert {m: n for m, (n, _) in report.by_mission().items()} == {
        "Apollo11": 67,
        "Apollo12": 68,
        "Apollo14": 207,
        "Apollo15": 364,
        "Apollo16": 767,
        "Apollo17": 756,
    }
    first = report.rows[0]
    assert (first.row, first.identifier, first.mass_ug) == (2, "10001", 125_800_000)


def test_catalog_types_become_forms_and_classifications(report):
    by_id = {r.identifier: r for r in report.rows}
    assert (by_id["10001"].form, by_id["10001"].classification) == (Form.SCOOPED_REGOLITH, "soil")
    assert (by_id["10004"].form, by_id["10004"].classification) == (Form.DRILLED_REGOLITH, "core")
    assert (by_id["10003"].form, by_id["10003"].classification) == (Form.ROCK_FRAGMENT, "basalt")
    assert (by_id["15415"].form, by_id["15415"].classification) == (Form.ROCK_FRAGMENT, "crustal")
    assert (by_id["12023"].form, by_id["12023"].classification) == (Form.ROCK_FRAGMENT, "special")


def test_case_variants_are_normalized_to_the_common_spelling_and_reported(report):
    assert report.case_variants == [
        CaseVariant("Subtype", "Unsieved", {"Unsieved": 271, "unsieved": 17}),
        CaseVariant("Subtype", "Fragmental", {"Fragmental": 208, "fragmental": 21}),
        CaseVariant("Subtype", "unstudied", {"Unstudied": 1, "unstudied": 10}),
    ]
    subtypes = {r.subtype for r in report.rows}
    assert {"Unsieved", "Fragmental"} <= subtypes
    assert not {"unsieved", "fragmental", "Unstudied"} & subtypes


def test_empty_and_unstudied_subtypes_are_reported_by_row(report):
    assert report.empty_subtypes == [91, 357, 1515]
    assert len(report.unstudied) == 12
    assert (405, "unstudied") in report.unstudied
    assert (1427, "notstudied") in report.unstudied


def test_pristinity_above_100_is_kept_as_recorded_and_reported_by_row(report):
    assert len(report.pristinity_over_100) == 18
    assert (426, "15203", Decimal("180")) in report.pristinity_over_100
    assert (52, "10070", Decimal("112.5")) in report.pristinity_over_100
    by_id = {r.identifier: r for r in report.rows}
    assert by_id["15203"].pristinity_pct == Decimal("180")


def test_samples_recorded_as_zero_grams_are_kept_and_reported(report):
    assert len(report.zero_mass) == 35
    assert report.zero_mass[0] == (37, "10054")


def test_the_report_text_names_every_kind_of_anomaly(report):
    text = "\n".join(report.lines())
    assert "2,229 rows, 375,035.99 g in all" in text
    assert "'Unsieved' ×271, 'unsieved' ×17 -> 'Unsieved'" in text
    assert "empty subtype in 3 rows: 91, 357, 1515" in text
    assert "'notstudied' ×1" in text
    assert "row 426 (15203: 180 %)" in text
    assert "weight recorded as 0 g in 35 rows" in text
    assert "duplicate identifiers: none" in text


def test_stray_spaces_are_removed_and_reported(catalog_bytes):
    fixed = apollo_csv_parse(variant(catalog_bytes, 5, "Subtype", "  Unsieved "))
    row = next(r for r in fixed.rows if r.row == 5)
    assert row.subtype == "Unsieved"
    assert fixed.stray_spaces == [(5, "Subtype")]


# Bad rows: the whole file is refused, naming the row, the column and why


BAD_CELLS = [
    (10, "Weight (g)", "", "the mass is missing"),
    (11, "Weight (g)", "12 g", "is not a number"),
    (20, "Weight (g)", "12,5", "decimal point"),
    (12, "Weight (g)", "-3.2", "negative"),
    (13, "Weight (g)", "0.0000001", "not a whole number of micrograms"),
    (14, "Mission", "Apollo13", "unknown mission 'Apollo13'"),
    (15, "Type", "Meteorite", "unknown type 'Meteorite'"),
    (16, "ID", "1001", "not a five-digit Apollo generic number"),
    (17, "ID", "79999", "not an Apollo 11 number"),
    (18, "Pristine (%)", "high", "'high' is not a number"),
    (19, "Pristine (%)", "-1", "zero or more"),
]


@pytest.mark.parametrize(("row", "column", "value", "why"), BAD_CELLS)
def test_a_bad_cell_refuses_the_whole_file_naming_row_and_column(
    catalog_bytes, receive, mission_ce5, row, column, value, why
):
    receive("CE5C0400YJFM00505", mission_ce5, 2 * GRAM)
    before = ledger_counts()
    with pytest.raises(DomainError) as caught:
        apollo_catalog_import(
            actor=None, report=apollo_csv_parse(variant(catalog_bytes, row, column, value))
        )
    [problem] = caught.value.problems
    assert problem.field == column
    assert problem.message.startswith(f"row {row}, column {column}: ")
    assert why in problem.message
    assert ledger_counts() == before


def test_a_duplicate_identifier_names_both_rows(catalog_bytes, facility):
    with pytest.raises(DomainError) as caught:
        apollo_csv_parse(variant(catalog_bytes, 100, "ID", "10001"))
    assert caught.value.problems[0].message == (
        "row 100, column ID: 10001 already appears in row 2"
    )


def test_every_bad_row_is_listed_not_only_the_first(catalog_bytes):
    data = variant(variant(catalog_bytes, 7, "Weight (g)", ""), 2000, "Mission", "Luna16")
    with pytest.raises(DomainError) as caught:
        apollo_csv_parse(data)
    assert [p.message.split(":")[0] for p in caught.value.problems] == [
        "row 7, column Weight (g)",
        "row 2000, column Mission",
    ]
    assert caught.value.message.endswith("(and 1 more)")


def test_a_wrong_header_is_refused_as_row_one(catalog_bytes):
    with pytest.raises(DomainError) as caught:
        apollo_csv_parse(variant(catalog_bytes, 1, "Weight (g)", "Weight (kg)"))
    assert caught.value.problems[0].field == "header"
    assert caught.value.message.startswith("row 1: the header must be")


# Importing into the ledger


def test_import_receives_every_row_into_the_ledger_in_one_operation(report, facility):
    outcome = apollo_catalog_import(actor=None, report=report, reason="catalog import")
    assert (outcome.imported, outcome.location, outcome.pool) == (2229, "MAIN", Pool.PERMANENT)
    assert outcome.missions_created == ["A11", "A12", "A14", "A15", "A16", "A17"]
    events = CustodyEvent.objects.filter(kind=EventKind.RECEIVED)
    assert events.count() == 2229
    assert events.values("operation").distinct().count() == 1
    assert set(Sample.objects.values_list("pool", "location_id", "depth").distinct()) == {
        (Pool.PERMANENT, facility.id, 0)
    }
    verification = ledger_verifies()
    assert sum(book.received for book in verification.accounts.values()) == CATALOG_MASS_UG
    sample = Sample.objects.get(identifier="15203")
    assert (sample.mission.code, sample.mass_ug, sample.pristinity_pct) == (
        "A15",
        200_000,
        Decimal("180"),
    )


def test_missing_apollo_missions_are_created_with_their_landing_facts(catalog_bytes, facility):
    apollo_catalog_import(actor=None, report=apollo_csv_parse(subset(catalog_bytes)))
    a11 = Mission.objects.get(code="A11")
    assert (a11.name, a11.agency, a11.id_convention) == ("Apollo 11", "NASA", "apollo")
    assert (a11.latitude, a11.longitude) == (Decimal("0.6741"), Decimal("23.4730"))
    assert str(a11.landed_on) == "1969-07-20"
    assert a11.returned_mass_ug == 21_550 * GRAM
    a12 = Mission.objects.get(code="A12")
    assert (a12.latitude, a12.longitude) == (Decimal("-3.0124"), Decimal("-23.4216"))
    returned = sum(Mission.objects.values_list("returned_mass_ug", flat=True))
    assert returned == 382_190 * GRAM


def test_an_existing_mission_is_used_as_it_is(catalog_bytes, facility, mission_a17):
    outcome = apollo_catalog_import(actor=None, report=apollo_csv_parse(subset(catalog_bytes)))
    assert "A17" not in outcome.missions_created
    assert Sample.objects.filter(mission=mission_a17).count() == 3


def test_pool_and_location_can_be_chosen(catalog_bytes, facility, cabinet):
    apollo_catalog_import(
        actor=None,
        report=apollo_csv_parse(subset(catalog_bytes)),
        pool=Pool.RESEARCH,
        location_code=cabinet.code,
    )
    assert set(Sample.objects.values_list("pool", "location_id").distinct()) == {
        (Pool.RESEARCH, cabinet.id)
    }


def test_an_identifier_already_in_the_inventory_refuses_the_whole_file(
    catalog_bytes, facility, receive, mission_a17
):
    receive("74220", mission_a17, GRAM)
    before = ledger_counts()
    with pytest.raises(Conflict) as caught:
        apollo_catalog_import(actor=None, report=apollo_csv_parse(catalog_bytes))
    [problem] = caught.value.problems
    assert problem.field == "ID"
    assert problem.message.startswith("row 1860, column ID: sample 74220 is already in")
    assert ledger_counts() == before


def test_importing_the_same_file_twice_imports_nothing_the_second_time(catalog_bytes, facility):
    data = subset(catalog_bytes)
    apollo_catalog_import(actor=None, report=apollo_csv_parse(data))
    before = ledger_counts()
    with pytest.raises(Conflict) as caught:
        apollo_catalog_import(actor=None, report=apollo_csv_parse(data))
    assert len(caught.value.problems) == 18
    assert ledger_counts() == before
    ledger_verifies()


def test_a_dry_run_checks_everything_and_writes_nothing(report, facility):
    outcome = apollo_catalog_import(actor=None, report=report, dry_run=True)
    assert (outcome.imported, outcome.dry_run) == (0, True)
    assert outcome.missions_created == ["A11", "A12", "A14", "A15", "A16", "A17"]
    assert ledger_counts() == (0, 0, 0)


def test_without_a_main_facility_the_import_asks_for_a_location(report, db):
    StorageLocation.objects.create(
        code="BACKUP", name="Backup site", kind="facility", site=StorageLocation.Site.BACKUP
    )
    with pytest.raises(DomainError) as caught:
        apollo_catalog_import(actor=None, report=report)
    assert caught.value.problems[0].field == "location"
    assert "no main facility" in caught.value.message


# The command


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import-samples", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_imports_the_file_and_prints_the_report(catalog_bytes, facility, tmp_path):
    small = tmp_path / "catalog.csv"
    small.write_bytes(subset(catalog_bytes))
    out, _ = run(str(small), "--format", "apollo-csv")
    assert "Imported 18 samples into MAIN (pool permanent)" in out
    assert "'Unsieved' ×10, 'unsieved' ×3 -> 'Unsieved', 3 respelled" in out
    assert "Missions created: A11, A12, A14, A15, A16, A17" in out
    assert Sample.objects.count() == 18


def test_the_command_dry_run_imports_nothing(facility):
    out, _ = run(str(CATALOG), "--format", "apollo-csv", "--dry-run", "--pool", "research")
    assert "Dry run: 2,229 samples would be received into MAIN (pool research)" in out
    assert ledger_counts() == (0, 0, 0)


def test_the_command_fails_with_exit_code_1_naming_the_bad_row(catalog_bytes, facility, tmp_path):
    bad = tmp_path / "catalog.csv"
    bad.write_bytes(variant(catalog_bytes, 42, "Weight (g)", "-1"))
    with pytest.raises(CommandError) as caught:
        run(str(bad), "--format", "apollo-csv")
    assert caught.value.returncode == 1
    assert "row 42, column Weight (g)" in str(caught.value)
    assert ledger_counts() == (0, 0, 0)


def test_the_command_fails_clearly_without_a_main_facility(db):
    with pytest.raises(CommandError, match="no main facility"):
        run(str(CATALOG), "--format", "apollo-csv")


def test_the_command_fails_clearly_on_an_unreadable_file(db, tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        run(str(tmp_path / "missing.csv"), "--format", "apollo-csv")
