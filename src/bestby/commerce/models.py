"""What is sold and what was bought: products, order lines, invoices."""

from __future__ import annotations

from django.db import models


class Product(models.Model):
    external_id = models.CharField(max_length=120, unique=True)
    name = models.CharField(max_length=300, blank=True)
    category = models.CharField(max_length=120, blank=True, db_index=True)
    list_price = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    unit_cost = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["external_id"]

    def __str__(self) -> str:
        return self.name or self.external_id


class OrderLine(models.Model):
    """One line of an order; ``committed_quantity``/``promised_at`` are what the customer said it would take."""

    order_id = models.CharField(max_length=120)
    line_no = models.IntegerField()
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="order_lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    ordered_at = models.DateTimeField()
    quantity = models.DecimalField(max_digits=18, decimal_places=4)
    unit_price = models.DecimalField(max_digits=18, decimal_places=4)
    unit_cost = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    committed_quantity = models.DecimalField(max_digits=18, decimal_places=4, null=True, blank=True)
    promised_at = models.DateTimeField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["order_id", "line_no"]
        constraints = [models.UniqueConstraint(fields=["order_id", "line_no"], name="order_line_unique")]
        indexes = [models.Index(fields=["account", "ordered_at"], name="order_account_at")]


class Invoice(models.Model):
    """A receivable; days late = ``paid_at`` − ``due_at``."""

    external_id = models.CharField(max_length=120, unique=True)
    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="invoices")
    issued_at = models.DateTimeField()
    due_at = models.DateTimeField()
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    paid_at = models.DateTimeField(null=True, blank=True)
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["external_id"]
        indexes = [models.Index(fields=["account", "issued_at"], name="invoice_account_at")]
