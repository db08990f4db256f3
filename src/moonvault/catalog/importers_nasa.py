"""Importing the layout of NASA's public lunar sample catalog service, in its JSON and CSV forms.

`nasa_json_parse` and `nasa_csv_parse` read one generic sample per record into plain rows, a
refusal for every record that cannot be imported, and a report of what was normalized, touching no
database. `nasa_catalog_import` creates the Apollo missions it lacks and receives the rows with
`catalog_rows_receive`: all or nothing, and a second run of the same file changes nothing.

Samples have no fields for the collection site or the catalog's flags, so station, landmark and
bag number, the pristinity date and "has thin sections" become lines of the sample's description.
Display sample numbers become display samples: splits of the generic into the public-benefit pool,
with no mass recorded until they are weighed.
"""

import csv
import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from moonvault.catalog.importers import (
    APOLLO_MISSIONS,
    APOLLO_TYPES,
    GENERIC_NUMBER,
    SUBTYPE_MAX,
    CaseVariant,
    _at,
    _canonical_spellings,
    _decode,
    _import_location,
    _numbered,
    _pristinity,
    _tidy,
)
from moonvault.catalog.importers_mapped import (
    MASS_UNKNOWN,
    ReceiveOutcome,
    RootRow,
    catalog_rows_receive,
    refusal,
)
from moonvault.catalog.models import IdConvention, Mission, Pool
from moonvault.core.errors import DomainError, FieldProblem
from moonvault.core.units import parse_mass

NASA_FIELDS = (
    "GENERIC",
    "SAMPLEID",
    "MISSION",
    "STATION",
    "LANDMARK",
    "BAGNUMBER",
    "ORIGINALWEIGHT",
    "SAMPLETYPE",
    "SAMPLESUBTYPE",
    "PRISTINITY",
    "PRISTINITYDATE",
    "HASTHINSECTION",
    "HASDISPLAYSAMPLE",
    "DISPLAYSAMPLENUMBER",
    "GENERICDESCRIPTION",
)
REQUIRED_FIELDS = ("GENERIC", "MISSION", "ORIGINALWEIGHT", "SAMPLETYPE")
YES = frozenset({"y", "yes", "true", "t", "1"})
NO = frozenset({"n", "no", "false", "f", "0", ""})
# The service writes dates as .NET does ("1/1/2005 12:00:00 AM") or as ISO 8601.
US_DATE_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y")
DISPLAY_SEPARATORS = re.compile(r"[;\s]+")
SPLIT_NUMBER = re.compile(r"(?:(\d{5}),)?(\d+)")
COLUMNS = {
    "identifier": "GENERIC",
    "mission": "MISSION",
    "igsn": None,
    "displays": "DISPLAYSAMPLENUMBER",
}


