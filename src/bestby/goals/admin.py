from django.contrib import admin

from bestby.goals.models import Quota
from bestby.web.admin_bounds import BoundedAdmin


@admin.register(Quota)
class QuotaAdmin(BoundedAdmin):
    list_display = ("owner_key", "period_start", "period_end", "amount")
