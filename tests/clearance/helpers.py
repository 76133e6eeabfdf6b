"""Shared set-up for the clearance tests: a hand-made pipeline, and a dump of everything stored."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from bestby.activities.models import Lead
from bestby.audit.models import AuditEntry
from bestby.clearance.models import ClearanceAction, StageEventVoid
from bestby.people.models import User
from bestby.pipeline import services
from bestby.pipeline.models import CloseDateEvent, Deal, Pipeline, Stage, StageEvent

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=timezone.utc)
STAGES = [("Qualify", "open"), ("Proposal", "open"), ("Won", "won"), ("Lost", "lost")]


def build() -> dict:
    """Pipeline 'default' (Qualify, Proposal, Won, Lost), a rep, and deals.

    D1 open in Qualify (amount 100), D2 open in Proposal (amount 700, converted
    from lead L2, status 'converted'), D3 won, D4 open in Qualify (amount 50).
    """
    p = Pipeline.objects.create(name="default")
    s = {name: Stage.objects.create(pipeline=p, name=name, position=i, kind=kind)
         for i, (name, kind) in enumerate(STAGES, start=1)}
    rep = User.objects.create(username="rita@example.com", email="rita@example.com", external_id="u-rep", role="rep")
    mk = services.create_deal
    d1 = mk(external_id="D1", pipeline=p, stage=s["Qualify"], owner=rep, amount=Decimal("100"),
            close_date=date(2025, 3, 31), at=T0)
    d2 = mk(external_id="D2", pipeline=p, stage=s["Qualify"], owner=rep, amount=Decimal("700"), at=T0)
    services.move_deal(deal=d2, to_stage=s["Proposal"], at=datetime(2025, 1, 20, tzinfo=timezone.utc))
    d3 = mk(external_id="D3", pipeline=p, stage=s["Qualify"], owner=rep, amount=Decimal("300"), at=T0)
    services.move_deal(deal=d3, to_stage=s["Won"], at=datetime(2025, 2, 1, tzinfo=timezone.utc))
    d4 = mk(external_id="D4", pipeline=p, stage=s["Qualify"], owner=rep, amount=Decimal("50"), at=T0)
    Lead.objects.create(external_id="L2", name="Lead two", status="converted", converted_deal=d2)
    Lead.objects.create(external_id="L9", name="Unrelated", status="engaged")
    return {"pipeline": p, "stages": s, "rep": rep, "deals": {d.external_id: d for d in (d1, d2, d3, d4)}}


def deal_rows() -> list[dict]:
    """Every deal row, every column except ``version`` (the one field an undo bumps instead of restoring)."""
    return [{k: v for k, v in row.items() if k != "version"} for row in Deal.objects.order_by("pk").values()]


def visible_events() -> list[dict]:
    """Stage events analytics see: all of them minus the voided ones."""
    return list(StageEvent.objects.filter(void__isnull=True).order_by("pk").values())


def dump() -> dict:
    """Everything the clearance workflow could touch, row by row."""
    return {
        "deals": list(Deal.objects.order_by("pk").values()),
        "leads": list(Lead.objects.order_by("pk").values()),
        "stage_events": list(StageEvent.objects.order_by("pk").values()),
        "close_date_events": list(CloseDateEvent.objects.order_by("pk").values()),
        "audit": list(AuditEntry.objects.order_by("pk").values()),
        "actions": list(ClearanceAction.objects.order_by("pk").values()),
        "voids": list(StageEventVoid.objects.order_by("pk").values()),
    }
