"""Importing sample catalogs published by others.

`apollo_csv_parse` reads the public Apollo catalog (one row per generic sample) into plain rows and
a report of everything odd in it, touching no database. `apollo_catalog_import` receives those rows
into the ledger through `catalog_rows_receive` (COPY on PostgreSQL), so a file goes in whole or not
at all, in well under a second.

Row numbers are those a spreadsheet shows: the header is row 1, the first sample row 2.
"""

import csv
import io
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils.translation import gettext as _

from moonvault.catalog.models import (
    Form,
    IdConvention,
    Mission,
    Pool,
    Sample,
    StorageLocation,
)
from moonvault.catalog.selectors import location_get
from moonvault.core.errors import Conflict, DomainError, FieldProblem, NotFound
from moonvault.core.units import parse_mass

APOLLO_HEADER = ("ID", "Mission", "Type", "Subtype", "Weight (g)", "Pristine (%)")
SUBTYPE_MAX = Sample._meta.get_field("subtype").max_length
# Sample.pristinity_pct holds up to 9999.99.
PRISTINITY_PLACES = 2
PRISTINITY_LIMIT = Decimal("10000")
# Subtypes the catalog uses for material nobody has described yet.
UNSTUDIED_SUBTYPES = frozenset({"unstudied", "notstudied"})
# A problem list longer than this says more about the file than about its rows.
MAX_PROBLEMS = 50


@dataclass(frozen=True)
class ApolloMission:
    code: str
    name: str
    landing_site: str
    latitude: Decimal
    longitude: Decimal
    landed_on: date
    returned_on: date
    returned_mass_ug: int
    generic_prefix: str  # Apollo generic numbers start with these digits, e.g. 7xxxx for Apollo 17


# Landing coordinates (north and east positive) and returned masses as NASA publishes them.
APOLLO_MISSIONS = {
    "Apollo11": ApolloMission(
        "A11", "Apollo 11", "Tranquility Base, Mare Tranquillitatis",
        Decimal("0.6741"), Decimal("23.4730"), date(1969, 7, 20), date(1969, 7, 24),
        21_550_000_000, "10",
    ),
    "Apollo12": ApolloMission(
        "A12", "Apollo 12", "Oceanus Procellarum (Ocean of Storms)",
        Decimal("-3.0124"), Decimal("-23.4216"), date(1969, 11, 19), date(1969, 11, 24),
        34_300_000_000, "12",
    ),
    "Apollo14": ApolloMission(
        "A14", "Apollo 14", "Fra Mauro highlands",
        Decimal("-3.6453"), Decimal("-17.4714"), date(1971, 2, 5), date(1971, 2, 9),
        42_800_000_000, "14",
    ),
    "Apollo15": ApolloMission(
        "A15", "Apollo 15", "Hadley–Apennine",
        Decimal("26.1322"), Decimal("3.6339"), date(1971, 7, 30), date(1971, 8, 7),
        77_310_000_000, "15",
    ),
    "Apollo16": ApolloMission(
        "A16", "Apollo 16", "Descartes highlands",
        Decimal("-8.9730"), Decimal("15.5002"), date(1972, 4, 21), date(1972, 4, 27),
        95_710_000_000, "6",
    ),
    "Apollo17": ApolloMission(
        "A17", "Apollo 17", "Taurus–Littrow valley",
        Decimal("20.1908"), Decimal("30.7717"), date(1972, 12, 11), date(1972, 12, 19),
        110_520_000_000, "7",
    ),
}  # fmt: skip

# The catalog's Type column: which physical form the sample has and how it is classified.
APOLLO_TYPES = {
    "Soil": (Form.SCOOPED_REGOLITH, "soil"),
    "Core": (Form.DRILLED_REGOLITH, "core"),
    "Basalt": (Form.ROCK_FRAGMENT, "basalt"),
    "Breccia": (Form.ROCK_FRAGMENT, "breccia"),
    "Crustal": (Form.ROCK_FRAGMENT, "crustal"),
    "Special": (Form.ROCK_FRAGMENT, "special"),
}

GENERIC_NUMBER = re.compile(r"\d{5}")


@dataclass(frozen=True)
class CatalogRow:
    row: int
    identifier: str
    mission: str  # the Mission column as the catalog writes it, e.g. "Apollo17"
    form: str
    classification: str
    subtype: str
    mass_ug: int
    pristinity_pct: Decimal | None


