"""The daily obligations check: overdue inventories, usage reports, returns and loan ends."""

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import (
    Case,
    DateField,
    Exists,
    F,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Least, NullIf

from moonvault.accounts.models import Person, Role
from moonvault.catalog.models import State
from moonvault.core.db import QueryRows
from moonvault.core.notify import notify
from moonvault.loans.models import Loan, LoanItem

OPEN_STATUSES = [Loan.Status.ACTIVE, Loan.Status.RETURNING, Loan.Status.SHIPPED]
HELD_STATES = [State.ON_LOAN, State.IN_TRANSIT]


@dataclass(frozen=True)
class Duty:
    """A kind of dated obligation: the loan's field holding its date, the statuses in which the
    loan owes it, and whether only while the borrower still holds samples."""

    what: str
    field: str
    statuses: tuple[str, ...]
    while_held: bool = False


# The rules, read both by loan_obligations (one loan) and compliance_list (in SQL, for all loans).
# Their order breaks ties: of two obligations due the same day, the earlier one here comes first.
DUTIES = (
    Duty("annual inventory", "inventory_due", (Loan.Status.ACTIVE,)),
    Duty("usage report", "usage_report_due", (Loan.Status.ACTIVE,)),
    Duty("return of remnants", "return_due", tuple(OPEN_STATUSES), while_held=True),
    Duty("end of loan", "ends_on", tuple(OPEN_STATUSES)),
)


@dataclass(frozen=True)
class Obligation:
    loan: Loan
    what: str
    due: date

    @property
    def label(self) -> str:
        return f"{self.loan.number}: {self.what} due {self.due.isoformat()}"


def loan_obligations(loan: Loan, *, held: bool | None = None) -> list[Obligation]:
    """The loan's dated obligations, earliest first. `held` says whether the borrower still
    holds samples of the loan, for callers that looked it up for many loans at once."""
    owed = [duty for duty in DUTIES if loan.status in duty.statuses]
    if held is None and any(duty.while_held for duty in owed):
        held = loan.items.filter(sample__state__in=HELD_STATES).exists()
    out = [
        Obligation(loan, duty.what, getattr(loan, duty.field))
        for duty in owed
        if held or not duty.while_held
    ]
    # Stable: obligations due the same day keep the order of DUTIES.
    return sorted(out, key=lambda o: o.due)


def loans_holding(loan_ids=None) -> set[int]:
    """The loans (of `loan_ids`, or all) whose borrower still holds, or is being sent, samples."""
    items = LoanItem.objects.filter(sample__state__in=HELD_STATES)
    if loan_ids is not None:
        items = items.filter(loan_id__in=loan_ids)
    return set(items.values_list("loan_id", flat=True).distinct())


def _owed(duty: Duty) -> Q:
    """Whether a loan owes `duty`, on a queryset annotated with `holds_samples`."""
    owed = Q(status__in=duty.statuses)
    return owed & Q(holds_samples=True) if duty.while_held else owed


def compliance_list(*, today: date) -> QueryRows[Loan]:
    """Every loan not closed, overdue loans first, then by the next obligation's date (loans
    owing none last), then by number; each with its next obligation as loan_obligations gives
    it: `next_what` and `next_due` (None when it owes none) and whether it is `overdue`.

    The database sorts by the next date and reads one page; `next_what` and `overdue` are found
    for that page's loans only. PostgreSQL evaluates the "holds samples" subquery once for each
    place it appears in the statement, so it appears twice, not in every CASE that names it.
    """
    holding = LoanItem.objects.filter(loan=OuterRef("pk"), sample__state__in=HELD_STATES)
    # A duty the loan does not owe stands in as the latest date rather than NULL: LEAST skips
    # NULLs on PostgreSQL but returns NULL on SQLite.
    never = Value(date.max, output_field=DateField())
    dates = [
        Case(When(_owed(duty), then=F(duty.field)), default=never, output_field=DateField())
        for duty in DUTIES
    ]
    loans = (
        Loan.objects.exclude(status=Loan.Status.CLOSED)
        # Not joined: the database would then carry every open loan's borrower and institution
        # through the sort to show a page of them.
        .prefetch_related("pi", "institution")
        .annotate(holds_samples=Exists(holding))
        .annotate(next_due=NullIf(Least(*dates), never))
        # Overdue loans are those whose next date is before today: they sort first by it alone.
        .order_by(F("next_due").asc(nulls_last=True), "number")
    )

    def with_next(page: list[Loan]) -> list[Loan]:
        for loan in page:
            # The database's next_due is what the page was sorted by; the tests hold it equal
            # to the first obligation's date.
            first = next(iter(loan_obligations(loan, held=loan.holds_samples)), None)
            loan.next_what = first.what if first else None
            loan.overdue = loan.next_due is not None and loan.next_due < today
        return page

    return QueryRows(loans, with_next)


@transaction.atomic
def obligations_check(*, today: date) -> list[Obligation]:
    """Email PIs and curators about overdue obligations and mark those PIs, which keeps their
    new proposals from passing screening; PIs with nothing overdue are cleared."""
    overdue: list[Obligation] = []
    for loan in Loan.objects.filter(status__in=OPEN_STATUSES).select_related("pi"):
        overdue += [o for o in loan_obligations(loan) if o.due < today]
    earliest: dict[int, date] = {}
    for o in overdue:
        earliest[o.loan.pi_id] = min(earliest.get(o.loan.pi_id, o.due), o.due)
    for person in Person.objects.filter(user_id__in=earliest):
        if person.obligations_overdue_since != earliest[person.user_id]:
            person.obligations_overdue_since = earliest[person.user_id]
            person.save(update_fields=["obligations_overdue_since"])
    Person.objects.exclude(user_id__in=earliest).exclude(obligations_overdue_since=None).update(
        obligations_overdue_since=None
    )
    curators = list(User.objects.filter(groups__name=Role.CURATOR.value, is_active=True))
    by_pi: dict[int, list[Obligation]] = {}
    for o in overdue:
        by_pi.setdefault(o.loan.pi_id, []).append(o)
    for items in by_pi.values():
        pi = items[0].loan.pi
        notify(
            [pi, *curators],
            "Overdue loan obligations",
            "These obligations are overdue:\n"
            + "\n".join(f"- {o.label}" for o in items)
            + "\nNew proposals by this investigator will not pass screening until they are met.",
        )
    return overdue
