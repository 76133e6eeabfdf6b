from django.contrib import admin

from bestby.activities.models import Lead, Touch
from bestby.web.admin_bounds import BoundedAdmin


@admin.register(Lead)
class LeadAdmin(BoundedAdmin):
    list_display = ("external_id", "name", "company", "owner", "source", "status", "created_at")
    list_filter = ("status", "source")
    search_fields = ("external_id", "name", "company")
    raw_id_fields = ("owner", "converted_deal")


@admin.register(Touch)
class TouchAdmin(BoundedAdmin):
    list_display = ("external_id", "at", "channel", "direction", "outcome", "owner", "deal")
    list_filter = ("channel", "direction", "outcome")
    raw_id_fields = ("owner", "deal", "lead", "contact", "account")
