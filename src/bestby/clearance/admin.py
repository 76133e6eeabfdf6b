from django.contrib import admin

from bestby.audit.admin import ReadOnlyAdmin
from bestby.clearance.models import ClearanceAction, StageEventVoid


@admin.register(ClearanceAction)
class ClearanceActionAdmin(ReadOnlyAdmin):
    """Clearance history is changed only by its services (and undone, never edited)."""

    list_display = ("id", "at", "by", "kind", "deal", "to", "until", "batch", "undoes", "reason")
    list_filter = ("kind", "to")
    search_fields = ("deal__external_id", "batch", "reason")


@admin.register(StageEventVoid)
class StageEventVoidAdmin(ReadOnlyAdmin):
    list_display = ("id", "event", "action")
