"""Shelf life: learned best-by durations per pipeline and stage (DESIGN.md, idea 1).

``shelf_life(tables, q=0.8)`` takes the tables of a source (for example
:func:`bestby.engine.sources.folder_tables`, already cut at ``as_of``) and
returns rows ``{pipeline, stage, segment, quantile, days, n}``:

Whole cycle (``stage`` None)
    The q-quantile of won deals' cycle length, ``closed_at - created_at`` in
    fractional days (seconds / 86 400), over deals with ``status == 'won'``
    and both timestamps present; ``n`` is the number of those deals. A
    pipeline without such a deal has **no** cycle row.

Time in stage (one row per ``open`` stage of the stages table)
    A stage visit is a stage event of a deal; its time in stage is the next
    event's ``at`` minus its own ``at`` (events of a deal ordered by ``at``,
    ties broken by the lower stage position first). Only visits that LEFT the
    stage FORWARD count: the next ``to_stage`` is a ``won`` stage, or an
    ``open`` stage with a higher position. Moving to a ``lost`` stage is not
    forward (even though lost stages sit after the open ones), a move back is
    not, and a visit with no next event (the deal is still there at
    ``as_of``: censored) is not. ``n`` is the number of counted visits (a deal
    that passes a stage twice forward counts twice); a stage with ``n == 0``
    still has its row, with ``days`` None. Events whose ``to_stage`` is not in
    the stages table are ignored.

``quantile`` echoes ``q``; ``segment`` is None for the whole pipeline.

Options
    ``since`` (the lookback window): only figures that ENDED at or after
    ``since`` count: won deals with ``closed_at >= since``, stage visits whose
    forward exit is at or after it. None (default) uses all history before
    ``as_of`` (the tables are already cut there).
    ``business_days``: durations on the business clock of
    :mod:`bestby.engine.clock` (Monday to Friday) instead of calendar days.

Segments (``by``: ``owner``, ``team``, ``product``, ``source`` or ``amount_band``)
    The same figures per segment value, after the pipeline's rows: the deal's
    ``owner_id``, its owner's ``team`` (users table), ``product_id``,
    ``source``, or its amount band. A deal without a value is in segment
    ``"(none)"``. Amount bands are the pipeline's amount quartiles over the
    deals known at ``as_of`` (type 7: q25, q50, q75), so they adapt to the
    currency and the business: ``"<= q25"``, ``"q25-q50"``, ``"q50-q75"``,
    ``"> q75"`` (a deal exactly on an edge goes to the lower band), labelled
    with the rounded edges. Every segment value seen among the pipeline's
    deals gets a cycle row (if the pipeline has one) and a row per open
    stage; segment rows also carry ``segment_n`` (the segment's own count)
    and ``fallback``.

    Small segments fall back: when ``segment_n < min_n`` (default
    ``MIN_SEGMENT_N`` = 20), ``days`` and ``n`` are the pipeline's figure for
    the same stage (or cycle) and ``fallback`` is True. Why 20: a 0.8
    quantile of fewer values rests on three or four observations above it,
    and one unusual deal moves it by days. Why a switch and not shrinkage:
    a blended quantile is no quantile of anything a manager can look at,
    while "too few deals in this segment, using the pipeline's 34 days
    (n = 812)" is easy to explain and to check.

The quantile
    Linear interpolation between order statistics, Hyndman & Fan (1996)
    type 7, numpy's default: for sorted values x[0] <= ... <= x[n-1] and
    h = (n - 1) q, Q(q) = x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h])
    (Q = x[0] when n = 1). It is Ibis' ``Column.quantile``, which compiles
    to DuckDB's ``quantile_cont`` (type 7); ``tests/engine`` checks it against
    ``numpy.quantile``. ``q`` must be in [0, 1].

Reduce where the data lives: the window (``lead`` per deal), the filters, the
grouping and the quantile are one Ibis expression per figure, run by the
tables' backend; only the per-stage results come back to Python.
"""

from __future__ import annotations

import math
from datetime import datetime

import ibis

from bestby.engine.clock import days_expr
from bestby.engine.sources import as_utc

__all__ = ["MIN_SEGMENT_N", "SEGMENTS", "cycle_expr", "forward_visits_expr", "segment_expr", "shelf_life",
           "stage_expr"]

SEGMENTS = ("owner", "team", "product", "source", "amount_band")
MIN_SEGMENT_N = 20  # below this a segment uses its pipeline's figure (see the module docstring)
NONE = "(none)"


