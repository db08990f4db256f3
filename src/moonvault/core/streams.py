"""CSV and JSON written in pieces, for exports that must not hold a whole result in memory.

Both take records as dicts. The CSV has one header line of `fieldnames`, then one line per record;
the JSON is one object with the records under `key`, after any other members given in `head`.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator

# A piece is sent once the buffer passes this size: few pieces, bounded memory.
PIECE = 64_000

# A spreadsheet runs a cell starting with one of these as a formula (`=cmd|' /C calc'!A0`).
FORMULA_START = frozenset("=+-@\t\r")


def spreadsheet_safe(value):
    """Text that a spreadsheet would run as a formula, quoted with a leading apostrophe (the
    OWASP advice for CSV injection); numbers, including negative ones, are left as they are."""
    if type(value) is not str or not value or value[0] not in FORMULA_START:
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def csv_pieces(fieldnames: Iterable[str], records: Iterable[dict]) -> Iterator[str]:
    """The header line, then one line per record (keys outside `fieldnames` are an error)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fieldnames), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: spreadsheet_safe(value) for key, value in record.items()})
        if buffer.tell() > PIECE:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_text(fieldnames: Iterable[str], records: Iterable[dict]) -> str:
    return "".join(csv_pieces(fieldnames, records))


def json_list_pieces(
    key: str, records: Iterable[dict], *, head: dict | None = None
) -> Iterator[str]:
    """`{...head, "<key>": [record, ...]}`, one record per line."""
    opening = json.dumps(head or {}, ensure_ascii=False)[:-1]
    yield opening + (", " if head else "") + json.dumps(key) + ": ["
    for n, record in enumerate(records):
        yield ("," if n else "") + "\n" + json.dumps(record, ensure_ascii=False)
    yield "\n]}\n"
