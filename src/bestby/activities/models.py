"""Leads and touches: every attempt to reach a buyer and every reply."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from bestby.format import CHANNELS, DIRECTIONS, LEAD_SOURCES, LEAD_STATUSES, OUTCOMES, choices_of


class Lead(models.Model):
    external_id = models.CharField(max_length=120, unique=True)
    name = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=300, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=60, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="leads")
    source = models.CharField(max_length=20, choices=choices_of(LEAD_SOURCES), blank=True)
    created_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=choices_of(LEAD_STATUSES), blank=True)
    converted_deal = models.ForeignKey("pipeline.Deal", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["external_id"]
        indexes = [models.Index(fields=["owner", "status"], name="lead_owner_status")]

    def __str__(self) -> str:
        return self.name or self.company or self.external_id


class Touch(models.Model):
    """A call, e-mail, meeting... ``social`` is recorded but is not a touch for cadence counts."""

    external_id = models.CharField(max_length=120, unique=True)
    at = models.DateTimeField()
    channel = models.CharField(max_length=10, choices=choices_of(CHANNELS))
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="touches")
    direction = models.CharField(max_length=3, choices=choices_of(DIRECTIONS), blank=True)
    outcome = models.CharField(max_length=20, choices=choices_of(OUTCOMES), blank=True)
    deal = models.ForeignKey("pipeline.Deal", null=True, blank=True, on_delete=models.PROTECT, related_name="touches", db_index=False)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.PROTECT, related_name="touches", db_index=False)
    contact = models.ForeignKey("accounts.Contact", null=True, blank=True, on_delete=models.PROTECT, related_name="touches", db_index=False)
    account = models.ForeignKey("accounts.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="touches")
    duration_minutes = models.IntegerField(null=True, blank=True)
    notes = models.TextField(blank=True)
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        # deal, contact and lead are indexed by the composite indexes below, which serve "last touch per deal / contact / lead".
        indexes = [
            models.Index(fields=["deal", "at"], name="touch_deal_at"),
            models.Index(fields=["contact", "at"], name="touch_contact_at"),
            models.Index(fields=["lead", "at"], name="touch_lead_at"),
            models.Index(fields=["at"], name="touch_at"),
        ]
