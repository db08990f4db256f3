"""The daily obligations check: overdue inventories, usage reports, returns and loan ends."""

from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef

from moonvault.accounts.models import Person, Role
from moonvault.catalog.models import State
from moonvault.core.notify import notify
from moonvault.loans.models import Loan, LoanItem

OPEN_STATUSES = [Loan.Status.ACTIVE, Loan.Status.RETURNING, Loan.Status.SHIPPED]
HELD_STATES = [State.ON_LOAN, State.IN_TRANSIT]


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
    out = []
    if loan.status == Loan.Status.ACTIVE:
        out.append(Obligation(loan, "annual inventory", loan.inventory_due))
        out.append(Obligation(loan, "usage report", loan.usage_report_due))
    if loan.status in OPEN_STATUSES:
        if held is None:
            held = loan.items.filter(sample__state__in=HELD_STATES).exists()
        if held:
            out.append(Obligation(loan, "return of remnants", loan.return_due))
        out.append(Obligation(loan, "end of loan", loan.ends_on))
    return sorted(out, key=lambda o: o.due)


def loans_holding(loan_ids=None) -> set[int]:
    """The loans (of `loan_ids`, or all) whose borrower still holds, or is being sent, samples."""
    items = LoanItem.objects.filter(sample__state__in=HELD_STATES)
    if loan_ids is not None:
        items = items.filter(loan_id__in=loan_ids)
    return set(items.values_list("loan_id", flat=True).distinct())


def compliance_list(*, today: date) -> list[tuple[Obligation | None, bool, Loan]]:
    """Every open loan with its next obligation, overdue loans first."""
    holding = LoanItem.objects.filter(loan=OuterRef("pk"), sample__state__in=HELD_STATES)
    loans = (
        Loan.objects.exclude(status=Loan.Status.CLOSED)
        .select_related("pi", "institution")
        .annotate(holds_samples=Exists(holding))
    )
    rows = []
    for loan in loans:
        # Answered by the one query above; left to loan_obligations, it is a query per loan.
        obligations = loan_obligations(loan, held=loan.holds_samples)
        nxt = obligations[0] if obligations else None
        rows.append((nxt, bool(nxt and nxt.due < today), loan))
    rows.sort(key=lambda r: (not r[1], r[0].due if r[0] else date.max, r[2].number))
    return rows


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
