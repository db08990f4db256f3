"""Reads for people and tokens."""

from django.contrib.auth.models import User
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
