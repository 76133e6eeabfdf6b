"""Read-only questions about the pipeline that pages and the CLI share."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum

from bestby.pipeline.models import Deal, DealStatus, Pipeline, Stage


@dataclass(frozen=True)
class StageTotal:
    stage: Stage
    open_deals: int
    open_amount: Decimal


def deals_visible_to(user):
    """Return the deals ``user`` may see (the rule lives in :mod:`bestby.people.access`)."""
    from bestby.people.access import deals_for

    return deals_for(user)


def pipeline_by_stage(*, deals=None) -> list[tuple[Pipeline, list[StageTotal]]]:
    """Open deals and amount per stage, for every pipeline, stages in process order."""
    deals = Deal.objects.all() if deals is None else deals
    rows = (
        deals.filter(status=DealStatus.OPEN)
        .values("stage_id")
        .annotate(n=Count("id"), amount=Sum("amount"))
    )
    by_stage = {r["stage_id"]: r for r in rows}
    result = []
    for pipeline in Pipeline.objects.prefetch_related("stages"):
        totals = [
            StageTotal(s, by_stage.get(s.id, {}).get("n", 0), by_stage.get(s.id, {}).get("amount") or Decimal(0))
            for s in pipeline.stages.all()
        ]
        result.append((pipeline, totals))
    return result
