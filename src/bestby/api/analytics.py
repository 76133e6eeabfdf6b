"""Read endpoints: shelf life (the engine, seconds), freshness and the clearance list (the cache, milliseconds)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Optional

from ninja import Query, Router

from bestby import clock
from bestby.api.common import MAX_LIMIT, MAX_OFFSET, page
from bestby.api.schemas import Error, FreshnessPage, Moment, ShelfLifeRow
from bestby.clearance.models import Freshness
from bestby.clearance.review import cached_list
from bestby.engine.rules import STATES
from bestby.people import access

router = Router(tags=["analytics"])


def freshness_row(f: Freshness) -> dict:
    d = f.deal
    return {"deal": d.external_id, "name": d.name, "owner": d.owner.external_id if d.owner else None,
            "stage": d.stage.name if d.stage else None, "amount": d.amount, "state": f.state, "reasons": f.reasons,
            "best_by": f.best_by, "win_probability": f.win_probability, "staleness": f.staleness,
            "weight": f.weight, "age_days": f.age_days, "stage_age_days": f.stage_age_days,
            "days_since_touch": f.days_since_touch, "close_date_pushes": f.close_date_pushes, "as_of": f.as_of}


def _cache(user):
    return (Freshness.objects.filter(access.deal_q(user))
            .select_related("deal", "deal__owner", "deal__stage"))


@router.get("/shelf-life", response={200: list[ShelfLifeRow], 422: Error},
            summary="Each stage's best-by (the q-quantile of time in stage) and the whole cycle's, per pipeline")
def shelf_life_rows(request, as_of: Optional[Moment] = None, q: float = Query(0.8, gt=0, le=1),
                    by: Optional[Literal["owner", "team", "product", "source", "amount_band"]] = None):
    from bestby.engine.shelf_life import shelf_life
    from bestby.pipeline.analytics import store_reader

    from bestby.goals.params import as_of_value

    when = clock.now() if as_of is None else as_of_value(as_of)  # inside bounds.DATES, else 422 naming as_of
    with store_reader() as store:
        rows = shelf_life(store.tables(when), q=q, by=by)
    return access.segment_rows_for(request.auth, by, rows)  # owner and team segments name people


@router.get("/freshness", response=FreshnessPage,
            summary="The cached freshness of the open deals you may see (see `bestby refresh`)")
def freshness(request, state: Optional[Literal[STATES]] = None,  # type: ignore[valid-type]
              limit: int = Query(50, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    qs = _cache(request.auth)
    if state is not None:
        qs = qs.filter(state=state)
    return page(qs.order_by("-weight", "deal__external_id"), limit, offset, freshness_row)


@router.get("/clearance", response=FreshnessPage,
            summary="The clearance list: expired and stalled deals you may see, not snoozed, heaviest first")
def clearance(request, limit: int = Query(50, ge=1, le=MAX_LIMIT), offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    total, rows = cached_list(request.auth, offset=offset, limit=limit)
    return {"count": total, "limit": limit, "offset": offset, "items": [freshness_row(f) for f in rows]}
