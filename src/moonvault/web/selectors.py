"""Reads behind the public pages: a sample's history, a mission's accounts, transparency figures.

The transparency figures are tables (`Table`) so that one definition feeds the page, its charts and
the CSV downloads: masses are exact micrograms everywhere, and only the page formats them.
"""

import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.functions import ExtractYear
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from moonvault.accounts.models import Institution
from moonvault.allocation.models import Allocation
from moonvault.calls.models import Call
from moonvault.calls.selectors import APPROVED_STATUSES, OUTCOME_STATUSES
from moonvault.catalog.facets import ALL_MASSES
from moonvault.catalog.models import Mission, Pool, Sample, SampleFacet, State
from moonvault.custody.chain import CONSUMPTION_KINDS, CORRECTION_KINDS, RECEIVED, Accounts
from moonvault.custody.models import CustodyEvent
from moonvault.loans.models import Loan, PublicationUse, Shipment

# Mass that has left the mission's holdings for good.
GONE_STATES = frozenset({State.CONSUMED, State.LOST})
RELEASE_RATE_WINDOW = timedelta(days=365)


@dataclass(frozen=True)
class MassStep:
    event: CustodyEvent
    mass_after_ug: int


def sample_mass_history(*, events) -> list[MassStep]:
    """The sample's mass after each of its custody events, replayed from the mass changes."""
    steps, mass = [], 0
    for event in events:
        mass += event.mass_delta_ug
        steps.append(MassStep(event=event, mass_after_ug=mass))
    return steps


def sample_publications(*, sample: Sample) -> list[PublicationUse]:
    return list(
        PublicationUse.objects.filter(sample=sample)
        .select_related("publication", "loan")
        .order_by("-publication__year", "publication__title")
    )


@dataclass(frozen=True)
class MissionAccounting:
    """A mission's mass as the ledger accounts it (custody.chain.Accounts) and by purpose pool."""

    accounts: Accounts
    by_pool: dict[str, int]
    allocated_ug: int

    @property
    def on_loan_ug(self) -> int:
        return self.accounts.by_state[State.ON_LOAN] + self.accounts.by_state[State.IN_TRANSIT]


def mission_accounting(*, mission: Mission) -> MissionAccounting:
    """Received, corrected, consumed and lost mass from the ledger; held mass from the samples.

    The same terms `custody_verify` balances per mission, summed by the database instead of
    replayed event by event: one GROUP BY over the mission's events, so the cost grows with
    the mission's history (seconds for millions of events), and the facet table for the rest.
    """
    accounts = Accounts()
    rows = (
        CustodyEvent.objects.filter(sample__mission=mission)
        .values("kind")
        .annotate(delta=Sum("mass_delta_ug"), loss=Sum("loss_ug"))
        .order_by()
    )
    for row in rows:
        if row["kind"] == RECEIVED:
            accounts.received += row["delta"]
        elif row["kind"] in CORRECTION_KINDS:
            accounts.corrections += row["delta"]
        elif row["kind"] in CONSUMPTION_KINDS:
            accounts.consumed -= row["delta"]
        accounts.handling_loss += row["loss"]
    by_pool = dict.fromkeys(Pool.values, 0)
    for state, pool, mass in SampleFacet.objects.filter(
        mission=mission, bucket=ALL_MASSES
    ).values_list("state", "pool", "mass_ug"):
        accounts.by_state[state] += mass
        if state not in GONE_STATES:
            by_pool[pool] += mass
    allocated = Allocation.objects.filter(mission=mission).aggregate(m=Sum("mass_ug"))["m"]
    return MissionAccounting(accounts=accounts, by_pool=by_pool, allocated_ug=allocated or 0)


def mission_sites() -> list[Mission]:
    return list(Mission.objects.filter(latitude__isnull=False, longitude__isnull=False))


# Transparency ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str  # the CSV header
    title: str
    kind: str = "text"  # text, mass (µg), number, percent, days


