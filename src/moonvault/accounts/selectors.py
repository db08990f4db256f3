"""Reads for people and tokens."""

from django.contrib.auth.models import User
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone

from moonvault.accounts.models import ApiToken, Role
from moonvault.accounts.services import token_digest


def user_for_token(raw: str) -> tuple[User, str] | None:
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(raw), revoked_at=None, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token.user, token.scope


def user_has_role(user, role: Role) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=role.value).exists()


def users_with_role_check(*, role: Role) -> QuerySet[User]:
    """Every user, each with `holds_role`: `user_has_role` in SQL, for many users in one query.
    A stored user is always authenticated; a superuser holds every role, anyone else holds the
    roles of their groups."""
    in_group = User.groups.through.objects.filter(user_id=OuterRef("pk"), group__name=role.value)
    return User.objects.annotate(
        holds_role=ExpressionWrapper(
            Q(is_superuser=True) | Q(Exists(in_group)), output_field=BooleanField()
        )
    )


# People whose session must confirm a second factor before their pages work.
PRIVILEGED_ROLES = (Role.CURATOR, Role.COMMITTEE, Role.ADMINISTRATOR)


def user_is_privileged(user) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name__in=[role.value for role in PRIVILEGED_ROLES]).exists()


def api_tokens_of(user: User):
    return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at")
