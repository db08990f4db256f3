"""The curators' admin: missions, storage locations and samples.

A sample's mass, state, location, pool, form and genealogy change only through the services, each
of which records a custody event: "add" receives a sample, and the split, weigh, move, consume,
mark-lost and reassign-pool pages call the matching service. The change form edits descriptive
fields only, and nothing is ever deleted.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import quote, unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from moonvault.accounts.admin import ADMINISTRATORS, RoleAccess
from moonvault.accounts.models import Role
from moonvault.catalog import forms
from moonvault.catalog.models import Mission, Payload, Sample, StorageLocation
from moonvault.catalog.selectors import SampleFilters, sample_search
from moonvault.core.units import format_mass

admin.site.site_header = _("Moonvault curation")
admin.site.site_title = _("Moonvault curation")
admin.site.index_title = _("Inventory and custody")

CURATORS = (Role.CURATOR,)
READERS = (Role.CURATOR, Role.COMMITTEE, Role.ADMINISTRATOR)

# slug → (page title, form); the slug is part of the page's address.
SAMPLE_ACTIONS = {
    "split": (_("Split"), forms.SampleSplitForm),
    "weigh": (_("Weigh"), forms.SampleWeighForm),
    "move": (_("Move"), forms.SampleMoveForm),
    "consume": (_("Consume by analysis"), forms.SampleConsumeForm),
    "mark-lost": (_("Mark as lost"), forms.SampleMarkLostForm),
    "reassign-pool": (_("Reassign purpose pool"), forms.SampleReassignPoolForm),
}


class PayloadInline(RoleAccess, admin.TabularInline):
    model = Payload
    view_roles = READERS
    edit_roles = CURATORS
    delete_roles = CURATORS
    extra = 0


@admin.register(Mission)
class MissionAdmin(RoleAccess, admin.ModelAdmin):
    view_roles = READERS
    edit_roles = CURATORS
    delete_roles = ADMINISTRATORS
    list_display = ["code", "name", "name_zh", "agency", "landed_on", "returned_mass"]
    search_fields = ["code", "name", "name_zh"]
    inlines = [PayloadInline]

    @admin.display(description=_("returned mass"), ordering="returned_mass_ug")
    def returned_mass(self, mission):
        return format_mass(mission.returned_mass_ug)


@admin.register(StorageLocation)
class StorageLocationAdmin(RoleAccess, admin.ModelAdmin):
    view_roles = READERS
    edit_roles = CURATORS
    delete_roles = ADMINISTRATORS
    list_display = ["code", "name", "kind", "parent", "environment", "site"]
    list_filter = ["kind", "environment", "site"]
    list_select_related = ["parent"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent"]


# Recorded by custody events and replayed by the ledger check: never edited in a form.
CUSTODY_FIELDS = [
    "identifier",
    "mission",
    "parent",
    "path",
    "depth",
    "form",
    "pool",
    "state",
    "location",
    "pristine",
    "mass",
]


@admin.register(Sample)
class SampleAdmin(RoleAccess, admin.ModelAdmin):
    view_roles = READERS
    edit_roles = CURATORS
    list_display = ["identifier", "mission", "form", "pool", "state", "mass", "location"]
    list_filter = ["mission", "form", "pool", "state"]
    list_select_related = ["mission", "location"]
    search_fields = ["identifier"]
    search_help_text = _("Identifier, or its beginning")
    show_full_result_count = False
    fields = [
        *CUSTODY_FIELDS,
        "igsn",
        "classification",
        "subtype",
        "pristinity_pct",
        "description",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [*CUSTODY_FIELDS, "created_at", "updated_at"]

    @admin.display(description=_("mass"), ordering="mass_ug")
    def mass(self, sample):
        return f"{format_mass(sample.mass_ug)} ({sample.mass_ug:,} µg)"

    def get_search_results(self, request, queryset, search_term):
        # Identifier prefix on the byte-ordered index, as the catalog searches.
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset & sample_search(filters=SampleFilters(q=term)), False

    def save_model(self, request, obj, form, change):
        # Write only what the form changed: a split or weighing committed meanwhile keeps its mass.
        if form.changed_data:
            obj.save(update_fields=[*form.changed_data, "updated_at"])

    def get_urls(self):
        action_view = self.admin_site.admin_view(self.action_view)
        return [
            path(
                "<path:object_id>/action/<slug:action>/",
                action_view,
                name="catalog_sample_action",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "sample_actions": [(slug, title) for slug, (title, _form) in SAMPLE_ACTIONS.items()],
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        """Adding a sample is receiving it: a root sample and its first custody event."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = forms.SampleReceiveForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid() and form.execute(actor=request.user):
            self.message_user(request, form.success(), messages.SUCCESS)
            return redirect(self._change_url(form.result))
        return self._render(request, form, title=_("Receive a sample"), sample=None)

    def action_view(self, request, object_id, action):
        try:
            title, form_class = SAMPLE_ACTIONS[action]
        except KeyError:
            raise Http404 from None
        sample = self.get_object(request, unquote(object_id))
        if sample is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, sample):
            raise PermissionDenied
        form = form_class(request.POST if request.method == "POST" else None, sample=sample)
        if request.method == "POST" and form.is_valid() and form.execute(actor=request.user):
            self.message_user(request, form.success(), messages.SUCCESS)
            return redirect(self._change_url(sample))
        return self._render(request, form, title=title, sample=sample)

    def _change_url(self, sample) -> str:
        return reverse("admin:catalog_sample_change", args=[quote(sample.pk)])

    def _render(self, request, form, *, title, sample):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "form": form,
            "children": getattr(form, "children", None),
            "original": sample,
            "sample_mass": sample and self.mass(sample),
            "media": self.media + form.media,
        }
        return TemplateResponse(
            request,
            "admin/catalog/sample/service_form.html",
            context,
            status=400 if form.is_bound else 200,
        )
