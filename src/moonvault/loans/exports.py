"""Research and exhibition loans as CSV or JSON, for curators' reports and the borrower's records.

A curator exports every loan; anyone else signed in exports their own research loans only (the
exhibitions are the curators' business). Filters are checked before anything is read, so a bad
one is refused with the field it concerns; rows are then built a chunk at a time, so a large
export streams in bounded memory. The next obligation and whether it is overdue are the ones the
compliance page shows (`loan_obligations`).
"""

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Prefetch, Q, Sum
from django.utils.translation import gettext as _

from moonvault.accounts.models import Role
from moonvault.accounts.selectors import user_has_role
from moonvault.core.errors import DomainError, PermissionDenied
from moonvault.core.streams import csv_pieces, json_list_pieces
from moonvault.loans.models import Exhibition, ItineraryStop, Loan, LoanItem
from moonvault.loans.services.obligations import loan_obligations, loans_holding

CHUNK = 2000
RESEARCH, EXHIBITION = "research", "exhibition"
KINDS = (RESEARCH, EXHIBITION)
STATES = {RESEARCH: tuple(Loan.Status.values), EXHIBITION: tuple(Exhibition.Status.values)}
ALL_STATES = tuple(dict.fromkeys(STATES[RESEARCH] + STATES[EXHIBITION]))
INSTITUTION_MAX = 200
# An exhibition's samples are due back when it closes, once they have left the repository.
EXHIBITION_AWAY = (Exhibition.Status.TRAVELLING, Exhibition.Status.ON_DISPLAY)
YES, NO = ("1", "true", "yes"), ("0", "false", "no")

FIELDS = (
    "kind",
    "id",
    "number",
    "title",
    "status",
    "institution",
    "country",
    "borrower",
    "starts_on",
    "ends_on",
    "return_due",
    "samples",
    "mass_ug",
    "next_obligation",
    "next_due",
    "overdue",
)


@dataclass(frozen=True)
class LoanFilters:
    kind: str = ""
    state: str = ""
    institution: str = ""
    overdue: bool | None = None


def loan_filters(
    *, kind: str = "", state: str = "", institution: str = "", overdue: str = ""
) -> LoanFilters:
    """Filters from text as a query string or command line gives them; DomainError naming the
    field for anything that is not one of the accepted values."""
    kind, state, institution = kind.strip(), state.strip(), institution.strip()
    overdue = overdue.strip().lower()
    if kind and kind not in KINDS:
        raise DomainError(
            _("kind must be one of %(kinds)s, not %(kind)s")
            % {"kinds": ", ".join(KINDS), "kind": repr(kind)},
            field="kind",
        )
    states = STATES[kind] if kind else ALL_STATES
    if state and state not in states:
        values = {"kind": kind, "states": ", ".join(states), "state": repr(state)}
        raise DomainError(
            _("state of %(kind)s loans must be one of %(states)s, not %(state)s") % values
            if kind
            else _("state must be one of %(states)s, not %(state)s") % values,
            field="state",
        )
    if len(institution) > INSTITUTION_MAX:
        raise DomainError(
            _("institution: at most %(institution_max)s characters")
            % {"institution_max": INSTITUTION_MAX},
            field="institution",
        )
    if any(unicodedata.category(c) == "Cc" for c in institution):
        raise DomainError(_("institution: control characters are not allowed"), field="institution")
    if overdue and overdue not in YES + NO:
        raise DomainError(
            _("overdue must be true or false (1/0, yes/no), not %(overdue)s")
            % {"overdue": repr(overdue)},
            field="overdue",
        )
    return LoanFilters(
        kind=kind,
        state=state,
        institution=institution,
        overdue=None if not overdue else overdue in YES,
    )


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


