"""Write the audit log: the one way any use case records who did what and why."""

from __future__ import annotations

from datetime import datetime

from bestby import clock
from bestby.audit.models import AuditEntry


def record(*, by, action: str, obj, before: dict | None, after: dict | None, reason: str = "",
           at: datetime | None = None, undoes: AuditEntry | None = None, object_type: str | None = None) -> AuditEntry:
    """Append one audit entry for ``obj`` (a model instance; ``object_type`` overrides its label)."""
    return AuditEntry.objects.create(
        at=at or clock.now(), by=by, action=action, object_type=object_type or obj._meta.label_lower,
        object_id=str(getattr(obj, "external_id", obj.pk)), before=before, after=after, reason=reason, undoes=undoes,
    )
