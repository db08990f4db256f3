"""Importing any collection's CSV through a small mapping file, and receiving parsed rows in bulk.

`mapping_load` reads the mapping (JSON or TOML) and `mapped_csv_parse` reads the CSV through it
into plain rows and a refusal for every row that cannot be imported, touching no database.
`catalog_rows_receive`, shared with the NASA catalog importer, checks the rows against the
inventory and writes them in one transaction through `BulkLedger` (COPY on PostgreSQL): unlike
`samples_receive`, which builds a model instance and an ORM insert per sample, it keeps pace with
catalogs of a hundred thousand rows. Samples already in the inventory under the same mission are
left as they are, so that importing a file twice changes nothing the second time.

Row numbers are those a spreadsheet shows: the header is row 1, the first sample row 2.
"""

import csv
import io
import json
import multiprocessing
import operator
import os
import queue
import threading
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from moonvault.catalog.importers import (
    MAX_PROBLEMS,
    _at,
    _decode,
    _import_location,
    _located,
    _nothing_imported,
    _tidy,
)
from moonvault.catalog.models import (
    Form,
    IdConvention,
    IdentifierCounter,
    Mission,
    Pool,
    Sample,
    State,
    StorageLocation,
    path_segment,
)
from moonvault.catalog.services import IDENTIFIER_MAX
from moonvault.core.errors import DomainError, FieldProblem
from moonvault.core.identifiers import normalize_igsn
from moonvault.core.units import MAX_MASS_UG, MICROGRAMS_PER, parse_mass
from moonvault.custody.bulk import BulkLedger
from moonvault.custody.chain import creation_text
from moonvault.custody.models import EventKind

MASS_UNKNOWN = "Mass unknown: to be weighed."
CLASSIFICATION_MAX = Sample._meta.get_field("classification").max_length
SUBTYPE_MAX = Sample._meta.get_field("subtype").max_length
# Rows buffered before they are written (still inside the one transaction) and progress shown.
FLUSH_ROWS = 20_000
FIRST_ROWS = 2_000

MAPPED_FIELDS = (
    "identifier",
    "mission",
    "form",
    "mass",
    "mass_unit",
    "classification",
    "subtype",
    "igsn",
    "latitude",
    "longitude",
    "description",
)
FIXABLE_FIELDS = ("mission", "form", "mass_unit", "classification", "subtype")


def refusal(row: int, column: str | None, why: str, *, word: str = "row") -> FieldProblem:
    """`word`: what the file calls one sample, a CSV row or a JSON record."""
    return FieldProblem(column, _located(row, column, why, word))


@dataclass(slots=True)
class RootRow:
    """One returned sample to receive, and the display samples split from it.

    Not frozen: a frozen dataclass sets each field through object.__setattr__, which a large
    import pays for on every row."""

    row: int
    identifier: str
    mission: str  # as the file names it; the caller maps it to a Mission
    form: str
    mass_ug: int
    classification: str = ""
    subtype: str = ""
    pristinity_pct: Decimal | None = None
    igsn: str = ""
    description: str = ""
    mass_unknown: bool = False
    displays: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReceiveOutcome:
    received: int
    displays: int
    unchanged: int
    dry_run: bool
    location: str
    pool: str
    to_weigh: list[str]
    refused: list[FieldProblem]
    missions_created: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """The outcome as a curator reads it, in the active language."""
        out = []
        if self.refused:
            out.append(
                _("%(count)s rows cannot be imported:") % {"count": f"{len(self.refused):,}"}
            )
            out += [f"  {p.message}" for p in self.refused]
        if self.to_weigh:
            out.append(
                _("Mass unknown, to be weighed (%(count)s): %(identifiers)s")
                % {"count": f"{len(self.to_weigh):,}", "identifiers": ", ".join(self.to_weigh)}
            )
        if self.missions_created:
            codes = {"codes": ", ".join(self.missions_created)}
            if self.dry_run:
                out.append(_("Missions would be created: %(codes)s") % codes)
            else:
                out.append(_("Missions created: %(codes)s") % codes)
        if self.unchanged:
            out.append(
                _("%(count)s samples are already in the inventory and were left unchanged.")
                % {"count": f"{self.unchanged:,}"}
            )
        values = {
            "count": f"{self.received:,}",
            "location": self.location,
            "pool": self.pool,
            "displays": f"{self.displays:,}",
        }
        if self.dry_run and self.displays:
            new = _(
                "%(count)s samples would be received into %(location)s (pool %(pool)s), "
                "%(displays)s display samples would be split off into the public pool."
            )
        elif self.dry_run:
            new = _("%(count)s samples would be received into %(location)s (pool %(pool)s).")
        elif self.displays:
            new = _(
                "%(count)s samples were received into %(location)s (pool %(pool)s), "
                "%(displays)s display samples were split off into the public pool."
            )
        else:
            new = _("%(count)s samples were received into %(location)s (pool %(pool)s).")
        out.append(new % values)
        if self.dry_run:
            out.append(_("Dry run: nothing was imported."))
        elif not self.received and not self.displays:
            out.append(_("Nothing changed: every sample of the file is already in the inventory."))
        return out


