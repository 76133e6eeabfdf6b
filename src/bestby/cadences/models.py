"""Cadences, their steps, enrolments and the dated tasks they create.

A ``Cadence`` is a named, ordered list of ``CadenceStep`` rows (business-day
offset, channel, instruction); admins edit them. Enrolling a lead (or a
contact on a deal) creates an ``Enrollment`` and one ``CadenceTask`` per step,
each a copy of its step (offset, channel, instruction) with its due date on
the seller's calendar: editing the cadence later changes no running
enrolment. Tasks are never deleted: done, skipped and cancelled tasks stay as
the record adherence is measured on. Rules: ``bestby.cadences.schedule``;
the only writers: ``bestby.cadences.services``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from bestby.cadences.schedule import STEP_CHANNELS
from bestby.format import choices_of


class Cadence(models.Model):
    name = models.CharField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True),
                                               name="cadence_one_default")]

    def __str__(self) -> str:
        return self.name


class CadenceStep(models.Model):
    cadence = models.ForeignKey(Cadence, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    offset = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=10, choices=choices_of(STEP_CHANNELS))
    instruction = models.TextField(blank=True)

    class Meta:
        ordering = ["cadence", "position"]
        constraints = [models.UniqueConstraint(fields=["cadence", "position"], name="cadence_step_position")]


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ENGAGED = "engaged", "Engaged"
    NURTURE = "nurture", "Back to nurture"
    STOPPED = "stopped", "Stopped"


class Enrollment(models.Model):
    """One lead (or one contact on a deal) working through one cadence."""

    cadence = models.ForeignKey(Cadence, on_delete=models.PROTECT, related_name="enrollments")
    lead = models.ForeignKey("activities.Lead", null=True, blank=True, on_delete=models.PROTECT, related_name="enrollments")
    contact = models.ForeignKey("accounts.Contact", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="enrollments")
    deal = models.ForeignKey("pipeline.Deal", null=True, blank=True, on_delete=models.PROTECT, related_name="enrollments")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="enrollments")
    started_on = models.DateField()
    status = models.CharField(max_length=8, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE)
    ended_at = models.DateTimeField(null=True, blank=True)
    recontact_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(lead__isnull=False) | models.Q(contact__isnull=False),
                                   name="enrollment_has_person"),
            # a lead or contact is in one running cadence at a time
            models.UniqueConstraint(fields=["lead"], condition=models.Q(status="active", lead__isnull=False),
                                    name="enrollment_one_active_lead"),
            models.UniqueConstraint(fields=["contact"], condition=models.Q(status="active", contact__isnull=False),
                                    name="enrollment_one_active_contact"),
        ]

    def __str__(self) -> str:
        return f"{self.person} in {self.cadence_id}"

    @property
    def person(self):
        return self.lead if self.lead_id else self.contact


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


class CadenceTask(models.Model):
    """A dated touch to make: a cadence step, or an extra call (``enrollment`` None, "one more call")."""

    enrollment = models.ForeignKey(Enrollment, null=True, blank=True, on_delete=models.PROTECT, related_name="tasks")
    position = models.PositiveSmallIntegerField(null=True, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="cadence_tasks")
    lead = models.ForeignKey("activities.Lead", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    contact = models.ForeignKey("accounts.Contact", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    deal = models.ForeignKey("pipeline.Deal", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    offset = models.PositiveSmallIntegerField(default=0)
    channel = models.CharField(max_length=10, choices=choices_of(STEP_CHANNELS))
    instruction = models.TextField(blank=True)
    planned_on = models.DateField()     # the first due date, kept when a late step shifts this one
    due_on = models.DateField(db_index=True)
    status = models.CharField(max_length=9, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    done_at = models.DateTimeField(null=True, blank=True)
    done_on = models.DateField(null=True, blank=True)  # the seller's local date of done_at
    outcome = models.CharField(max_length=20, blank=True)
    touch = models.OneToOneField("activities.Touch", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["owner", "status", "due_on"], name="task_owner_status_due")]
        constraints = [models.CheckConstraint(condition=models.Q(lead__isnull=False) | models.Q(contact__isnull=False),
                                              name="task_has_person")]

    def __str__(self) -> str:
        return f"{self.channel} due {self.due_on}"
