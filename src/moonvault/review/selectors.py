"""Reads for review: conflicts, what a reviewer may see, missing reviews, ranking figures."""

import statistics
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import User
from django.core.paginator import Page, Paginator
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Length

from moonvault.accounts.models import Role
from moonvault.accounts.selectors import user_has_role
from moonvault.calls.models import Call, Proposal, ProposalStatus, TeamMember
from moonvault.core.errors import NotFound
from moonvault.loans.models import Authorship
from moonvault.review.models import Assignment, ConflictDeclaration, Review


@dataclass(frozen=True)
class TeamView:
    """All that a reviewer sees of a proposal before declaring: its title and its team."""

    proposal_id: int
    title: str
    team: list[tuple[str, str, str]]


def _team_of(proposal: Proposal) -> list[dict]:
    """The PI and every co-investigator as {user_id, email, institution_id, country}."""
    person = getattr(proposal.pi, "person", None)
    members = [
        {
            "user_id": proposal.pi_id,
            "email": proposal.pi.email.lower(),
            "institution_id": person.institution_id if person else None,
            "country": person.institution.country if person and person.institution else "",
        }
    ]
    for m in proposal.team.all():
        members.append(
            {
                "user_id": m.user_id,
                "email": m.email.lower(),
                "institution_id": m.institution_id,
                "country": m.country,
            }
        )
    return members


def with_member(user) -> Q:
    """Proposals whose PI or co-investigator is `user`, by account or by e-mail, since a
    co-investigator may be listed by e-mail before or without an account."""
    found = Q(pi=user) | Q(team__user=user)
    if user.email:
        found |= Q(pi__email__iexact=user.email) | Q(team__email__iexact=user.email)
    return found


def coauthors_of(reviewer_ids) -> dict[int, dict[int, int]]:
    """Per reviewer id: the users they share a publication with, and the latest year of one.

    Read once for a whole panel, so that testing every pair of proposal and reviewer for a
    conflict costs no query per pair.
    """
    theirs = list(
        Authorship.objects.filter(user_id__in=reviewer_ids).values_list("publication_id", "user_id")
    )
    authors: dict[int, list[tuple[int, int]]] = {}
    for publication, user, year in Authorship.objects.filter(
        publication_id__in={publication for publication, _user in theirs}, user__isnull=False
    ).values_list("publication_id", "user_id", "publication__year"):
        authors.setdefault(publication, []).append((user, year))
    found: dict[int, dict[int, int]] = {reviewer: {} for reviewer in reviewer_ids}
    for publication, reviewer in theirs:
        latest = found[reviewer]
        for user, year in authors.get(publication, []):
            if user != reviewer and year > latest.get(user, year - 1):
                latest[user] = year
    return found


def automatic_conflicts(
    *,
    reviewer,
    proposal: Proposal,
    today: date | None = None,
    coauthors: dict[int, int] | None = None,
) -> list[str]:
    """The reasons, if any, why `reviewer` must not review `proposal`. `coauthors` is the
    reviewer's entry of `coauthors_of`, read here when not given."""
    call = proposal.call
    team = _team_of(proposal)
    person = getattr(reviewer, "person", None)
    reasons = []
    if any(
        m["user_id"] == reviewer.pk or (m["email"] and m["email"] == reviewer.email.lower())
        for m in team
    ):
        reasons.append("is on the proposal's team")
    institution_id = person.institution_id if person else None
    if institution_id and any(m["institution_id"] == institution_id for m in team):
        reasons.append("shares an institution with the team")
    team_users = {m["user_id"] for m in team if m["user_id"]} - {reviewer.pk}
    if team_users:
        if coauthors is None:
            coauthors = coauthors_of([reviewer.pk])[reviewer.pk]
        since = (today or date.today()).year - call.coauthor_window_years
        if any(coauthors.get(user, since - 1) >= since for user in team_users):
            reasons.append(
                f"co-authored a publication with the team within {call.coauthor_window_years} years"
            )
    if (
        call.same_country_conflict
        and person
        and person.institution
        and any(m["country"] == person.institution.country for m in team)
    ):
        reasons.append("is from the same country as the team (the call's policy)")
    return reasons


