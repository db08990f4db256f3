"""`moonvault check-obligations`: the daily job that flags overdue loan obligations."""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from moonvault.loans.services.obligations import obligations_check


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--today: {text!r} is not a date like 2026-03-01") from None


class Command(BaseCommand):
    help = (
        "Find overdue annual inventories, usage reports, returns and loan ends; email the PIs "
        "and curators; mark those PIs as having overdue obligations (and clear the others). "
        "Meant to run once a day."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--today",
            type=_day,
            help="the day to check as, YYYY-MM-DD (default: today in TIME_ZONE)",
        )

    def handle(self, *args, today: date | None = None, **options):
        day = today or timezone.localdate()
        overdue = obligations_check(today=day)
        for obligation in overdue:
            loan = obligation.loan
            self.stdout.write(
                f"OVERDUE {obligation.label} ({(day - obligation.due).days} days), "
                f"PI {loan.pi.get_username()}"
            )
        loans = {o.loan.pk for o in overdue}
        people = {o.loan.pi_id for o in overdue}
        self.stdout.write(
            f"{day.isoformat()}: {len(overdue)} overdue obligation(s) on {len(loans)} loan(s) "
            f"of {len(people)} principal investigator(s)."
        )
