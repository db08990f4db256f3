"""`moonvault generate --samples N --seed S`: a realistic generated inventory for scale work."""

import resource
import time

from django.core.management.base import BaseCommand, CommandError

from moonvault.catalog.generator import generate


class Command(BaseCommand):
    help = "Append a generated inventory (split trees, ~10 custody events per sample)."
    # As for verify: the system checks would load every view and its libraries, memory the
    # generator never uses.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--samples", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--events-per-sample", type=int, default=10)

    def handle(self, *args, samples, seed, events_per_sample, **options):
        if samples < 1:
            raise CommandError("--samples must be at least 1")
        if events_per_sample < 2:
            raise CommandError("--events-per-sample must be at least 2")
        started = time.perf_counter()

        def progress(done, events):
            self.stderr.write(f"  {done:,} samples, {events:,} events", ending="\r")

        report = generate(
            samples=samples, seed=seed, events_per_sample=events_per_sample, progress=progress
        )
        elapsed = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(
            f"generated {report.samples:,} samples and {report.events:,} events in {elapsed:.1f} s "
            f"({report.events / elapsed:,.0f} events/s, peak RSS {peak_mb:.0f} MB)"
        )
