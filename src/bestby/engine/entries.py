"""Stage entries: one row per (deal, stage) with the first and the last time the deal entered it.

``stage_entries(tables)`` reduces the stage events (the large table) once, by
the tables' backend, to ``deal_id, stage, first_at, last_at`` (min and max of
``at`` over the deal's events into ``stage``); on DuckDB the result is kept as
a temporary table (:func:`bestby.engine.sources.materialize`) because several
analytics read it: the freshness facts (current stage entry, first and second
meeting), the learned first-to-second meeting gap and the win model's stage
clocks. Events are those of the source, already cut at ``as_of``.
"""

from __future__ import annotations

import ibis

from bestby.engine.sources import materialize

__all__ = ["stage_entries"]


def stage_entries(tables: dict[str, ibis.Table]) -> ibis.Table | None:
    """Build (and on DuckDB compute once): per deal and stage entered, the first and last entry time."""
    if "stage_events" not in tables:
        return None
    ev = tables["stage_events"]
    agg = ev.group_by(deal_id=ev.deal_id, stage=ev.to_stage).agg(first_at=ev.at.min(), last_at=ev.at.max())
    return materialize(agg)