def _cut(value: datetime | None):
    if value is None:
        return None
    return ibis.literal(as_utc(value), type="timestamp('UTC')")


def _edge(x: float) -> str:
    return f"{x:,.0f}"


def amount_bands(tables: dict[str, ibis.Table]) -> dict[str, tuple[float, float, float]]:
    """Per pipeline, the type-7 quartiles (q25, q50, q75) of the amounts of the deals in ``tables``."""
    d = tables["deals"]
    d = d.filter(d.amount.notnull())
    agg = d.group_by("pipeline").agg(q1=d.amount.quantile(0.25), q2=d.amount.quantile(0.5),
                                     q3=d.amount.quantile(0.75))
    return {r.pipeline: (float(r.q1), float(r.q2), float(r.q3)) for r in agg.execute().itertuples()}


def segment_expr(tables: dict[str, ibis.Table], by: str | None) -> ibis.Table:
    """Build: the deals with a string ``segment`` column for ``by`` (None: one segment, NULL)."""
    d = tables["deals"]
    if by is None:
        return d.mutate(segment=ibis.null("string"))
    if by not in SEGMENTS:
        raise ValueError(f"by must be one of {', '.join(SEGMENTS)}, got {by!r}")
    if by == "owner":
        value = d.owner_id
    elif by == "product":
        value = d.product_id
    elif by == "source":
        value = d.source
    elif by == "team":
        if "users" not in tables:
            raise ValueError("by team needs the users table (users.csv in a folder)")
        u = tables["users"]
        u = u.select(u_id=u.user_id, u_team=u.team)
        d = d.left_join(u, d.owner_id == u.u_id).drop("u_id")
        value = d.u_team
    else:
        bands = amount_bands(tables)
        branches = []
        for pipeline, (q1, q2, q3) in sorted(bands.items()):
            here = d.pipeline == pipeline
            branches += [(here & (d.amount <= q1), f"<= {_edge(q1)}"),
                         (here & (d.amount <= q2), f"{_edge(q1)}-{_edge(q2)}"),
                         (here & (d.amount <= q3), f"{_edge(q2)}-{_edge(q3)}"),
                         (here & d.amount.notnull(), f"> {_edge(q3)}")]
        value = ibis.cases(*branches, else_=ibis.null("string")) if branches else ibis.null("string")
    out = d.mutate(segment=value.cast("string").fill_null(NONE))
    return out.drop("u_team") if "u_team" in out.columns else out


def cycle_expr(tables: dict[str, ibis.Table], *, q: float, by: str | None = None, since: datetime | None = None,
               business_days: bool = False) -> ibis.Table:
    """Build: per pipeline (and segment), the q-quantile of won deals' cycle days and their count."""
    d = segment_expr(tables, by)
    won = d.filter((d.status == "won") & d.created_at.notnull() & d.closed_at.notnull())
    if since is not None:
        won = won.filter(won.closed_at >= _cut(since))
    won = won.mutate(days=days_expr(won.created_at, won.closed_at, business=business_days))
    return won.group_by("pipeline", "segment").agg(days=won.days.quantile(q), n=won.count())


def forward_visits_expr(tables: dict[str, ibis.Table], *, by: str | None = None, since: datetime | None = None,
                        business_days: bool = False) -> ibis.Table:
    """Build: one row per stage visit that left an open stage forward: ``pipeline, stage, segment, days``.

    The visits :func:`stage_expr` takes its quantile over (see the module
    docstring): for a chart of the distribution behind each best-by.
    """
    deals, stages, events = segment_expr(tables, by), tables["stages"], tables["stage_events"]
    this = stages.select(pipeline="pipeline", stage="stage", position="position", kind="kind")
    ev = (events.select("deal_id", "at", "to_stage")
          .join(deals.select("deal_id", "pipeline", "segment"), "deal_id")
          .join(this, [("pipeline", "pipeline"), ("to_stage", "stage")]))
    w = ibis.window(group_by=ev.deal_id, order_by=[ev.at, ev.position])
    ev = ev.mutate(next_at=ev.at.lead().over(w), next_stage=ev.to_stage.lead().over(w))
    nxt = stages.select(x_pipeline="pipeline", x_stage="stage", next_position="position", next_kind="kind")
    visits = ev.filter((ev.kind == "open") & ev.next_at.notnull())
    visits = visits.join(nxt, [("pipeline", "x_pipeline"), ("next_stage", "x_stage")])
    forward = (visits.next_kind == "won") | ((visits.next_kind == "open") & (visits.next_position > visits.position))
    visits = visits.filter(forward)
    if since is not None:
        visits = visits.filter(visits.next_at >= _cut(since))
    return visits.select(pipeline=visits.pipeline, stage=visits.to_stage, segment=visits.segment,
                         days=days_expr(visits.at, visits.next_at, business=business_days))