def is_conflicted(*, reviewer, proposal: Proposal) -> bool:
    declared = ConflictDeclaration.objects.filter(
        proposal=proposal, reviewer=reviewer, conflicted=True
    ).exists()
    return declared or bool(automatic_conflicts(reviewer=reviewer, proposal=proposal))


def proposal_team_view(*, reviewer, proposal_id: int) -> TeamView:
    """Title and team only, for a panel member who has not been found conflicted."""
    proposal = panel_proposal(reviewer, proposal_id)
    if is_conflicted(reviewer=reviewer, proposal=proposal):
        raise NotFound(f"proposal {proposal_id} does not exist", field="proposal")
    return team_view(proposal)


def team_view(proposal: Proposal) -> TeamView:
    """The title and team of a proposal the reviewer may see (`proposal_team_view`,
    `declarations_due`)."""
    team = [(proposal.pi.get_full_name() or proposal.pi.get_username(), "", "PI")]
    team += [(m.name, m.institution_name, m.country) for m in proposal.team.all()]
    return TeamView(proposal.pk, proposal.title, team)


def panel_proposal(reviewer, proposal_id: int) -> Proposal:
    proposal = (
        Proposal.objects.select_related("call", "pi__person__institution")
        .filter(pk=proposal_id, call__panel=reviewer)
        .exclude(status__in=[ProposalStatus.DRAFT, ProposalStatus.WITHDRAWN])
        .first()
    )
    if proposal is None:
        raise NotFound(f"proposal {proposal_id} does not exist", field="proposal")
    return proposal


def proposal_for_reviewer(*, reviewer, proposal_id: int) -> Proposal:
    """The full proposal, only for a reviewer assigned to it and not conflicted."""
    proposal = panel_proposal(reviewer, proposal_id)
    assigned = Assignment.objects.filter(proposal=proposal, reviewer=reviewer).exists()
    if not assigned or is_conflicted(reviewer=reviewer, proposal=proposal):
        raise NotFound(f"proposal {proposal_id} does not exist", field="proposal")
    return proposal


def reviews_visible_to_reviewer(*, reviewer, proposal: Proposal) -> QuerySet[Review]:
    """Other reviews of a proposal, once the reviewer has submitted their own."""
    own = Review.objects.filter(assignment__proposal=proposal, assignment__reviewer=reviewer)
    if not own.exists():
        return Review.objects.none()
    return Review.objects.filter(assignment__proposal=proposal).select_related(
        "assignment__reviewer"
    )


def reviews_missing(*, call: Call) -> list[Assignment]:
    return list(
        Assignment.objects.filter(
            proposal__call=call, proposal__status=ProposalStatus.UNDER_REVIEW, review__isnull=True
        ).select_related("proposal", "reviewer")
    )


# The review states a reviewer filters their assignments by.
REVIEW_DUE = "due"
REVIEW_SUBMITTED = "submitted"


def reviewer_assignments(*, reviewer, review: str = "", q: str = "") -> QuerySet[Assignment]:
    assignments = Assignment.objects.filter(reviewer=reviewer).exclude(
        proposal__status=ProposalStatus.WITHDRAWN
    )
    if review:
        assignments = assignments.filter(review__isnull=review == REVIEW_DUE)
    if q:
        assignments = assignments.filter(
            Q(proposal__title__icontains=q) | Q(proposal__call__title__icontains=q)
        )
    return assignments.select_related("proposal__call", "review").order_by(
        "proposal__call__review_due", "proposal_id"
    )


def declarations_due(*, reviewer) -> QuerySet[Proposal]:
    """Proposals of the reviewer's panels that await a conflict declaration, by round and in
    the order they were made, with their teams."""
    due = (
        Proposal.objects.filter(
            call__panel=reviewer, status__in=[ProposalStatus.SUBMITTED, ProposalStatus.UNDER_REVIEW]
        )
        .exclude(declarations__reviewer=reviewer)
        .exclude(Q(pi=reviewer) | Q(team__user=reviewer))
    )
    # An automatic conflict needs no declaration, and the reviewer must not even see the title.
    return (
        without_automatic_conflicts(due, reviewer=reviewer)
        .select_related("call", "pi__person__institution")
        .prefetch_related("team")
        .distinct()
        .order_by("call_id", "id")
    )


