"""The clearance workflow's history: every clear, snooze and undo, and the stage events an undo voided.

Both models are append-only (:class:`bestby.history.AppendOnlyModel`): an
action is never edited or removed; it is undone by a later ``undo`` action
that points at it, and a stage event written by a clear that was undone is
marked void by a :class:`StageEventVoid` row instead of being deleted.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from bestby.history import AppendOnlyModel


class ActionKind(models.TextChoices):
    CLEAR = "clear", "Clear"
    SNOOZE = "snooze", "Snooze"
    UNDO = "undo", "Undo"


class ClearTo(models.TextChoices):
    LOST = "lost", "Lost (timed out)"
    NURTURE = "nurture", "Back to nurture"


class ClearanceAction(AppendOnlyModel):
    """One clear, snooze or undo of one deal; its integer ``pk`` is the action id users see.

    ``before`` / ``after`` are JSON snapshots of what a clear changed (the
    deal's stage, status, closed_at, lost_reason and version, and the status
    of leads converted into the deal), so that an undo restores it exactly.
    ``batch`` groups the actions of one ``clearance apply`` (blank otherwise).
    """

    kind = models.CharField(max_length=6, choices=ActionKind.choices)
    deal = models.ForeignKey("pipeline.Deal", on_delete=models.PROTECT, related_name="clearance_actions")
    to = models.CharField(max_length=7, choices=ClearTo.choices, blank=True)
    until = models.DateField(null=True, blank=True)
    reason = models.TextField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(db_index=True)
    # one-to-one: an action is undone at most once (the database refuses a second undo)
    undoes = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="undone_by")
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    batch = models.CharField(max_length=40, blank=True, db_index=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["deal", "kind"], name="clearance_deal_kind")]
        constraints = [
            models.CheckConstraint(condition=~models.Q(reason=""), name="clearance_reason_not_blank"),
            models.CheckConstraint(
                condition=(models.Q(kind="clear") & ~models.Q(to=""))
                | (models.Q(kind="snooze") & models.Q(until__isnull=False))
                | (models.Q(kind="undo") & models.Q(undoes__isnull=False)),
                name="clearance_kind_fields",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.deal_id}"


class StageEventVoid(AppendOnlyModel):
    """The stage event is no longer part of its deal's history: the clear that wrote it was undone.

    Analytics (:mod:`bestby.engine.store`) and ``bestby export`` leave voided
    events out; nothing is deleted or updated.
    """

    event = models.OneToOneField("pipeline.StageEvent", on_delete=models.PROTECT, related_name="void")
    action = models.ForeignKey(ClearanceAction, on_delete=models.PROTECT, related_name="voids")

    def __str__(self) -> str:
        return f"stage event {self.event_id} voided by action {self.action_id}"


class Freshness(models.Model):
    """The last computed freshness of an open deal: a cache of the engine's result for pages and the API.

    Written only by :func:`bestby.clearance.snapshot.refresh` (``bestby refresh``),
    which recomputes every open deal at one ``as_of`` and replaces the rows:
    this is derived data, not history, so replacing it loses nothing. Pages
    say when it was computed. ``weight`` is the clearance order (amount x
    max(1, staleness)), stored so the review page sorts in the database.
    """

    deal = models.OneToOneField("pipeline.Deal", on_delete=models.PROTECT, related_name="freshness")
    as_of = models.DateTimeField()
    state = models.CharField(max_length=8, db_index=True)
    reasons = models.JSONField(default=list)
    best_by = models.DateTimeField(null=True, blank=True)
    win_probability = models.FloatField(null=True, blank=True)
    staleness = models.FloatField(null=True, blank=True)
    weight = models.FloatField(default=0.0, db_index=True)
    age_days = models.FloatField()
    stage_age_days = models.FloatField()
    days_since_touch = models.FloatField(null=True, blank=True)
    close_date_pushes = models.IntegerField(default=0)
    stage_shelf_days = models.FloatField(null=True, blank=True)
    cycle_shelf_days = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "weight"], name="freshness_state_weight")]

    def __str__(self) -> str:
        return f"{self.deal_id}: {self.state}"


class PolicySetting(models.Model):
    """The clearance policy stored by an admin on the Settings page: one row per pipeline, plus the default.

    ``pipeline`` None is the default for every pipeline; ``values`` holds only
    the settings that differ from the built-in defaults (``ClearancePolicy``
    field names), validated by :func:`bestby.engine.policy.policies_from_mapping`
    before they are saved (:mod:`bestby.clearance.settings`). Changes are audited.
    """

    pipeline = models.OneToOneField("pipeline.Pipeline", null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="policy_setting")
    values = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pipeline"], condition=models.Q(pipeline__isnull=True),
                                    name="policy_setting_one_default"),
        ]

    def __str__(self) -> str:
        return f"policy for {self.pipeline.name if self.pipeline_id else 'all pipelines (default)'}"
