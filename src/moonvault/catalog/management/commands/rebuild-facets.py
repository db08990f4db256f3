"""`moonvault rebuild-facets [--check]`: recount the catalog's facet table from the samples, and
on SQLite index their text again."""

from django.core.management.base import BaseCommand

from moonvault.catalog.facets import sample_facets_drift, sample_facets_rebuild
from moonvault.catalog.text_index import sample_text_exact, sample_text_rebuild


class Command(BaseCommand):
    help = (
        "Recount the pre-counted facet table (samples and mass per mission, form, pool and "
        "state) from the samples and, on SQLite, rebuild the text search index. Triggers keep "
        "both exact; use this after repairs."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="only report differences, change nothing"
        )

    def handle(self, *args, check, **options):
        if check:
            drift = sample_facets_drift()
            for line in drift:
                self.stdout.write(line)
            if drift:
                noun = "row differs" if len(drift) == 1 else "rows differ"
                self.stdout.write(f"{len(drift)} facet {noun} from the samples")
            else:
                self.stdout.write("the facet table is exact")
            if sample_text_exact():
                self.stdout.write("the text index is exact")
            else:
                self.stdout.write("the text index differs from the samples")
            return
        rows = sample_facets_rebuild()
        self.stdout.write(f"facet table rebuilt: {rows} rows")
        if sample_text_rebuild():
            self.stdout.write("text index rebuilt")
