"""`moonvault export-loans --format csv|json [--kind K] [--state S] [--institution I]
[--overdue true|false] [FILE]`."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from moonvault.core.errors import DomainError
from moonvault.loans import exports

FORMATS = {"csv": exports.loans_csv, "json": exports.loans_json}


class Command(BaseCommand):
    help = (
        "Write research and exhibition loans (all, or those matching the filters) as CSV or "
        "JSON, to FILE or standard output."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", type=Path, help="output file (default: stdout)")
        parser.add_argument("--format", dest="file_format", required=True, choices=FORMATS)
        parser.add_argument("--kind", default="", help=f"one of {', '.join(exports.KINDS)}")
        parser.add_argument("--state", default="", help="a loan's or an exhibition's status")
        parser.add_argument("--institution", default="", help="words of the borrower's name")
        parser.add_argument("--overdue", default="", help="true or false")

    def handle(self, *args, file: Path | None, file_format: str, **options):
        try:
            filters = exports.loan_filters(
                kind=options["kind"],
                state=options["state"],
                institution=options["institution"],
                overdue=options["overdue"],
            )
        except DomainError as exc:
            raise CommandError(f"--{exc.problems[0].field}: {exc.message}") from None
        rows = exports.loan_export_all(filters=filters, today=timezone.localdate())
        pieces = FORMATS[file_format](rows)
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
