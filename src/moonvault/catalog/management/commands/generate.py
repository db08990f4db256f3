"""`moonvault generate --samples N --seed S`: a realistic generated inventory for scale work."""

import resource
import time
from functools import partial

from django.core.management.base import BaseCommand, CommandError

from moonvault.catalog.generator import generate
from moonvault.loans.generator import programme_generate


class Command(BaseCommand):
    help = (
        "Append a generated inventory (split trees, ~10 custody events per sample) and a sharing "
        "programme on it (institutions, people, rounds, proposals, reviews, loans)."
    )
    # As for verify: the system checks would load every view and its libraries, memory the
    # generator never uses.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--samples", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--events-per-sample", type=int, default=10)
        parser.add_argument(
            "--proposals",
            type=int,
            help="proposals in the programme (default: a tenth of --samples; 0: no programme)",
        )
        parser.add_argument(
            "--institutions",
            type=int,
            help="institutions of the applicants and reviewers (default: --samples / 100)",
        )

    def handle(self, *args, samples, seed, events_per_sample, proposals, institutions, **options):
        if samples < 1:
            raise CommandError("--samples must be at least 1")
        if events_per_sample < 2:
            raise CommandError("--events-per-sample must be at least 2")
        proposals = samples // 10 if proposals is None else proposals
        institutions = max(1, samples // 100) if institutions is None else institutions
        if proposals < 0:
            raise CommandError("--proposals must not be negative")
        if institutions < 1:
            raise CommandError("--institutions must be at least 1")
        started = time.perf_counter()

        def progress(done, events):
            self.stderr.write(f"  {done:,} samples, {events:,} events", ending="\r")

        programme = None
        if proposals:
            programme = partial(
                programme_generate, seed=seed, proposals=proposals, institutions=institutions
            )
        report = generate(
            samples=samples,
            seed=seed,
            events_per_sample=events_per_sample,
            progress=progress,
            then=programme,
        )
        elapsed = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(
            f"generated {report.samples:,} samples and {report.events:,} events in {elapsed:.1f} s "
            f"({report.events / elapsed:,.0f} events/s, peak RSS {peak_mb:.0f} MB)"
        )
        if report.then is not None:
            made = report.then
            statuses = ", ".join(f"{n:,} {s}" for s, n in sorted(made.loans_by_status.items()))
            self.stdout.write(
                f"and a programme of {made.institutions:,} institutions, {made.people:,} people, "
                f"{made.calls:,} rounds, {made.proposals:,} proposals, {made.reviews:,} reviews "
                f"and {made.loans:,} loans ({statuses})"
            )
