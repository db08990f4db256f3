"""`moonvault import-samples FILE --format FORMAT`: receive a catalog, all or nothing."""

import io
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from moonvault.catalog.importers import apollo_catalog_import, apollo_csv_parse
from moonvault.catalog.importers_mapped import (
    MappedReport,
    mapped_catalog_import,
    mapped_csv_read,
    mapping_load,
    rows_read_aside,
)
from moonvault.catalog.importers_nasa import (
    nasa_catalog_import,
    nasa_csv_parse,
    nasa_json_parse,
)
from moonvault.catalog.models import Pool
from moonvault.core.errors import DomainError

FORMATS = {"apollo-csv": (apollo_csv_parse, apollo_catalog_import)}
# Formats that take --allow-unknown-mass; "mapped" also takes --mapping and is read as a stream.
NASA_FORMATS = {"nasa-json": nasa_json_parse, "nasa-csv": nasa_csv_parse}
ALL_FORMATS = sorted([*FORMATS, *NASA_FORMATS, "mapped"])


class Progress:
    """Rows written and the rate so far, on stderr: one line redrawn on a terminal, else a line
    per batch when asked for with --progress; nothing with --quiet or when nobody watches."""

    def __init__(self, stream, *, show: bool, redraw: bool):
        self.stream, self.show, self.redraw = stream, show, redraw
        self.started = time.perf_counter()
        self.drawn = False

    def __call__(self, done: int, total: int | None) -> None:
        if not self.show:
            return
        rate = done / max(time.perf_counter() - self.started, 1e-9)
        if total:
            text = f"  {done:,} of {total:,} samples written ({done * 100 // total} %)"
        else:
            text = f"  {done:,} samples written"
        text += f", {rate:,.0f} rows/s"
        if self.redraw:
            self.stream.write(f"\r{text}", style_func=str, ending="")
            self.stream.flush()
            self.drawn = True
        else:
            self.stream.write(text, style_func=str)

    def end(self) -> None:
        if self.drawn:
            self.stream.write("")
            self.drawn = False


