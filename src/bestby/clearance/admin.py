from django.contrib import admin

from bestby.clearance.models import ClearanceAction, StageEventVoid


class _ReadOnly(admin.ModelAdmin):
    """Clearance history is changed only by its services (and undone, never edited), the admin included."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ClearanceAction)
class ClearanceActionAdmin(_ReadOnly):
    list_display = ("id", "at", "by", "kind", "deal", "to", "until", "batch", "undoes", "reason")
    list_filter = ("kind", "to")
    search_fields = ("deal__external_id", "batch", "reason")


@admin.register(StageEventVoid)
class StageEventVoidAdmin(_ReadOnly):
    list_display = ("id", "event", "action")