@dataclass(frozen=True)
class CaseVariant:
    """Spellings of one value that differ only by case, and which one they all became."""

    column: str
    canonical: str
    spellings: dict[str, int]  # spelling -> number of rows

    @property
    def rows_changed(self) -> int:
        return sum(n for s, n in self.spellings.items() if s != self.canonical)


@dataclass
class CatalogReport:
    """What a catalog file holds and everything odd about it; no row is left out."""

    rows: list[CatalogRow] = field(default_factory=list)
    case_variants: list[CaseVariant] = field(default_factory=list)
    stray_spaces: list[tuple[int, str]] = field(default_factory=list)  # (row, column)
    empty_subtypes: list[int] = field(default_factory=list)
    unstudied: list[tuple[int, str]] = field(default_factory=list)  # (row, subtype)
    pristinity_over_100: list[tuple[int, str, Decimal]] = field(default_factory=list)
    pristinity_missing: list[int] = field(default_factory=list)
    zero_mass: list[tuple[int, str]] = field(default_factory=list)  # (row, identifier)

    @property
    def total_mass_ug(self) -> int:
        return sum(r.mass_ug for r in self.rows)

    def by_mission(self) -> dict[str, tuple[int, int]]:
        """Mission column -> (rows, mass in µg), in catalog order."""
        out: dict[str, list[int]] = {}
        for r in self.rows:
            entry = out.setdefault(r.mission, [0, 0])
            entry[0] += 1
            entry[1] += r.mass_ug
        return {m: (n, mass) for m, (n, mass) in out.items()}

    def lines(self) -> list[str]:
        """The report as a curator reads it, in the active language."""
        out = [
            _("%(count)s rows, %(mass)s in all")
            % {"count": f"{len(self.rows):,}", "mass": _grams(self.total_mass_ug)}
        ]
        for mission, (n, mass) in self.by_mission().items():
            out.append(
                "  "
                + _("%(code)s: %(count)s samples, %(mass)s")
                % {"code": APOLLO_MISSIONS[mission].code, "count": f"{n:,}", "mass": _grams(mass)}
            )
        out.append(_("Anomalies (all rows imported as described):"))
        for variant in self.case_variants:
            spelled = ", ".join(f"{s!r} ×{n}" for s, n in sorted(variant.spellings.items()))
            out.append(
                "  "
                + _(
                    "case variants in %(column)s: %(spellings)s -> %(canonical)s, "
                    "%(count)s respelled"
                )
                % {
                    "column": variant.column,
                    "spellings": spelled,
                    "canonical": repr(variant.canonical),
                    "count": variant.rows_changed,
                }
            )
        if self.stray_spaces:
            out.append(
                "  "
                + _("stray spaces removed in %(count)s cells: rows %(rows)s")
                % {
                    "count": len(self.stray_spaces),
                    "rows": _rows(r for r, _column in self.stray_spaces),
                }
            )
        if self.empty_subtypes:
            out.append(
                "  "
                + _("empty subtype in %(count)s rows: %(rows)s")
                % {"count": len(self.empty_subtypes), "rows": _rows(self.empty_subtypes)}
            )
        if self.unstudied:
            counts = Counter(s for _row, s in self.unstudied)
            spelled = ", ".join(f"{s!r} ×{n}" for s, n in sorted(counts.items()))
            out.append(
                "  "
                + _("not yet studied (%(spellings)s) in %(count)s rows: %(rows)s")
                % {
                    "spellings": spelled,
                    "count": len(self.unstudied),
                    "rows": _rows(r for r, _subtype in self.unstudied),
                }
            )
        if self.pristinity_over_100:
            listed = ", ".join(
                _("row %(row)s (%(identifier)s: %(pct)s %%)")
                % {"row": r, "identifier": identifier, "pct": pct}
                for r, identifier, pct in self.pristinity_over_100
            )
            out.append(
                "  "
                + _("pristinity above 100 %% in %(count)s rows, kept as recorded: %(listed)s")
                % {"count": len(self.pristinity_over_100), "listed": listed}
            )
        if self.pristinity_missing:
            out.append(
                "  "
                + _("pristinity not given in %(count)s rows: %(rows)s")
                % {"count": len(self.pristinity_missing), "rows": _rows(self.pristinity_missing)}
            )
        if self.zero_mass:
            listed = ", ".join(
                _("row %(row)s (%(identifier)s)") % {"row": r, "identifier": identifier}
                for r, identifier in self.zero_mass
            )
            out.append(
                "  "
                + _(
                    "weight recorded as 0 g in %(count)s rows, imported with no mass so that the "
                    "generic number exists: %(listed)s"
                )
                % {"count": len(self.zero_mass), "listed": listed}
            )
        out.append("  " + _("duplicate identifiers: none (a duplicate rejects the whole file)"))
        return out


