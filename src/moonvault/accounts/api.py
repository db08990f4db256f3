"""Endpoints about the caller: who a token or session stands for."""

from ninja import Router, Schema

from moonvault.accounts.models import Role
from moonvault.accounts.selectors import user_has_role

router = Router(tags=["accounts"])


class MeOut(Schema):
    username: str
    roles: list[str]


@router.get("/me", response=MeOut, summary="The authenticated user and their roles")
def me(request):
    user = request.user
    return {
        "username": user.get_username(),
        "roles": [role.value for role in Role if user_has_role(user, role)],
    }
