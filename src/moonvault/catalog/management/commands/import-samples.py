"""`moonvault import-samples FILE --format FORMAT`: receive a catalog, all or nothing."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from moonvault.catalog.importers import apollo_catalog_import, apollo_csv_parse
from moonvault.catalog.importers_mapped import mapped_catalog_import, mapped_csv_parse, mapping_load
from moonvault.catalog.importers_nasa import (
    nasa_catalog_import,
    nasa_csv_parse,
    nasa_json_parse,
)
from moonvault.catalog.models import Pool
from moonvault.core.errors import DomainError

FORMATS = {"apollo-csv": (apollo_csv_parse, apollo_catalog_import)}
# Formats that take --allow-unknown-mass and report progress; "mapped" also takes --mapping.
NASA_FORMATS = {"nasa-json": nasa_json_parse, "nasa-csv": nasa_csv_parse}
ALL_FORMATS = sorted([*FORMATS, *NASA_FORMATS, "mapped"])


class Command(BaseCommand):
    help = (
        "Import a sample catalog file as root samples in the custody ledger. The whole file is "
        "imported or, if any row is bad, nothing; every anomaly is reported. Samples already "
        "imported are left unchanged (nasa-json, nasa-csv, mapped)."
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

    def handle(self, *args, file: Path, file_format: str, **options):
        if file_format in FORMATS:
            if options["mapping"] or options["allow_unknown_mass"]:
                raise CommandError(
                    f"--mapping and --allow-unknown-mass do not apply to {file_format}"
                )
            return self._apollo(file, file_format, **options)
        if (file_format == "mapped") != bool(options["mapping"]):
            raise CommandError("--mapping FILE goes with --format mapped, and only with it")
        data = self._read(file)
        common = {
            "actor": None,
            "pool": options["pool"],
            "location_code": options["location"],
            "dry_run": options["dry_run"],
            "reason": f"imported from {file.name} ({file_format})",
            "progress": self._progress,
        }
        started = time.perf_counter()
        try:
            if file_format == "mapped":
                mapping = mapping_load(self._read(options["mapping"]), name=options["mapping"].name)
                report = mapped_csv_parse(
                    data, mapping=mapping, allow_unknown_mass=options["allow_unknown_mass"]
                )
                self._lines(report.lines())
                outcome = mapped_catalog_import(report=report, mapping=mapping, **common)
            else:
                parse = NASA_FORMATS[file_format]
                report = parse(data, allow_unknown_mass=options["allow_unknown_mass"])
                self._lines(report.lines())
                outcome = nasa_catalog_import(report=report, **common)
        except DomainError as exc:
            self._fail(exc)
        self._lines(outcome.lines())
        if outcome.refused:
            raise CommandError(f"dry run: {len(outcome.refused):,} rows cannot be imported")
        if not outcome.dry_run and outcome.received:
            rate = (outcome.received + outcome.displays) / (time.perf_counter() - started)
            self.stdout.write(self.style.SUCCESS(f"Imported in full at {rate:,.0f} samples/s."))

    def _read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None

    def _lines(self, lines: list[str]) -> None:
        for line in lines:
            self.stdout.write(line)

    def _progress(self, done: int, total: int) -> None:
        self.stderr.write(f"  {done:,} of {total:,} samples written ({done * 100 // total} %)")

    def _fail(self, exc: DomainError):
        if len(exc.problems) > 1:
            for problem in exc.problems:
                self.stderr.write(problem.message)
        raise CommandError(exc.message) from None

    def _apollo(self, file: Path, file_format: str, *, pool, location, dry_run, **_):
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
            )
        except DomainError as exc:
            self._fail(exc)
        elapsed = time.perf_counter() - started
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
