"""The declarations due leave out the automatic conflicts in SQL: exactly the proposals, in exactly
the order, that filtering with `automatic_conflicts` in Python gives, and a page of them is cut
by the database in a fixed number of queries."""

from datetime import date
from itertools import cycle

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from moonvault.accounts.models import Person, Role
from moonvault.calls.models import Proposal, ProposalStatus, TeamMember
from moonvault.core.api import PageQuery, page_of
from moonvault.loans.models import Authorship, Publication
from moonvault.review.models import ConflictDeclaration
from moonvault.review.selectors import automatic_conflicts, coauthors_of, declarations_due

THIS_YEAR = date.today().year
DUE = [ProposalStatus.SUBMITTED, ProposalStatus.UNDER_REVIEW]


def due_by_python(reviewer) -> list[int]:
    """What declarations_due answered before: the whole list, filtered one proposal at a time."""
    due = (
        Proposal.objects.filter(call__panel=reviewer, status__in=DUE)
        .exclude(declarations__reviewer=reviewer)
        .exclude(Q(pi=reviewer) | Q(team__user=reviewer))
        .select_related("call", "pi__person__institution")
        .prefetch_related("team")
        .distinct()
        .order_by("call_id", "id")
    )
    coauthors = coauthors_of([reviewer.pk])[reviewer.pk]
    return [
        p.pk
        for p in due
        if not automatic_conflicts(reviewer=reviewer, proposal=p, coauthors=coauthors)
    ]


def user(username: str, email: str, institution=..., *, role: Role | None = None) -> User:
    """A user with an e-mail; a Person at `institution` (None: no institution), or no Person at
    all when `institution` is left out."""
    made = User.objects.create(username=username, email=email)
    if institution is not ...:
        Person.objects.create(user=made, institution=institution)
    if role:
        made.groups.add(Group.objects.get_or_create(name=role)[0])
    return made


def publish(year: int, *authors: User) -> None:
    publication = Publication.objects.create(title=f"Shared work {year}", year=year)
    for position, author in enumerate(authors):
        Authorship.objects.create(
            publication=publication, user=author, name=author.username, position=position
        )


@pytest.fixture
def varied(institutions, make_call):
    """Reviewers and proposals that meet every automatic rule, alone and together, in three
    calls with different co-authorship windows and country policies."""
    caltech, heidelberg, naoc, ipgp = (
        institutions[k] for k in ("caltech", "heidelberg", "naoc", "ipgp")
    )
    reviewers = {
        "plain": user("r-plain", "ann.reed@caltech.example", caltech, role=Role.REVIEWER),
        "mixed": user("r-mixed", "Jan.Berg@Heidelberg.Example", heidelberg, role=Role.REVIEWER),
        # Python lower-cases the non-ASCII letters, which SQLite's LOWER and LIKE do not.
        "unicode": user("r-unicode", "ÄRGER@münster.example", naoc, role=Role.REVIEWER),
        # The Kelvin sign lower-cases to an ASCII "k".
        "kelvin": user("r-kelvin", "\u212aen@isas.example", naoc, role=Role.REVIEWER),
        "fr": user("r-fr", "moreau@ipgp.example", ipgp, role=Role.REVIEWER),
        "homeless": user("r-homeless", "", None, role=Role.REVIEWER),
        "nobody": user("r-nobody", "nobody@example.org", role=Role.REVIEWER),
    }
    pis = [
        user("pi-de", "vogel@muenster.example", institutions["muenster"]),
        user("pi-gb", "tom@open.example", institutions["open"]),
        user("pi-caltech", "lee@caltech.example", caltech),
        user("pi-noperson", "JAN.BERG@HEIDELBERG.EXAMPLE"),
        user("pi-noinst", "KEN@isas.example", None),
        user("pi-fr", "laurent@ipgp.example", ipgp),
        # The country of one reviewer, and nothing else in common with anyone.
        user("pi-us", "sam@brown.example", institutions["brown"]),
        user("pi-unicode", "ärger@MÜNSTER.example", naoc),
    ]
    coauthor = user("co-author", "co@elsewhere.example", institutions["open"])
    old_coauthor = user("old-co-author", "old@elsewhere.example", institutions["isas"])
    publish(THIS_YEAR - 2, reviewers["plain"], pis[1])
    publish(THIS_YEAR - 6, reviewers["plain"], coauthor)
    publish(THIS_YEAR, reviewers["mixed"], pis[0], old_coauthor)
    publish(THIS_YEAR - 20, reviewers["mixed"], coauthor)
    publish(THIS_YEAR - 1, reviewers["kelvin"], old_coauthor)

    team_variants = [
        [],
        [{"email": "ann.REED@caltech.example"}],
        [{"email": "ärger@MÜNSTER.example"}],
        [{"email": "KEN@ISAS.EXAMPLE"}],
        [{"email": "jan.berg@heidelberg.example", "country": "DE"}],
        [{"institution": heidelberg}, {"country": "JP"}],
        [{"user": coauthor}],
        [{"user": old_coauthor, "country": "US"}],
        [{"country": "CN"}, {"country": ""}],
        [{"email": "someone@else.example", "country": "FR"}],
    ]
    panel = list(reviewers.values())
    calls = [
        make_call(panel=panel, coauthor_window_years=3, same_country_conflict=False),
        make_call(panel=panel, coauthor_window_years=10, same_country_conflict=True),
        make_call(panel=panel, coauthor_window_years=0, same_country_conflict=True),
    ]
    statuses = cycle([*DUE, *DUE, ProposalStatus.DRAFT, ProposalStatus.WITHDRAWN])
    for call in calls:
        for pi in pis:
            for team in team_variants:
                proposal = Proposal.objects.create(
                    call=call, pi=pi, title="Isotopes", status=next(statuses)
                )
                TeamMember.objects.bulk_create(
                    TeamMember(proposal=proposal, name="Member", **{"country": "GB", **m})
                    for m in team
                )
    # Declarations are left out whatever the conflicts.
    for proposal in Proposal.objects.filter(status__in=DUE).order_by("id")[:40:7]:
        ConflictDeclaration.objects.create(
            proposal=proposal, reviewer=reviewers["plain"], conflicted=False
        )
    return reviewers