def _research_rows(qs, today: date) -> Iterator[dict]:
    # Only what a row shows: loans carry long texts, proposals longer ones.
    loans = qs.select_related("pi", "institution", "proposal").only(
        "number",
        "status",
        "starts_on",
        "ends_on",
        "inventory_due",
        "usage_report_due",
        "return_due",
        "pi__username",
        "pi__first_name",
        "pi__last_name",
        "institution__name",
        "institution__country",
        "proposal__title",
    )
    chunk: list[Loan] = []

    def emit():
        ids = [loan.pk for loan in chunk]
        holding = loans_holding(ids)
        # What the agreement lent; subsplits made later at the borrower were not lent.
        lent = {
            row["loan_id"]: (row["n"], row["ug"])
            for row in LoanItem.objects.filter(loan_id__in=ids, subsplit_of=None)
            .values("loan_id")
            .annotate(n=Count("id"), ug=Sum("lent_mass_ug"))
            .order_by()
        }
        for loan in chunk:
            samples, mass = lent.get(loan.pk, (0, 0))
            obligations = loan_obligations(loan, held=loan.pk in holding)
            nxt = obligations[0] if obligations else None
            yield {
                "kind": RESEARCH,
                "id": loan.pk,
                "number": loan.number,
                "title": loan.proposal.title if loan.proposal_id else "",
                "status": loan.status,
                "institution": loan.institution.name,
                "country": loan.institution.country,
                "borrower": _person(loan.pi),
                "starts_on": loan.starts_on.isoformat(),
                "ends_on": loan.ends_on.isoformat(),
                "return_due": loan.return_due.isoformat(),
                "samples": samples,
                "mass_ug": mass,
                "next_obligation": nxt.what if nxt else "",
                "next_due": nxt.due.isoformat() if nxt else None,
                "overdue": bool(nxt and nxt.due < today),
            }

    for loan in loans.order_by("number").iterator(chunk_size=CHUNK):
        chunk.append(loan)
        if len(chunk) == CHUNK:
            yield from emit()
            chunk = []
    yield from emit()


def _exhibition_rows(qs, today: date) -> Iterator[dict]:
    exhibitions = (
        qs.annotate(sample_count=Count("items"), mass=Sum("items__sample__mass_ug"))
        .prefetch_related(Prefetch("stops", queryset=ItineraryStop.objects.order_by("order")))
        .order_by("starts_on", "pk")
    )
    for exhibition in exhibitions.iterator(chunk_size=CHUNK):
        away = exhibition.status in EXHIBITION_AWAY
        yield {
            "kind": EXHIBITION,
            "id": exhibition.pk,
            "number": "",
            "title": exhibition.title,
            "status": exhibition.status,
            "institution": exhibition.organiser,
            "country": ";".join(dict.fromkeys(s.country for s in exhibition.stops.all())),
            "borrower": exhibition.responsible_official,
            "starts_on": exhibition.starts_on.isoformat(),
            "ends_on": exhibition.ends_on.isoformat(),
            "return_due": exhibition.ends_on.isoformat(),
            "samples": exhibition.sample_count,
            "mass_ug": exhibition.mass or 0,
            "next_obligation": "return from display" if away else "",
            "next_due": exhibition.ends_on.isoformat() if away else None,
            "overdue": away and exhibition.ends_on < today,
        }


def loan_export(*, actor, filters: LoanFilters, today: date) -> Iterator[dict]:
    """The loans the actor may see that pass the filters, research loans (by number) first.

    The permission is checked on the call, not on the first row read: PermissionDenied for an
    anonymous caller."""
    if actor is None or not actor.is_authenticated:
        raise PermissionDenied(_("sign in to export loans"), field="actor")
    if user_has_role(actor, Role.CURATOR):
        return loan_export_all(filters=filters, today=today)
    return _rows(Loan.objects.filter(pi=actor), Exhibition.objects.none(), filters, today)


def loan_export_all(*, filters: LoanFilters, today: date) -> Iterator[dict]:
    """Every loan that passes the filters: a curator's export, and the command line's."""
    return _rows(Loan.objects.all(), Exhibition.objects.all(), filters, today)


def _rows(research, exhibitions, filters: LoanFilters, today: date) -> Iterator[dict]:
    if filters.state:
        research = research.filter(status=filters.state)
        exhibitions = exhibitions.filter(status=filters.state)
    if filters.institution:
        research = research.filter(
            Q(institution__name__icontains=filters.institution)
            | Q(institution__name_zh__icontains=filters.institution)
        )
        exhibitions = exhibitions.filter(organiser__icontains=filters.institution)
    if filters.kind in ("", RESEARCH):
        for row in _research_rows(research, today):
            if filters.overdue is None or row["overdue"] == filters.overdue:
                yield row
    if filters.kind in ("", EXHIBITION):
        for row in _exhibition_rows(exhibitions, today):
            if filters.overdue is None or row["overdue"] == filters.overdue:
                yield row


def _csv_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def loans_csv(rows: Iterator[dict]) -> Iterator[str]:
    """The header line (`FIELDS`), then one line per loan; masses in exact µg."""
    return csv_pieces(FIELDS, ({k: _csv_value(v) for k, v in row.items()} for row in rows))


def loans_json(rows: Iterator[dict]) -> Iterator[str]:
    """`{"loans": [...]}`, each loan an object with the fields of the CSV."""
    return json_list_pieces("loans", rows)