@dataclass(frozen=True)
class _Existing:
    id: int
    mission_id: int
    parent_id: int | None


def _samples_where_in(
    columns: str, column: str, values: list[str], *, indexed_where: str = ""
) -> list[tuple]:
    """Sample columns for any number of values in one query, whatever the bound-parameter limit:
    the values go as one array on PostgreSQL and as one JSON array on SQLite.

    `indexed_where` is the condition of a partial index on `column`, written as the index has it:
    neither planner sees that a long list of values implies it, so without it they scan the
    table."""
    if not values:
        return []
    table = Sample._meta.db_table
    also = f" AND {indexed_where}" if indexed_where else ""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT {columns} FROM {table} WHERE {column} = ANY(%s){also}", [values]
            )
        else:
            cursor.execute(
                f"SELECT {columns} FROM {table} "
                f"WHERE {column} IN (SELECT value FROM json_each(%s)){also}",
                [json.dumps(values)],
            )
        return cursor.fetchall()


def _existing(identifiers: list[str]) -> dict[str, _Existing]:
    return {
        identifier: _Existing(pk, mission_id, parent_id)
        for identifier, pk, mission_id, parent_id in _samples_where_in(
            "identifier, id, mission_id, parent_id", "identifier", identifiers
        )
    }


def _igsns_taken(igsns: list[str]) -> set[str]:
    # The condition of the constraint sample_igsn_unique (catalog.models.Sample).
    return {
        igsn
        for (igsn,) in _samples_where_in("igsn", "igsn", igsns, indexed_where="NOT (igsn = '')")
    }


def _counters_bump(new_rows: list[tuple[RootRow, Mission]]) -> None:
    """Keep later splits from reusing an Apollo split number the file already gave."""
    highest: dict[str, int] = {}
    for r, mission in new_rows:
        if mission.id_convention != IdConvention.APOLLO:
            continue
        for identifier in (r.identifier, *r.displays):
            generic, comma, split = identifier.partition(",")
            if comma and split.isdigit():
                highest[generic] = max(highest.get(generic, 0), int(split))
    for prefix, last in highest.items():
        counter, _created = IdentifierCounter.objects.select_for_update().get_or_create(
            prefix=prefix
        )
        if counter.last < last:
            counter.last = last
            counter.save(update_fields=["last"])


def _batches(rows: Iterable[RootRow], size: int) -> Iterator[list[RootRow]]:
    """`size` rows at a time after smaller first batches, each twice the one before: writing
    starts as soon as a streaming reader has a few rows, and the reader, faster, stays ahead."""
    batch: list[RootRow] = []
    limit = min(FIRST_ROWS, size)
    for row in rows:
        batch.append(row)
        if len(batch) == limit:
            yield batch
            batch, limit = [], min(2 * limit, size)
    if batch:
        yield batch


