"""A mission's accounting as a printable PDF report, for auditors and annual reports.

The figures are the mission page's (`web.selectors.mission_accounting`), the reserve the one the
allocation services enforce, and the releases per year those of the transparency page, restricted
to the mission. They are read in one snapshot together with the ledger head, so the head hash
printed on the report is the state of the ledger the figures stand on.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.utils import timezone
from reportlab.lib.units import mm

from moonvault.allocation.services import mission_headroom
from moonvault.catalog.models import Mission, Pool, State
from moonvault.catalog.selectors import mission_get
from moonvault.custody.selectors import ledger_head
from moonvault.loans.documents import (
    HEADING,
    SMALL,
    SUBHEADING,
    _p,
    _pdf,
    _table,
    mass_text,
)
from moonvault.web import selectors as pages


@dataclass(frozen=True)
class MissionReport:
    mission: Mission
    accounting: pages.MissionAccounting
    reserve_ug: int
    headroom_ug: int
    released_by_year: pages.Table
    head_seq: int
    head_hash: str
    generated_at: datetime

    @property
    def sources(self) -> list[tuple[str, int]]:
        """Where the mission's mass came from: what was received, and weighing corrections."""
        a = self.accounting.accounts
        return [
            ("Returned (received into the ledger)", a.received),
            ("Net weighing corrections", a.corrections),
        ]

    @property
    def uses(self) -> list[tuple[str, int]]:
        """Where it is now; these add up to the sources when the ledger balances."""
        a = self.accounting.accounts
        rows = [
            (f"Held in pool: {label}", self.accounting.by_pool[pool])
            for pool, label in Pool.choices
        ]
        rows += [
            ("Consumed by analyses", a.consumed),
            ("Handling loss", a.handling_loss),
            ("Lost", a.by_state[State.LOST]),
        ]
        # A partly consumed sample keeps what was left of it; it belongs to no pool any more.
        if a.by_state[State.CONSUMED]:
            rows.append(("Left in samples used up by analyses", a.by_state[State.CONSUMED]))
        return rows

    @property
    def balances(self) -> bool:
        return sum(v for _, v in self.sources) == sum(v for _, v in self.uses)


def mission_report(*, code: str) -> MissionReport:
    """NotFound for an unknown mission code."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        mission = mission_get(code=code)
        head = ledger_head()
        return MissionReport(
            mission=mission,
            accounting=pages.mission_accounting(mission=mission),
            reserve_ug=mission.returned_mass_ug * mission.reserve_pct // 100,
            headroom_ug=mission_headroom(mission),
            released_by_year=pages.released_by_year(mission=mission),
            head_seq=head.seq,
            head_hash=head.hash,
            generated_at=timezone.now(),
        )


def _mass_rows(rows: list[tuple[str, int]]) -> list[list]:
    return [[label, mass_text(value)] for label, value in rows]


def mission_report_pdf(report: MissionReport) -> bytes:
    mission, accounting = report.mission, report.accounting
    a = accounting.accounts
    wide = [95 * mm, 79 * mm]
    sources = sum(v for _, v in report.sources)
    uses = sum(v for _, v in report.uses)
    if report.balances:
        identity = (
            f"The accounts balance: returned mass plus corrections, {mass_text(sources)}, equals "
            f"the mass held in the pools, consumed, lost in handling and lost, {mass_text(uses)}."
        )
    else:
        identity = (
            f"The accounts do not balance: returned mass plus corrections is {mass_text(sources)}, "
            f"the mass accounted for is {mass_text(uses)}. Run `moonvault verify`."
        )
    released = report.released_by_year.rows
    released_rows = [["Year", "Released mass", "Allocations"]]
    released_rows += [[r["year"], mass_text(r["mass_ug"]), r["allocations"]] for r in released]
    total_released = sum(r["mass_ug"] for r in released)
    released_rows.append(
        ["Total", mass_text(total_released), sum(r["allocations"] for r in released)]
    )
    story = [
        _p(f"Mission accounting report: {mission.name} ({mission.code})", HEADING),
        _table(
            [
                ["Mission", f"{mission.name} {mission.name_zh}".strip()],
                ["Agency", mission.agency],
                ["Returned mass (declared)", mass_text(mission.returned_mass_ug)],
                ["Report date", f"{timezone.localtime(report.generated_at):%Y-%m-%d %H:%M %Z}"],
                ["Ledger head event", f"#{report.head_seq}"],
                ["Ledger head SHA-256", _p(report.head_hash, SMALL)],
            ],
            [40 * mm, 134 * mm],
            header=False,
        ),
        _p("Where the returned mass is", SUBHEADING),
        _table([["", "Mass"], *_mass_rows(report.sources)], wide),
        _table(
            [["", "Mass"], *_mass_rows(report.uses), ["Total accounted for", mass_text(uses)]],
            wide,
        ),
        _p(identity),
        _p("Of the mass held", SUBHEADING),
        _table(
            [
                ["", "Mass"],
                *_mass_rows(
                    [
                        ("In storage", a.by_state[State.STORED]),
                        ("Set aside for allocations now", a.by_state[State.ALLOCATED]),
                        ("On loan or in transit", accounting.on_loan_ug),
                        ("On display", a.by_state[State.ON_DISPLAY]),
                    ]
                ),
            ],
            wide,
        ),
        _p("Allocation and reserve", SUBHEADING),
        _table(
            [
                ["", "Mass"],
                *_mass_rows(
                    [
                        ("Allocated by committee decisions", accounting.allocated_ug),
                        (f"Reserve ({mission.reserve_pct} % of returned mass)", report.reserve_ug),
                        ("Pristine mass in storage above the reserve", report.headroom_ug),
                    ]
                ),
            ],
            wide,
        ),
        _p("Released per year", SUBHEADING),
        _table(released_rows, [40 * mm, 95 * mm, 39 * mm]),
        _p(
            "Masses are given in a readable unit and in exact micrograms. Anyone can check the "
            f"figures against the published ledger: event #{report.head_seq} must still carry the "
            "hash above, and `moonvault verify` replays every event up to it."
        ),
    ]
    return _pdf(story, title=f"Mission accounting {mission.code}")


def mission_report_filename(report: MissionReport) -> str:
    return f"moonvault-{report.mission.code}-accounting-{report.generated_at:%Y%m%d}.pdf"