def stage_expr(tables: dict[str, ibis.Table], *, q: float, by: str | None = None, since: datetime | None = None,
               business_days: bool = False) -> ibis.Table:
    """Build: per pipeline, open stage (and segment), the q-quantile of forward-exit days in stage and n."""
    visits = forward_visits_expr(tables, by=by, since=since, business_days=business_days)
    return (visits.group_by(["pipeline", "stage", "segment"]).agg(days=visits.days.quantile(q), n=visits.count())
            .rename(to_stage="stage"))


def _num(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _segment_key(label: str) -> tuple:
    """Segments in name order, amount bands from the lowest up and "(none)" last."""
    if label == NONE:
        return (2, "")
    if label.startswith("<= "):
        return (0, float("-inf"))
    if label.startswith("> "):
        return (0, float("inf"))
    head = label.split("-")[0].replace(",", "")
    try:
        return (0, float(head))  # "lo-hi" bands by their lower edge
    except ValueError:
        return (1, label)


def _seg(value) -> str | None:
    return value if isinstance(value, str) else None  # NULL arrives as None or NaN


def _figures(tables, *, q, by, since, business_days) -> tuple[dict, dict]:
    opts = {"q": q, "by": by, "since": since, "business_days": business_days}
    cycle = {(r.pipeline, _seg(r.segment)): (_num(r.days), int(r.n))
             for r in cycle_expr(tables, **opts).execute().itertuples()}
    per_stage = {}
    if "stage_events" in tables:
        per_stage = {(r.pipeline, r.to_stage, _seg(r.segment)): (_num(r.days), int(r.n))
                     for r in stage_expr(tables, **opts).execute().itertuples()}
    return cycle, per_stage


def shelf_life(tables: dict[str, ibis.Table], *, q: float = 0.8, by: str | None = None,
               since: datetime | None = None, business_days: bool = False,
               min_n: int = MIN_SEGMENT_N) -> list[dict]:
    """Compute shelf-life rows (whole cycle and per open stage) per pipeline, and per segment with ``by``."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q}")
    if by is not None and by not in SEGMENTS:
        raise ValueError(f"by must be one of {', '.join(SEGMENTS)}, got {by!r}")
    cycle, per_stage = _figures(tables, q=q, by=None, since=since, business_days=business_days)
    stages = tables["stages"]
    open_stages = (stages.filter(stages.kind == "open").select("pipeline", "stage", "position")
                   .order_by(["pipeline", "position"]).execute())
    pipelines = sorted({p for p, _ in cycle} | set(open_stages["pipeline"]))
    segments: dict[str, list[str]] = {}
    if by is not None:
        seg_cycle, seg_stage = _figures(tables, q=q, by=by, since=since, business_days=business_days)
        seen = segment_expr(tables, by).select("pipeline", "segment").distinct().execute()
        for r in seen.itertuples():
            segments.setdefault(r.pipeline, []).append(r.segment)
    rows: list[dict] = []
    for pipeline in sorted(set(pipelines) | set(segments)):
        names = list(open_stages[open_stages["pipeline"] == pipeline]["stage"])
        for segment in [None, *sorted(segments.get(pipeline, []), key=_segment_key)]:
            for stage in [None, *names]:
                wide = cycle.get((pipeline, None)) if stage is None else per_stage.get((pipeline, stage, None))
                if stage is None and wide is None and (segment is None or (pipeline, segment) not in seg_cycle):
                    continue  # no won deal: no cycle row
                row = {"pipeline": pipeline, "stage": stage, "segment": segment, "quantile": q}
                if segment is None:
                    days, n = wide if wide is not None else (None, 0)
                    rows.append({**row, "days": days, "n": n})
                    continue
                own = seg_cycle.get((pipeline, segment)) if stage is None else seg_stage.get((pipeline, stage, segment))
                own_days, own_n = own if own is not None else (None, 0)
                if own_n >= min_n:
                    rows.append({**row, "days": own_days, "n": own_n, "segment_n": own_n, "fallback": False})
                else:
                    days, n = wide if wide is not None else (None, 0)
                    rows.append({**row, "days": days, "n": n, "segment_n": own_n, "fallback": True})
    return rows