@dataclass(frozen=True)
class ImportOutcome:
    imported: int
    dry_run: bool
    location: str
    pool: str
    missions_created: list[str]


def _grams(micrograms: int) -> str:
    """Exact, unlike format_mass: a report of an import must show the mass to the microgram."""
    return f"{Decimal(micrograms) / 1_000_000:,f} g"


def _rows(numbers) -> str:
    return ", ".join(str(n) for n in numbers)


def _at(word: str, number: int) -> str:
    """`row 5`, or `record 5` when the file calls one sample a record (JSON)."""
    if word == "record":
        return _("record %(number)s") % {"number": number}
    return _("row %(number)s") % {"number": number}


def _numbered(word: str, numbers) -> str:
    """`rows 5, 8`, or `records 5, 8` when the file calls one sample a record (JSON)."""
    if word == "record":
        return _("records %(numbers)s") % {"numbers": _rows(numbers)}
    return _("rows %(numbers)s") % {"numbers": _rows(numbers)}


def _located(row: int, column: str | None, why: str, word: str = "row") -> str:
    """A problem of one row, `row 5, column ID: why`, in the active language."""
    values = {"row": row, "column": column, "why": why}
    if word == "record":
        if column:
            return _("record %(row)s, column %(column)s: %(why)s") % values
        return _("record %(row)s: %(why)s") % values
    if column:
        return _("row %(row)s, column %(column)s: %(why)s") % values
    return _("row %(row)s: %(why)s") % values


def _nothing_imported(problems: list[FieldProblem]) -> str:
    """The refusal of a whole file: its first problem, and how many more there are."""
    first = problems[0].message
    if len(problems) > 1:
        return _("nothing imported: %(first)s (and %(more)s more)") % {
            "first": first,
            "more": len(problems) - 1,
        }
    return _("nothing imported: %(first)s") % {"first": first}


class _Problems:
    def __init__(self):
        self.items: list[FieldProblem] = []

    def add(self, row: int, column: str | None, why: str) -> None:
        self.items.append(FieldProblem(column, _located(row, column, why)))

    def raise_if_any(self, error=DomainError) -> None:
        if not self.items:
            return
        raise error(_nothing_imported(self.items), problems=self.items[:MAX_PROBLEMS])


def _tidy(text: str) -> str:
    return " ".join(text.split())


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DomainError(
                _("the file is not UTF-8 text (byte %(byte)s cannot be read)")
                % {"byte": exc.start},
                field="file",
            ) from None
    if "\x00" in text:
        # A text file never holds NUL, and PostgreSQL refuses to store one.
        raise DomainError(
            _("the file is not text (a NUL character at position %(position)s)")
            % {"position": text.index(chr(0))},
            field="file",
        )
    return text