def catalog_rows_receive(
    *,
    actor,
    rows: Iterable[RootRow],
    refused: list[FieldProblem],
    missions: Callable[[str], Mission | None],
    columns: dict[str, str],
    pool: str,
    location: StorageLocation,
    dry_run: bool = False,
    reason: str = "",
    progress: Callable[[int, int | None], None] | None = None,
    word: str = "row",
    total: int | None = None,
) -> ReceiveOutcome:
    """Receive the rows not yet in the inventory as root samples, their display samples as splits.

    `rows` may be a stream: they are checked and written a batch at a time, inside one
    transaction, so memory stays bounded and the whole file still goes in or nothing does.
    `refused` collects the parser's refusals (a streaming parser adds to it as it reads);
    `missions` gives the mission for a row's mission text; `columns` names the file's column for
    identifier, mission, igsn and displays in messages. Nothing is written if anything is
    refused; a dry run returns every refusal instead. `progress(done, total)` follows each batch
    (`total` is None when the number of rows is not known beforehand).
    """
    if pool not in Pool.values:
        raise DomainError(
            _("%(value)s is not one of: %(values)s")
            % {"value": repr(pool), "values": ", ".join(Pool.values)},
            field="pool",
        )
    pool = Pool(pool).value
    problems: list[FieldProblem] = []
    received = displays = unchanged = done = 0
    to_weigh: list[str] = []
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    writer = operation = None
    now = timezone.now()
    with transaction.atomic():
        try:
            for batch in _batches(rows, FLUSH_ROWS):
                new_rows, kept = _check(batch, missions, columns, problems, word)
                unchanged += kept
                received += len(new_rows)
                displays += sum(len(r.displays) for r, _mission in new_rows)
                to_weigh += [r.identifier for r, _mission in new_rows if r.mass_unknown]
                to_weigh += [d for r, _mission in new_rows for d in r.displays]
                done += len(batch)
                if dry_run or problems or refused:
                    continue
                if writer is None:
                    writer = BulkLedger(actor_id=actor_id, batch_triggers=True, defer_indexes=True)
                    operation = writer.new_operation()
                else:
                    # The batch before, checked and built: on PostgreSQL it is copied while this
                    # one is built, and this one was checked before the copy held the connection.
                    writer.flush()
                _write(writer, new_rows, pool, location, reason, operation, now)
                if progress:
                    progress(done, total)
            problems[:0] = refused
            if problems and not dry_run:
                raise DomainError(_nothing_imported(problems), problems=problems[:MAX_PROBLEMS])
            if writer is not None:
                writer.close()
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
    return ReceiveOutcome(
        received=received,
        displays=displays,
        unchanged=unchanged,
        dry_run=dry_run,
        location=location.code,
        pool=pool,
        to_weigh=to_weigh,
        refused=problems,
    )


def _check(
    batch: list[RootRow], missions, columns, problems: list[FieldProblem], word: str
) -> tuple[list[tuple[RootRow, Mission]], int]:
    """One batch against the inventory: the rows to write, and how many are already there."""
    existing = _existing([r.identifier for r in batch] + [d for r in batch for d in r.displays])
    taken_igsns = _igsns_taken([r.igsn for r in batch if r.igsn])
    new_rows: list[tuple[RootRow, Mission]] = []
    unchanged = 0
    for r in batch:
        mission = missions(r.mission)
        if mission is None:
            problems.append(
                refusal(
                    r.row,
                    columns["mission"],
                    _("unknown mission %(mission)s") % {"mission": repr(r.mission)},
                    word=word,
                )
            )
            continue
        found = existing.get(r.identifier)
        if found is None:
            if r.igsn in taken_igsns:
                problems.append(
                    refusal(
                        r.row,
                        columns["igsn"],
                        _("IGSN %(igsn)s belongs to another sample") % {"igsn": r.igsn},
                        word=word,
                    )
                )
            elif r.displays and any(d in existing for d in r.displays):
                shown = next(d for d in r.displays if d in existing)
                problems.append(
                    refusal(
                        r.row,
                        columns["displays"],
                        _("sample %(identifier)s is already in use") % {"identifier": shown},
                        word=word,
                    )
                )
            else:
                new_rows.append((r, mission))
            continue
        if found.mission_id != mission.pk or found.parent_id is not None:
            problems.append(
                refusal(
                    r.row,
                    columns["identifier"],
                    _(
                        "%(identifier)s is already in the inventory as another sample "
                        "(another mission, or split from another)"
                    )
                    % {"identifier": r.identifier},
                    word=word,
                )
            )
            continue
        missing = [d for d in r.displays if d not in existing]
        if missing:
            problems.append(
                refusal(
                    r.row,
                    columns["displays"],
                    _(
                        "%(identifier)s is already in the inventory without display sample "
                        "%(display)s; split it off with the split service"
                    )
                    % {"identifier": r.identifier, "display": missing[0]},
                    word=word,
                )
            )
            continue
        unchanged += 1 + len(r.displays)
    return new_rows, unchanged


