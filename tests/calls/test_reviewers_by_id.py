"""calls.selectors.reviewers_by_id: the users behind a panel's or an assignment's ids, each a
reviewer by the same rule as accounts.selectors.user_has_role, read in one query."""

import pytest
from django.contrib.auth.models import User

from moonvault.accounts.models import Role
from moonvault.accounts.selectors import user_has_role, users_with_role_check
from moonvault.calls.selectors import reviewers_by_id
from moonvault.core.errors import DomainError, NotFound
from tests.calls.conftest import register


@pytest.fixture
def thirty_reviewers(institutions) -> list[User]:
    specs = {
        f"reviewer{i:02d}": ("caltech", Role.REVIEWER, "Reviewer", f"{i:02d}") for i in range(30)
    }
    return list(register(institutions, specs).values())


@pytest.fixture
def root(db) -> User:
    """A superuser in no group: user_has_role gives them every role."""
    return User.objects.create_superuser("root", "root@moonvault.example", None)


def problem(error: DomainError) -> tuple[type, str, str | None]:
    (only,) = error.problems
    return type(error), only.message, only.field


def test_the_query_count_is_the_same_for_one_id_and_thirty(
    thirty_reviewers, django_assert_num_queries
):
    with django_assert_num_queries(1):
        assert reviewers_by_id(ids=[thirty_reviewers[0].pk]) == thirty_reviewers[:1]
    with django_assert_num_queries(1):
        ids = [u.pk for u in reversed(thirty_reviewers)]
        assert reviewers_by_id(ids=ids) == list(reversed(thirty_reviewers))


def test_the_users_come_back_in_the_order_of_the_ids_once_each(people, root):
    ids = [people.rev_jp.pk, root.pk, people.rev_us.pk, people.rev_jp.pk]
    assert reviewers_by_id(ids=ids) == [people.rev_jp, root, people.rev_us]


def test_a_missing_or_closed_account_is_not_found_naming_the_field(people):
    User.objects.filter(pk=people.rev_de.pk).update(is_active=False)
    missing = max(User.objects.values_list("pk", flat=True)) + 1
    for absent in (missing, people.rev_de.pk):
        with pytest.raises(NotFound) as caught:
            reviewers_by_id(ids=[people.rev_us.pk, absent], field="panel")
        assert problem(caught.value) == (NotFound, f"user {absent} does not exist", "panel")


def test_someone_without_the_reviewer_role_is_refused_naming_the_field(people):
    with pytest.raises(DomainError) as caught:
        reviewers_by_id(ids=[people.rev_us.pk, people.pi.pk])
    assert problem(caught.value) == (
        DomainError,
        f"user {people.pi.pk} is not a reviewer",
        "reviewer_ids",
    )


def test_the_first_bad_id_in_the_given_order_is_the_one_reported(people):
    missing = max(User.objects.values_list("pk", flat=True)) + 1
    with pytest.raises(DomainError) as caught:
        reviewers_by_id(ids=[people.rev_us.pk, people.chair.pk, missing], field="panel")
    assert problem(caught.value) == (
        DomainError,
        f"user {people.chair.pk} is not a reviewer",
        "panel",
    )
    with pytest.raises(DomainError) as caught:
        reviewers_by_id(ids=[missing, people.chair.pk], field="panel")
    assert problem(caught.value) == (NotFound, f"user {missing} does not exist", "panel")


def test_the_role_check_in_sql_agrees_with_user_has_role_for_everyone(people, root):
    """Reviewers, other roles, a superuser in no group, a reviewer who is also on the committee
    and someone with no group at all."""
    User.objects.create_user("nobody", "nobody@moonvault.example", None)
    people.chair.groups.add(*people.rev_us.groups.all())
    for role in Role:
        flags = {u.pk: u.holds_role for u in users_with_role_check(role=role)}
        assert flags == {u.pk: user_has_role(u, role) for u in User.objects.all()}, role
