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
from datetime import UTC, datetime

import ibis
import numpy as np

from bestby.engine.survival import CENSORED, LOST, N_MIN, WON, CompetingRisks, fit

__all__ = ["WinModel", "win_model"]

_DAY = 86_400.0


def _seconds(col) -> np.ndarray:
    """Epoch seconds of a timestamp column (pandas/NumPy), NaN where missing."""
    values = col.to_numpy(dtype="datetime64[us]") if hasattr(col, "to_numpy") else np.asarray(col)
    out = values.astype("int64").astype(float) / 1e6
    out[np.isnat(values)] = np.nan
    return out


def _outcomes(status: np.ndarray) -> np.ndarray:
    return np.where(status == "won", WON, np.where(status == "lost", LOST, CENSORED))


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


def _frames(tables: dict[str, ibis.Table]):
    d = tables["deals"]
    deals = d.select("deal_id", "pipeline", "status", "created_at", "closed_at").execute()
    visits = None
    if "stage_events" in tables:
        ev = tables["stage_events"]
        st = tables["stages"]
        opened = st.filter(st.kind == "open").select(s_pipeline="pipeline", s_stage="stage")
        per = ev.group_by(v_deal=ev.deal_id, stage=ev.to_stage).agg(entered_at=ev.at.max())
        per = per.join(d.select("deal_id", "pipeline", "status", "closed_at"), per.v_deal == d.deal_id)
        per = per.join(opened, [per.pipeline == opened.s_pipeline, per.stage == opened.s_stage])
        visits = per.select("pipeline", "stage", "status", "entered_at", "closed_at").execute()
    return deals, visits


def win_model(tables: dict[str, ibis.Table], *, as_of: datetime, n_min: int = N_MIN) -> WinModel:
    """Fit the pipeline and stage curves on the tables known at ``as_of`` (rules in the module docstring)."""
    as_of = as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of.astimezone(UTC)
    now = as_of.timestamp()
    deals, visits = _frames(tables)
    model = WinModel(as_of=as_of, n_min=n_min)

    def durations(start: np.ndarray, end: np.ndarray) -> np.ndarray:
        stop = np.where(np.isnan(end), now, end)
        return np.maximum(0.0, (stop - start) / _DAY)

    status = deals["status"].fillna("open").to_numpy(dtype=object)
    created, closed = _seconds(deals["created_at"]), _seconds(deals["closed_at"])
    pipeline = deals["pipeline"].to_numpy(dtype=object)
    for name in sorted(set(pipeline)):
        m = (pipeline == name) & ~np.isnan(created)
        model.pipelines[name] = fit(durations(created[m], closed[m]), _outcomes(status[m]), n_min=n_min)
    if visits is not None and len(visits):
        v_status = visits["status"].fillna("open").to_numpy(dtype=object)
        entered, v_closed = _seconds(visits["entered_at"]), _seconds(visits["closed_at"])
        groups = visits.groupby(["pipeline", "stage"], sort=True).indices  # {(pipeline, stage): row numbers}
        for key, idx in groups.items():
            model.stages[key] = fit(durations(entered[idx], v_closed[idx]), _outcomes(v_status[idx]),
                                    wider=model.pipelines.get(key[0]), n_min=n_min)
    return model
