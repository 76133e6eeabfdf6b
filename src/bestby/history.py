"""Append-only history: event rows can be added, never changed or removed.

Survival statistics and every point-in-time analysis depend on the event log
being exactly what happened, so the models of events refuse updates and
deletes at the ORM level (instance ``save`` of an existing row, ``delete``,
and queryset ``update`` / ``delete``). Deleting the parent deal is refused too
(``on_delete=PROTECT``); a deal is cleared, never deleted.
"""

from __future__ import annotations

from django.db import models


class AppendOnlyError(RuntimeError):
    """Raised on an attempt to rewrite or remove history."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: D102
        raise AppendOnlyError(f"{self.model.__name__} is append-only history; it cannot be updated")

    def delete(self):  # noqa: D102
        raise AppendOnlyError(f"{self.model.__name__} is append-only history; it cannot be deleted")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} #{self.pk} is history; it cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} #{self.pk} is history; it cannot be deleted")
