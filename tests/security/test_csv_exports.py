"""CSV exports never hand a spreadsheet a formula to run: cells starting with = + - @, a tab or a
carriage return are quoted, numbers and plain text are left alone."""

import csv
import io

import pytest

from moonvault.catalog.models import Sample
from moonvault.core.streams import csv_text


@pytest.mark.parametrize("cell", ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1"])
def test_csv_exports_quote_cells_a_spreadsheet_would_run(cell):
    [_, row] = list(csv.reader(io.StringIO(csv_text(["a", "b"], [{"a": cell, "b": -5}]))))
    assert row == ["'" + cell, "-5"]


def test_csv_exports_leave_numbers_and_plain_text_alone():
    records = [{"a": "-23.4216", "b": "basalt, high-K"}, {"a": "", "b": "74001,6040"}]
    rows = list(csv.reader(io.StringIO(csv_text(["a", "b"], records))))
    assert rows[1:] == [["-23.4216", "basalt, high-K"], ["", "74001,6040"]]


def test_the_sample_export_quotes_a_formula_in_a_description(client, receive, mission_ce5):
    sample = receive("CE5C0400YJFM00505", mission_ce5, 1_000_000)
    Sample.objects.filter(pk=sample.pk).update(description='=HYPERLINK("http://x")')
    body = b"".join(client.get("/api/v1/exports/samples.csv").streaming_content).decode()
    assert "=HYPERLINK" in body
    assert not any(cell.startswith("=") for row in csv.reader(io.StringIO(body)) for cell in row)