# A character outside printable ASCII, the same pattern for Python's re (SQLite's REGEXP, which
# Django implements with it) and for PostgreSQL (code point ranges).
_NOT_PRINTABLE_ASCII = r"[^ -~]"


def _team_emails_of(reviewer, proposals: QuerySet[Proposal]) -> list[str]:
    """The e-mails, as stored, of the PIs and co-investigators of `proposals` that are the
    reviewer's as `automatic_conflicts` compares them: equal once lower-cased by Python.

    SQL cannot lower-case as Python does (SQLite folds ASCII letters only; PostgreSQL folds by
    the database's locale, one character to one), so the database only narrows the e-mails
    down to those that could match: as long as the reviewer's lower-cased one, or with a
    character outside printable ASCII (only those may change length or fold to ASCII); Python
    decides, and the caller compares the e-mails found for exact equality.
    """
    wanted = reviewer.email.lower()
    if not wanted:
        return []

    def could_match(people):
        return (
            people.annotate(email_length=Length("email"))
            .filter(Q(email__regex=_NOT_PRINTABLE_ASCII) | Q(email_length=len(wanted)))
            .values_list("email", flat=True)
            .order_by()
            .distinct()
        )

    pis = could_match(User.objects.filter(pk__in=proposals.order_by().values("pi_id")))
    members = could_match(TeamMember.objects.filter(proposal__in=proposals.order_by().values("pk")))
    return sorted({e for e in [*pis, *members] if e and e.lower() == wanted})


def without_automatic_conflicts(
    proposals: QuerySet[Proposal], *, reviewer, today: date | None = None
) -> QuerySet[Proposal]:
    """`proposals` but those for which `automatic_conflicts` gives the reviewer a reason, the
    same rules in SQL, so that a page of the rest is cut by the database. A handful of queries
    read the reviewer's institution, co-authors and e-mail matches first, whatever the number
    of proposals. Any change to `automatic_conflicts` must be made here too (the two are
    compared in tests/review/test_declarations_due.py)."""
    team = TeamMember.objects.filter(proposal=OuterRef("pk"))
    person = getattr(reviewer, "person", None)
    # On the proposal's team: by account, or by e-mail.
    conflicted = Q(pi=reviewer) | Q(Exists(team.filter(user=reviewer)))
    emails = _team_emails_of(reviewer, proposals)
    if emails:
        conflicted |= Q(pi__email__in=emails) | Q(Exists(team.filter(email__in=emails)))
    # Shares an institution with the team.
    if person and person.institution_id:
        institution_id = person.institution_id
        conflicted |= Q(pi__person__institution_id=institution_id) | Q(
            Exists(team.filter(institution_id=institution_id))
        )
    # Co-authored a publication with a member of the team within the call's window: a shared
    # publication of year Y counts in the calls whose window reaches back to Y.
    year = (today or date.today()).year
    coauthors_by_year: dict[int, list[int]] = {}
    for user, latest in coauthors_of([reviewer.pk])[reviewer.pk].items():
        coauthors_by_year.setdefault(latest, []).append(user)
    for latest, users in sorted(coauthors_by_year.items()):
        conflicted |= Q(call__coauthor_window_years__gte=year - latest) & (
            Q(pi_id__in=users) | Q(Exists(team.filter(user_id__in=users)))
        )
    # From the same country as the team, where the call says so. A PI without an institution
    # has the country "", as in `_team_of`.
    if person and person.institution:
        country = person.institution.country
        proposals = proposals.annotate(
            pi_country=Coalesce("pi__person__institution__country", Value(""))
        )
        conflicted |= Q(call__same_country_conflict=True) & (
            Q(pi_country=country) | Q(Exists(team.filter(country=country)))
        )
    return proposals.exclude(conflicted)


@dataclass(frozen=True)
class RankFigures:
    proposal: Proposal
    raw_mean: float
    corrected_mean: float
    spread: float
    reviews: int