def _write(writer: BulkLedger, new_rows, pool, location, reason, received, now) -> None:
    """One batch into the ledger's buffers; the next flush writes them (inside the transaction).

    Every batch shares the `received` operation: the whole file is one receipt."""
    _counters_bump(new_rows)
    # Plain strings, not the choices' members: SQLite binds a str subclass only after looking
    # for an adapter, which costs more than binding the rest of the value.
    stored, kind, stamp = State.STORED.value, EventKind.RECEIVED.value, writer.stored_time(now)
    location_id = location.id
    for r, mission in new_rows:
        root_id = writer.new_sample_id()
        path = path_segment(root_id)
        writer.add_sample(
            (
                root_id, r.identifier, r.igsn, path, 0, r.form, pool, stored, True, r.mass_ug,
                r.classification, r.subtype, r.pristinity_pct, r.description, stamp, stamp,
                mission.id, None, location_id,
            )
        )  # fmt: skip
        writer.add_event(
            sample_id=root_id,
            kind=kind,
            operation=received,
            recorded_at=now,
            state_after=stored,
            location_after_id=location_id,
            mass_delta_ug=r.mass_ug,
            reason=reason,
            data=creation_text(r.identifier, mission.code, None, r.form, pool, True),
        )
        if r.displays:
            _displays_split(writer, r, mission, root_id, path, location, now, reason)


def _displays_split(writer, r: RootRow, mission, root_id, path, location, now, reason) -> None:
    """Display samples leave the generic with no mass recorded: their weighing comes later."""
    stamp = writer.stored_time(now)
    children = [writer.new_sample_id() for _ in r.displays]
    split = writer.new_operation()
    writer.add_event(
        sample_id=root_id,
        kind=EventKind.SPLIT,
        operation=split,
        recorded_at=now,
        state_after=State.STORED,
        location_after_id=location.pk,
        reason=reason,
        data={"children": children},
    )
    for child_id, identifier in zip(children, r.displays, strict=True):
        writer.add_sample(
            (
                child_id, identifier, "", path + path_segment(child_id), 1, r.form,
                Pool.PUBLIC_BENEFIT, State.STORED, True, 0, r.classification, r.subtype, None,
                f"Display sample of {r.identifier}. {MASS_UNKNOWN}", stamp, stamp, mission.pk,
                root_id, location.pk,
            )
        )  # fmt: skip
        writer.add_event(
            sample_id=child_id,
            kind=EventKind.SPLIT_OFF,
            operation=split,
            recorded_at=now,
            state_after=State.STORED,
            location_after_id=location.pk,
            reason=reason,
            data=creation_text(
                identifier, mission.code, root_id, r.form, Pool.PUBLIC_BENEFIT.value, True
            ),
        )


# The mapping file


@dataclass(frozen=True)
class Mapping:
    columns: dict[str, str]  # field -> the file's column
    fixed: dict[str, str]  # field -> the value every row gets
    forms: dict[str, str]  # the file's word, lower-cased -> Form value


def _mapping_error(why: str) -> DomainError:
    return DomainError(_("mapping: %(why)s") % {"why": why}, field="mapping")


def _form_words(forms: dict[str, str]) -> dict[str, str]:
    """Lower-cased word -> Form value: the mapping's words, then the forms' values and labels.

    Built once per file: a label is translated text, and translating it per row is slow."""
    words: dict[str, str] = {}
    for value, label in Form.choices:
        words.setdefault(value, value)
        words.setdefault(str(label).lower(), value)
    return {**words, **forms}


