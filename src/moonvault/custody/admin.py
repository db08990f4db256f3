"""The custody ledger in the admin: read only, for everyone, superusers included.

Events are never changed or deleted (the database refuses it too); a mistake is corrected by a new
event, recorded by a service.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from moonvault.accounts.admin import RoleAccess
from moonvault.accounts.models import Role
from moonvault.catalog.selectors import SampleFilters, sample_search
from moonvault.core.units import format_mass
from moonvault.custody.models import CustodyEvent


@admin.register(CustodyEvent)
class CustodyEventAdmin(RoleAccess, admin.ModelAdmin):
    view_roles = (Role.CURATOR, Role.COMMITTEE, Role.ADMINISTRATOR)
    list_display = [
        "seq",
        "recorded_at",
        "sample_identifier",
        "kind",
        "mass_change",
        "handling_loss",
        "state_after",
        "location_after",
        "actor",
    ]
    list_filter = ["kind"]
    list_select_related = ["sample", "location_after", "actor"]
    search_fields = ["sample__identifier"]
    search_help_text = _("Sample identifier, or its beginning")
    # Counting ten million events for "n total" on every page costs more than it tells.
    show_full_result_count = False
    fields = [
        "seq",
        "recorded_at",
        "sample",
        "kind",
        "operation",
        "mass_delta_ug",
        "loss_ug",
        "state_after",
        "location_after",
        "actor",
        "reason",
        "data",
        "prev_hash",
        "hash",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        samples = sample_search(filters=SampleFilters(q=term)).values("pk")
        return queryset.filter(sample__in=samples), False

    @admin.display(description=_("sample"), ordering="sample__identifier")
    def sample_identifier(self, event):
        return event.sample.identifier

    @admin.display(description=_("mass change"))
    def mass_change(self, event):
        return format_mass(event.mass_delta_ug)

    @admin.display(description=_("handling loss"))
    def handling_loss(self, event):
        return format_mass(event.loss_ug) if event.loss_ug else "—"
