"""Accounts (customers and prospects' companies), their contacts and wallet."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Account(models.Model):
    external_id = models.CharField(max_length=120, unique=True)
    name = models.CharField(max_length=300, blank=True)
    sector = models.CharField(max_length=120, blank=True)
    territory = models.CharField(max_length=120, blank=True, db_index=True)
    employees = models.IntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="subsidiaries")
    payment_terms_days = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    # who created it in bestby (the API); empty for imported accounts. Until one of its deals is visible to
    # someone, an account is visible to its creator and to those who see the creator's deals (people.access).
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["external_id"]

    def __str__(self) -> str:
        return self.name or self.external_id


class BuyingRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", "Decision maker"
    CHAMPION = "champion", "Champion"
    INFLUENCER = "influencer", "Influencer"
    USER = "user", "User"
    OTHER = "other", "Other"


class Contact(models.Model):
    external_id = models.CharField(max_length=120, unique=True)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="contacts")
    name = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=60, blank=True)
    buying_role = models.CharField(max_length=20, choices=BuyingRole.choices, blank=True)
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["external_id"]

    def __str__(self) -> str:
        return self.name or self.external_id


class WalletRow(models.Model):
    """What an account spends or could spend per product category, and with whom."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="wallet")
    category = models.CharField(max_length=120)
    potential_annual_spend = models.DecimalField(max_digits=18, decimal_places=2)
    incumbent = models.CharField(max_length=200, blank=True)
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["account", "category"]
        constraints = [models.UniqueConstraint(fields=["account", "category"], name="wallet_unique")]
