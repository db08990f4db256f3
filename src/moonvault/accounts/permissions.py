"""Role checks shared by every service."""

from moonvault.accounts.models import Role
from moonvault.accounts.selectors import user_has_role
from moonvault.core.errors import PermissionDenied


def require_role(actor, *roles: Role) -> None:
    if actor is None or not any(user_has_role(actor, role) for role in roles):
        names = " or ".join(str(r.label).lower() for r in roles)
        raise PermissionDenied(f"this needs the {names} role")
