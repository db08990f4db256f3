from django.contrib import admin

from moonvault.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: nobody adds, edits or deletes audit entries, administrators included."""

    list_display = ("at", "kind", "actor_name", "target", "summary", "ip")
    list_filter = ("kind",)
    search_fields = ("actor_name", "target", "summary")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