@dataclass
class NasaReport:
    word: str  # "row" for CSV, "record" for JSON
    rows: list[RootRow] = field(default_factory=list)
    refused: list[FieldProblem] = field(default_factory=list)
    case_variants: list[CaseVariant] = field(default_factory=list)
    renamed_fields: dict[str, str] = field(default_factory=dict)  # spelling -> field
    ignored_fields: list[str] = field(default_factory=list)
    stray_spaces: list[tuple[int, str]] = field(default_factory=list)  # (row, field)
    zero_mass: list[tuple[int, str]] = field(default_factory=list)  # (row, generic)
    mass_unknown: list[tuple[int, str]] = field(default_factory=list)
    display_without_number: list[int] = field(default_factory=list)
    display_number_without_flag: list[int] = field(default_factory=list)

    def by_mission(self) -> dict[str, int]:
        return dict(Counter(APOLLO_MISSIONS[r.mission].code for r in self.rows))

    def lines(self) -> list[str]:
        """The report as a curator reads it, in the active language."""
        total = sum(r.mass_ug for r in self.rows)
        displays = sum(len(r.displays) for r in self.rows)
        if self.word == "record":
            read = _(
                "%(count)s records read: %(generics)s generic samples (%(mass)s g), "
                "%(displays)s display samples"
            )
        else:
            read = _(
                "%(count)s rows read: %(generics)s generic samples (%(mass)s g), "
                "%(displays)s display samples"
            )
        out = [
            read
            % {
                "count": f"{len(self.rows) + len(self.refused):,}",
                "generics": f"{len(self.rows):,}",
                "mass": f"{Decimal(total) / 1_000_000:,f}",
                "displays": f"{displays:,}",
            }
        ]
        out += [
            "  " + _("%(code)s: %(count)s generic samples") % {"code": code, "count": f"{n:,}"}
            for code, n in self.by_mission().items()
        ]
        out.append(_("Normalized and noted (rows imported as described):"))
        for spelling, name in sorted(self.renamed_fields.items()):
            out.append(
                "  "
                + _("field %(spelling)s read as %(field)s")
                % {"spelling": repr(spelling), "field": name}
            )
        if self.ignored_fields:
            out.append(
                "  "
                + _("fields not in the layout, ignored: %(fields)s")
                % {"fields": ", ".join(self.ignored_fields)}
            )
        for variant in self.case_variants:
            spelled = ", ".join(f"{s!r} ×{n}" for s, n in sorted(variant.spellings.items()))
            out.append(
                "  "
                + _("spellings of %(column)s: %(spellings)s -> %(canonical)s")
                % {
                    "column": variant.column,
                    "spellings": spelled,
                    "canonical": repr(variant.canonical),
                }
            )
        if self.stray_spaces:
            rows = sorted({r for r, _field in self.stray_spaces})
            out.append(
                "  "
                + _("stray spaces removed in %(count)s cells, %(rows)s")
                % {"count": len(self.stray_spaces), "rows": _numbered(self.word, rows)}
            )
        if self.zero_mass:
            out.append(
                "  "
                + _("weight recorded as 0 g, imported with no mass: %(listed)s")
                % {"listed": self._listed(self.zero_mass)}
            )
        if self.mass_unknown:
            out.append(
                "  "
                + _("no weight given, imported as mass unknown: %(listed)s")
                % {"listed": self._listed(self.mass_unknown)}
            )
        if self.display_without_number:
            out.append(
                "  "
                + _(
                    "HASDISPLAYSAMPLE without a DISPLAYSAMPLENUMBER (no display sample made), "
                    "%(rows)s"
                )
                % {"rows": _numbered(self.word, self.display_without_number)}
            )
        if self.display_number_without_flag:
            out.append(
                "  "
                + _(
                    "DISPLAYSAMPLENUMBER with HASDISPLAYSAMPLE not set (display sample made), "
                    "%(rows)s"
                )
                % {"rows": _numbered(self.word, self.display_number_without_flag)}
            )
        return out

    def _listed(self, items: list[tuple[int, str]]) -> str:
        """`70017 (row 5), 74220 (row 9)`: generic numbers and where the file has them."""
        return ", ".join(
            _("%(generic)s (%(where)s)") % {"generic": g, "where": _at(self.word, r)}
            for r, g in items
        )


