"""Conflict declarations, reviewer assignment, reviews and ranking."""

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from moonvault.accounts.models import Role
from moonvault.accounts.permissions import require_role
from moonvault.allocation.optimizer import AssignmentProblem, solve_assignment
from moonvault.allocation.optimizer import Reviewer as OptimizerReviewer
from moonvault.calls.models import Call, CallStatus, Proposal, ProposalAction, ProposalStatus
from moonvault.core.errors import Conflict, DomainError, FieldProblem, NotFound, PermissionDenied
from moonvault.core.notify import notify
from moonvault.core.units import check_count
from moonvault.review.models import SCORE_RANGE, Assignment, ConflictDeclaration, RankEntry, Review
from moonvault.review.selectors import (
    automatic_conflicts,
    coauthors_of,
    is_conflicted,
    panel_proposal,
    ranking_figures,
    with_member,
)


@transaction.atomic
def conflict_declare(
    *, actor, proposal_id: int, conflicted: bool, reason: str = ""
) -> ConflictDeclaration:
    """A panel member declares, from title and team alone, whether they are conflicted."""
    require_role(actor, Role.REVIEWER)
    proposal = panel_proposal(actor, proposal_id)
    if automatic_conflicts(reviewer=actor, proposal=proposal):
        # Already conflicted without a word: the proposal stays out of sight, as on every route.
        raise NotFound(
            _("proposal %(proposal_id)s does not exist") % {"proposal_id": proposal_id},
            field="proposal",
        )
    if conflicted and not reason.strip():
        raise DomainError(_("say what the conflict is"), field="reason")
    if ConflictDeclaration.objects.filter(proposal=proposal, reviewer=actor).exists():
        raise Conflict(_("you have already declared on this proposal"), field="proposal")
    declaration = ConflictDeclaration.objects.create(
        proposal=proposal, reviewer=actor, conflicted=conflicted, reason=reason.strip()
    )
    if conflicted:
        # A declared conflict withdraws the assignment, and with it a review already written, so
        # that a conflicted opinion never counts; the committee sees it in the proposal's history.
        withdrawn, _count = Assignment.objects.filter(proposal=proposal, reviewer=actor).delete()
        if withdrawn:
            ProposalAction.objects.create(
                proposal=proposal,
                action="review withdrawn",
                actor=actor,
                reason=f"conflict declared: {reason.strip()}",
            )
    return declaration


def refuse_own_proposal(actor, proposals: QuerySet[Proposal]) -> None:
    """A committee member on a proposal's team takes no part in deciding its fate."""
    proposal = proposals.filter(with_member(actor)).order_by("pk").first()
    if proposal is not None:
        raise Conflict(
            _(
                "you are on the team of proposal %(proposal_id)s: another committee member "
                "must act on it"
            )
            % {"proposal_id": proposal.pk},
            field="proposal",
        )


def _call_for_chair(actor, call_id: int) -> Call:
    require_role(actor, Role.COMMITTEE)
    call = Call.objects.select_for_update().filter(pk=call_id).first()
    if call is None:
        raise NotFound(_("call %(call_id)s does not exist") % {"call_id": call_id}, field="call")
    if call.chair_id != actor.pk and not actor.is_superuser:
        raise PermissionDenied(_("only the call's chair assigns reviewers"))
    if call.status != CallStatus.REVIEW:
        raise Conflict(_("reviewers are assigned while the call is in review"), field="status")
    return call


@transaction.atomic
def assignment_add(*, actor, proposal_id: int, reviewer_id: int) -> Assignment:
    proposal = Proposal.objects.select_related("call").filter(pk=proposal_id).first()
    if proposal is None:
        raise NotFound(
            _("proposal %(proposal_id)s does not exist") % {"proposal_id": proposal_id},
            field="proposal",
        )
    call = _call_for_chair(actor, proposal.call_id)
    refuse_own_proposal(actor, Proposal.objects.filter(pk=proposal.pk))
    if proposal.status != ProposalStatus.UNDER_REVIEW:
        raise Conflict(_("only eligible proposals under review get reviewers"), field="proposal")
    reviewer = call.panel.filter(pk=reviewer_id).first()
    if reviewer is None:
        raise DomainError(_("the reviewer is not on the call's panel"), field="reviewer")
    if is_conflicted(reviewer=reviewer, proposal=proposal):
        raise Conflict(
            _("the reviewer has a conflict of interest with this proposal"), field="reviewer"
        )
    if Assignment.objects.filter(proposal=proposal, reviewer=reviewer).exists():
        raise Conflict(_("the reviewer is already assigned"), field="reviewer")
    load = Assignment.objects.filter(proposal__call=call, reviewer=reviewer).count()
    if load >= call.max_reviewer_load:
        raise Conflict(
            _("the reviewer already has %(load)s proposals, the call's maximum") % {"load": load},
            field="reviewer",
        )
    if proposal.assignments.count() >= call.reviewers_per_proposal:
        raise Conflict(
            _("the proposal already has %(reviewers_per_proposal)s reviewers")
            % {"reviewers_per_proposal": call.reviewers_per_proposal},
            field="proposal",
        )
    assignment = Assignment.objects.create(proposal=proposal, reviewer=reviewer, assigned_by=actor)
    notify(
        [reviewer],
        f"Review assigned: {proposal.title}",
        f"You are asked to review a proposal to {call.title} by {call.review_due.isoformat()}.",
    )
    return assignment


