"""`moonvault mission-report MISSION --out FILE`: a mission's accounting report as a PDF."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from moonvault.core.errors import DomainError
from moonvault.web.mission_report import mission_report, mission_report_pdf


class Command(BaseCommand):
    help = (
        "Write a mission's accounting report (returned mass, pools, allocated, on loan, "
        "consumed, lost, reserve, releases per year, ledger head) as a PDF."
    )

    def add_arguments(self, parser):
        parser.add_argument("mission", help="mission code, e.g. CE5")
        parser.add_argument("--out", type=Path, required=True, help="the PDF file to write")

    def handle(self, *args, mission: str, out: Path, **options):
        try:
            report = mission_report(code=mission)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        try:
            out.write_bytes(mission_report_pdf(report))
        except OSError as exc:
            raise CommandError(f"cannot write {out}: {exc.strerror}") from None
        verdict = "balance" if report.balances else "DO NOT balance"
        self.stderr.write(
            f"Wrote {out}: {report.mission.code} at ledger event #{report.head_seq}; "
            f"the accounts {verdict}."
        )
