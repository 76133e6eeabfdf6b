from django.contrib import admin

from bestby.accounts.models import Account, Contact, WalletRow
from bestby.web.admin_bounds import BoundedAdmin


@admin.register(Account)
class AccountAdmin(BoundedAdmin):
    list_display = ("external_id", "name", "sector", "territory", "employees", "annual_revenue")
    search_fields = ("external_id", "name")
    list_filter = ("territory", "sector")
    raw_id_fields = ("parent",)


@admin.register(Contact)
class ContactAdmin(BoundedAdmin):
    list_display = ("external_id", "name", "title", "account", "buying_role")
    search_fields = ("external_id", "name", "email")
    raw_id_fields = ("account",)


@admin.register(WalletRow)
class WalletAdmin(BoundedAdmin):
    list_display = ("account", "category", "potential_annual_spend", "incumbent")
    raw_id_fields = ("account",)
