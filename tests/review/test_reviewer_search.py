"""Finding reviewers for a panel among thousands: by name, username or institution, a bounded
number at a time, never someone already chosen nor someone who is not a reviewer."""

import pytest
from django.contrib.auth.models import User

from moonvault.accounts.models import Institution, Role
from moonvault.review.selectors import REVIEWERS_FOUND, panel_members, reviewer_search
from tests.calls.conftest import register


@pytest.fixture
def reviewers(institutions) -> dict[str, User]:
    """The round's people, and more reviewers: one at a Beijing institute with a Chinese name,
    one whose account is closed, and an applicant who shares a reviewer's surname."""
    institutions["iggcas"] = Institution.objects.create(
        name="Institute of Geology and Geophysics", name_zh="地质与地球物理研究所", country="CN"
    )
    people = register(
        institutions,
        {
            "wang.li": ("iggcas", Role.REVIEWER, "Li", "Wang"),
            "ann.reed": ("caltech", Role.REVIEWER, "Ann", "Reed"),
            "tom.reed": ("open", Role.APPLICANT, "Tom", "Reed"),
            "old.reed": ("isas", Role.REVIEWER, "Ola", "Reed"),
            "k.sato": ("isas", Role.REVIEWER, "Ken", "Sato"),
        },
    )
    User.objects.filter(username="old.reed").update(is_active=False)
    return people


def found(query: str, **kwargs) -> list[str]:
    return [u.username for u in reviewer_search(query=query, **kwargs).reviewers]


def test_the_search_finds_reviewers_by_name_username_and_institution(reviewers):
    assert found("reed") == ["ann.reed"]
    assert found("KEN") == ["k.sato"]
    assert found("wang.l") == ["wang.li"]
    assert found("geophysics") == ["wang.li"]
    assert found("地球物理") == ["wang.li"]
    # Every word must match, each in any of the fields.
    assert found("li geology") == ["wang.li"]
    assert found("li caltech") == []
    assert found("isas") == ["k.sato"]


def test_the_search_leaves_out_the_chosen_members_and_whoever_is_not_an_active_reviewer(
    reviewers,
):
    # tom.reed is an applicant and old.reed's account is closed.
    assert found("reed") == ["ann.reed"]
    assert found("reed", exclude=[reviewers["ann.reed"].pk]) == []
    assert found("  ") == []


def test_the_search_shows_a_bounded_number_of_reviewers_and_says_that_more_match(
    institutions, django_assert_num_queries
):
    register(
        institutions,
        {
            f"rev{i:02d}": ("ipgp", Role.REVIEWER, "Marie", f"Dupont{i:02d}")
            for i in range(REVIEWERS_FOUND + 5)
        },
    )
    with django_assert_num_queries(1):
        search = reviewer_search(query="dupont")
    assert len(search.reviewers) == REVIEWERS_FOUND and search.more
    assert [u.last_name for u in search.reviewers] == [
        f"Dupont{i:02d}" for i in range(REVIEWERS_FOUND)
    ]
    narrower = reviewer_search(query="dupont2")
    assert [u.last_name for u in narrower.reviewers] == [f"Dupont2{i}" for i in range(5)]
    assert not narrower.more
    assert len(found("dupont", limit=3)) == 3


def test_the_panel_members_are_the_active_reviewers_among_the_ids_in_one_query(
    reviewers, django_assert_num_queries
):
    ids = [u.pk for u in reviewers.values()]
    with django_assert_num_queries(1):
        members = panel_members(ids=ids)
        assert [u.person.institution.country for u in members] == ["US", "JP", "CN"]
    # By family name.
    assert [u.username for u in members] == ["ann.reed", "k.sato", "wang.li"]
    assert panel_members(ids=[]) == []