def _form_value(text: str, forms: dict[str, str]) -> str | None:
    return _form_words(forms).get(text.lower())


def mapping_load(data: bytes | str, *, name: str = "") -> Mapping:
    """A mapping in JSON or TOML (by the file's extension, else whichever reads)."""
    text = _decode(data)
    loaded = None
    if not name.endswith(".toml"):
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            if name.endswith(".json"):
                raise _mapping_error(_("not valid JSON (%(error)s)") % {"error": exc}) from None
    if loaded is None:
        try:
            loaded = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise _mapping_error(
                _("neither valid JSON nor valid TOML (%(error)s)") % {"error": exc}
            ) from None
    if not isinstance(loaded, dict):
        raise _mapping_error(_("the mapping must be a table with [columns], [fixed], [forms]"))
    unknown = set(loaded) - {"columns", "fixed", "forms"}
    if unknown:
        raise _mapping_error(
            _("unknown section %(section)s") % {"section": repr(sorted(unknown)[0])}
        )
    sections = {}
    for section, allowed in (
        ("columns", MAPPED_FIELDS),
        ("fixed", FIXABLE_FIELDS),
        ("forms", None),
    ):
        table = loaded.get(section, {})
        if not isinstance(table, dict):
            raise _mapping_error(_("[%(section)s] must be a table") % {"section": section})
        for key, value in table.items():
            if allowed is not None and key not in allowed:
                raise _mapping_error(
                    _("[%(section)s] has unknown field %(field)s; fields: %(fields)s")
                    % {"section": section, "field": repr(key), "fields": ", ".join(allowed)}
                )
            if not isinstance(value, str) or not value.strip():
                raise _mapping_error(
                    _("[%(section)s] %(field)s must be a non-empty text")
                    % {"section": section, "field": key}
                )
        sections[section] = {k: v.strip() for k, v in table.items()}
    forms = {}
    for word, value in sections["forms"].items():
        if value not in Form.values:
            raise _mapping_error(
                _("[forms] %(word)s = %(value)s is not one of: %(values)s")
                % {"word": repr(word), "value": repr(value), "values": ", ".join(Form.values)}
            )
        forms[word.strip().lower()] = value
    columns, fixed = sections["columns"], sections["fixed"]
    for required in ("identifier", "mass"):
        if required not in columns:
            raise _mapping_error(
                _("[columns] must name the %(field)s column") % {"field": required}
            )
    for required in ("mission", "form", "mass_unit"):
        if required not in columns and required not in fixed:
            raise _mapping_error(
                _("give the %(field)s as a column or under [fixed]") % {"field": required}
            )
    if ("latitude" in columns) != ("longitude" in columns):
        raise _mapping_error(_("[columns] names latitude and longitude together or neither"))
    if "mass_unit" in fixed and fixed["mass_unit"] not in MICROGRAMS_PER:
        raise _mapping_error(
            _("[fixed] mass_unit %(unit)s is not one of: %(units)s")
            % {"unit": repr(fixed["mass_unit"]), "units": ", ".join(MICROGRAMS_PER)}
        )
    if "form" in fixed:
        form = _form_value(fixed["form"], forms)
        if form is None:
            raise _mapping_error(
                _("[fixed] form %(form)s is not a form") % {"form": repr(fixed["form"])}
            )
        fixed["form"] = form
    return Mapping(columns=columns, fixed=fixed, forms=forms)


# The CSV


@dataclass
class MappedReport:
    """What reading the file found; filled as `mapped_csv_read` streams through it."""

    rows: list[RootRow] = field(default_factory=list)  # kept by mapped_csv_parse only
    refused: list[FieldProblem] = field(default_factory=list)
    usable: int = 0
    stray_spaces: int = 0
    mass_unknown: list[tuple[int, str]] = field(default_factory=list)  # (row, identifier)

    def lines(self) -> list[str]:
        """The report as a curator reads it, in the active language."""
        out = [
            _("%(count)s rows read, %(usable)s usable")
            % {"count": f"{self.usable + len(self.refused):,}", "usable": f"{self.usable:,}"}
        ]
        if self.stray_spaces:
            out.append(
                "  "
                + _("stray spaces removed in %(count)s cells") % {"count": f"{self.stray_spaces:,}"}
            )
        if self.mass_unknown:
            out.append(
                "  "
                + _("no mass given in %(count)s rows, imported as unknown")
                % {"count": f"{len(self.mass_unknown):,}"}
            )
        return out


