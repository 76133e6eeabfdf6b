"""The audit log: who did what, when, to which record, what it was before and after, and why."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from bestby.history import AppendOnlyModel


class AuditEntry(AppendOnlyModel):
    at = models.DateTimeField(db_index=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=120, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    undoes = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="undone_by")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id", "at"], name="audit_object")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type} {self.object_id}"


class ImportBatch(models.Model):
    """One applied import, as one batch that can be undone (``bestby import undo ID``).

    Its integer ``pk`` is the batch id users see (in the import's report and
    in its audit entry, whose ``object_id`` it is). What an undo needs is in
    its :class:`ImportBatchRows`, written inside the import's own transaction,
    so a batch exists exactly when its import committed. ``undone_at`` is set
    once, by the undo, with a conditional update: a second undo (even a
    concurrent one) finds it set and is refused.
    """

    at = models.DateTimeField(db_index=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    label = models.TextField(blank=True)  # the command or page that ran it
    source = models.CharField(max_length=120, blank=True)  # the folder's name, or "source:file" of a CRM export
    counts = models.JSONField(default=dict, blank=True)  # file -> {"created", "updated", "unchanged"}
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="+")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"import batch {self.pk} at {self.at:%Y-%m-%d %H:%M}"


class ImportBatchRows(AppendOnlyModel):
    """What one import wrote to one table, compactly: enough for its undo and nothing more.

    ``kind`` ``created``: ``data`` is a list of ``[first, last]`` primary-key
    ranges; every row of the table whose key lies in a range was inserted by
    the import (see ``bestby.importers.bulk.insert_columns`` for why no other
    row can fall inside). ``kind`` ``updated``: ``data`` maps a row's primary
    key (as text) to ``{attname: [old, new]}`` for the fields the import
    changed, values in their JSON form (``bestby.importers.journal``).
    Unchanged rows are not recorded at all. Big tables are split into several
    rows of this model (a few thousand records each), in the order written.
    """

    batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="rows")
    model = models.CharField(max_length=100)  # the model's label, "pipeline.deal"
    kind = models.CharField(max_length=7)  # "created" or "updated"
    data = models.JSONField()

    class Meta:
        ordering = ["batch", "id"]

    def __str__(self) -> str:
        return f"batch {self.batch_id}: {self.kind} {self.model}"
