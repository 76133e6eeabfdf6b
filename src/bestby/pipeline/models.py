"""Pipelines, their ordered stages, deals, and the append-only history of deals."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from bestby.history import AppendOnlyModel


class StageKind(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class DealStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class Pipeline(models.Model):
    name = models.CharField(max_length=120, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    """A step of a pipeline's sales process, in order.

    ``probability`` is the editable, human stage probability (CRM-style); the
    learned one lives in the engine's results, side by side, never overwriting it.
    """

    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="stages")
    name = models.CharField(max_length=120)
    position = models.IntegerField()
    kind = models.CharField(max_length=4, choices=StageKind.choices, default=StageKind.OPEN)
    probability = models.FloatField(null=True, blank=True)
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["pipeline", "position"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_unique_name"),
            models.CheckConstraint(
                condition=models.Q(probability__isnull=True) | models.Q(probability__gte=0, probability__lte=1),
                name="stage_probability_0_1",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pipeline.name} / {self.name}"


class Deal(models.Model):
    """An opportunity. ``close_date`` is the expected close, ``closed_at`` the real one.

    Change ``stage`` and ``close_date`` only through ``bestby.pipeline.services``,
    which writes the matching events; ``version`` counts edits (optimistic locking).
    """

    external_id = models.CharField(max_length=120, unique=True)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="deals")
    name = models.CharField(max_length=300, blank=True)
    account = models.ForeignKey("accounts.Account", null=True, blank=True, on_delete=models.PROTECT, related_name="deals")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="deals")
    amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    created_at = models.DateTimeField()
    stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="deals")
    status = models.CharField(max_length=4, choices=DealStatus.choices, default=DealStatus.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    close_date = models.DateField(null=True, blank=True)
    lost_reason = models.CharField(max_length=300, blank=True)
    source = models.CharField(max_length=120, blank=True)
    product = models.ForeignKey("commerce.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="deals")
    custom = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["external_id"]
        indexes = [
            models.Index(fields=["owner", "status"], name="deal_owner_status"),
            models.Index(fields=["status", "stage"], name="deal_status_stage"),
            models.Index(fields=["account"], name="deal_account"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="open", closed_at__isnull=True) | ~models.Q(status="open"),
                name="deal_open_not_closed",
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.external_id

    def invalid_fields(self) -> dict[str, object]:
        """The fields whose stored value is outside their column's bound, with the value as stored.

        Empty for every deal written through bestby since bounds are checked
        (bestby.bounds); a row written before, or by hand in SQL, shows its bad
        value as invalid on its own page and rows instead of failing them.
        """
        from bestby import columns

        return {name: getattr(self, name) for name in ("amount", "close_date", "created_at", "closed_at")
                if not columns.bound("pipeline.Deal", name).holds(getattr(self, name))}


class StageEvent(AppendOnlyModel):
    """A stage change; the first one of a deal (no ``from_stage``) is its entry."""

    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="stage_events", db_index=False)
    at = models.DateTimeField()
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+", db_index=False)
    from_stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["deal", "at", "id"]
        indexes = [models.Index(fields=["deal", "at"], name="stage_event_deal_at"), models.Index(fields=["at"], name="stage_event_at")]


class CloseDateEvent(AppendOnlyModel):
    """A change of the expected close date (the first one sets it)."""

    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="close_date_events", db_index=False)
    at = models.DateTimeField()
    new_close_date = models.DateField()
    old_close_date = models.DateField(null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    custom = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["deal", "at", "id"]
        indexes = [models.Index(fields=["deal", "at"], name="close_event_deal_at")]


class DealChange(models.Model):
    """A note that a deal's board data changed (:mod:`bestby.pipeline.revision`): which deal, when.

    ``deal_id`` None means "many or all deals" (a bulk import, a freshness
    refresh, a stage change): readers rebuild instead of updating. Derived
    data for in-process read models, not history; no foreign key, so a note
    never blocks anything. ``bestby refresh`` drops notes older than a day
    (readers rebuild at least hourly, so they never need older ones).
    """

    token = models.CharField(max_length=32, unique=True)  # the revision token this write set
    deal_id = models.BigIntegerField(null=True, blank=True)
    at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.deal_id or 'all'} at {self.at:%Y-%m-%d %H:%M:%S}"


class Revision(models.Model):
    """A change token per topic (:mod:`bestby.pipeline.revision`): derived, not history."""

    topic = models.CharField(max_length=40, primary_key=True)
    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"{self.topic}: {self.token}"
