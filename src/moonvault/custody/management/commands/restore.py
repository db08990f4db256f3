"""`moonvault restore FILE`: fill an empty database from a backup, verified or not at all."""

from django.core.management.base import BaseCommand, CommandError

from moonvault.custody.archive import ArchiveError, backup_restore


class Command(BaseCommand):
    help = "Restore a backup archive into an empty, migrated database and verify the ledger."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            manifest = backup_restore(file)
        except ArchiveError as exc:
            raise CommandError(f"restore refused: {exc}") from None
        self.stdout.write(
            f"restored {file} and verified it: ledger head #{manifest['head_seq']} "
            f"{manifest['head_hash']}"
        )
