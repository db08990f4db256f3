"""Hostile and broken input: every importer and every form, fed malformed, huge, negative,
look-alike, invisible and injection-shaped values. Each is refused with an error naming where the
problem is, and changes nothing; or it is accepted as what it says. CSV exports quote cells that a
spreadsheet would run as a formula."""

import csv
import io
import json
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moonvault.catalog.importers import apollo_catalog_import, apollo_csv_parse
from moonvault.catalog.importers_mapped import mapped_catalog_import, mapped_csv_parse, mapping_load
from moonvault.catalog.importers_nasa import nasa_catalog_import, nasa_csv_parse, nasa_json_parse
from moonvault.core.errors import DomainError
from moonvault.core.units import MAX_MASS_UG
from moonvault.custody.selectors import ledger_head
from tests.security.test_permission_matrix import PAGES
from tests.security.world import world_in_one_transaction

DATA = Path(__file__).resolve().parents[1] / "catalog/data"
APOLLO = (
    "ID,Mission,Type,Subtype,Weight (g),Pristine (%)\n"
    "10001,Apollo11,Soil,Unsieved,125.8,88.36\n"
    "10002,Apollo11,Soil,Unsieved,5629,93.73\n"
)

NASTY = [
    # malformed, negative, huge, tiny
    *("", " ", "-1", "-0.000001", "0", "1e308", "1e999999999", "1e-999999999", "NaN", "Infinity"),
    *("9" * 400, "x" * 5000),
    # fullwidth and Arabic-Indic digits, a letter for a digit, Cyrillic look-alikes
    *("１２５", "٨٨", "7400l", "7４001", "АРОLLО11", "Ѕoil"),
    # invisible, right-to-left, NUL, byte-order mark
    *("74001\u200b", "\u202e10001", "\u200f74001", "10001\x00", "\x00", "\ufeff10001"),
    # injection-shaped: SQL, HTML, CSV formulas, format strings, templates, paths
    *("'; DROP TABLE catalog_sample; --", "1 OR 1=1", "<script>alert(1)</script>"),
    *("=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "-2+3", '"', "\r\n", "%s%n", "{{7*7}}"),
    "../../etc/passwd",
]
hostile = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))


# The rows a form or an import could add: the inventory, the rounds, the loans, the people.
WATCHED = (
    "catalog.Mission",
    "catalog.Sample",
    "catalog.StorageLocation",
    "calls.Call",
    "calls.Proposal",
    "review.Assignment",
    "review.Review",
    "review.ConflictDeclaration",
    "allocation.Allocation",
    "loans.Loan",
    "loans.Shipment",
    "loans.Exhibition",
    "loans.Incident",
    "loans.StockCheck",
    "loans.Publication",
    "accounts.Institution",
    "accounts.Person",
    "accounts.ApiToken",
)


def _snapshot() -> tuple:
    counts = tuple(apps.get_model(name).objects.count() for name in WATCHED)
    head = ledger_head()
    return counts, head.seq, head.hash


def _mutate(text: str, row: int, column: int, value: str) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    rows[row][column] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _clean_identifier(identifier: str) -> bool:
    return identifier.isascii() and identifier.isprintable() and " " not in identifier


def _accepted_rows_are_sound(rows) -> None:
    for r in rows:
        assert _clean_identifier(r.identifier), r.identifier
        assert isinstance(r.mass_ug, int) and 0 <= r.mass_ug <= MAX_MASS_UG


def _names_its_place(problem, fields) -> bool:
    """A problem names its column, or the file, or (a row of the wrong shape) its row."""
    return problem.field in fields or (problem.field is None and "row" in problem.message)


def _run_import(parse, import_, data, fields, **parse_kwargs):
    """Parse and import; on any refusal, each problem names a column (or the file) and nothing
    changed. Returns the report when everything was accepted."""
    before = _snapshot()
    try:
        report = parse(data, **parse_kwargs)
        refused = getattr(report, "refused", [])
        for problem in refused:
            assert _names_its_place(problem, fields), (problem.field, problem.message)
        _accepted_rows_are_sound(report.rows)
        import_(report)
    except DomainError as exc:
        assert exc.problems, "an error names at least one problem"
        for problem in exc.problems:
            assert _names_its_place(problem, fields), (problem.field, problem.message)
        assert _snapshot() == before
        return None
    return report


pytestmark = pytest.mark.django_db
RELAXED = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@RELAXED
@given(row=st.integers(1, 2), column=st.integers(0, 5), value=hostile)
def test_apollo_catalog_refuses_hostile_cells_naming_the_column(facility, row, column, value):
    header = APOLLO.splitlines()[0].split(",")
    data = _mutate(APOLLO, row, column, value)
    fields = {*header, "file", "header"}
    _run_import(
        apollo_csv_parse,
        lambda report: apollo_catalog_import(actor=None, report=report),
        data.encode(),
        fields,
    )


def _nasa_text(rows: int = 2) -> str:
    return "\n".join((DATA / "nasa_catalog.csv").read_text().splitlines()[: rows + 1]) + "\n"