@dataclass
class Table:
    slug: str
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    # How many rows the whole table has, when `rows` holds only the first of them.
    total: int | None = None

    def cells(self) -> Iterator[list[tuple[str, object]]]:
        """The rows a page shows, as (kind, value) per column: the first SHOWN_ROWS."""
        for row in self.rows[:SHOWN_ROWS]:
            yield [(c.kind, row[c.key]) for c in self.columns]

    def rows_not_shown(self) -> int:
        total = len(self.rows) if self.total is None else self.total
        return max(0, total - min(len(self.rows), SHOWN_ROWS))

    def first_of(self, rows, limit: int | None):
        """`rows`, or only its first `limit` when a page shows no more, with the count of the
        whole: a table of every loan or institution is long at scale.

        A queryset of plain rows is counted and sliced in SQL. A grouped one is read whole and
        cut here: counting its groups would run the whole aggregate a second time, which costs
        more than the rows it returns."""
        if limit is None:
            return rows
        if rows.query.group_by is None:
            self.total = rows.count()
            return rows[:limit]
        rows = list(rows)
        self.total = len(rows)
        return rows[:limit]


# A page shows this many rows of a table; its CSV and JSON files hold them all (a table of every
# loan or institution grows with the programme: tens of thousands of rows).
SHOWN_ROWS = 100


MASS = Column("mass_ug", _("Released mass"), "mass")
ALLOCATIONS = Column("allocations", _("Allocations"), "number")
RELEASED = {"mass_ug": Sum("mass_ug"), "allocations": Count("*")}


def _released(slug, title, key_columns, rows, keys, *, limit: int | None = None) -> Table:
    """Released mass and allocations per group of `rows`, ordered by mass then the keys; `keys`
    are the fields of a row that fill `key_columns`, in their order (empty when null)."""
    table = Table(slug, title, [*key_columns, MASS, ALLOCATIONS])
    for row in table.first_of(rows, limit):
        table.rows.append(
            {
                **{
                    c.key: row[k] if row[k] is not None else ""
                    for c, k in zip(key_columns, keys, strict=True)
                },
                "mass_ug": row["mass_ug"],
                "allocations": row["allocations"],
            }
        )
    return table


# The release tables group allocations by what each records when it is made (its mission, the
# PI's institution and country then; see Allocation): one GROUP BY over the allocation table
# alone, each from an index of its own. A mission's code or an institution's name is read for each
# group (a subquery per row of the result), not joined to every allocation.


def released_by_mission() -> Table:
    code = Mission.objects.filter(pk=OuterRef("mission")).order_by().values("code")
    rows = (
        Allocation.objects.values("mission")
        .annotate(**RELEASED)
        .annotate(code=Subquery(code))
        .order_by("-mass_ug", "code")
    )
    return _released(
        "released-by-mission",
        _("Released mass per mission"),
        [Column("mission", _("Mission"))],
        rows,
        ["code"],
    )


def released_by_year(*, mission: Mission | None = None) -> Table:
    """Per year of the committee's decision; of one mission, or of all."""
    table = Table(
        "released-by-year",
        _("Released mass per year"),
        [Column("year", _("Year")), MASS, ALLOCATIONS],
    )
    allocations = Allocation.objects.all()
    if mission is not None:
        allocations = allocations.filter(mission=mission)
    rows = (
        allocations.annotate(year=ExtractYear("created_at"))
        .values("year")
        .annotate(**RELEASED)
        .order_by("year")
    )
    table.rows = [dict(row) for row in rows]
    return table


def released_by_country(*, limit: int | None = None) -> Table:
    rows = Allocation.objects.values("country").annotate(**RELEASED).order_by("-mass_ug", "country")
    return _released(
        "released-by-country",
        _("Released mass per country"),
        [Column("country", _("Country"))],
        rows,
        ["country"],
        limit=limit,
    )