@transaction.atomic
def assignment_remove(*, actor, assignment_id: int) -> None:
    assignment = Assignment.objects.select_related("proposal").filter(pk=assignment_id).first()
    if assignment is None:
        raise NotFound(
            _("assignment %(assignment_id)s does not exist") % {"assignment_id": assignment_id},
            field="assignment",
        )
    _call_for_chair(actor, assignment.proposal.call_id)
    refuse_own_proposal(actor, Proposal.objects.filter(pk=assignment.proposal_id))
    if hasattr(assignment, "review"):
        raise Conflict(_("the review is already submitted"), field="assignment")
    assignment.delete()


def _check_score(value, field: str) -> int:
    low, high = SCORE_RANGE
    return check_count(value, field, low=low, high=high, noun=_("score"))


@transaction.atomic
def review_submit(
    *,
    actor,
    proposal_id: int,
    merit: int,
    feasibility: int,
    justification: int,
    comments_to_applicant: str,
    comments_to_committee: str = "",
) -> Review:
    require_role(actor, Role.REVIEWER)
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("proposal__call")
        .filter(proposal_id=proposal_id, reviewer=actor)
        .first()
    )
    if assignment is None or is_conflicted(reviewer=actor, proposal=assignment.proposal):
        raise NotFound(
            _("proposal %(proposal_id)s does not exist") % {"proposal_id": proposal_id},
            field="proposal",
        )
    if assignment.proposal.call.status != CallStatus.REVIEW:
        raise Conflict(_("the review period is over"), field="proposal")
    if Review.objects.filter(assignment=assignment).exists():
        raise Conflict(_("your review is already submitted"), field="proposal")
    scores = {
        "merit": _check_score(merit, "merit"),
        "feasibility": _check_score(feasibility, "feasibility"),
        "justification": _check_score(justification, "justification"),
    }
    if not comments_to_applicant.strip():
        raise DomainError(_("write comments for the applicant"), field="comments_to_applicant")
    return Review.objects.create(
        assignment=assignment,
        comments_to_applicant=comments_to_applicant.strip(),
        comments_to_committee=comments_to_committee.strip(),
        **scores,
    )


@transaction.atomic
def ranking_compute(*, actor, call_id: int) -> list[RankEntry]:
    """Rank the reviewed proposals by severity-corrected mean; the committee may then reorder."""
    require_role(actor, Role.COMMITTEE)
    call = Call.objects.select_for_update().filter(pk=call_id).first()
    if call is None:
        raise NotFound(_("call %(call_id)s does not exist") % {"call_id": call_id}, field="call")
    if call.status != CallStatus.RANKING:
        raise Conflict(_("the call is not in ranking"), field="status")
    figures = ranking_figures(call=call)
    RankEntry.objects.filter(call=call).delete()
    entries = RankEntry.objects.bulk_create(
        RankEntry(
            proposal=f.proposal,
            call=call,
            computed_rank=rank,
            final_rank=rank,
            raw_mean=f.raw_mean,
            corrected_mean=f.corrected_mean,
            spread=f.spread,
        )
        for rank, f in enumerate(figures, start=1)
    )
    Proposal.objects.filter(pk__in=[f.proposal.pk for f in figures]).update(
        status=ProposalStatus.RANKED
    )
    return entries


@transaction.atomic
def ranking_set(
    *, actor, call_id: int, order: list[int], reasons: dict[int, str]
) -> list[RankEntry]:
    """The committee's final order (proposal ids, best first). A move needs a reason."""
    require_role(actor, Role.COMMITTEE)
    call = Call.objects.select_for_update().filter(pk=call_id).first()
    if call is None:
        raise NotFound(_("call %(call_id)s does not exist") % {"call_id": call_id}, field="call")
    if call.status != CallStatus.RANKING:
        raise Conflict(_("the call is not in ranking"), field="status")
    entries = {e.proposal_id: e for e in RankEntry.objects.filter(call=call)}
    refuse_own_proposal(actor, Proposal.objects.filter(pk__in=entries))
    if sorted(order) != sorted(entries) or len(set(order)) != len(order):
        raise DomainError(_("list every ranked proposal exactly once"), field="order")
    for rank, proposal_id in enumerate(order, start=1):
        entry = entries[proposal_id]
        reason = reasons.get(proposal_id, "").strip()
        if rank != entry.computed_rank and not reason:
            raise DomainError(
                _(
                    "proposal %(proposal_id)s moves from %(computed_rank)s to %(rank)s: give "
                    "a reason"
                )
                % {"proposal_id": proposal_id, "computed_rank": entry.computed_rank, "rank": rank},
                field=f"reasons.{proposal_id}",
            )
        entry.final_rank = rank
        entry.reason = reason if rank != entry.computed_rank else ""
        entry.set_by = actor
    # Ranks are unique within a call, so rewrite the rows rather than shuffle them in place.
    RankEntry.objects.filter(call=call).delete()
    saved = RankEntry.objects.bulk_create(
        RankEntry(
            proposal_id=e.proposal_id,
            call=call,
            computed_rank=e.computed_rank,
            final_rank=e.final_rank,
            raw_mean=e.raw_mean,
            corrected_mean=e.corrected_mean,
            spread=e.spread,
            reason=e.reason,
            set_by=actor,
        )
        for e in sorted(entries.values(), key=lambda e: e.final_rank)
    )
    ProposalAction.objects.bulk_create(
        ProposalAction(proposal_id=e.proposal_id, action="ranked", actor=actor, reason=e.reason)
        for e in saved
        if e.reason
    )
    return saved