@RELAXED
@given(row=st.integers(1, 2), column=st.integers(0, 14), value=hostile)
def test_nasa_csv_refuses_hostile_cells_naming_the_column(facility, row, column, value):
    text = _nasa_text()
    header = next(csv.reader(io.StringIO(text)))
    _run_import(
        nasa_csv_parse,
        lambda report: nasa_catalog_import(actor=None, report=report),
        _mutate(text, row, column, value),
        {*header, "file", "header"},
    )


@RELAXED
@given(
    record=st.integers(0, 1),
    key=st.sampled_from(["GENERIC", "MISSION", "ORIGINALWEIGHT", "SAMPLETYPE", "PRISTINITY"]),
    value=st.one_of(hostile, st.integers(), st.floats(), st.none(), st.booleans()),
)
def test_nasa_json_refuses_hostile_values_naming_the_field(facility, record, key, value):
    records = json.loads((DATA / "nasa_catalog.json").read_text())[:2]
    records[record][key] = value
    fields = {*records[0], "file"}
    _run_import(
        nasa_json_parse,
        lambda report: nasa_catalog_import(actor=None, report=report),
        json.dumps(records),
        fields,
    )


@RELAXED
@given(row=st.integers(1, 2), column=st.integers(0, 8), value=hostile)
def test_mapped_csv_refuses_hostile_cells_naming_the_column(
    facility, mission_ce5, row, column, value
):
    mapping = mapping_load((DATA / "ce5_mapping.json").read_text(), name="ce5_mapping.json")
    text = "\n".join((DATA / "ce5_collection.csv").read_text().splitlines()[:3]) + "\n"
    header = next(csv.reader(io.StringIO(text)))
    _run_import(
        mapped_csv_parse,
        lambda report: mapped_catalog_import(actor=None, report=report, mapping=mapping),
        _mutate(text, row, column, value),
        {*header, "file", "header", "[fixed] mission"},
        mapping=mapping,
    )


def test_a_file_with_nul_is_refused_as_not_text(facility):
    before = _snapshot()
    with pytest.raises(DomainError) as caught:
        apollo_csv_parse(APOLLO.replace("Soil", "So\x00il", 1).encode())
    assert caught.value.problems[0].field == "file"
    assert _snapshot() == before


def test_look_alike_identifiers_are_refused_by_the_mapped_importer(facility, mission_ce5):
    mapping = mapping_load((DATA / "ce5_mapping.json").read_text(), name="ce5_mapping.json")
    text = "\n".join((DATA / "ce5_collection.csv").read_text().splitlines()[:2]) + "\n"
    for spoof in ("CE5C0100YJFM0010\u0031\u200b", "СЕ5C0100YJFM00101", "\u202eCE5C0100YJFM00101"):
        report = mapped_csv_parse(_mutate(text, 1, 0, spoof), mapping=mapping)
        assert not report.rows
        assert [p.field for p in report.refused] == ["Sample ID"]
        assert "printable ASCII" in report.refused[0].message


# --- forms ------------------------------------------------------------------------------------

world = pytest.fixture(scope="module")(world_in_one_transaction)

# Which role fills in each form: the one the permission table lets post it.
FORM_ROUTES = sorted(name for name, page in PAGES.items() if page.post and page.get)
ROLE_FOR = {
    name: next(
        r for r in ("applicant", "reviewer", "curator", "committee") if r in PAGES[name].post
    )
    for name in FORM_ROUTES
    if PAGES[name].post & {"applicant", "reviewer", "curator", "committee"}
}
FIELD = re.compile(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"')
SKIPPED_FIELDS = {"csrfmiddlewaretoken"}


@pytest.fixture(scope="module")
def form_fields(world):
    """Each form page's field names, read from the page the role is shown."""
    from django.urls import reverse

    from tests.security.routes import html_routes, html_url

    routes = {r.name: r for r in html_routes()}
    found = {}
    for name, role in ROLE_FOR.items():
        client = Client()
        client.force_login(world.users[role])
        url = html_url(routes[name], world, PAGES[name].args)
        html = client.get(url).content.decode()
        names = sorted(set(FIELD.findall(html)) - SKIPPED_FIELDS)
        found[name] = (url, role, names)
    assert reverse("login")
    return found


@pytest.mark.parametrize("name", sorted(ROLE_FOR))
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_every_form_refuses_hostile_values_and_changes_nothing(world, form_fields, name, data):
    url, role, names = form_fields[name]
    values = {field: data.draw(hostile, label=field) for field in names}
    client = Client()
    client.force_login(world.users[role])
    before = _snapshot()
    response = client.post(url, values)
    assert response.status_code < 500
    if response.status_code >= 400:
        assert _snapshot() == before, "a refused form changed something"


@pytest.mark.django_db
@pytest.mark.parametrize("choice", ["9" * 30, " 9" + "9" * 25 + " ", "-" + "9" * 25, "١" * 25])
def test_a_choice_beyond_64_bits_is_an_invalid_choice(choice):
    from django import forms

    from moonvault.catalog.models import Mission
    from moonvault.core.forms import ModelChoiceField, ModelMultipleChoiceField

    with pytest.raises(forms.ValidationError) as one:
        ModelChoiceField(queryset=Mission.objects.all()).clean(choice)
    assert one.value.code == "invalid_choice"
    with pytest.raises(forms.ValidationError) as several:
        ModelMultipleChoiceField(queryset=Mission.objects.all()).clean([choice])
    assert several.value.code in ("invalid_pk_value", "invalid_choice")
