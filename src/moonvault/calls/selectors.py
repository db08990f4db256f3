"""Reads for calls and proposals, shared by the JSON API and the pages.

Every selector that takes `viewer=` or `actor=` decides what that person may see:
- the public sees open and past calls and, once a call is decided, its outcome in aggregate;
  drafts of calls are for the committee only;
- an applicant sees only their own proposals; someone else's is reported as absent, never as
  forbidden, so that its existence does not leak;
- the principal investigator learns the decision, the approved amounts, the reviewers' comments
  meant for them and the reason for every cut, but never who reviewed nor what was said in
  confidence to the committee;
- the committee sees every submitted proposal with its screening, assignments and figures.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from moonvault.accounts.models import Institution, Role
from moonvault.accounts.permissions import require_role
from moonvault.accounts.selectors import user_has_role, users_with_role_check
from moonvault.calls.models import (
    DECIDED_STATUSES,
    Call,
    CallStatus,
    Decision,
    DecisionItem,
    Proposal,
    ProposalStatus,
    ProposalVersion,
    Screening,
)
from moonvault.core.db import QueryRows
from moonvault.core.errors import Conflict, DomainError, NotFound
from moonvault.review.models import Assignment, RankEntry, Review
from moonvault.review.selectors import RankFigures, ranking_figures

OUTCOME_STATUSES = frozenset({CallStatus.DECIDED, CallStatus.CLOSED_OUT})
APPROVED_STATUSES = frozenset({ProposalStatus.APPROVED, ProposalStatus.PARTIALLY_APPROVED})


def _is_committee(user) -> bool:
    return user is not None and user_has_role(user, Role.COMMITTEE)


def _related(obj, name: str):
    """A reverse one-to-one that may be missing (screening, rank, decision), or None."""
    try:
        return getattr(obj, name)
    except ObjectDoesNotExist:
        return None


# --- calls -------------------------------------------------------------------------------------


def call_list(*, viewer=None, status: str = "", mission: str = "", q: str = "") -> QuerySet[Call]:
    """Open and past calls, latest deadline first; the committee also sees drafts."""
    calls = Call.objects.select_related("chair").prefetch_related("missions")
    if not _is_committee(viewer):
        calls = calls.exclude(status=CallStatus.DRAFT)
    if status:
        calls = calls.filter(status=status)
    if mission:
        calls = calls.filter(missions__code=mission)
    if q:
        calls = calls.filter(Q(title__icontains=q) | Q(title_zh__icontains=q))
    # Two calls may share a deadline; the pk keeps the pages of the list from overlapping.
    return calls.order_by("-proposals_due", "-pk")


def call_get(*, viewer=None, call_id: int) -> Call:
    call = call_list(viewer=viewer).filter(pk=call_id).first()
    if call is None:
        raise NotFound(_("call %(call_id)s does not exist") % {"call_id": call_id}, field="call")
    return call


def call_for_committee(*, actor, call_id: int) -> Call:
    """A call with its panel and its history of transitions, for the committee."""
    require_role(actor, Role.COMMITTEE)
    call = (
        Call.objects.select_related("chair")
        .prefetch_related("missions", "panel", "transitions__actor")
        .filter(pk=call_id)
        .first()
    )
    if call is None:
        raise NotFound(_("call %(call_id)s does not exist") % {"call_id": call_id}, field="call")
    return call


def reviewers_by_id(*, ids: list[int], field: str = "reviewer_ids") -> list[User]:
    """The users behind a list of ids, each of whom must hold the reviewer role (one query)."""
    users = {
        u.pk: u
        for u in users_with_role_check(role=Role.REVIEWER).filter(pk__in=ids, is_active=True)
    }
    for user_id in ids:
        user = users.get(user_id)
        if user is None:
            raise NotFound(_("user %(user_id)s does not exist") % {"user_id": user_id}, field=field)
        if not user.holds_role:
            raise DomainError(
                _("user %(user_id)s is not a reviewer") % {"user_id": user_id}, field=field
            )
    return [users[i] for i in dict.fromkeys(ids)]


def user_by_id(*, user_id: int, field: str = "user_id") -> User:
    user = User.objects.select_related("person__institution").filter(pk=user_id).first()
    if user is None or not user.is_active:
        raise NotFound(_("user %(user_id)s does not exist") % {"user_id": user_id}, field=field)
    return user


def institution_by_id(*, institution_id: int, field: str = "institution_id") -> Institution:
    institution = Institution.objects.filter(pk=institution_id).first()
    if institution is None:
        raise NotFound(
            _("institution %(institution_id)s does not exist") % {"institution_id": institution_id},
            field=field,
        )
    return institution


@dataclass(frozen=True)
class InstitutionShare:
    name: str
    country: str
    approved: int
    released_mass_ug: int


@dataclass(frozen=True)
class CountryShare:
    country: str
    proposals: int
    approved: int
    released_mass_ug: int


@dataclass(frozen=True)
class CallOutcome:
    """A decided call in aggregate: what the public may know, with no proposal named."""

    call: Call
    proposals: int
    approved: int
    partially_approved: int
    declined: int
    released_mass_ug: int
    released_units: int
    institutions: list[InstitutionShare]
    countries: list[CountryShare]


def call_outcome(*, viewer=None, call_id: int) -> CallOutcome:
    """Released mass and units, proposals received and approved, by institution and country.

    Institutions and countries are those of the principal investigators. A proposal counts as
    received once it was submitted, even if it was later withdrawn or found ineligible.
    """
    call = call_get(viewer=viewer, call_id=call_id)
    if call.status not in OUTCOME_STATUSES:
        raise Conflict(_("the outcome is published once the call is decided"), field="call")
    received = list(
        call.proposals.filter(submitted_at__isnull=False).select_related("pi__person__institution")
    )
    released = {p.pk: (0, 0) for p in received}
    for row in DecisionItem.objects.filter(
        decision__proposal__call=call, decision__proposal__status__in=APPROVED_STATUSES
    ).values("decision__proposal_id", "approved_mass_ug", "approved_units"):
        mass, units = released.get(row["decision__proposal_id"], (0, 0))
        released[row["decision__proposal_id"]] = (
            mass + row["approved_mass_ug"],
            units + row["approved_units"],
        )
    institutions: dict[tuple[str, str], list[int]] = {}
    countries: dict[str, list[int]] = {}
    for proposal in received:
        person = getattr(proposal.pi, "person", None)
        institution = person.institution if person else None
        country = institution.country if institution else ""
        approved = proposal.status in APPROVED_STATUSES
        mass = released[proposal.pk][0] if approved else 0
        share = countries.setdefault(country, [0, 0, 0])
        share[0] += 1
        share[1] += approved
        share[2] += mass
        if approved and institution is not None:
            row = institutions.setdefault((institution.name, institution.country), [0, 0])
            row[0] += 1
            row[1] += mass
    counted = [p for p in received if p.status in APPROVED_STATUSES]
    return CallOutcome(
        call=call,
        proposals=len(received),
        approved=sum(p.status == ProposalStatus.APPROVED for p in received),
        partially_approved=sum(p.status == ProposalStatus.PARTIALLY_APPROVED for p in received),
        declined=sum(p.status == ProposalStatus.DECLINED for p in received),
        released_mass_ug=sum(released[p.pk][0] for p in counted),
        released_units=sum(released[p.pk][1] for p in counted),
        institutions=[
            InstitutionShare(name, country, approved, mass)
            for (name, country), (approved, mass) in sorted(institutions.items())
        ],
        countries=[
            CountryShare(country, n, approved, mass)
            for country, (n, approved, mass) in sorted(countries.items())
            if country
        ],
    )


# --- the applicant's view ----------------------------------------------------------------------


def _with_parts(proposals: QuerySet[Proposal]) -> QuerySet[Proposal]:
    return proposals.select_related("call", "pi").prefetch_related(
        "team",
        "methods",
        "items__mission",
        "items__sample",
        "prior_dois",
        "attachments",
        "decision__items",
    )


def proposals_of_applicant(*, actor, status: str = "", q: str = "") -> QuerySet[Proposal]:
    """The actor's own proposals, newest first."""
    proposals = Proposal.objects.filter(pi_id=getattr(actor, "pk", None))
    if status:
        proposals = proposals.filter(status=status)
    if q:
        proposals = proposals.filter(Q(title__icontains=q) | Q(call__title__icontains=q))
    return _with_parts(proposals).order_by("-created_at", "-id")


