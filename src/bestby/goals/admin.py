from django.contrib import admin

from bestby.goals.models import Quota


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    list_display = ("owner_key", "period_start", "period_end", "amount")
