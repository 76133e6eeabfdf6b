from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from bestby.people.models import User


@admin.register(User)
class BestbyUserAdmin(UserAdmin):
    list_display = ("external_id", "username", "name", "email", "role", "team", "territory", "manager", "is_active")
    list_filter = ("role", "team", "territory", "is_active")
    search_fields = ("external_id", "username", "name", "email")
    fieldsets = UserAdmin.fieldsets + (("Sales", {"fields": ("external_id", "name", "role", "manager", "team", "territory")}),)
    add_fieldsets = UserAdmin.add_fieldsets + (("Sales", {"fields": ("external_id", "role", "team", "territory")}),)
