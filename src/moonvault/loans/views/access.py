"""Who may open a loan page, and how domain errors reach the person who caused them."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _

from moonvault.accounts.models import Role
from moonvault.accounts.selectors import user_has_role
from moonvault.core.errors import DomainError, PermissionDenied

# A page re-rendered with form errors answers with this status, whatever the error's kind, so that
# htmx swaps it in (see base.html) and nothing is mistaken for success.
FORM_ERROR_STATUS = 400


def roles_of(user) -> set[str]:
    return {role.value for role in Role if user_has_role(user, role)}


def page(request, template: str, context: dict | None = None, *, status: int = 200):
    """Render a loan page with the roles that decide which links and actions it offers."""
    return render(
        request, template, {**(context or {}), "loan_roles": roles_of(request.user)}, status=status
    )


def refused(request, exc: DomainError):
    """A page-level refusal: not found, not allowed, or not possible in the current state."""
    if exc.status == 404:
        return render(request, "web/404.html", status=404)
    return page(request, "loans/refused.html", {"error": exc}, status=exc.status)


def signed_in(view):
    """Anonymous visitors go to the login page; a DomainError the view let through is a page."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except DomainError as exc:
            return refused(request, exc)

    return wrapped


def role_required(*roles: Role):
    """Signed in, and with one of the roles; anyone else is told which role the page needs."""

    def decorate(view):
        @signed_in
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not any(user_has_role(request.user, role) for role in roles):
                names = " / ".join(str(role.label) for role in roles)
                raise PermissionDenied(
                    _("This page is for the following role: %(roles)s.") % {"roles": names}
                )
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def show_on_form(form, exc: DomainError, fields: dict | None = None, field_of=None) -> None:
    """Attach each problem to the form field it names. Service field names that differ from the
    form's go through `fields` (a mapping) or `field_of` (a function for numbered names)."""
    fields = fields or {}
    for problem in exc.problems:
        name = fields.get(problem.field, problem.field)
        if field_of is not None and name not in form.fields:
            name = field_of(problem.field)
        form.add_error(name if name in form.fields else None, problem.message)
