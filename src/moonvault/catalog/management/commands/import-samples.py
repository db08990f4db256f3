"""`moonvault import-samples FILE --format apollo-csv`: receive a catalog, all or nothing."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from moonvault.catalog.importers import apollo_catalog_import, apollo_csv_parse
from moonvault.catalog.models import Pool
from moonvault.core.errors import DomainError

FORMATS = {"apollo-csv": (apollo_csv_parse, apollo_catalog_import)}


class Command(BaseCommand):
    help = (
        "Import a sample catalog file as root samples in the custody ledger. The whole file is "
        "imported or, if any row is bad, nothing; every anomaly is reported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", dest="file_format", required=True, choices=sorted(FORMATS))
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

    def handle(self, *args, file: Path, file_format: str, pool: str, location: str, dry_run, **_):
        parse, receive = FORMATS[file_format]
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
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
            if len(exc.problems) > 1:
                for problem in exc.problems:
                    self.stderr.write(problem.message)
            raise CommandError(exc.message) from None
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