def proposal_for_applicant(*, actor, proposal_id: int) -> Proposal:
    """One of the actor's own proposals; any other is reported as absent."""
    proposal = proposals_of_applicant(actor=actor).filter(pk=proposal_id).first()
    if proposal is None:
        raise NotFound(
            _("proposal %(proposal_id)s does not exist") % {"proposal_id": proposal_id},
            field="proposal",
        )
    return proposal


@dataclass(frozen=True)
class ItemDecision:
    item_id: int
    approved_mass_ug: int
    approved_units: int
    reason: str


@dataclass(frozen=True)
class ApplicantFeedback:
    """What the principal investigator learns of the committee's decision."""

    outcome: str
    comment: str
    decided_at: datetime
    items: list[ItemDecision]
    reviewer_comments: list[str]


def proposal_feedback(*, proposal: Proposal) -> ApplicantFeedback | None:
    """The decision as its applicant sees it: nothing before the committee publishes its
    decisions (the call is decided), because until then a decision may still change."""
    published = proposal.call.status in {CallStatus.DECIDED, CallStatus.CLOSED_OUT}
    return decision_record(proposal=proposal) if published else None


def decision_record(*, proposal: Proposal) -> ApplicantFeedback | None:
    """The recorded decision: approved amounts, reasons for cuts and the reviewers' comments to
    the PI. Reviewers stay anonymous and their confidential comments are left out."""
    if proposal.status not in DECIDED_STATUSES:
        return None
    decision = Decision.objects.filter(proposal=proposal).prefetch_related("items").first()
    if decision is None:
        return None
    comments = Review.objects.filter(assignment__proposal=proposal).order_by("submitted_at", "id")
    return ApplicantFeedback(
        outcome=decision.outcome,
        comment=decision.comment,
        decided_at=decision.decided_at,
        items=[
            ItemDecision(d.item_id, d.approved_mass_ug, d.approved_units, d.reason)
            for d in sorted(decision.items.all(), key=lambda d: d.item_id)
        ],
        reviewer_comments=list(comments.values_list("comments_to_applicant", flat=True)),
    )


