"""The NASA lunar sample catalog layout, JSON and CSV, on a small file of real Apollo generics."""

import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from moonvault.catalog.importers_nasa import (
    nasa_catalog_import,
    nasa_csv_parse,
    nasa_json_parse,
)
from moonvault.catalog.models import Form, Mission, Pool, Sample
from moonvault.catalog.services import ChildSpec, sample_split
from moonvault.core.errors import DomainError
from moonvault.custody.models import CustodyEvent, EventKind
from moonvault.custody.verification import custody_verify

DATA = Path(__file__).parent / "data"
JSON_FILE = DATA / "nasa_catalog.json"
CSV_FILE = DATA / "nasa_catalog.csv"
# Sum of ORIGINALWEIGHT in both files: 64,407.7 g.
FILE_MASS_UG = 64_407_700_000
DISPLAYS = ["10057,2", "10084,48", "14321,1002", "14321,1003", "15415,9", "15555,997",
            "70017,290", "74220,97"]  # fmt: skip


def counts():
    return Sample.objects.count(), CustodyEvent.objects.count(), Mission.objects.count()


def json_records() -> list[dict]:
    return json.loads(JSON_FILE.read_text())


def json_bytes(records) -> bytes:
    return json.dumps(records).encode()


@pytest.mark.parametrize("parse,path", [(nasa_json_parse, JSON_FILE), (nasa_csv_parse, CSV_FILE)])
def test_both_forms_of_the_catalog_read_the_same_rows(parse, path):
    report = parse(path.read_bytes())
    assert len(report.rows) == 20
    assert not report.refused
    assert sum(r.mass_ug for r in report.rows) == FILE_MASS_UG
    assert sorted(d for r in report.rows for d in r.displays) == sorted(DISPLAYS)
    by_id = {r.identifier: r for r in report.rows}
    assert (by_id["74220"].form, by_id["74220"].classification) == (Form.SCOOPED_REGOLITH, "soil")
    assert by_id["15016"].mass_ug == 923_700_000
    assert by_id["70017"].pristinity_pct == Decimal("79.52")


def test_capitalisation_and_stray_spaces_are_normalized_and_reported():
    report = nasa_csv_parse(CSV_FILE.read_bytes())
    by_id = {r.identifier: r for r in report.rows}
    assert by_id["71055"].subtype == "Ilmenite"
    assert by_id["62255"].subtype == "Fragmental"
    assert by_id["66095"].subtype == "ImpactMelt"
    assert by_id["78235"].mission == "Apollo17"
    assert "Sculptured Hills" in by_id["78235"].description
    text = "\n".join(report.lines())
    assert "spellings of MISSION: 'APOLLO 12' ×1, 'Apollo 12' ×1 -> 'Apollo12'" in text
    assert "spellings of SAMPLETYPE: 'Basalt' ×6, 'basalt' ×1 -> 'Basalt'" in text
    assert "'ImpactMelt' ×2, 'Impactmelt' ×1 -> 'ImpactMelt'" in text
    assert (18, "SAMPLESUBTYPE") in report.stray_spaces
    assert (21, "MISSION") in report.stray_spaces
    assert "stray spaces removed in 3 cells, rows 18, 21" in text


def test_a_misspelled_field_name_in_json_is_read_and_reported():
    report = nasa_json_parse(JSON_FILE.read_bytes())
    assert report.renamed_fields == {"Generic": "GENERIC"}
    assert "12002" in {r.identifier for r in report.rows}


def test_station_landmark_bag_and_dates_become_the_description():
    by_id = {r.identifier: r for r in nasa_json_parse(JSON_FILE.read_bytes()).rows}
    assert by_id["15415"].description == (
        "Genesis Rock, ferroan anorthosite\n"
        "Collection site: station 7; landmark Spur crater; bag 196.\n"
        "Pristinity assessed on 2005-01-01.\n"
        "Thin sections exist (NASA catalog)."
    )
    assert "Pristinity assessed on 2005-01-01." in by_id["70017"].description


def test_the_import_receives_generics_and_splits_display_samples_into_the_public_pool(facility):
    outcome = nasa_catalog_import(actor=None, report=nasa_json_parse(JSON_FILE.read_bytes()))
    assert (outcome.received, outcome.displays, outcome.unchanged) == (20, 8, 0)
    assert outcome.missions_created == ("A11", "A12", "A14", "A15", "A16", "A17")
    display = Sample.objects.get(identifier="74220,97")
    assert display.parent.identifier == "74220"
    assert (display.pool, display.mass_ug, display.depth) == (Pool.PUBLIC_BENEFIT, 0, 1)
    assert "Mass unknown" in display.description
    assert outcome.to_weigh == DISPLAYS
    assert Sample.objects.get(identifier="74220").mass_ug == 1_171_000_000
    assert CustodyEvent.objects.filter(kind=EventKind.SPLIT_OFF).count() == 8
    verification = custody_verify()
    assert verification.ok, verification.problems
    assert sum(b.received for b in verification.accounts.values()) == FILE_MASS_UG


