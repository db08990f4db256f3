"""`moonvault verify`: check chain, replay and conservation; exit non-zero on any failure."""

import time
from functools import partial

from django.core.management.base import BaseCommand, CommandError

from moonvault.core.units import format_mass
from moonvault.custody.verification import custody_verify

# Auditors add these figures up; rounding to the milligram would hide the micrograms they check.
exact_mass = partial(format_mass, places=9)


class Command(BaseCommand):
    help = "Check the custody ledger's hash chain, replay every sample and check conservation."
    # The system checks load every URL and so every view, with the chart and solver libraries
    # behind them: some 160 MB that a replay of millions of events never uses.
    requires_system_checks = []

    def handle(self, *args, **options):
        started = time.perf_counter()
        report = custody_verify()
        elapsed = time.perf_counter() - started
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(problem)
            raise CommandError(f"ledger verification FAILED: {report.problems[0]}")
        rate = report.events / elapsed if elapsed else 0
        self.stdout.write(
            f"ledger OK: {report.events} events, {report.samples} samples, head #{report.head_seq} "
            f"{report.head_hash} ({elapsed:.2f} s, {rate:,.0f} events/s)"
        )
        for code, book in report.accounts.items():
            held = ", ".join(
                f"{state} {exact_mass(mass)}" for state, mass in book.by_state.items() if mass
            )
            self.stdout.write(
                f"  {code}: received {exact_mass(book.received)} = held ({held or 'nothing'}) + "
                f"consumed {exact_mass(book.consumed)} + handling loss "
                f"{exact_mass(book.handling_loss)} − corrections {exact_mass(book.corrections)}"
            )
