"""Who may open a page, and how domain errors reach the person who caused them."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _

from moonvault.accounts.models import Role
from moonvault.accounts.selectors import user_has_role
from moonvault.core.errors import DomainError, PermissionDenied

# Every page re-rendered with form errors answers with this status, whatever the error's kind.
FORM_ERROR_STATUS = 400


def page(request, template: str, context: dict | None = None, *, status: int = 200):
    """Render one of the rounds' pages, with the roles that decide which links it offers."""
    roles = {role.value for role in Role if user_has_role(request.user, role)}
    return render(request, template, {**(context or {}), "rounds_roles": roles}, status=status)


def refused(request, exc: DomainError):
    """A page-level refusal: not found, not allowed, or not possible in the current state."""
    if exc.status == 404:
        return render(request, "web/404.html", status=404)
    return page(request, "calls/refused.html", {"error": exc}, status=exc.status)


def domain_errors(view):
    """Turn a DomainError that a view did not handle into a page, never a server error."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except DomainError as exc:
            return refused(request, exc)

    return wrapped


def role_required(*roles: Role):
    """Anonymous visitors go to the login page; people without one of the roles get a 403."""

    def decorate(view):
        @login_required
        @wraps(view)
        @domain_errors
        def wrapped(request, *args, **kwargs):
            if not any(user_has_role(request.user, role) for role in roles):
                names = " / ".join(str(role.label) for role in roles)
                message = _("This page is for the following role: %(roles)s.") % {"roles": names}
                return refused(request, PermissionDenied(message))
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def show_on_form(form, exc: DomainError, fields: dict[str | None, str] | None = None) -> None:
    """Attach each problem to the form field it names (service names mapped through `fields`)."""
    fields = fields or {}
    for problem in exc.problems:
        name = fields.get(problem.field, problem.field)
        form.add_error(name if name in form.fields else None, problem.message)
