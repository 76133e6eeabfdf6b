from django.contrib import admin

from bestby.commerce.models import Invoice, OrderLine, Product
from bestby.web.admin_bounds import BoundedAdmin


@admin.register(Product)
class ProductAdmin(BoundedAdmin):
    list_display = ("external_id", "name", "category", "list_price", "unit_cost")
    search_fields = ("external_id", "name")


@admin.register(OrderLine)
class OrderLineAdmin(BoundedAdmin):
    list_display = ("order_id", "line_no", "account", "product", "ordered_at", "quantity", "unit_price")
    raw_id_fields = ("account", "product")


@admin.register(Invoice)
class InvoiceAdmin(BoundedAdmin):
    list_display = ("external_id", "account", "issued_at", "due_at", "amount", "paid_at")
    raw_id_fields = ("account",)