def ranking_figures(*, call: Call) -> list[RankFigures]:
    """Raw mean, severity-corrected mean and spread per proposal, best first.

    A reviewer's severity: each of their overall scores in this call is standardized against their
    own mean and standard deviation (z-score); a proposal's corrected mean is the call's grand mean
    plus its mean z-score times the call's standard deviation, so it stays on the 1–5 scale. A
    reviewer whose scores do not vary (or who reviewed one proposal) contributes z = 0.
    """
    reviews = list(
        Review.objects.filter(
            assignment__proposal__call=call,
            assignment__proposal__status__in=[ProposalStatus.UNDER_REVIEW, ProposalStatus.RANKED],
        ).select_related("assignment__proposal")
    )
    if not reviews:
        return []
    by_reviewer: dict[int, list[float]] = {}
    for r in reviews:
        by_reviewer.setdefault(r.assignment.reviewer_id, []).append(r.overall)
    stats = {
        rid: (statistics.fmean(s), statistics.pstdev(s) if len(s) > 1 else 0.0)
        for rid, s in by_reviewer.items()
    }
    everything = [r.overall for r in reviews]
    grand_mean = statistics.fmean(everything)
    grand_sd = statistics.pstdev(everything)
    per_proposal: dict[int, list[tuple[float, float]]] = {}
    proposals = {}
    for r in reviews:
        mean, sd = stats[r.assignment.reviewer_id]
        z = (r.overall - mean) / sd if sd else 0.0
        per_proposal.setdefault(r.assignment.proposal_id, []).append((r.overall, z))
        proposals[r.assignment.proposal_id] = r.assignment.proposal
    figures = [
        RankFigures(
            proposal=proposals[pid],
            raw_mean=statistics.fmean(o for o, _ in scores),
            corrected_mean=grand_mean + grand_sd * statistics.fmean(z for _, z in scores),
            spread=max(o for o, _ in scores) - min(o for o, _ in scores),
            reviews=len(scores),
        )
        for pid, scores in per_proposal.items()
    ]
    figures.sort(key=lambda f: (-f.corrected_mean, -f.raw_mean, f.proposal.pk))
    return figures


@dataclass(frozen=True)
class ReviewsView:
    """The reviews of a proposal as one person may see them."""

    proposal: Proposal
    reviews: list[Review]
    # The committee's view: reviewer names and the confidential comments to the committee.
    confidential: bool


def reviews_for(*, viewer, proposal_id: int) -> ReviewsView:
    """The committee sees every review in full, except a member conflicted with the proposal
    (e.g. at the team's institution), who must not read who wrote what about their colleagues.
    An assigned reviewer who is not conflicted sees the scores and comments to the applicant of
    every review once their own is submitted, none before. Anyone else, a conflicted reviewer
    included, is told the proposal does not exist.
    """
    if user_has_role(viewer, Role.COMMITTEE):
        proposal = (
            Proposal.objects.filter(pk=proposal_id).exclude(status=ProposalStatus.DRAFT).first()
        )
        if proposal is None or is_conflicted(reviewer=viewer, proposal=proposal):
            raise NotFound(f"proposal {proposal_id} does not exist", field="proposal")
        reviews = Review.objects.filter(assignment__proposal=proposal)
        return ReviewsView(
            proposal, list(reviews.select_related("assignment__reviewer").order_by("id")), True
        )
    proposal = proposal_for_reviewer(reviewer=viewer, proposal_id=proposal_id)
    visible = reviews_visible_to_reviewer(reviewer=viewer, proposal=proposal)
    return ReviewsView(proposal, list(visible.order_by("id")), False)


# --- the pages ---------------------------------------------------------------------------------


def reviewer_candidates() -> QuerySet[User]:
    """Everyone who may sit on a review panel."""
    return User.objects.filter(groups__name=Role.REVIEWER.value, is_active=True).order_by(
        "username"
    )


# A search shows at most this many reviewers; a chair narrows it by typing more.
REVIEWERS_FOUND = 20


@dataclass(frozen=True)
class ReviewerSearch:
    reviewers: list[User]
    # More reviewers match than are shown.
    more: bool


def _as_listed(reviewers: QuerySet[User]) -> QuerySet[User]:
    """Reviewers by name, each read with the institution shown beside it."""
    return reviewers.select_related("person__institution").order_by(
        "last_name", "first_name", "username"
    )


def panel_members(*, ids: Collection[int]) -> list[User]:
    """The reviewers among `ids`, to show a panel being chosen; ids of anyone else are left out."""
    return list(_as_listed(reviewer_candidates().filter(pk__in=ids))) if ids else []