def released_by_institution(*, limit: int | None = None) -> Table:
    name = Institution.objects.filter(pk=OuterRef("institution")).order_by().values("name")
    rows = (
        Allocation.objects.values("institution", "country")
        .annotate(**RELEASED)
        .annotate(name=Subquery(name))
        .order_by("-mass_ug", "name", "country")
    )
    return _released(
        "released-by-institution",
        _("Released mass per institution"),
        [Column("institution", _("Institution")), Column("country", _("Country"))],
        rows,
        ["name", "country"],
        limit=limit,
    )


def call_success(*, limit: int | None = None) -> Table:
    """Proposals received and approved per decided call, as `call_outcome` counts them."""
    table = Table(
        "calls",
        _("Proposals and success rate per call"),
        [
            Column("call", _("Call")),
            Column("proposals", _("Proposals"), "number"),
            Column("approved", _("Approved"), "number"),
            Column("success_pct", _("Success rate"), "percent"),
        ],
    )
    submitted = Q(proposals__submitted_at__isnull=False)
    calls = (
        Call.objects.filter(status__in=OUTCOME_STATUSES)
        .annotate(
            received=Count("proposals", filter=submitted),
            approved=Count(
                "proposals", filter=submitted & Q(proposals__status__in=APPROVED_STATUSES)
            ),
        )
        .order_by("proposals_due", "id")
    )
    for call in table.first_of(calls, limit):
        table.rows.append(
            {
                "call": call.title,
                "proposals": call.received,
                "approved": call.approved,
                "success_pct": round(100 * call.approved / call.received, 1)
                if call.received
                else "",
            }
        )
    return table


def loan_times(*, limit: int | None = None) -> Table:
    """Days from the committee's decision to the first shipment, and from there to the first
    publication that used the loan's samples."""
    table = Table(
        "loan-times",
        _("Time from decision to shipment and to first publication"),
        [
            Column("loan", _("Loan")),
            Column("decided", _("Decided")),
            Column("shipped", _("Shipped")),
            Column("first_publication", _("First publication")),
            Column("days_to_shipment", _("Days to shipment"), "days"),
            Column("days_to_publication", _("Days from shipment to publication"), "days"),
        ],
    )
    loans = (
        _loan_times()
        .values("number", "proposal__decision__decided_at", "shipped", "published")
        .order_by("number")
    )
    for loan in table.first_of(loans, limit):
        decided, shipped, published = (
            loan["proposal__decision__decided_at"],
            loan["shipped"],
            loan["published"],
        )
        table.rows.append(
            {
                "loan": loan["number"],
                "decided": _day(decided),
                "shipped": _day(shipped),
                "first_publication": _day(published),
                "days_to_shipment": _days(decided, shipped),
                "days_to_publication": _days(shipped, published),
            }
        )
    return table


OUTBOUND = Shipment.Direction.OUTBOUND


def _loan_times():
    """Decided loans with their first outbound shipment and first publication."""
    # Subqueries, not MIN over joins: no GROUP BY, so a page of them and their count are cheap.
    shipments = Shipment.objects.filter(
        loan=OuterRef("pk"), direction=OUTBOUND, shipped_at__isnull=False
    ).order_by("shipped_at")
    uses = PublicationUse.objects.filter(loan=OuterRef("pk")).order_by("publication__recorded_at")
    return Loan.objects.filter(proposal__decision__isnull=False).annotate(
        shipped=Subquery(shipments.values("shipped_at")[:1]),
        published=Subquery(uses.values("publication__recorded_at")[:1]),
    )


def _day(moment: datetime | None) -> str:
    return timezone.localdate(moment).isoformat() if moment else ""


def _days(start: datetime | None, end: datetime | None) -> float | str:
    if not (start and end):
        return ""
    return round((end - start).total_seconds() / 86400, 1)


def _median_days(spans) -> float | None:
    days = [span.total_seconds() / 86400 for span in spans if span is not None]
    return round(statistics.median(days), 1) if days else None


