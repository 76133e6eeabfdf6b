"""Refresh the freshness cache: the engine's freshness of every open deal, stored for pages and the API.

Pages must answer in milliseconds on 100,000 open deals, while the engine
needs seconds for the whole store; so the engine's rows are stored in
:class:`~bestby.clearance.models.Freshness` (one row per deal open at
``as_of``) by ``refresh``, run by ``bestby refresh`` (after an import, or on a
schedule) and by the web app's "recompute" action. The rows are replaced in
one transaction: readers see the old set or the new one, never a mix.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from bestby import clock
from bestby.clearance.models import Freshness
from bestby.engine.rules import clearance_weight
from bestby.pipeline import revision
from bestby.pipeline.models import Deal, DealChange

__all__ = ["computed_at", "refresh"]

_BATCH = 5_000


def refresh(*, as_of: datetime | None = None, policy=None) -> int:
    """Recompute every open deal's freshness at ``as_of`` (default now) and replace the cache; return the count."""
    from bestby.engine.freshness import freshness
    from bestby.engine.policy import ClearancePolicy
    from bestby.pipeline.analytics import store_reader

    as_of = clock.now() if as_of is None else as_of
    with store_reader() as store:
        rows = freshness(store.tables(as_of), as_of=as_of, policy=policy or ClearancePolicy())
    ids = dict(Deal.objects.filter(external_id__in=[r["deal_id"] for r in rows]).values_list("external_id", "pk"))
    objs = [Freshness(
        deal_id=ids[r["deal_id"]], as_of=as_of, state=r["state"],
        reasons=[{"code": x["code"], "text": x["text"]} for x in r["reasons"]], best_by=r["best_by"],
        win_probability=r["win_probability"], staleness=r["staleness"], weight=clearance_weight(r),
        age_days=r["age_days"], stage_age_days=r["stage_age_days"], days_since_touch=r["days_since_touch"],
        close_date_pushes=r["close_date_pushes"], stage_shelf_days=r["stage_shelf_days"],
        cycle_shelf_days=r["cycle_shelf_days"],
    ) for r in rows if r["deal_id"] in ids]
    with transaction.atomic():
        Freshness.objects.all().delete()
        Freshness.objects.bulk_create(objs, batch_size=_BATCH)
        revision.bump()  # bulk_create sends no signals
        # change notes only matter to books younger than openbook.FULL_EVERY: keep a day of them
        DealChange.objects.filter(at__lt=clock.wall() - timedelta(days=1)).delete()
    return len(objs)


def computed_at() -> datetime | None:
    """When the cache was last refreshed (its ``as_of``), None before the first refresh.

    ``refresh`` replaces every row with one ``as_of``, so any row tells (no sort over 100k rows).
    """
    row = Freshness.objects.order_by().values_list("as_of", flat=True)[:1]
    return row[0] if row else None