# --- the committee's views ---------------------------------------------------------------------


@dataclass(frozen=True)
class CommitteeRow:
    """One proposal of a call as the committee works on it."""

    proposal: Proposal
    screening: Screening | None
    assignments: list[Assignment]
    figures: RankFigures | None
    rank: RankEntry | None
    decision: Decision | None


def _submitted(call: Call) -> QuerySet[Proposal]:
    """A call's proposals once submitted (drafts stay private to their PI), in id order."""
    return call.proposals.exclude(status=ProposalStatus.DRAFT).order_by("id")


def call_proposals_for_committee(*, actor, call_id: int) -> QueryRows[CommitteeRow]:
    """Every submitted proposal of a call (drafts stay private to their PI), in id order.

    A page of them reads only its own proposals' parts; the review figures are computed over the
    whole call, as a reviewer's severity is.
    """
    call = call_for_committee(actor=actor, call_id=call_id)
    proposals = _with_parts(
        _submitted(call)
        .select_related(
            "pi__person__institution",
            "screening__decided_by",
            "rank",
            "decision__decided_by",
        )
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=Assignment.objects.select_related("reviewer", "review").order_by("id"),
            )
        )
    )

    def rows(page: list[Proposal]) -> list[CommitteeRow]:
        figures = {f.proposal.pk: f for f in ranking_figures(call=call)}
        return [
            CommitteeRow(
                proposal=p,
                screening=_related(p, "screening"),
                assignments=list(p.assignments.all()),
                figures=figures.get(p.pk),
                rank=_related(p, "rank"),
                decision=_related(p, "decision"),
            )
            for p in page
        ]

    return QueryRows(proposals, rows)


@dataclass(frozen=True)
class ScreeningRow:
    """One line of a call's screening table."""

    proposal: Proposal
    screening: Screening | None


