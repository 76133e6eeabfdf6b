"""Quotas: goals per seller, or per team with an owner id ``team:NAME``."""

from __future__ import annotations

from django.db import models


class Quota(models.Model):
    owner_key = models.CharField(max_length=120, help_text="a user's id, or team:NAME for a team goal")
    period_start = models.DateField()
    period_end = models.DateField()
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["owner_key", "period_start"]
        constraints = [
            models.UniqueConstraint(fields=["owner_key", "period_start", "period_end"], name="quota_unique"),
            models.CheckConstraint(condition=models.Q(period_end__gte=models.F("period_start")), name="quota_period_order"),
        ]
