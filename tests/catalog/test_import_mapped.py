"""The generic CSV importer: a mapping file says which column is what."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from moonvault.catalog.importers_mapped import (
    MASS_UNKNOWN,
    mapped_catalog_import,
    mapped_csv_parse,
    mapping_load,
)
from moonvault.catalog.models import Form, Sample
from moonvault.core.errors import DomainError
from moonvault.custody.models import CustodyEvent
from moonvault.custody.verification import custody_verify

DATA = Path(__file__).parent / "data"
CSV_FILE = DATA / "ce5_collection.csv"
TOML_MAPPING = DATA / "ce5_mapping.toml"
JSON_MAPPING = DATA / "ce5_mapping.json"


@pytest.fixture
def mapping():
    return mapping_load(TOML_MAPPING.read_bytes(), name=TOML_MAPPING.name)


def counts():
    return Sample.objects.count(), CustodyEvent.objects.count()


def test_json_and_toml_mappings_read_the_same():
    assert mapping_load(JSON_MAPPING.read_bytes(), name=JSON_MAPPING.name) == mapping_load(
        TOML_MAPPING.read_bytes(), name=TOML_MAPPING.name
    )


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"columns": {"identifier": "ID"}}', "must name the mass column"),
        ('{"columns": {"identifier": "ID", "mass": "M"}}', "give the mission"),
        ('{"columns": {"identifier": "ID", "colour": "C"}}', "unknown field 'colour'"),
        ('{"columns": {}, "extra": {}}', "unknown section 'extra'"),
        ('[columns]\nidentifier = "ID"\nmass = "M"\nlatitude = "Lat"\n[fixed]\nmission = "CE5"\n'
         'form = "powder"\nmass_unit = "g"\n', "latitude and longitude together"),
        ('[fixed]\nmass_unit = "lb"\nmission = "CE5"\nform = "powder"\n[columns]\n'
         'identifier = "ID"\nmass = "M"\n', "mass_unit 'lb' is not one of"),
        ("not = [valid", "neither valid JSON nor valid TOML"),
    ],
)  # fmt: skip
def test_a_bad_mapping_is_refused_with_the_reason(text, why):
    with pytest.raises(DomainError, match=why) as caught:
        mapping_load(text)
    assert caught.value.problems[0].field == "mapping"


def test_rows_become_samples_through_the_mapping(mapping):
    report = mapped_csv_parse(CSV_FILE.read_bytes(), mapping=mapping, allow_unknown_mass=True)
    first, second, core, clast = report.rows
    assert (first.form, first.mass_ug, first.igsn) == (
        Form.SCOOPED_REGOLITH,
        1_520_000,
        "IEXXX0001",
    )
    assert second.mass_ug == 2_004_000
    assert (core.form, core.mass_ug, core.igsn) == (Form.DRILLED_REGOLITH, 350_000, "IEXXX0002")
    assert "Collected at latitude 43.0576, longitude -51.9161." in first.description
    assert clast.mass_unknown and MASS_UNKNOWN in clast.description
    assert report.stray_spaces == 1


def test_a_row_without_a_mass_is_refused_by_default(mapping, mission_ce5, facility):
    report = mapped_csv_parse(CSV_FILE.read_bytes(), mapping=mapping)
    [problem] = report.refused
    assert problem.message.startswith("row 5, column Mass: the mass is missing")
    with pytest.raises(DomainError, match="nothing imported: row 5, column Mass"):
        mapped_catalog_import(actor=None, report=report, mapping=mapping)
    assert counts() == (0, 0)


def test_with_unknown_mass_allowed_the_row_is_imported_at_zero_and_listed_for_weighing(
    mapping, mission_ce5, facility
):
    report = mapped_csv_parse(CSV_FILE.read_bytes(), mapping=mapping, allow_unknown_mass=True)
    outcome = mapped_catalog_import(actor=None, report=report, mapping=mapping)
    assert (outcome.received, outcome.to_weigh) == (4, ["CE5C0800YJYX03501"])
    clast = Sample.objects.get(identifier="CE5C0800YJYX03501")
    assert clast.mass_ug == 0
    assert clast.description.endswith(MASS_UNKNOWN)
    assert Sample.objects.get(identifier="CE5C0400YJFM00505").igsn == "IEXXX0002"
    verification = custody_verify()
    assert verification.ok, verification.problems


def test_the_same_file_twice_changes_nothing(mapping, mission_ce5, facility):
    report = mapped_csv_parse(CSV_FILE.read_bytes(), mapping=mapping, allow_unknown_mass=True)
    mapped_catalog_import(actor=None, report=report, mapping=mapping)
    before = counts()
    again = mapped_catalog_import(actor=None, report=report, mapping=mapping)
    assert (again.received, again.unchanged) == (0, 4)
    assert counts() == before


def test_a_dry_run_lists_every_row_that_cannot_be_imported_and_why(mapping, mission_ce5, facility):
    rows = CSV_FILE.read_text().splitlines()
    rows[1] = rows[1].replace(",g,", ",lb,")
    rows[2] = rows[2].replace("Scoop", "sieve")
    rows.append("CE5C0100YJFM00101,1,g,scoop,regolith,95,0,,duplicate")
    report = mapped_csv_parse("\n".join(rows), mapping=mapping)
    outcome = mapped_catalog_import(actor=None, report=report, mapping=mapping, dry_run=True)
    assert [p.message.split(":")[0] for p in outcome.refused] == [
        "row 2, column Unit",
        "row 3, column Type",
        "row 5, column Mass",
        "row 6, column Sample ID",
        "row 6, column Lat",
    ]
    assert outcome.received == 1
    assert counts() == (0, 0)


def test_an_unknown_mission_and_a_taken_igsn_are_refused_against_the_inventory(
    mapping, mission_ce5, facility, receive
):
    Sample.objects.filter(pk=receive("CE5-OLD", mission_ce5, 1000).pk).update(igsn="IEXXX0002")
    text = CSV_FILE.read_text().replace("CE5C0100YJFM00102", "CE5C0100YJFM00102X")
    report = mapped_csv_parse(text, mapping=mapping, allow_unknown_mass=True)
    outcome = mapped_catalog_import(actor=None, report=report, mapping=mapping, dry_run=True)
    assert [p.message for p in outcome.refused] == [
        "row 4, column IGSN: IGSN IEXXX0002 belongs to another sample"
    ]


def test_a_column_the_mapping_names_must_be_in_the_header(mapping):
    with pytest.raises(DomainError, match=r"row 1: column 'Lat' .* is not in the header"):
        mapped_csv_parse("Sample ID,Mass,Unit,Type,Lithology,Lon,IGSN,Notes\n", mapping=mapping)


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import-samples", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_the_command_dry_run_reports_refusals_and_exits_with_an_error(mission_ce5, facility):
    with pytest.raises(CommandError, match="1 rows cannot be imported"):
        run(str(CSV_FILE), "--format", "mapped", "--mapping", str(TOML_MAPPING), "--dry-run")
    assert counts() == (0, 0)


def test_the_command_imports_with_unknown_mass_allowed(mission_ce5, facility):
    out, err = run(
        str(CSV_FILE),
        "--format",
        "mapped",
        "--mapping",
        str(JSON_MAPPING),
        "--allow-unknown-mass",
        "--progress",
    )
    assert "4 samples were received into MAIN (pool permanent)." in out
    assert "Mass unknown, to be weighed (1): CE5C0800YJYX03501" in out
    assert "4 samples written" in err


def test_the_command_wants_a_mapping_for_the_mapped_format(db):
    with pytest.raises(CommandError, match="--mapping FILE goes with --format mapped"):
        run(str(CSV_FILE), "--format", "mapped")