def call_screening(*, actor, call: Call) -> list[ScreeningRow]:
    """Every submitted proposal of a call with its screening and who decided it, in id order.

    `call` comes from `call_for_committee`: the pages have it already, with what they show of it.
    The decider is joined, not read per row: a round of a thousand proposals took a thousand
    queries. Only what the table shows is read, the parts and assignments are left out.
    """
    require_role(actor, Role.COMMITTEE)
    proposals = _submitted(call).select_related("pi", "screening__decided_by")
    return [ScreeningRow(proposal=p, screening=_related(p, "screening")) for p in proposals]


@dataclass(frozen=True)
class CallProposalRow:
    """One line of the proposals of a call on its page: who asked, and where it ranks."""

    proposal: Proposal
    rank: RankEntry | None


def call_proposal_rows(*, actor, call: Call) -> list[CallProposalRow]:
    """Every submitted proposal of a call with its PI's institution and its rank, in id order.

    `call` comes from `call_for_committee`. Unlike `call_proposals_for_committee`, it leaves out
    the parts, assignments and review figures: the call's page shows none of them, and for a
    round of a thousand proposals reading them took most of the page's time.
    """
    require_role(actor, Role.COMMITTEE)
    proposals = _submitted(call).select_related("pi__person__institution", "rank")
    return [CallProposalRow(proposal=p, rank=_related(p, "rank")) for p in proposals]


@dataclass(frozen=True)
class RankRow:
    entry: RankEntry
    reviews: list[Review]


def call_ranking(*, actor, call_id: int) -> QueryRows[RankRow]:
    """The ranking in final order with every review, confidential comments included.

    Empty until the call reaches ranking, when the order is computed.
    """
    call = call_for_committee(actor=actor, call_id=call_id)
    entries = (
        RankEntry.objects.filter(call=call)
        .select_related("proposal__pi", "set_by")
        .prefetch_related(
            Prefetch(
                "proposal__assignments",
                queryset=Assignment.objects.filter(review__isnull=False)
                .select_related("reviewer", "review")
                .order_by("id"),
            )
        )
        .order_by("final_rank")
    )
    return QueryRows(
        entries,
        lambda page: [
            RankRow(entry=e, reviews=[a.review for a in e.proposal.assignments.all()]) for e in page
        ],
    )


def proposal_in_call(*, call_id: int, proposal_id: int) -> None:
    """Refuse a proposal named under the wrong call in a request's path."""
    if not Proposal.objects.filter(pk=proposal_id, call_id=call_id).exists():
        raise NotFound(
            _("proposal %(proposal_id)s is not part of call %(call_id)s")
            % {"proposal_id": proposal_id, "call_id": call_id},
            field="proposal_id",
        )


# --- the pages ---------------------------------------------------------------------------------


def call_status_counts() -> list[tuple[str, str, int]]:
    """(status, label, number of calls) for every status, in lifecycle order."""
    counts = dict(Call.objects.values_list("status").annotate(n=Count("id")).order_by())
    return [(value, label, counts.get(value, 0)) for value, label in CallStatus.choices]


def proposal_for_committee(*, actor, proposal_id: int) -> Proposal:
    """Any submitted proposal with its parts, for the committee; drafts stay with their PI."""
    require_role(actor, Role.COMMITTEE)
    proposal = (
        _with_parts(Proposal.objects.exclude(status=ProposalStatus.DRAFT))
        .select_related("pi__person__institution")
        .filter(pk=proposal_id)
        .first()
    )
    if proposal is None:
        raise NotFound(
            _("proposal %(proposal_id)s does not exist") % {"proposal_id": proposal_id},
            field="proposal",
        )
    return proposal


def proposal_latest_version(*, proposal: Proposal) -> ProposalVersion | None:
    """The text frozen at the latest submission, or None for a proposal never submitted."""
    return proposal.versions.order_by("-number").first()


def user_by_username(*, username: str, field: str = "username") -> User:
    user = User.objects.select_related("person__institution").filter(username=username).first()
    if user is None or not user.is_active:
        raise NotFound(
            _("there is no registered user %(username)s") % {"username": repr(username)},
            field=field,
        )
    return user
