"""Each open deal's chance to win, from the team's history (DESIGN.md, idea 1: survival, competing risks).

``win_model(tables, as_of=...)`` reduces the tables of a source (already cut
at ``as_of``) to one row per deal and one row per (deal, stage entered), fits
:func:`bestby.engine.survival.fit` (Aalen-Johansen, won and lost competing,
open deals censored at ``as_of``) per pipeline and per (pipeline, open stage),
and returns a :class:`WinModel` that answers, for every deal open at
``as_of``, P(eventual win | still open) and P(win within h days | still open).

Groups and clocks
    * Stage level, for a deal in open stage s: the population is every deal
      of the pipeline that entered s (its LAST entry into s at or before
      ``as_of``); the clock starts at that entry; the duration runs to the
      deal's ``closed_at`` (outcome won or lost) or to ``as_of`` (open:
      censored). The deal's age on this clock is its time in stage s.
      "Still open" conditions on the deal not having closed, not on its still
      sitting in s: deals that moved on from s are in the risk set too, so
      for a deal stuck in s the figure leans optimistic; it is the chance of a
      deal that entered s this long ago and has not closed.
    * Pipeline level: every deal of the pipeline, clock from ``created_at``
      to ``closed_at`` or ``as_of``; the deal's age is its age.
    * A stage group with fewer than ``survival.N_MIN`` closed deals uses the
      pipeline fit (``fallback``), evaluated at the deal's age on the
      pipeline clock. A pipeline with fewer than ``N_MIN`` closed deals has no
      model: its deals get ``None`` (too little history to say; the low
      win-probability rule then cannot fire), never a number from a handful
      of deals.
    * A closed deal whose close precedes its stage entry (bad data) gets
      duration 0.

Days are fractional calendar days (seconds / 86 400). Only the reduced,
per-deal rows come back to Python; the fits are NumPy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import ibis
import numpy as np

from bestby.engine.clock import days_expr
from bestby.engine.entries import stage_entries
from bestby.engine.sources import as_utc
from bestby.engine.survival import CENSORED, LOST, N_MIN, WON, CompetingRisks, fit

__all__ = ["WinModel", "win_model"]



@dataclass
class WinModel:
    """Fitted curves per pipeline and per (pipeline, stage); evaluate with :meth:`chances`."""

    as_of: datetime
    n_min: int = N_MIN
    pipelines: dict[str, CompetingRisks] = field(default_factory=dict)
    stages: dict[tuple[str, str], CompetingRisks] = field(default_factory=dict)

    def curve(self, pipeline: str, stage: str | None) -> tuple[CompetingRisks | None, str]:
        """The fit a deal in (pipeline, stage) uses, and its clock: ``"stage"`` or ``"deal"``."""
        wide = self.pipelines.get(pipeline)
        if wide is None or wide.n_won + wide.n_lost < self.n_min:
            return None, "deal"
        fitted = self.stages.get((pipeline, stage)) if stage is not None else None
        if fitted is None or fitted.fallback:
            return wide, "deal"
        return fitted, "stage"

    def chances(self, pipeline: str, stage: str | None, *, age_days: float, stage_age_days: float,
                horizon_days: float = math.inf) -> float | None:
        """P(win within ``horizon_days`` | still open) for one deal (eventual when the horizon is inf)."""
        curve, clock = self.curve(pipeline, stage)
        if curve is None:
            return None
        age = max(0.0, stage_age_days if clock == "stage" else age_days)
        return float(curve.p_win_within(age, horizon_days))

    def chances_many(self, pipeline: str, stage: str | None, *, age_days, stage_age_days,
                     horizon_days: float = math.inf) -> np.ndarray | None:
        """:meth:`chances` for arrays of deals of one (pipeline, stage); None when there is no model."""
        curve, clock = self.curve(pipeline, stage)
        if curve is None:
            return None
        age = np.maximum(0.0, np.asarray(stage_age_days if clock == "stage" else age_days, dtype=float))
        return np.asarray(curve.p_win_within(age, horizon_days), dtype=float)


def _outcome(status):
    return ibis.cases((status == "won", WON), (status == "lost", LOST), else_=CENSORED)


def _arrays(t: ibis.Table, keys: list[str]) -> tuple[list[np.ndarray], list[list], np.ndarray, np.ndarray]:
    """Fetch (keys..., days, outcome) as Arrow; keys as integer codes plus their values (no Python strings per row)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = t.to_pyarrow()
    codes, values = [], []
    for key in keys:
        col = table[key]
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        encoded = pc.dictionary_encode(col.cast(pa.string()))
        codes.append(encoded.indices.to_numpy(zero_copy_only=False))
        values.append(encoded.dictionary.to_pylist())
    days = table["days"].to_numpy().astype(float)
    outcome = table["outcome"].to_numpy().astype(np.int64)
    return codes, values, days, outcome


def _groups(codes: list[np.ndarray], values: list[list]):
    """Yield (key tuple, row indices) for every combination of key codes present."""
    if len(codes) == 1:
        combined = codes[0].astype(np.int64)
    else:
        combined = codes[0].astype(np.int64) * (len(values[1]) + 1) + codes[1]
    order = np.argsort(combined, kind="stable")
    uniq, starts = np.unique(combined[order], return_index=True)
    bounds = [*starts[1:], len(order)]
    for u, start, end in zip(uniq, starts, bounds):
        idx = order[start:end]
        first = idx[0]
        yield tuple(values[k][codes[k][first]] for k in range(len(codes))), idx


def win_model(tables: dict[str, ibis.Table], *, as_of: datetime, n_min: int = N_MIN,
              entries: ibis.Table | None = None) -> WinModel:
    """Fit the pipeline and stage curves on the tables known at ``as_of`` (rules in the module docstring).

    The durations (days, >= 0) and outcomes are computed by the tables' backend;
    only those numbers and the group keys come back. ``entries`` is
    :func:`bestby.engine.entries.stage_entries` of the tables, when the caller
    already has it.
    """
    as_of = as_utc(as_of)
    now = ibis.literal(as_of, type="timestamp('UTC')")
    model = WinModel(as_of=as_of, n_min=n_min)

    def days(start, end):
        return ibis.greatest(days_expr(start, end.coalesce(now)), 0.0)

    d = tables["deals"]
    d = d.filter(d.created_at.notnull())
    per_deal = d.select("pipeline", days=days(d.created_at, d.closed_at), outcome=_outcome(d.status))
    codes, values, dur, out = _arrays(per_deal, ["pipeline"])
    for (pipeline,), idx in _groups(codes, values):
        model.pipelines[pipeline] = fit(dur[idx], out[idx], n_min=n_min)
    if "stage_events" in tables:
        st = tables["stages"]
        opened = st.filter(st.kind == "open").select(s_pipeline="pipeline", s_stage="stage")
        entries = stage_entries(tables) if entries is None else entries
        per = entries.select(v_deal=entries.deal_id, stage=entries.stage, entered_at=entries.last_at)
        per = per.join(d.select("deal_id", "pipeline", "status", "closed_at"), per.v_deal == d.deal_id)
        per = per.join(opened, [per.pipeline == opened.s_pipeline, per.stage == opened.s_stage])
        per = per.select("pipeline", "stage", days=days(per.entered_at, per.closed_at), outcome=_outcome(per.status))
        codes, values, dur, out = _arrays(per, ["pipeline", "stage"])
        if len(dur):
            for key, idx in _groups(codes, values):
                model.stages[key] = fit(dur[idx], out[idx], wider=model.pipelines.get(key[0]), n_min=n_min)
    return model
