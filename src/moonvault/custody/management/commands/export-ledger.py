"""`moonvault export-ledger [FILE]`: the ledger as JSON lines, for auditors and publication."""

import sys

from django.core.management.base import BaseCommand

from moonvault.custody.archive import ledger_export


class Command(BaseCommand):
    help = "Write the custody ledger as JSON lines (stdout without FILE); check it with chain.py."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="output file (default: standard output)")

    def handle(self, *args, file=None, **options):
        if file:
            with open(file, "w", encoding="utf-8") as out:
                seq, digest = ledger_export(out)
            self.stderr.write(f"exported {seq} events to {file}; head {digest}")
        else:
            ledger_export(sys.stdout)