def _coordinate(text: str, low: int, high: int) -> Decimal:
    """Raises ValueError with the reason."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(_("%(text)s is not a number of degrees") % {"text": repr(text)}) from None
    if not value.is_finite() or not low <= value <= high:
        raise ValueError(
            _("%(text)s is not between %(low)s and %(high)s degrees")
            % {"text": text, "low": low, "high": high}
        )
    return value


def mapped_csv_parse(
    data: bytes | str, *, mapping: Mapping, allow_unknown_mass: bool = False
) -> MappedReport:
    """Read every row through the mapping; a row that cannot be imported is refused with why."""
    report = MappedReport()
    report.rows = list(
        mapped_csv_read(
            io.StringIO(_decode(data), newline=""),
            mapping=mapping,
            report=report,
            allow_unknown_mass=allow_unknown_mass,
        )
    )
    return report


def mapped_csv_read(
    lines: Iterable[str],
    *,
    mapping: Mapping,
    report: MappedReport,
    allow_unknown_mass: bool = False,
) -> Iterator[RootRow]:
    """The usable rows of a CSV, one at a time; refusals and notes go to `report` as it reads.

    Memory stays bounded by the identifiers and IGSNs seen so far, which catch a value that
    appears twice in the file.
    """
    reader = csv.reader(lines)
    header = [_tidy(h) for h in next(reader, None) or []]
    if not header:
        raise DomainError(_("row 1: the file is empty; it needs a header row"), field="header")
    index = {}
    for name, column in mapping.columns.items():
        if column not in header:
            raise DomainError(
                _("row 1: column %(column)s (the mapping's %(field)s) is not in the header")
                % {"column": repr(column), "field": name},
                field="header",
            )
        index[name] = header.index(column)
    form_words = _form_words(mapping.forms)
    columns = mapping.columns
    first_row: dict[str, int] = {}
    igsn_row: dict[str, int] = {}
    width = len(header)
    fields = list(index.items())
    for cells in reader:
        joined = "".join(cells)
        if not joined.strip():
            continue
        row = reader.line_num
        if len(cells) != width:
            report.refused.append(
                refusal(
                    row,
                    None,
                    _("has %(count)s cells where the header has %(expected)s")
                    % {"count": len(cells), "expected": width},
                )
            )
            continue
        values = dict(mapping.fixed)
        for name, i in fields:
            cell = cells[i]
            clean = " ".join(cell.split())  # _tidy, inline: this runs for every cell
            if clean != cell:
                report.stray_spaces += 1
            values[name] = clean
        # Lines streamed from a file on disk skip the whole-file check; PostgreSQL refuses NUL.
        problems: list[FieldProblem] = (
            [
                refusal(row, columns.get(name), _("holds a NUL character"))
                for name, i in fields
                if "\x00" in cells[i]
            ]
            if "\x00" in joined
            else []
        )

        identifier = values["identifier"]
        if not identifier:
            problems.append(refusal(row, columns["identifier"], _("the identifier is missing")))
        elif len(identifier) > IDENTIFIER_MAX or " " in identifier:
            problems.append(
                refusal(
                    row,
                    columns["identifier"],
                    _("%(identifier)s is longer than %(max)s characters or has spaces")
                    % {"identifier": repr(identifier), "max": IDENTIFIER_MAX},
                )
            )
        elif not (identifier.isascii() and identifier.isprintable()):
            problems.append(
                refusal(
                    row,
                    columns["identifier"],
                    _("%(identifier)s must be printable ASCII (letters, digits, punctuation)")
                    % {"identifier": repr(identifier)},
                )
            )
        elif identifier in first_row:
            problems.append(
                refusal(
                    row,
                    columns["identifier"],
                    _("%(value)s already appears in %(where)s")
                    % {"value": identifier, "where": _at("row", first_row[identifier])},
                )
            )
        else:
            first_row[identifier] = row

        mission = values.get("mission", "")
        if not mission:
            problems.append(refusal(row, columns.get("mission"), _("the mission is missing")))

        form = form_words.get(values.get("form", "").lower())
        if form is None:
            problems.append(
                refusal(
                    row,
                    columns.get("form"),
                    _("unknown form %(form)s; map it under [forms]")
                    % {"form": repr(values.get("form", ""))},
                )
            )

        mass_text, unit = values["mass"], values.get("mass_unit", "")
        mass_ug, unknown = 0, False
        if not mass_text:
            if allow_unknown_mass:
                unknown = True
                report.mass_unknown.append((row, identifier))
            else:
                problems.append(
                    refusal(
                        row,
                        columns["mass"],
                        _("the mass is missing (--allow-unknown-mass imports it as unknown)"),
                    )
                )
        elif unit not in MICROGRAMS_PER:
            problems.append(
                refusal(
                    row,
                    columns.get("mass_unit"),
                    _("unknown mass unit %(unit)s; one of %(units)s")
                    % {"unit": repr(unit), "units": ", ".join(MICROGRAMS_PER)},
                )
            )
        elif "," in mass_text:
            # "12,5" is 12.5 in much of the world and 125 to a thousands reader: refuse both.
            problems.append(
                refusal(
                    row,
                    columns["mass"],
                    _("%(mass)s: use a decimal point, no commas") % {"mass": repr(mass_text)},
                )
            )
        else:
            try:
                mass_ug = parse_mass(mass_text, unit)
            except DomainError as exc:
                problems.append(refusal(row, columns["mass"], exc.message))
            else:
                if not 0 < mass_ug <= MAX_MASS_UG:
                    problems.append(
                        refusal(
                            row,
                            columns["mass"],
                            _("the mass %(mass)s %(unit)s must be above zero and plausible")
                            % {"mass": mass_text, "unit": unit},
                        )
                    )

        classification = values.get("classification", "")
        if len(classification) > CLASSIFICATION_MAX:
            problems.append(
                refusal(
                    row,
                    columns.get("classification"),
                    _("longer than %(max)s") % {"max": CLASSIFICATION_MAX},
                )
            )
        subtype = values.get("subtype", "")
        if len(subtype) > SUBTYPE_MAX:
            problems.append(
                refusal(
                    row, columns.get("subtype"), _("longer than %(max)s") % {"max": SUBTYPE_MAX}
                )
            )

        igsn = ""
        if values.get("igsn"):
            try:
                igsn = normalize_igsn(values["igsn"])
            except DomainError as exc:
                problems.append(refusal(row, columns["igsn"], exc.message))
            else:
                if igsn in igsn_row:
                    problems.append(
                        refusal(
                            row,
                            columns["igsn"],
                            _("%(value)s already appears in %(where)s")
                            % {"value": igsn, "where": _at("row", igsn_row[igsn])},
                        )
                    )
                igsn_row.setdefault(igsn, row)

        notes = [values["description"]] if values.get("description") else []
        if values.get("latitude") or values.get("longitude"):
            try:
                latitude = _coordinate(values["latitude"], -90, 90)
                longitude = _coordinate(values["longitude"], -180, 360)
            except ValueError as exc:
                problems.append(refusal(row, columns["latitude"], str(exc)))
            else:
                notes.append(f"Collected at latitude {latitude}, longitude {longitude}.")
        if unknown:
            notes.append(MASS_UNKNOWN)

        if problems:
            report.refused += problems
            continue
        report.usable += 1
        yield RootRow(
            row=row,
            identifier=identifier,
            mission=mission,
            form=form,
            mass_ug=mass_ug,
            classification=classification,
            subtype=subtype,
            igsn=igsn,
            description="\n".join(notes),
            mass_unknown=unknown,
        )
    if not report.usable and not report.refused:
        raise DomainError(_("the file has a header but no samples"), field="file")


# Rows a reading process sends at a time: small enough that writing starts soon after reading.
ASIDE_ROWS = 2_000
_root_values = operator.attrgetter(*RootRow.__dataclass_fields__)


def rows_read_aside(rows: Iterator[RootRow], report: MappedReport) -> Iterator[RootRow]:
    """`rows` from `mapped_csv_read`, read in a process of their own while this one writes.

    Reading and checking a CSV row costs about as much as writing it, and the two overlap on
    two cores where threads would take turns. The reader reads the file only, never the
    database. `report` is filled as the rows arrive; a DomainError of the reader is raised here
    as it was raised there, after the rows read before it.
    """
    if not hasattr(os, "fork"):
        yield from rows
        return
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    reader = context.Process(target=_read_aside, args=(rows, report, sender), daemon=True)
    reader.start()
    sender.close()
    # A pipe holds a few rows only: a thread takes them off as they come, up to two write
    # batches ahead, so that the reader goes on while this process writes.
    arrived: queue.Queue = queue.Queue(maxsize=max(2 * FLUSH_ROWS // ASIDE_ROWS, 2))
    stop = threading.Event()
    drain = threading.Thread(target=_drain, args=(receiver, arrived, stop), daemon=True)
    drain.start()
    try:
        while True:
            message = arrived.get()
            if message is None:
                reader.join()
                raise DomainError(
                    _("reading the file stopped unexpectedly (exit code %(code)s)")
                    % {"code": reader.exitcode},
                    field="file",
                )
            kind, payload, refused = message
            report.refused += refused
            if kind == "rows":
                for values in payload:
                    yield RootRow(*values)
            elif kind == "end":
                report.usable, report.stray_spaces, report.mass_unknown = payload
                return
            else:
                error, text, problems = payload
                raise error(text, problems=problems)
    finally:
        # Ending the reader closes its end of the pipe, which ends the thread's wait.
        stop.set()
        reader.terminate()
        reader.join()
        drain.join()
        receiver.close()


def _drain(receiver, arrived: queue.Queue, stop: threading.Event) -> None:
    """The reader's messages into `arrived`; None when it ended without its last message."""
    while True:
        try:
            message = receiver.recv()
        except (EOFError, OSError):
            message = None
        while not stop.is_set():
            try:
                arrived.put(message, timeout=0.1)
                break
            except queue.Full:
                continue
        if stop.is_set() or message is None or message[0] != "rows":
            return


