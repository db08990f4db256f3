"""The audit log page: curators read it, filtered; nobody edits it."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext as _

from moonvault.accounts.models import Role
from moonvault.accounts.selectors import user_has_role
from moonvault.audit.forms import AuditFilterForm
from moonvault.audit.selectors import audit_entries

PAGE_SIZE = 50


@login_required
def audit_log(request):
    if not user_has_role(request.user, Role.CURATOR):
        raise PermissionDenied(_("The audit log is for curators."))
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = audit_entries(
        actor=(filters.get("actor") or "").strip(),
        kind=filters.get("kind") or "",
        since=filters.get("since"),
        until=filters.get("until"),
    )
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(
        request,
        "audit/log.html",
        {"form": form, "page": page, "query": params.urlencode()},
        status=status,
    )
