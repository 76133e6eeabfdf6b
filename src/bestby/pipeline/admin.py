from django.contrib import admin

from bestby.pipeline.models import CloseDateEvent, Deal, Pipeline, Stage, StageEvent
from bestby.web.admin_bounds import BoundedAdmin


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0


@admin.register(Pipeline)
class PipelineAdmin(BoundedAdmin):
    inlines = [StageInline]


class ReadOnlyHistory(admin.TabularInline):
    """History is append-only: shown, never edited or deleted from the admin."""

    extra = 0
    can_delete = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, obj=None):
        return False


class StageEventInline(ReadOnlyHistory):
    model = StageEvent
    fields = ("at", "from_stage", "to_stage", "by")
    readonly_fields = fields


class CloseDateEventInline(ReadOnlyHistory):
    model = CloseDateEvent
    fields = ("at", "old_close_date", "new_close_date", "by")
    readonly_fields = fields


@admin.register(Deal)
class DealAdmin(BoundedAdmin):
    list_display = ("external_id", "name", "pipeline", "stage", "status", "owner", "amount", "close_date", "created_at")
    list_filter = ("pipeline", "status", "stage")
    search_fields = ("external_id", "name")
    raw_id_fields = ("account", "owner", "product")
    # stage and close date change only through services, which write the history
    readonly_fields = ("stage", "status", "close_date", "closed_at", "version")
    inlines = [StageEventInline, CloseDateEventInline]
    list_select_related = ("pipeline", "stage", "owner")
