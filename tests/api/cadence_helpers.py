"""Shared set-up of the cadence API tests: Germany's calendar, sellers in two time zones, a few leads."""

from __future__ import annotations

from bestby.activities.models import Lead, Touch
from bestby.audit.models import AuditEntry
from bestby.cadences.models import Cadence, CadenceStep, CadenceTask, Enrollment


def make_leads(world, settings) -> dict:
    """Germany's holidays; rita in Berlin, otto in New York; leads L1, L2 (no name), LX (converted) of rita,
    L3 of max (the manager), L9 of otto."""
    settings.BESTBY_COUNTRY = "DE"
    settings.BESTBY_COUNTRY_REGION = None
    u = world["users"]
    u["rep"].time_zone = "Europe/Berlin"
    u["rep"].save()
    u["other"].time_zone = "America/New_York"
    u["other"].save()
    return {key: Lead.objects.create(external_id=key, name=name, owner=owner, status=status)
            for key, name, owner, status in [("L1", "Lena One", u["rep"], "new"), ("L2", "", u["rep"], "new"),
                                             ("L3", "Max's lead", u["mgr"], "new"),
                                             ("L9", "Otto's lead", u["other"], "new"),
                                             ("LX", "Gone", u["rep"], "converted")]}


def snapshot():
    """Everything a cadence request could change."""
    return (list(Cadence.objects.order_by("pk").values("name", "description", "is_default", "updated_at")),
            list(CadenceStep.objects.order_by("pk").values("cadence_id", "position", "offset", "channel")),
            list(Enrollment.objects.order_by("pk").values("status", "lead_id", "contact_id")),
            list(CadenceTask.objects.order_by("pk").values("status", "due_on", "outcome")),
            Touch.objects.count(), AuditEntry.objects.count(),
            list(Lead.objects.order_by("external_id").values_list("external_id", "status")))
