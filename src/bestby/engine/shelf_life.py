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

``segment`` is None (segments are a later slice); ``quantile`` echoes ``q``.

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

import ibis

__all__ = ["cycle_expr", "shelf_life", "stage_expr"]

_DAY = 86_400.0


def _days(start, end):
    return (end.epoch_seconds() - start.epoch_seconds()).cast("float64") / _DAY


def cycle_expr(tables: dict[str, ibis.Table], *, q: float) -> ibis.Table:
    """Build: per pipeline, the q-quantile of won deals' cycle days and their count."""
    d = tables["deals"]
    won = d.filter((d.status == "won") & d.created_at.notnull() & d.closed_at.notnull())
    won = won.mutate(days=_days(won.created_at, won.closed_at))
    return won.group_by("pipeline").agg(days=won.days.quantile(q), n=won.count())


def stage_expr(tables: dict[str, ibis.Table], *, q: float) -> ibis.Table:
    """Build: per pipeline and open stage, the q-quantile of forward-exit days in stage and their count."""
    deals, stages, events = tables["deals"], tables["stages"], tables["stage_events"]
    this = stages.select(pipeline="pipeline", stage="stage", position="position", kind="kind")
    ev = (events.select("deal_id", "at", "to_stage")
          .join(deals.select("deal_id", "pipeline"), "deal_id")
          .join(this, [("pipeline", "pipeline"), ("to_stage", "stage")]))
    w = ibis.window(group_by=ev.deal_id, order_by=[ev.at, ev.position])
    ev = ev.mutate(next_at=ev.at.lead().over(w), next_stage=ev.to_stage.lead().over(w))
    nxt = stages.select(x_pipeline="pipeline", x_stage="stage", next_position="position", next_kind="kind")
    visits = ev.filter((ev.kind == "open") & ev.next_at.notnull())
    visits = visits.join(nxt, [("pipeline", "x_pipeline"), ("next_stage", "x_stage")])
    forward = (visits.next_kind == "won") | ((visits.next_kind == "open") & (visits.next_position > visits.position))
    visits = visits.filter(forward).mutate(days=_days(visits.at, visits.next_at))
    return visits.group_by(["pipeline", "to_stage"]).agg(days=visits.days.quantile(q), n=visits.count())


def _num(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def shelf_life(tables: dict[str, ibis.Table], *, q: float = 0.8) -> list[dict]:
    """Compute shelf-life rows (whole cycle and per open stage) for every pipeline."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q}")
    cycle = {r.pipeline: (_num(r.days), int(r.n)) for r in cycle_expr(tables, q=q).execute().itertuples()}
    per_stage = {}
    if "stage_events" in tables:
        per_stage = {(r.pipeline, r.to_stage): (_num(r.days), int(r.n))
                     for r in stage_expr(tables, q=q).execute().itertuples()}
    stages = tables["stages"]
    open_stages = (stages.filter(stages.kind == "open").select("pipeline", "stage", "position")
                   .order_by(["pipeline", "position"]).execute())
    pipelines = sorted(set(cycle) | set(open_stages["pipeline"]))
    rows: list[dict] = []
    for pipeline in pipelines:
        if pipeline in cycle:
            days, n = cycle[pipeline]
            rows.append({"pipeline": pipeline, "stage": None, "segment": None, "quantile": q, "days": days, "n": n})
        for r in open_stages[open_stages["pipeline"] == pipeline].itertuples():
            days, n = per_stage.get((pipeline, r.stage), (None, 0))
            rows.append({"pipeline": pipeline, "stage": r.stage, "segment": None, "quantile": q,
                         "days": days, "n": n})
    return rows