def loan_time_medians() -> dict[str, float | None]:
    """The medians of the loan-times table's two day columns, over every loan: one query that
    reads the two spans alone, not the table's rows."""

    def span(start: str, end: str) -> ExpressionWrapper:
        return ExpressionWrapper(F(end) - F(start), output_field=DurationField())

    # The same first shipment and publication as `_loan_times`, grouped instead of a subquery
    # per loan: over every loan, one hash aggregate is several times faster.
    spans = list(
        Loan.objects.filter(proposal__decision__isnull=False)
        .values("pk")
        .annotate(
            shipped=Min("shipments__shipped_at", filter=Q(shipments__direction=OUTBOUND)),
            published=Min("publications__publication__recorded_at"),
        )
        .order_by()
        .values_list(
            span("proposal__decision__decided_at", "shipped"), span("shipped", "published")
        )
    )
    return {
        "days_to_shipment": _median_days(s for s, _ in spans),
        "days_to_publication": _median_days(p for _, p in spans),
    }


def mission_remaining(*, now: datetime | None = None) -> Table:
    """What each mission still holds, and how long its research pool lasts at the release rate
    of the last 365 days (left empty when nothing was released in that time)."""
    now = now or timezone.now()
    table = Table(
        "remaining",
        _("Remaining mass and research pool"),
        [
            Column("mission", _("Mission")),
            Column("returned_ug", _("Returned mass"), "mass"),
            Column("remaining_ug", _("Remaining mass"), "mass"),
            Column("remaining_pct", _("Remaining"), "percent"),
            Column("research_ug", _("Research pool in storage"), "mass"),
            Column("released_last_year_ug", _("Released in the last 365 days"), "mass"),
            Column("research_years", _("Years the research pool lasts"), "number"),
        ],
    )
    held = dict.fromkeys(Mission.objects.values_list("id", flat=True), 0)
    research = dict(held)
    for mission_id, pool, state, mass in SampleFacet.objects.filter(bucket=ALL_MASSES).values_list(
        "mission_id", "pool", "state", "mass_ug"
    ):
        if state not in GONE_STATES:
            held[mission_id] += mass
        if pool == Pool.RESEARCH and state == State.STORED:
            research[mission_id] += mass
    # A year's allocations, read off the (created_at, mission, mass) index and summed here:
    # grouped in SQL, SQLite walks the (mission, mass) index over every allocation instead.
    released: dict[int, int] = defaultdict(int)
    for mission_id, mass in (
        Allocation.objects.filter(created_at__gte=now - RELEASE_RATE_WINDOW)
        .values_list("mission", "mass_ug")
        .order_by()
    ):
        released[mission_id] += mass
    for mission in Mission.objects.order_by("landed_on", "code"):
        rate = released.get(mission.id, 0)
        table.rows.append(
            {
                "mission": mission.code,
                "returned_ug": mission.returned_mass_ug,
                "remaining_ug": held[mission.id],
                "remaining_pct": round(100 * held[mission.id] / mission.returned_mass_ug, 1)
                if mission.returned_mass_ug
                else "",
                "research_ug": research[mission.id],
                "released_last_year_ug": rate,
                "research_years": round(research[mission.id] / rate, 1) if rate else "",
            }
        )
    return table


# The tables that grow with the programme (a row per loan, institution, country or call); the page
# reads only their first rows.
LONG_TABLES = {"released-by-country", "released-by-institution", "calls", "loan-times"}


def transparency_tables(*, shown: int | None = None) -> dict[str, Table]:
    """Every table by slug; the long ones with only their first `shown` rows, when given."""
    return {
        slug: build(limit=shown) if slug in LONG_TABLES else build()
        for slug, build in TRANSPARENCY_TABLES.items()
    }


TRANSPARENCY_TABLES = {
    "released-by-mission": released_by_mission,
    "released-by-year": released_by_year,
    "released-by-country": released_by_country,
    "released-by-institution": released_by_institution,
    "calls": call_success,
    "loan-times": loan_times,
    "remaining": mission_remaining,
}