def panel_reviewers(*, call: Call) -> list[User]:
    return list(call.panel.select_related("person__institution").order_by("username"))


def _keywords(text: str) -> set[str]:
    return {w.strip().lower() for w in text.replace(";", ",").split(",") if w.strip()}


def expertise_affinity(reviewer_keywords: set[str], proposal_keywords: set[str]) -> float:
    """Jaccard overlap of a reviewer's expertise and a proposal's keywords and techniques."""
    union = reviewer_keywords | proposal_keywords
    return len(reviewer_keywords & proposal_keywords) / len(union) if union else 0.0


@transaction.atomic
def assignment_run(*, actor, call_id: int, fairness: bool = False) -> list[Assignment]:
    """Complete the call's assignment with the optimizer: existing assignments are kept.

    Every proposal gets the call's number of reviewers, nobody exceeds the load limit, nobody
    conflicted is assigned, and the total expertise match is the largest possible (or, with
    `fairness`, the worst-served proposal's match first). If that is impossible the error lists
    the proposals that cannot be covered and why; nothing is assigned then.
    """
    call = _call_for_chair(actor, call_id)
    proposals = list(
        call.proposals.filter(status=ProposalStatus.UNDER_REVIEW)
        .select_related("pi__person__institution")
        .prefetch_related("team", "methods")
    )
    reviewers = list(call.panel.select_related("person__institution"))
    coauthors = coauthors_of([r.pk for r in reviewers])
    existing = list(Assignment.objects.filter(proposal__call=call))
    declared = set(
        ConflictDeclaration.objects.filter(proposal__call=call, conflicted=True).values_list(
            "proposal_id", "reviewer_id"
        )
    )
    affinity, conflicts = {}, set()
    for proposal in proposals:
        words = _keywords(proposal.keywords) | {m.technique.lower() for m in proposal.methods.all()}
        for reviewer in reviewers:
            pair = (str(proposal.pk), str(reviewer.pk))
            if (proposal.pk, reviewer.pk) in declared or automatic_conflicts(
                reviewer=reviewer, proposal=proposal, coauthors=coauthors[reviewer.pk]
            ):
                conflicts.add(pair)
                continue
            person = getattr(reviewer, "person", None)
            score = expertise_affinity(_keywords(person.expertise if person else ""), words)
            if score:
                affinity[pair] = score
    problem = AssignmentProblem(
        proposals=tuple(str(p.pk) for p in proposals),
        reviewers=tuple(
            OptimizerReviewer(id=str(r.pk), max_load=call.max_reviewer_load) for r in reviewers
        ),
        k=call.reviewers_per_proposal,
        affinity=affinity,
        conflicts=frozenset(conflicts),
        forced=frozenset((str(a.proposal_id), str(a.reviewer_id)) for a in existing),
    )
    result = solve_assignment(problem, fairness=fairness, time_limit=60)
    if result.status not in {"optimal", "feasible"}:
        titles = {str(p.pk): p.title for p in proposals}
        raise Conflict(
            _("no valid assignment exists"),
            problems=[
                FieldProblem(
                    f"proposal.{reason.proposal}" if reason.proposal else "assignment",
                    f"{titles.get(reason.proposal, '')}: {reason.message}".lstrip(": "),
                )
                for reason in result.reasons
            ]
            or [
                FieldProblem(
                    "assignment", _("the solver stopped: %(status)s") % {"status": result.status}
                )
            ],
        )
    have = {(str(a.proposal_id), str(a.reviewer_id)) for a in existing}
    by_id = {str(r.pk): r for r in reviewers}
    created = Assignment.objects.bulk_create(
        Assignment(
            proposal_id=int(p),
            reviewer=by_id[r],
            source=Assignment.Source.OPTIMIZER,
            assigned_by=actor,
        )
        for p, r in result.pairs
        if (p, r) not in have
    )
    for assignment in created:
        notify(
            [assignment.reviewer],
            "Review assigned",
            f"You are asked to review a proposal to {call.title} by {call.review_due.isoformat()}.",
        )
    return created
