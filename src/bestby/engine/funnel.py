"""The funnel: how deals that entered each stage in a window went on, per pipeline and per owner or team.

For each open stage s of a pipeline (in process order) the **cohort** is the
deals whose *first* entry into s falls in ``[since, as_of]`` (sources cut at
``as_of``: later events and outcomes do not exist). Of the cohort:

``advanced``
    reached a stage after s (a higher position, the won stage included) or
    were won: they got past s.
``lost_here``
    lost without getting past s.
``still_here``
    neither: still open in s (or parked back before it) at ``as_of``.
``to_next``
    ``advanced / (advanced + lost_here)``: the share of the deals that
    *resolved* s which got past it. Deals still in s are left out (they are
    censored, not failures: counting them would make every recent window look
    worse); None when nothing resolved.
``won``, ``closed``, ``to_won``
    won, and won or lost, by ``as_of``; ``to_won = won / closed`` (None when
    none closed): the stage's win rate among finished deals.

With the default stages this includes "1st meeting" -> "2nd meeting": the
share of deals with a first meeting that got a second. Levels: the
pipeline, each owner (``by="owner"``), each team (``by="team"``, from the
users table; owners without a team are left out of that level).
"""

from __future__ import annotations

from datetime import datetime

import ibis

from bestby.engine.coverage import _teams
from bestby.engine.entries import stage_entries
from bestby.engine.sources import as_utc

__all__ = ["funnel"]

BY = (None, "owner", "team")


def funnel(tables: dict[str, ibis.Table], *, as_of: datetime, since: datetime, by: str | None = None) -> list[dict]:
    """Funnel rows (see the module docstring), ordered by pipeline, segment and stage position."""
    if by not in BY:
        raise ValueError(f"by: {by!r} is not one of owner, team (or nothing)")
    as_of, since = as_utc(as_of), as_utc(since)
    entries = stage_entries(tables)
    if entries is None:
        return []
    stages = tables["stages"]
    deals = tables["deals"]
    ent = entries.join(deals.select("deal_id", "pipeline"), "deal_id")
    ent = ent.join(stages.select("pipeline", "stage", "position", "kind"), ["pipeline", "stage"])
    # how far each deal got: a move into a lost stage is not progress (lost stages sit after the open ones)
    forward = ent.filter(ent.kind != "lost")
    reached = forward.group_by("deal_id").agg(max_position=forward.position.max())
    cohort = ent.filter((ent.kind == "open") & (ent.first_at >= since) & (ent.first_at <= as_of))
    cohort = cohort.join(deals.select("deal_id", "owner_id", "status"), "deal_id")
    cohort = cohort.left_join(reached, "deal_id").drop("deal_id_right")
    past = (cohort.max_position.fill_null(0) > cohort.position) | (cohort.status == "won")
    grouped = cohort.group_by(["pipeline", "owner_id", "stage", "position"]).agg(
        entered=cohort.deal_id.count(),
        advanced=past.sum(),
        lost_here=((cohort.status == "lost") & ~past).sum(),
        won=(cohort.status == "won").sum(),
        closed=cohort.status.isin(["won", "lost"]).sum(),
    )
    rows = grouped.to_pyarrow().to_pylist()
    order = stages.filter(stages.kind == "open").select("pipeline", "stage", "position").to_pyarrow().to_pylist()
    teams = _teams(tables) if by == "team" else {}

    acc: dict[tuple, dict] = {}
    for r in rows:
        if by == "owner":
            segment = r["owner_id"]
            if segment is None:
                continue
        elif by == "team":
            segment = teams.get(r["owner_id"])
            if segment is None:
                continue
        else:
            segment = None
        key = (r["pipeline"], segment, r["stage"])
        a = acc.setdefault(key, {"entered": 0, "advanced": 0, "lost_here": 0, "won": 0, "closed": 0})
        for field in a:
            a[field] += int(r[field] or 0)

    next_stage = {}
    by_pipeline: dict[str, list[dict]] = {}
    for s in order:
        by_pipeline.setdefault(s["pipeline"], []).append(s)
    position = {}
    for pipeline, stage_rows in by_pipeline.items():
        stage_rows.sort(key=lambda s: s["position"])
        for i, s in enumerate(stage_rows):
            position[(pipeline, s["stage"])] = s["position"]
            next_stage[(pipeline, s["stage"])] = stage_rows[i + 1]["stage"] if i + 1 < len(stage_rows) else "won"

    out = []
    for (pipeline, segment, stage), a in acc.items():
        resolved = a["advanced"] + a["lost_here"]
        out.append({
            "pipeline": pipeline, "segment": segment, "stage": stage, "next_stage": next_stage.get((pipeline, stage)),
            **a, "still_here": a["entered"] - a["advanced"] - a["lost_here"],
            "to_next": a["advanced"] / resolved if resolved else None,
            "to_won": a["won"] / a["closed"] if a["closed"] else None,
        })
    out.sort(key=lambda r: (r["pipeline"], r["segment"] or "", position.get((r["pipeline"], r["stage"]), 0)))
    return out