def _read_aside(rows: Iterator[RootRow], report: MappedReport, sender) -> None:
    sent = 0
    batch: list[tuple] = []
    try:
        for r in rows:
            batch.append(_root_values(r))
            if len(batch) == ASIDE_ROWS:
                sender.send(("rows", batch, report.refused[sent:]))
                sent, batch = len(report.refused), []
        sender.send(("rows", batch, report.refused[sent:]))
        sender.send(("end", (report.usable, report.stray_spaces, report.mass_unknown), []))
    except DomainError as exc:
        sender.send(("rows", batch, report.refused[sent:]))
        sender.send(("error", (type(exc), exc.message, exc.problems), []))
    sender.close()


def mapped_catalog_import(
    *,
    actor,
    report: MappedReport,
    mapping: Mapping,
    rows: Iterable[RootRow] | None = None,
    pool: str = Pool.PERMANENT,
    location_code: str = "",
    dry_run: bool = False,
    reason: str = "",
    progress: Callable[[int, int | None], None] | None = None,
) -> ReceiveOutcome:
    """Missions must exist already; the file names them by code, in any case.

    `rows` is the stream from `mapped_csv_read` filling `report`; without it, `report.rows`.
    """
    location = _import_location(location_code)
    by_code = {m.code.lower(): m for m in Mission.objects.all()}
    columns = {
        name: mapping.columns.get(name, f"[fixed] {name}")
        for name in ("identifier", "mission", "igsn")
    }
    return catalog_rows_receive(
        actor=actor,
        rows=report.rows if rows is None else rows,
        refused=report.refused,
        missions=lambda text: by_code.get(text.lower()),
        columns={**columns, "displays": None},
        pool=pool,
        location=location,
        dry_run=dry_run,
        reason=reason,
        progress=progress,
        total=len(report.rows) if rows is None else None,
    )
