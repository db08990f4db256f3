"""Administration of institutions, people and API tokens, and the role rules every admin page uses.

Admin pages open by role (the Django groups of `accounts.Role`), so a curator needs no per-model
permission rows: the roles are the access policy, kept in one place.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from moonvault.accounts.models import ApiToken, Institution, Person, Role
from moonvault.accounts.selectors import user_has_role
from moonvault.accounts.services import api_token_create, api_token_revoke
from moonvault.core.errors import DomainError


def request_roles(request) -> frozenset[Role]:
    """The user's roles, read once per request: the admin asks for each model and each row."""
    roles = getattr(request, "_moonvault_roles", None)
    if roles is None:
        roles = frozenset(role for role in Role if user_has_role(request.user, role))
        request._moonvault_roles = roles
    return roles


class RoleAccess:
    """Mixed into ModelAdmin and inlines: which roles may view, add and change, and delete."""

    view_roles: tuple[Role, ...] = ()
    edit_roles: tuple[Role, ...] = ()
    delete_roles: tuple[Role, ...] = ()

    def _holds(self, request, roles) -> bool:
        return bool(request_roles(request) & set(roles))

    def has_module_permission(self, request):
        return self._holds(request, self.view_roles + self.edit_roles)

    def has_view_permission(self, request, obj=None):
        return self._holds(request, self.view_roles + self.edit_roles)

    def has_add_permission(self, request, obj=None):
        return self._holds(request, self.edit_roles)

    def has_change_permission(self, request, obj=None):
        return self._holds(request, self.edit_roles)

    def has_delete_permission(self, request, obj=None):
        return self._holds(request, self.delete_roles)


ADMINISTRATORS = (Role.ADMINISTRATOR,)


@admin.register(Institution)
class InstitutionAdmin(RoleAccess, admin.ModelAdmin):
    view_roles = (Role.CURATOR, Role.COMMITTEE)
    edit_roles = ADMINISTRATORS
    delete_roles = ADMINISTRATORS
    list_display = ["name", "name_zh", "country", "ror"]
    list_filter = ["country"]
    search_fields = ["name", "name_zh", "ror"]


@admin.register(Person)
class PersonAdmin(RoleAccess, admin.ModelAdmin):
    edit_roles = ADMINISTRATORS
    delete_roles = ADMINISTRATORS
    list_display = ["__str__", "username", "institution", "orcid", "roles"]
    list_filter = ["user__groups", "institution__country"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "orcid"]
    raw_id_fields = ["user"]
    autocomplete_fields = ["institution"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("user", "institution")
            .prefetch_related("user__groups")
        )

    @admin.display(description=_("username"), ordering="user__username")
    def username(self, person):
        return person.user.get_username()

    @admin.display(description=_("roles"))
    def roles(self, person):
        labels = dict(Role.choices)
        return ", ".join(str(labels.get(g.name, g.name)) for g in person.user.groups.all())


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("what the token is for, e.g. a weighing script"),
    )
    scope = forms.ChoiceField(
        label=_("Scope"), choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Each staff user manages their own tokens; the digest never leaves the database."""

    list_display = ["name", "shown_prefix", "scope", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    fields = ["name", "shown_prefix", "scope", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(user=request.user)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("token starts with"))
    def shown_prefix(self, token):
        return f"{token.prefix}…"

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        revoked = 0
        for token in queryset:
            try:
                api_token_revoke(actor=request.user, token_id=token.pk)
            except DomainError as exc:
                self.message_user(request, f"{token}: {exc.message}", messages.WARNING)
            else:
                revoked += 1
        if revoked:
            self.message_user(request, _("%(count)d token(s) revoked.") % {"count": revoked})

    def add_view(self, request, form_url="", extra_context=None):
        """Create a token and show it this once: the database keeps only its digest."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ApiTokenCreateForm(request.POST or None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("New API token"),
            "form": form,
            "raw_token": None,
        }
        if request.method == "POST" and form.is_valid():
            try:
                context["raw_token"] = api_token_create(actor=request.user, **form.cleaned_data)
            except DomainError as exc:
                for problem in exc.problems:
                    form.add_error(
                        problem.field if problem.field in form.fields else None, problem.message
                    )
            else:
                context["title"] = _("API token created")
        return TemplateResponse(request, "admin/accounts/apitoken/add.html", context)
