"""The transparency figures as files: each dashboard table as CSV or JSON, and all of them as one
JSON document.

The tables are the ones the page draws (`web.selectors.TRANSPARENCY_TABLES`), so a download
always says what the page says. Masses are exact micrograms; a figure that cannot be computed
(a rate with nothing released, a loan not yet shipped) is an empty CSV cell and `null` in JSON.
"""

from django.utils import timezone

from moonvault.core.errors import NotFound
from moonvault.core.streams import csv_text
from moonvault.custody.selectors import ledger_head
from moonvault.web import selectors as pages
from moonvault.web.selectors import Table

SLUGS = tuple(pages.TRANSPARENCY_TABLES)


def transparency_table(*, slug: str) -> Table:
    build = pages.TRANSPARENCY_TABLES.get(slug)
    if build is None:
        raise NotFound(
            f"no statistics table {slug!r}; the tables are {', '.join(SLUGS)}", field="table"
        )
    return build()


def table_csv(table: Table) -> str:
    """The column keys as the header, then one line per row."""
    keys = [c.key for c in table.columns]
    return csv_text(keys, ({k: row[k] for k in keys} for row in table.rows))


def _json_value(column, value):
    return None if value == "" and column.kind != "text" else value


def table_json(table: Table) -> dict:
    return {
        "slug": table.slug,
        "title": str(table.title),
        "columns": [{"key": c.key, "title": str(c.title), "kind": c.kind} for c in table.columns],
        "rows": [{c.key: _json_value(c, row[c.key]) for c in table.columns} for row in table.rows],
    }


def transparency_json() -> dict:
    """Every table, the medians the page shows, and the ledger head the figures stand on."""
    tables = pages.transparency_tables().values()
    head = ledger_head()
    return {
        "generated_at": timezone.now().isoformat(),
        "ledger_head": {"seq": head.seq, "hash": head.hash},
        "medians": pages.loan_time_medians(),
        "tables": [table_json(t) for t in tables],
    }