def reviewer_search(
    *, query: str, exclude: Collection[int] = (), limit: int = REVIEWERS_FOUND
) -> ReviewerSearch:
    """The reviewers, other than `exclude`, whose name, username or institution (in English or
    in Chinese) contains every word of `query`: "chen beijing" finds Chen of a Beijing
    institute. At most `limit` of them, read in one query."""
    words = query.split()
    if not words:
        return ReviewerSearch(reviewers=[], more=False)
    found = reviewer_candidates().exclude(pk__in=exclude)
    for word in words:
        found = found.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Q(username__icontains=word)
            | Q(person__institution__name__icontains=word)
            | Q(person__institution__name_zh__icontains=word)
        )
    rows = list(_as_listed(found)[: limit + 1])
    return ReviewerSearch(reviewers=rows[:limit], more=len(rows) > limit)


@dataclass(frozen=True)
class MatrixCell:
    reviewer: User
    assignment_id: int | None
    reviewed: bool
    automatic_conflicts: list[str]
    declared_conflict: str | None

    @property
    def conflicted(self) -> bool:
        return bool(self.automatic_conflicts) or self.declared_conflict is not None


@dataclass(frozen=True)
class MatrixRow:
    proposal: Proposal
    cells: list[MatrixCell]
    assigned: int
    free: int
    reachable: int
    needed: int

    @property
    def short(self) -> bool:
        return self.reachable < self.needed


@dataclass(frozen=True)
class AssignmentMatrix:
    reviewers: list[tuple[User, int]]
    rows: list[MatrixRow]
    # The proposals of `rows` among all those under review.
    page: Page


# Proposals per page of the matrix: each row holds a cell per panel member.
MATRIX_PAGE = 20


def assignment_matrix(*, call: Call, number: str | int | None = 1) -> AssignmentMatrix:
    """Proposals under review × panel reviewers, a page (`number`) of proposals at a time: who
    is assigned, who is conflicted and why; the loads count every proposal of the call.

    Per proposal: how many panel reviewers are free of conflicts, and how many of those can still
    count (assigned already, or with room under the load cap); fewer than needed means the
    proposal cannot be covered.
    """
    reviewers = list(call.panel.select_related("person__institution").order_by("username"))
    page = Paginator(
        call.proposals.filter(status=ProposalStatus.UNDER_REVIEW)
        .select_related("pi__person__institution", "call")
        .prefetch_related("team")
        .order_by("id"),
        MATRIX_PAGE,
    ).get_page(number)
    coauthors = coauthors_of([r.pk for r in reviewers])
    assignments = {
        (a.proposal_id, a.reviewer_id): a
        for a in Assignment.objects.filter(proposal__call=call).select_related("review")
    }
    load = {r.pk: 0 for r in reviewers}
    for _, reviewer_id in assignments:
        if reviewer_id in load:
            load[reviewer_id] += 1
    declared = {
        (d.proposal_id, d.reviewer_id): d.reason
        for d in ConflictDeclaration.objects.filter(proposal__call=call, conflicted=True)
    }
    k = call.reviewers_per_proposal
    rows = []
    for proposal in page:
        cells = []
        for reviewer in reviewers:
            assignment = assignments.get((proposal.pk, reviewer.pk))
            cells.append(
                MatrixCell(
                    reviewer=reviewer,
                    assignment_id=assignment.pk if assignment else None,
                    reviewed=bool(assignment and hasattr(assignment, "review")),
                    automatic_conflicts=automatic_conflicts(
                        reviewer=reviewer, proposal=proposal, coauthors=coauthors[reviewer.pk]
                    ),
                    declared_conflict=declared.get((proposal.pk, reviewer.pk)),
                )
            )
        free = [c for c in cells if not c.conflicted]
        reachable = sum(
            1 for c in free if c.assignment_id or load[c.reviewer.pk] < call.max_reviewer_load
        )
        assigned = sum(1 for c in cells if c.assignment_id)
        rows.append(MatrixRow(proposal, cells, assigned, len(free), reachable, k))
    return AssignmentMatrix([(r, load[r.pk]) for r in reviewers], rows, page)