def _text(value) -> str:
    """A JSON value as the CSV form would give it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def _field_name(spelling: str) -> str:
    return "".join(spelling.split()).upper()


def nasa_json_parse(data: bytes | str, *, allow_unknown_mass: bool = False) -> NasaReport:
    """A list of objects, one per generic sample; records are numbered from 1."""
    try:
        loaded = json.loads(_decode(data), parse_float=Decimal)
    except ValueError as exc:
        raise DomainError(
            _("the file is not JSON: %(error)s") % {"error": exc}, field="file"
        ) from None
    if not isinstance(loaded, list):
        raise DomainError(_("the file must be a JSON list of sample objects"), field="file")
    report = NasaReport(word="record")
    records = []
    for number, item in enumerate(loaded, start=1):
        if not isinstance(item, dict):
            report.refused.append(refusal(number, None, _("is not an object"), word="record"))
            continue
        texts = {key: _text(value) for key, value in item.items()}
        # JSON can spell NUL as an escape, which the whole-file check cannot see.
        nul = next((key for key, text in texts.items() if "\x00" in key + text), None)
        if nul is not None:
            report.refused.append(refusal(number, nul, _("holds a NUL character"), word="record"))
            continue
        records.append((number, texts))
    return _parse(records, report, allow_unknown_mass)


def nasa_csv_parse(data: bytes | str, *, allow_unknown_mass: bool = False) -> NasaReport:
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    header = next(reader, None)
    if not header:
        raise DomainError(_("row 1: the file is empty; it needs a header row"), field="header")
    missing = set(REQUIRED_FIELDS) - {_field_name(h) for h in header}
    if missing:
        raise DomainError(
            _("row 1: the header lacks %(missing)s; the layout is %(layout)s")
            % {"missing": ", ".join(sorted(missing)), "layout": ",".join(NASA_FIELDS)},
            field="header",
        )
    report = NasaReport(word="row")
    records = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            report.refused.append(
                refusal(
                    reader.line_num,
                    None,
                    _("has %(count)s cells where the header has %(expected)s")
                    % {"count": len(cells), "expected": len(header)},
                )
            )
            continue
        records.append((reader.line_num, dict(zip(header, cells, strict=True))))
    return _parse(records, report, allow_unknown_mass)


def _flag(text: str) -> bool:
    """Raises ValueError."""
    if text.lower() in YES:
        return True
    if text.lower() in NO:
        return False
    raise ValueError(_("%(text)s is neither yes nor no") % {"text": repr(text)})


def _date(text: str) -> date:
    """Raises ValueError."""
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        pass
    for pattern in US_DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(
        _("%(text)s is not a date (1/1/2005 12:00:00 AM or 2005-01-01T00:00:00)")
        % {"text": repr(text)}
    )


def _displays(text: str, generic: str) -> tuple[str, ...]:
    """`290`, `70017,290` or several separated by semicolons or spaces. Raises ValueError."""
    out = []
    for item in DISPLAY_SEPARATORS.split(text):
        match = SPLIT_NUMBER.fullmatch(item)
        if not match or (match[1] and match[1] != generic):
            raise ValueError(
                _("%(item)s is not a split number of %(generic)s (290 or %(generic)s,290)")
                % {"item": repr(item), "generic": generic}
            )
        out.append(f"{generic},{int(match[2])}")
    return tuple(dict.fromkeys(out))


def _parse(
    records: list[tuple[int, dict[str, str]]], report: NasaReport, allow_unknown_mass: bool
) -> NasaReport:
    word = report.word
    tidy_records = []
    for row, raw in records:
        values = dict.fromkeys(NASA_FIELDS, "")
        for spelling, cell in raw.items():
            name = _field_name(spelling)
            if name not in NASA_FIELDS:
                if spelling not in report.ignored_fields:
                    report.ignored_fields.append(spelling)
                continue
            if spelling != name:
                report.renamed_fields[spelling] = name
            clean = _tidy(cell)
            if clean != cell:
                report.stray_spaces.append((row, name))
            values[name] = clean
        tidy_records.append((row, values))
    if not tidy_records and not report.refused:
        raise DomainError(_("the file holds no samples"), field="file")

    subtypes = _canonical_spellings(
        v["SAMPLESUBTYPE"] for _row, v in tidy_records if v["SAMPLESUBTYPE"]
    )
    missions = {k.lower(): k for k in APOLLO_MISSIONS}
    types = {k.lower(): k for k in APOLLO_TYPES}
    variants: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
    first_row: dict[str, int] = {}
    for row, v in tidy_records:
        problems: list[FieldProblem] = []

        def refuse(column: str, why: str, row=row, problems=problems) -> None:
            problems.append(refusal(row, column, why, word=word))

        generic = v["GENERIC"]
        if not GENERIC_NUMBER.fullmatch(generic):
            refuse(
                "GENERIC",
                _("%(identifier)s is not a five-digit Apollo generic number")
                % {"identifier": repr(generic)},
            )
        elif generic in first_row:
            refuse(
                "GENERIC",
                _("%(value)s already appears in %(where)s")
                % {"value": generic, "where": _at(word, first_row[generic])},
            )
        else:
            first_row[generic] = row
        if v["SAMPLEID"] and v["SAMPLEID"] != generic:
            refuse(
                "SAMPLEID",
                _("%(value)s is not the generic number %(generic)s")
                % {"value": repr(v["SAMPLEID"]), "generic": generic},
            )

        mission = missions.get("".join(v["MISSION"].split()).lower())
        if mission is None:
            refuse(
                "MISSION",
                _("unknown mission %(mission)s; Apollo 11 to Apollo 17")
                % {"mission": repr(v["MISSION"])},
            )
        else:
            variants["MISSION"][mission][v["MISSION"]] += 1
            prefix = APOLLO_MISSIONS[mission].generic_prefix
            if GENERIC_NUMBER.fullmatch(generic) and not generic.startswith(prefix):
                refuse(
                    "GENERIC",
                    _("%(generic)s is not an %(mission)s number (%(prefix)s…)")
                    % {"generic": generic, "mission": mission, "prefix": prefix},
                )

        sample_type = types.get(v["SAMPLETYPE"].lower())
        if sample_type is None:
            refuse(
                "SAMPLETYPE",
                _("unknown type %(type)s; one of %(types)s")
                % {"type": repr(v["SAMPLETYPE"]), "types": ", ".join(APOLLO_TYPES)},
            )
        else:
            variants["SAMPLETYPE"][sample_type][v["SAMPLETYPE"]] += 1

        subtype = v["SAMPLESUBTYPE"]
        if subtype:
            canonical = subtypes[subtype.lower()]
            variants["SAMPLESUBTYPE"][canonical][subtype] += 1
            subtype = canonical
            if len(subtype) > SUBTYPE_MAX:
                refuse(
                    "SAMPLESUBTYPE",
                    _("is longer than %(max)s characters") % {"max": SUBTYPE_MAX},
                )

        weight, mass_ug, unknown = v["ORIGINALWEIGHT"], 0, False
        if not weight:
            if allow_unknown_mass:
                unknown = True
                report.mass_unknown.append((row, generic))
            else:
                refuse(
                    "ORIGINALWEIGHT",
                    _("the weight is missing (--allow-unknown-mass imports it as unknown)"),
                )
        elif "," in weight:
            refuse(
                "ORIGINALWEIGHT",
                _("%(weight)s: grams with a decimal point and no commas")
                % {"weight": repr(weight)},
            )
        else:
            try:
                mass_ug = parse_mass(weight, "g", field="ORIGINALWEIGHT")
            except DomainError as exc:
                refuse("ORIGINALWEIGHT", exc.message)
            else:
                if mass_ug < 0:
                    refuse(
                        "ORIGINALWEIGHT",
                        _("the weight %(weight)s g is negative") % {"weight": weight},
                    )
                elif mass_ug == 0:
                    report.zero_mass.append((row, generic))

        pristinity = None
        if v["PRISTINITY"]:
            try:
                pristinity = _pristinity(v["PRISTINITY"])
            except ValueError as exc:
                refuse("PRISTINITY", str(exc))
        notes = [v["GENERICDESCRIPTION"]] if v["GENERICDESCRIPTION"] else []
        site = [
            f"{label} {v[name]}"
            for label, name in (
                ("station", "STATION"),
                ("landmark", "LANDMARK"),
                ("bag", "BAGNUMBER"),
            )
            if v[name]
        ]
        if site:
            notes.append("Collection site: " + "; ".join(site) + ".")
        if v["PRISTINITYDATE"]:
            try:
                notes.append(f"Pristinity assessed on {_date(v['PRISTINITYDATE']).isoformat()}.")
            except ValueError as exc:
                refuse("PRISTINITYDATE", str(exc))
        flags = {}
        for name in ("HASTHINSECTION", "HASDISPLAYSAMPLE"):
            try:
                flags[name] = _flag(v[name])
            except ValueError as exc:
                refuse(name, str(exc))
        if flags.get("HASTHINSECTION"):
            notes.append("Thin sections exist (NASA catalog).")
        if unknown:
            notes.append(MASS_UNKNOWN)

        displays: tuple[str, ...] = ()
        if v["DISPLAYSAMPLENUMBER"]:
            try:
                displays = _displays(v["DISPLAYSAMPLENUMBER"], generic)
            except ValueError as exc:
                refuse("DISPLAYSAMPLENUMBER", str(exc))
            if flags.get("HASDISPLAYSAMPLE") is False:
                report.display_number_without_flag.append(row)
        elif flags.get("HASDISPLAYSAMPLE"):
            report.display_without_number.append(row)

        if problems:
            report.refused += problems
            continue
        form, classification = APOLLO_TYPES[sample_type]
        report.rows.append(
            RootRow(
                row=row,
                identifier=generic,
                mission=mission,
                form=form,
                mass_ug=mass_ug,
                classification=classification,
                subtype=subtype,
                pristinity_pct=pristinity,
                description="\n".join(notes),
                mass_unknown=unknown,
                displays=displays,
            )
        )
    for column in ("MISSION", "SAMPLETYPE", "SAMPLESUBTYPE"):
        for canonical, spellings in variants[column].items():
            # The service spells missions "Apollo 17"; only a mix of spellings is news.
            if set(spellings) != {canonical} and (column != "MISSION" or len(spellings) > 1):
                report.case_variants.append(CaseVariant(column, canonical, dict(spellings)))
    return report


def _mission(facts) -> Mission:
    return Mission(
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


def nasa_catalog_import(
    *,
    actor,
    report: NasaReport,
    pool: str = Pool.PERMANENT,
    location_code: str = "",
    dry_run: bool = False,
    reason: str = "",
    progress: Callable[[int, int | None], None] | None = None,
) -> ReceiveOutcome:
    """Missing Apollo missions are created with their landing facts, in the same transaction."""
    location = _import_location(location_code)
    needed = {r.mission for r in report.rows}
    existing = {m.code: m for m in Mission.objects.filter(code__in=[
        APOLLO_MISSIONS[name].code for name in needed
    ])}  # fmt: skip
    missions = {
        name: existing.get(APOLLO_MISSIONS[name].code) or _mission(APOLLO_MISSIONS[name])
        for name in needed
    }
    created = tuple(sorted(m.code for m in missions.values() if m.pk is None))
    with transaction.atomic():
        if not dry_run and not report.refused:
            for mission in missions.values():
                if mission.pk is None:
                    mission.save()
        outcome = catalog_rows_receive(
            actor=actor,
            rows=report.rows,
            refused=report.refused,
            missions=missions.get,
            columns=COLUMNS,
            pool=pool,
            location=location,
            dry_run=dry_run,
            reason=reason,
            progress=progress,
            word=report.word,
            total=len(report.rows),
        )
    return replace(outcome, missions_created=created)
