"""`moonvault export-samples --format sesar-csv|sesar-json|datacite-json [filters] [FILE]`."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from moonvault.catalog import exports
from moonvault.catalog.models import Form, Pool, State
from moonvault.catalog.selectors import SORTS, SampleFilters, sample_search
from moonvault.core.errors import DomainError

FORMATS = {
    "sesar-csv": exports.sesar_csv,
    "sesar-json": exports.sesar_json,
    "datacite-json": exports.datacite_json,
}


class Command(BaseCommand):
    help = (
        "Write the metadata of the catalog's samples (all, or those matching the filters) in "
        "SESAR / IGSN registry fields or as DataCite records, to FILE or standard output."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", type=Path, help="output file (default: stdout)")
        parser.add_argument("--format", dest="file_format", required=True, choices=FORMATS)
        parser.add_argument("--mission", default="", help="mission code, e.g. CE5")
        parser.add_argument("--form", default="", choices=["", *Form.values])
        parser.add_argument("--pool", default="", choices=["", *Pool.values])
        parser.add_argument("--state", default="", choices=["", *State.values])
        parser.add_argument("--mass-min-ug", type=int)
        parser.add_argument("--mass-max-ug", type=int)
        parser.add_argument("--q", default="", metavar="PREFIX", help="identifier prefix")
        parser.add_argument("--text", default="", help="words in classification or description")
        parser.add_argument("--has-publications", action="store_true")
        parser.add_argument("--sort", default="identifier", choices=list(SORTS))

    def handle(self, *args, file: Path | None, file_format: str, **options):
        filters = SampleFilters(
            mission=options["mission"],
            form=options["form"],
            pool=options["pool"],
            state=options["state"],
            mass_min_ug=options["mass_min_ug"],
            mass_max_ug=options["mass_max_ug"],
            q=options["q"],
            text=options["text"],
            has_publications=options["has_publications"],
        )
        try:
            samples = sample_search(filters=filters, sort=options["sort"])
        except DomainError as exc:
            raise CommandError(exc.message) from None
        pieces = FORMATS[file_format](samples)
        if file is None:
            for piece in pieces:
                sys.stdout.write(piece)
            return
        try:
            with file.open("w", encoding="utf-8", newline="") as out:
                for piece in pieces:
                    out.write(piece)
        except OSError as exc:
            raise CommandError(f"cannot write {file}: {exc.strerror}") from None
        self.stderr.write(f"Wrote {file}.")