def test_the_sql_filter_gives_exactly_the_python_rules_result_in_the_same_order(varied):
    reasons = set()
    for reviewer in varied.values():
        expected = due_by_python(reviewer)
        assert [p.pk for p in declarations_due(reviewer=reviewer)] == expected, reviewer.username
        assert declarations_due(reviewer=reviewer).count() == len(expected)
        for proposal in Proposal.objects.filter(status__in=DUE, call__panel=reviewer):
            for reason in automatic_conflicts(reviewer=reviewer, proposal=proposal):
                reasons.add(reason.split(" within ")[0])
    # Every kind of automatic conflict occurred in the set.
    assert reasons == {
        "is on the proposal's team",
        "shares an institution with the team",
        "co-authored a publication with the team",
        "is from the same country as the team (the call's policy)",
    }


@pytest.mark.parametrize(
    ("reviewer", "email"),
    [("unicode", "ärger@MÜNSTER.example"), ("kelvin", "KEN@ISAS.EXAMPLE"), ("mixed", None)],
)
def test_a_team_email_that_python_lower_cases_to_the_reviewers_is_a_conflict(
    varied, reviewer, email
):
    """Including the letters that SQL does not lower-case as Python does."""
    who = varied[reviewer]
    shown = set(declarations_due(reviewer=who).values_list("pk", flat=True))
    by_email = Proposal.objects.filter(status__in=DUE, call__panel=who).filter(
        Q(team__email=email) if email else Q(pi__username="pi-noperson")
    )
    assert by_email.exists() and not shown & set(by_email.values_list("pk", flat=True))


def test_a_page_reads_as_many_queries_for_a_long_list_as_for_a_short_one(varied, make_call):
    """The reviewer's institution, co-authors and e-mail matches, one COUNT, the page's rows and
    their teams: the same queries whatever the length of the list."""
    page = PageQuery(limit=5, offset=5)

    def read_page() -> tuple[dict, list]:
        reviewer = User.objects.get(username="r-plain")
        with CaptureQueriesContext(connection) as queries:
            answer = page_of(declarations_due(reviewer=reviewer), page)
        assert [p.pk for p in answer["items"]] == due_by_python(reviewer)[5:10]
        return answer, queries.captured_queries

    short, few = read_page()
    longer = make_call(panel=[varied["plain"]])
    Proposal.objects.bulk_create(
        Proposal(call=longer, pi=varied["nobody"], title=f"P{n}", status=DUE[n % 2])
        for n in range(150)
    )
    long, many = read_page()
    assert long["count"] == short["count"] + 150
    assert len(many) == len(few) <= 10
    assert len([q for q in many if "COUNT(" in q["sql"].upper()]) == 1