class Command(BaseCommand):
    help = (
        "Import a sample catalog file as root samples in the custody ledger. The whole file is "
        "imported or, if any row is bad, nothing; every anomaly is reported. Samples already "
        "imported are left unchanged (nasa-json, nasa-csv, mapped). Progress goes to stderr "
        "when it is a terminal."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", dest="file_format", required=True, choices=ALL_FORMATS)
        parser.add_argument(
            "--pool",
            default=Pool.PERMANENT.value,
            choices=Pool.values,
            help="purpose pool of the imported samples (default: permanent)",
        )
        parser.add_argument(
            "--location",
            default="",
            metavar="CODE",
            help="storage location code (default: the main facility)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, import nothing"
        )
        parser.add_argument(
            "--mapping",
            type=Path,
            metavar="FILE",
            help="the mapping of the file's columns, JSON or TOML (--format mapped)",
        )
        parser.add_argument(
            "--allow-unknown-mass",
            action="store_true",
            help="import rows without a mass at 0 µg, marked 'mass unknown' and listed for "
            "weighing (nasa-json, nasa-csv, mapped)",
        )
        shown = parser.add_mutually_exclusive_group()
        shown.add_argument(
            "--quiet", action="store_true", help="no progress on stderr, even on a terminal"
        )
        shown.add_argument(
            "--progress",
            dest="show_progress",
            action="store_true",
            help="progress on stderr even when it is not a terminal (a line per batch)",
        )

    def handle(self, *args, file: Path, file_format: str, **options):
        redraw = self.stderr.isatty()
        progress = Progress(
            self.stderr,
            show=options["show_progress"] or (redraw and not options["quiet"]),
            redraw=redraw,
        )
        try:
            if file_format in FORMATS:
                if options["mapping"] or options["allow_unknown_mass"]:
                    raise CommandError(
                        f"--mapping and --allow-unknown-mass do not apply to {file_format}"
                    )
                return self._apollo(file, file_format, progress=progress, **options)
            if (file_format == "mapped") != bool(options["mapping"]):
                raise CommandError("--mapping FILE goes with --format mapped, and only with it")
            return self._receive(file, file_format, progress, options)
        finally:
            progress.end()

    def _receive(self, file: Path, file_format: str, progress: Progress, options) -> None:
        common = {
            "actor": None,
            "pool": options["pool"],
            "location_code": options["location"],
            "dry_run": options["dry_run"],
            "reason": f"imported from {file.name} ({file_format})",
            "progress": progress,
        }
        started = time.perf_counter()
        try:
            if file_format == "mapped":
                mapping = mapping_load(self._read(options["mapping"]), name=options["mapping"].name)
                report = MappedReport()
                with self._open(file) as lines:
                    outcome = mapped_catalog_import(
                        report=report,
                        mapping=mapping,
                        rows=rows_read_aside(
                            mapped_csv_read(
                                lines,
                                mapping=mapping,
                                report=report,
                                allow_unknown_mass=options["allow_unknown_mass"],
                            ),
                            report,
                        ),
                        **common,
                    )
                progress.end()
                self._lines(report.lines())
            else:
                parse = NASA_FORMATS[file_format]
                report = parse(self._read(file), allow_unknown_mass=options["allow_unknown_mass"])
                self._lines(report.lines())
                outcome = nasa_catalog_import(report=report, **common)
        except DomainError as exc:
            progress.end()
            self._fail(exc)
        progress.end()
        self._lines(outcome.lines())
        if outcome.refused:
            raise CommandError(f"dry run: {len(outcome.refused):,} rows cannot be imported")
        if not outcome.dry_run and outcome.received:
            elapsed = time.perf_counter() - started
            rate = (outcome.received + outcome.displays) / elapsed
            self.stdout.write(
                self.style.SUCCESS(
                    f"Imported in full at {rate:,.0f} samples/s ({elapsed:.2f} s in all)."
                )
            )

    def _read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None

    def _open(self, path: Path):
        try:
            return _Lines(path.open("rb"))
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None

    def _lines(self, lines: list[str]) -> None:
        for line in lines:
            self.stdout.write(line)

    def _fail(self, exc: DomainError):
        if len(exc.problems) > 1:
            for problem in exc.problems:
                self.stderr.write(problem.message)
        raise CommandError(exc.message) from None

    def _apollo(self, file: Path, file_format: str, *, pool, location, dry_run, progress, **_):
        parse, receive = FORMATS[file_format]
        data = self._read(file)
        started = time.perf_counter()
        try:
            report = parse(data)
            outcome = receive(
                actor=None,
                report=report,
                pool=pool,
                location_code=location,
                dry_run=dry_run,
                reason=f"imported from {file.name} ({file_format})",
                progress=progress,
            )
        except DomainError as exc:
            progress.end()
            self._fail(exc)
        elapsed = time.perf_counter() - started
        progress.end()
        for line in report.lines():
            self.stdout.write(line)
        if outcome.missions_created:
            verb = "would create" if dry_run else "created"
            self.stdout.write(f"Missions {verb}: {', '.join(outcome.missions_created)}")
        if dry_run:
            self.stdout.write(
                f"Dry run: {len(report.rows):,} samples would be received into {outcome.location} "
                f"(pool {outcome.pool}); nothing was imported."
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Imported {outcome.imported:,} samples into {outcome.location} "
                    f"(pool {outcome.pool}) in {elapsed:.2f} s."
                )
            )


class _Lines:
    """A file's text lines read as they are needed, so that a large catalog never sits in memory
    whole; bytes that are not UTF-8 are a DomainError like those of a file read at once."""

    def __init__(self, handle):
        self.text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")

    def __enter__(self):
        return self._lines()

    def __exit__(self, *exc):
        self.text.close()

    def _lines(self):
        try:
            yield from self.text
        except UnicodeDecodeError as exc:
            raise DomainError(
                f"the file is not UTF-8 text ({exc.reason} at byte {exc.start} of a block)",
                field="file",
            ) from None
