"""`moonvault backup FILE`: a portable archive of the ledger and the current state."""

from django.core.management.base import BaseCommand

from moonvault.custody.archive import backup_write


class Command(BaseCommand):
    help = "Write a backup archive (zip: ledger JSON lines, current state, checksums)."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        manifest = backup_write(file)
        self.stdout.write(
            f"backup written to {file}: ledger head #{manifest['head_seq']} {manifest['head_hash']}"
        )
