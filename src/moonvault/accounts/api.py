"""The caller, their API tokens, and institutions.

Tokens are managed by staff users, each their own, as on the API tokens admin page;
institutions by administrators.
"""

from ninja import Router, Status

from moonvault.accounts import services
from moonvault.accounts.models import Role
from moonvault.accounts.permissions import require_role
from moonvault.accounts.schemas import (
    InstitutionIn,
    InstitutionOut,
    MeOut,
    TokenCreatedOut,
    TokenIn,
)
from moonvault.accounts.selectors import user_has_role
from moonvault.core.api import answers, require_write
from moonvault.core.errors import PermissionDenied

router = Router(tags=["accounts"])


@router.get(
    "/me",
    response=answers(200, MeOut),
    summary="The authenticated user and their roles",
    description="Who the bearer token or session stands for: their user id and every role they "
    "hold (`applicant`, `reviewer`, `curator`, `committee`, `administrator`); an "
    "administrator holds them all.",
)
def me(request):
    user = request.user
    return {
        "id": user.pk,
        "username": user.get_username(),
        "roles": [role.value for role in Role if user_has_role(user, role)],
    }


def _require_staff(request) -> None:
    require_write(request)
    if not request.user.is_staff:
        raise PermissionDenied("API tokens are for staff users")


@router.post(
    "/tokens",
    response=answers(201, TokenCreatedOut),
    summary="Create an API token",
    description="Staff users, for themselves. The token is in this answer only: the database "
    "keeps its SHA-256 digest. A `read` token may only read; `write` may also change.",
)
def api_token_create(request, payload: TokenIn):
    _require_staff(request)
    raw = services.api_token_create(actor=request.user, name=payload.name, scope=payload.scope)
    return Status(
        201, {"token": raw, "prefix": raw[:8], "name": payload.name, "scope": payload.scope}
    )


@router.delete(
    "/tokens/{token_id}",
    response=answers(204, None),
    summary="Revoke an API token",
    description="Staff users, their own tokens only; another user's token or one already "
    "revoked is 404. A revoked token is refused at once.",
)
def api_token_revoke(request, token_id: int):
    _require_staff(request)
    services.api_token_revoke(actor=request.user, token_id=token_id)
    return Status(204, None)


@router.post(
    "/institutions",
    response=answers(201, InstitutionOut),
    summary="Register an institution",
    description="Administrators only. The country is an ISO 3166 two-letter code; the ROR id "
    "is optional and checked. Registering a known name and country again answers the "
    "existing institution.",
)
def institution_create(request, payload: InstitutionIn):
    require_write(request)
    require_role(request.user, Role.ADMINISTRATOR)
    return Status(201, services.institution_create(**payload.model_dump()))