def _pristinity(text: str) -> Decimal:
    """Raises ValueError with the reason."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(_("%(text)s is not a number") % {"text": repr(text)}) from None
    if not value.is_finite() or value < 0:
        raise ValueError(_("%(text)s is not a percentage of zero or more") % {"text": repr(text)})
    if value >= PRISTINITY_LIMIT or value != round(value, PRISTINITY_PLACES):
        raise ValueError(
            _("%(text)s must be below %(limit)s with at most two decimals")
            % {"text": repr(text), "limit": PRISTINITY_LIMIT}
        )
    return value


def apollo_csv_parse(data: bytes | str) -> CatalogReport:
    """Parse and normalize the Apollo catalog; raise a DomainError naming every bad row.

    Spelling variants that differ only by case become the spelling most rows use; stray spaces go.
    Everything else is kept as recorded and listed in the report.
    """
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    problems = _Problems()
    header = next(reader, None)
    if header is None or tuple(_tidy(h) for h in header) != APOLLO_HEADER:
        found = ",".join(header or [])
        if found:
            message = _("row 1: the header must be %(expected)s; found %(found)s")
        else:
            message = _("row 1: the header must be %(expected)s; found an empty file")
        raise DomainError(
            message % {"expected": ",".join(APOLLO_HEADER), "found": found}, field="header"
        )
    report = CatalogReport()
    raw: list[tuple[int, list[str]]] = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        row = reader.line_num
        if len(cells) != len(APOLLO_HEADER):
            problems.add(
                row,
                None,
                _("has %(count)s cells where the header has %(expected)s")
                % {"count": len(cells), "expected": len(APOLLO_HEADER)},
            )
            continue
        tidy = []
        for column, cell in zip(APOLLO_HEADER, cells, strict=True):
            clean = _tidy(cell)
            if clean != cell:
                report.stray_spaces.append((row, column))
            tidy.append(clean)
        raw.append((row, tidy))
    if not raw and not problems.items:
        raise DomainError(_("the file has a header but no samples"), field="file")

    subtype_spellings = _canonical_spellings(cells[3] for _row, cells in raw if cells[3])
    missions = {k.lower(): k for k in APOLLO_MISSIONS}
    types = {k.lower(): k for k in APOLLO_TYPES}
    variants: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    first_row: dict[str, int] = {}
    for row, (identifier, mission_text, type_text, subtype, weight, pristine) in raw:
        ok = True
        if not GENERIC_NUMBER.fullmatch(identifier):
            problems.add(
                row,
                "ID",
                _("%(identifier)s is not a five-digit Apollo generic number")
                % {"identifier": repr(identifier)},
            )
            ok = False
        elif identifier in first_row:
            problems.add(
                row,
                "ID",
                _("%(value)s already appears in %(where)s")
                % {"value": identifier, "where": _at("row", first_row[identifier])},
            )
            ok = False
        else:
            first_row[identifier] = row

        mission = missions.get(mission_text.lower())
        if mission is None:
            problems.add(
                row,
                "Mission",
                _("unknown mission %(mission)s; expected one of %(missions)s")
                % {"mission": repr(mission_text), "missions": ", ".join(APOLLO_MISSIONS)},
            )
            ok = False
        else:
            variants["Mission"][mission][mission_text] += 1
            facts = APOLLO_MISSIONS[mission]
            if ok and not identifier.startswith(facts.generic_prefix):
                problems.add(
                    row,
                    "ID",
                    _("%(identifier)s is not an %(mission)s number (those start with %(prefix)s)")
                    % {
                        "identifier": identifier,
                        "mission": facts.name,
                        "prefix": facts.generic_prefix,
                    },
                )
                ok = False

        sample_type = types.get(type_text.lower())
        if sample_type is None:
            problems.add(
                row,
                "Type",
                _("unknown type %(type)s; expected one of %(types)s")
                % {"type": repr(type_text), "types": ", ".join(APOLLO_TYPES)},
            )
            ok = False
        else:
            variants["Type"][sample_type][type_text] += 1

        if subtype:
            canonical = subtype_spellings[subtype.lower()]
            variants["Subtype"][canonical][subtype] += 1
            subtype = canonical
            if len(subtype) > SUBTYPE_MAX:
                problems.add(
                    row,
                    "Subtype",
                    _("is longer than %(max)s characters") % {"max": SUBTYPE_MAX},
                )
                ok = False
            elif subtype.lower() in UNSTUDIED_SUBTYPES:
                report.unstudied.append((row, subtype))
        else:
            report.empty_subtypes.append(row)

        mass_ug = 0
        if not weight:
            problems.add(row, "Weight (g)", _("the mass is missing"))
            ok = False
        elif "," in weight:
            # "12,5" is 12.5 g in much of the world and 125 g to a thousands reader: refuse both.
            problems.add(
                row,
                "Weight (g)",
                _("%(weight)s: write grams with a decimal point and no commas")
                % {"weight": repr(weight)},
            )
            ok = False
        else:
            try:
                mass_ug = parse_mass(weight, "g")
            except DomainError as exc:
                problems.add(row, "Weight (g)", exc.message)
                ok = False
            else:
                if mass_ug < 0:
                    problems.add(
                        row,
                        "Weight (g)",
                        _("the mass %(weight)s g is negative") % {"weight": weight},
                    )
                    ok = False
                elif mass_ug == 0:
                    report.zero_mass.append((row, identifier))

        pristinity = None
        if not pristine:
            report.pristinity_missing.append(row)
        else:
            try:
                pristinity = _pristinity(pristine)
            except ValueError as exc:
                problems.add(row, "Pristine (%)", str(exc))
                ok = False
            else:
                if pristinity > 100:
                    report.pristinity_over_100.append((row, identifier, pristinity))

        if ok:
            form, classification = APOLLO_TYPES[sample_type]
            report.rows.append(
                CatalogRow(
                    row=row,
                    identifier=identifier,
                    mission=mission,
                    form=form,
                    classification=classification,
                    subtype=subtype,
                    mass_ug=mass_ug,
                    pristinity_pct=pristinity,
                )
            )
    problems.raise_if_any()
    for column in ("Mission", "Type", "Subtype"):
        for canonical, spellings in variants[column].items():
            if set(spellings) != {canonical}:
                report.case_variants.append(CaseVariant(column, canonical, dict(spellings)))
    return report


def _canonical_spellings(values) -> dict[str, str]:
    """Lower-cased value -> the spelling most rows use (the first seen on a tie)."""
    counts: dict[str, Counter] = defaultdict(Counter)
    for value in values:
        counts[value.lower()][value] += 1
    return {key: spellings.most_common(1)[0][0] for key, spellings in counts.items()}


def _import_location(code: str) -> StorageLocation:
    if code:
        return location_get(code=code)
    mains = list(
        StorageLocation.objects.filter(
            kind=StorageLocation.Kind.FACILITY, site=StorageLocation.Site.MAIN
        )[:2]
    )
    if not mains:
        raise NotFound(
            _(
                "there is no main facility to receive the samples into; create a storage "
                "location of kind facility at the main site, or name one with --location"
            ),
            field="location",
        )
    if len(mains) > 1:
        raise DomainError(
            _("there is more than one main facility; name the storage location with --location"),
            field="location",
        )
    return mains[0]


def _identifiers_taken(report: CatalogReport) -> None:
    by_identifier = {r.identifier: r.row for r in report.rows}
    identifiers = list(by_identifier)
    taken: list[str] = []
    # Chunks keep every query under SQLite's bound-parameter limit.
    for start in range(0, len(identifiers), 900):
        chunk = identifiers[start : start + 900]
        taken += Sample.objects.filter(identifier__in=chunk).values_list("identifier", flat=True)
    problems = _Problems()
    for identifier in sorted(taken, key=by_identifier.__getitem__):
        problems.add(
            by_identifier[identifier],
            "ID",
            _("sample %(identifier)s is already in the inventory") % {"identifier": identifier},
        )
    problems.raise_if_any(Conflict)


def apollo_catalog_import(
    *,
    actor,
    report: CatalogReport,
    pool: str = Pool.PERMANENT,
    location_code: str = "",
    dry_run: bool = False,
    reason: str = "",
    progress: Callable[[int, int | None], None] | None = None,
) -> ImportOutcome:
    """Receive every row of a parsed catalog as a root sample, in one transaction.

    Missing Apollo missions are created with their landing facts. With `dry_run` every check
    runs and nothing is written.
    """
    if pool not in Pool.values:
        raise DomainError(
            _("%(value)s is not one of: %(values)s")
            % {"value": repr(pool), "values": ", ".join(Pool.values)},
            field="pool",
        )
    location = _import_location(location_code)
    _identifiers_taken(report)
    needed = {APOLLO_MISSIONS[m].code: APOLLO_MISSIONS[m] for m in report.by_mission()}
    existing = {m.code: m for m in Mission.objects.filter(code__in=needed)}
    to_create = [facts for code, facts in needed.items() if code not in existing]
    if dry_run:
        return ImportOutcome(0, True, location.code, pool, [f.code for f in to_create])
    # The bulk writer shares helpers with this module's importers; imported here, not above.
    from moonvault.catalog.importers_mapped import RootRow, catalog_rows_receive

    with transaction.atomic():
        for facts in to_create:
            existing[facts.code] = Mission.objects.create(
                code=facts.code,
                name=facts.name,
                agency="NASA",
                landing_site=facts.landing_site,
                latitude=facts.latitude,
                longitude=facts.longitude,
                landed_on=facts.landed_on,
                returned_on=facts.returned_on,
                returned_mass_ug=facts.returned_mass_ug,
                id_convention=IdConvention.APOLLO,
            )
        outcome = catalog_rows_receive(
            actor=actor,
            reason=reason,
            rows=[
                RootRow(
                    row=r.row,
                    identifier=r.identifier,
                    mission=r.mission,
                    form=r.form,
                    mass_ug=r.mass_ug,
                    classification=r.classification,
                    subtype=r.subtype,
                    pristinity_pct=r.pristinity_pct,
                )
                for r in report.rows
            ],
            refused=[],
            missions=lambda name: existing[APOLLO_MISSIONS[name].code],
            columns={"identifier": "ID", "mission": "Mission", "igsn": None, "displays": None},
            pool=pool,
            location=location,
            progress=progress,
            total=len(report.rows),
        )
    return ImportOutcome(outcome.received, False, location.code, pool, [f.code for f in to_create])
