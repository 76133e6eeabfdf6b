from django.contrib import admin

from bestby.audit.models import AuditEntry, ImportBatch


class ReadOnlyAdmin(admin.ModelAdmin):
    """History that only services write (audit log, clearance actions) is read-only in the admin too."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditAdmin(ReadOnlyAdmin):
    """The audit log is read-only everywhere, the admin included."""

    list_display = ("at", "by", "action", "object_type", "object_id", "reason")
    list_filter = ("action", "object_type")


@admin.register(ImportBatch)
class ImportBatchAdmin(ReadOnlyAdmin):
    """Applied imports; undone with `bestby import undo` or the import page, never edited here."""

    list_display = ("id", "at", "by", "label", "undone_at")