def test_a_later_split_of_a_generic_does_not_reuse_a_display_number(facility):
    nasa_catalog_import(actor=None, report=nasa_csv_parse(CSV_FILE.read_bytes()))
    generic = Sample.objects.get(identifier="70017")
    [child] = sample_split(actor=None, sample_id=generic.pk, children=[ChildSpec(mass_ug=1000)])
    assert child.identifier == "70017,291"


def test_the_same_file_twice_changes_nothing_and_says_so(facility):
    nasa_catalog_import(actor=None, report=nasa_csv_parse(CSV_FILE.read_bytes()))
    before = counts()
    again = nasa_catalog_import(actor=None, report=nasa_json_parse(JSON_FILE.read_bytes()))
    assert (again.received, again.displays, again.unchanged) == (0, 0, 28)
    assert "Nothing changed" in "\n".join(again.lines())
    assert counts() == before


def test_a_bad_record_refuses_the_whole_file_naming_record_and_field(facility):
    records = json_records()
    records[4]["ORIGINALWEIGHT"] = "heavy"
    records[7]["PRISTINITYDATE"] = "sometime in 2005"
    records[9]["DISPLAYSAMPLENUMBER"] = "70017,5"
    report = nasa_json_parse(json_bytes(records))
    with pytest.raises(DomainError) as caught:
        nasa_catalog_import(actor=None, report=report)
    messages = [p.message for p in caught.value.problems]
    assert messages[0].startswith("record 5, column ORIGINALWEIGHT: ")
    assert messages[1].startswith("record 8, column PRISTINITYDATE: ")
    assert messages[2] == (
        "record 10, column DISPLAYSAMPLENUMBER: '70017,5' is not a split number of 15555 "
        "(290 or 15555,290)"
    )
    assert counts() == (0, 0, 0)


def test_a_missing_weight_is_refused_unless_unknown_mass_is_allowed(facility):
    records = json_records()
    records[0]["ORIGINALWEIGHT"] = None
    with pytest.raises(DomainError, match="record 1, column ORIGINALWEIGHT: the weight is missing"):
        nasa_catalog_import(actor=None, report=nasa_json_parse(json_bytes(records)))
    report = nasa_json_parse(json_bytes(records), allow_unknown_mass=True)
    outcome = nasa_catalog_import(actor=None, report=report)
    assert outcome.to_weigh[0] == "10017"
    assert Sample.objects.get(identifier="10017").mass_ug == 0


def test_a_generic_under_another_mission_refuses_the_file(facility, receive, mission_ce5):
    receive("74220", mission_ce5, 1000)
    before = counts()
    with pytest.raises(DomainError) as caught:
        nasa_catalog_import(actor=None, report=nasa_csv_parse(CSV_FILE.read_bytes()))
    assert caught.value.problems[0].message.startswith("row 19, column GENERIC: 74220 is already")
    assert counts() == before


def test_a_dry_run_reports_and_writes_nothing(facility):
    outcome = nasa_catalog_import(
        actor=None, report=nasa_csv_parse(CSV_FILE.read_bytes()), dry_run=True
    )
    assert (outcome.received, outcome.displays, outcome.dry_run) == (20, 8, True)
    assert counts() == (0, 0, 0)


def test_a_csv_without_the_layouts_header_is_refused_as_row_one():
    with pytest.raises(DomainError, match="row 1: the header lacks GENERIC, ORIGINALWEIGHT"):
        nasa_csv_parse(b"ID,MISSION,WEIGHT,SAMPLETYPE\n70017,Apollo 17,2957,Basalt\n")


def test_a_json_file_that_is_not_a_list_is_refused():
    with pytest.raises(DomainError, match="JSON list"):
        nasa_json_parse(b'{"GENERIC": "70017"}')


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import-samples", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_imports_with_progress_and_a_second_run_changes_nothing(facility):
    out, err = run(str(JSON_FILE), "--format", "nasa-json", "--progress")
    assert "20 samples were received into MAIN (pool permanent), 8 display samples" in out
    assert "20 of 20 samples written (100 %)" in err
    out, _ = run(str(CSV_FILE), "--format", "nasa-csv")
    assert "28 samples are already in the inventory and were left unchanged." in out
    assert "Nothing changed" in out


def test_the_command_fails_naming_the_bad_row(facility, tmp_path):
    bad = tmp_path / "catalog.csv"
    bad.write_text(CSV_FILE.read_text().replace("Basalt,Olivine", "Meteorite,Olivine", 1))
    with pytest.raises(CommandError, match="row 5, column SAMPLETYPE: unknown type 'Meteorite'"):
        run(str(bad), "--format", "nasa-csv")
    assert counts() == (0, 0, 0)
