"""Use cases around imports: the batches applied, and undoing one (the import itself: ``canonical``, ``crm.run``)."""

from __future__ import annotations

from bestby.importers.undo import UndoRefused, UndoResult, undo_batch

__all__ = ["UndoRefused", "UndoResult", "get_batch", "recent_batches", "undo_import"]


def undo_import(*, batch: int, by, reason: str = "") -> UndoResult:
    """Undo applied import ``batch`` as one transaction; raise UndoRefused (nothing changed) when it cannot be."""
    return undo_batch(batch_id=batch, by=by, reason=reason)


def recent_batches(*, limit: int = 20) -> list:
    """The last ``limit`` applied imports, newest first, with who ran them and whether they were undone."""
    from bestby.audit.models import ImportBatch

    return list(ImportBatch.objects.select_related("by", "undone_by").order_by("-id")[:limit])


def get_batch(*, batch: int):
    """Applied import ``batch`` (an ``ImportBatch``), or None when there is none."""
    from bestby.audit.models import ImportBatch

    return ImportBatch.objects.select_related("by", "undone_by").filter(pk=batch).first()
