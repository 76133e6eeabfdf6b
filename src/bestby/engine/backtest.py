"""Backtest: replay the forecast on the team's own past and score it against what was won, beside three baselines.

For each period P of a range and each snapshot ``weeks_in`` w (default 0, 4
and 8 weeks after P starts; a snapshot on or after P's end, or after ``now``,
is skipped), with ``as_of = P.start + 7w days``:

* the **forecast** of everything (level ``all`` of :func:`bestby.engine.forecast.forecast`)
  on the sources cut at ``as_of`` (``tables_at(as_of)``: nothing after
  ``as_of`` is visible), with its P10-P90 and its per-deal chances;
* the **actual**: the amount won with ``closed_at`` in P, read at P's end
  (a period not ended by ``now`` is skipped: its actual is not known yet);
  deals of a pipeline with too little history for a win model add nothing
  to it and are counted in ``unmodelled_n`` (the forecast then says less than
  it could: it does not guess);
* three **baselines**, each "won so far + a share of the open deals whose
  expected close date is in P" (the CRM way: a deal expected elsewhere counts 0):
  ``stage``: the share is the stage's probability (the ``probability`` column
  of stages, else the CRM default by order: the k-th of n open stages gets
  k / (n + 1), evenly spaced below 100%); ``win_rate``: the amount-weighted win
  rate of the deals closed in the 365 days before ``as_of``; ``raw``: all of it
  (share 1).

Scores, per method over all snapshots:

``mape``
    mean of |forecast - actual| / actual over snapshots with actual > 0 (in
    percent; snapshots with actual = 0 are counted in ``zero_actuals`` and
    left out, since any error over 0 is infinite).
``inside``
    share of snapshots whose actual lies in [P10, P90] (the model only:
    baselines give a single number). A calibrated interval holds ~80%.
``brier``
    mean over every open deal of every snapshot of (p - won)^2, where p is
    the method's chance that the deal is won before P ends and ``won`` is 1
    when it was (closed won in [as_of, P.end)). Lower is better; 0.25 is what
    p = 0.5 for everything scores on a balanced outcome.
``calibration``
    the model's per-deal chances in ten bins [0, 0.1), ..., [0.9, 1]: count,
    mean chance, share actually won. A calibrated model has the two close.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Iterable

from bestby.engine.coverage import midnight
from bestby.engine.forecast import SEED, SIMS, forecast
from bestby.engine.freshness import freshness
from bestby.engine.periods import Period
from bestby.engine.policy import ClearancePolicy
from bestby.engine.rules import Policies
from bestby.engine.sources import as_utc
from bestby.engine.win import win_model

__all__ = ["METHODS", "backtest", "stage_shares"]

METHODS = ("model", "stage", "win_rate", "raw")
WIN_RATE_DAYS = 365


def stage_shares(stages: list[dict]) -> dict[tuple[str, str], float]:
    """Each open stage's baseline share: its ``probability`` (0-1 or 0-100), else k / (n + 1) by order."""
    out = {}
    by_pipeline: dict[str, list[dict]] = {}
    for s in stages:
        if s["kind"] == "open":
            by_pipeline.setdefault(s["pipeline"], []).append(s)
    for pipeline, rows in by_pipeline.items():
        rows.sort(key=lambda s: (s["position"] is None, s["position"]))
        n = len(rows)
        for k, s in enumerate(rows, start=1):
            p = s.get("probability")
            if p is not None:
                out[(pipeline, s["stage"])] = p / 100.0 if p > 1 else float(p)
            else:
                out[(pipeline, s["stage"])] = k / (n + 1)
    return out


def _won_in(tables, period: Period) -> dict[str, tuple[datetime, float]]:
    d = tables["deals"]
    d = d.filter((d.status == "won") & (d.closed_at >= midnight(period.start)) & (d.closed_at < midnight(period.end)))
    return {r["deal_id"]: (as_utc(r["closed_at"]), float(r["amount"] or 0.0))
            for r in d.select("deal_id", "closed_at", "amount").to_pyarrow().to_pylist()}


def _win_rate(tables, as_of: datetime) -> float | None:
    d = tables["deals"]
    d = d.filter(d.status.isin(["won", "lost"]) & (d.closed_at >= as_of - timedelta(days=WIN_RATE_DAYS))
                 & (d.closed_at <= as_of))
    rows = d.select("status", "amount").to_pyarrow().to_pylist()
    closed = sum(float(r["amount"] or 0.0) for r in rows)
    won = sum(float(r["amount"] or 0.0) for r in rows if r["status"] == "won")
    return won / closed if closed > 0 else None


def backtest(tables_at: Callable[[datetime], dict], *, periods: Iterable[Period], weeks_in=(0, 4, 8),
             now: datetime, policy: Policies | None = None, sims: int = SIMS, seed: int = SEED,
             on_snapshot: Callable[[Period, int], None] | None = None) -> dict:
    """``{"snapshots": [...], "summary": {method: scores}, "calibration": [...], "skipped": [...]}``."""
    now = as_utc(now)
    policy = policy or ClearancePolicy()
    snapshots, skipped = [], []
    pairs: dict[str, list[tuple[float, int]]] = {m: [] for m in METHODS}
    for period in periods:
        end = midnight(period.end)
        if end > now:
            skipped.append({"period": period.label, "why": "not ended yet: its actual is not known"})
            continue
        won_in = _won_in(tables_at(end), period)
        actual = sum(amount for _at, amount in won_in.values())
        for weeks in weeks_in:
            as_of = midnight(period.start) + timedelta(weeks=weeks)
            if as_of >= end:
                skipped.append({"period": period.label, "weeks_in": weeks, "why": "on or after the period's end"})
                continue
            if on_snapshot:
                on_snapshot(period, weeks)
            tables = tables_at(as_of)
            model = win_model(tables, as_of=as_of)
            rows = freshness(tables, as_of=as_of, policy=policy, win_probability=model)
            fc = forecast(tables, as_of=as_of, period=period, rows=rows, model=model, levels=("all",), sims=sims,
                          seed=seed)
            total = fc["rows"][0] if fc["rows"] else {"won": 0.0, "expected": 0.0, "p10": 0.0, "p50": 0.0,
                                                      "p90": 0.0, "unmodelled_n": 0}
            chance = {d["deal_id"]: d["p"] for d in fc["deals"]}
            shares = stage_shares(tables["stages"].to_pyarrow().to_pylist())
            rate = _win_rate(tables, as_of)
            base = {"stage": total["won"], "win_rate": total["won"], "raw": total["won"]}
            for r in rows:
                expected_in = r["close_date"] is not None and r["close_date"] in period
                amount = float(r["amount"] or 0.0)
                outcome = int(r["deal_id"] in won_in and won_in[r["deal_id"]][0] >= as_of)
                p = {"model": chance.get(r["deal_id"]) or 0.0,
                     "stage": shares.get((r["pipeline"], r["stage"]), 0.0) if expected_in else 0.0,
                     "win_rate": (rate or 0.0) if expected_in else 0.0,
                     "raw": 1.0 if expected_in else 0.0}
                for m in METHODS:
                    pairs[m].append((p[m], outcome))
                for m in ("stage", "win_rate", "raw"):
                    base[m] += amount * p[m]
            snapshots.append({
                "period": period.label, "weeks_in": weeks, "as_of": as_of, "actual": actual,
                "model": total["expected"], "p10": total["p10"], "p50": total["p50"], "p90": total["p90"],
                "won_so_far": total["won"], "open_n": len(rows), "unmodelled_n": total["unmodelled_n"], **base})
    return {"snapshots": snapshots, "summary": _summary(snapshots, pairs), "calibration": _calibration(pairs["model"]),
            "skipped": skipped}


def _summary(snapshots: list[dict], pairs: dict[str, list[tuple[float, int]]]) -> dict:
    out = {}
    for m in METHODS:
        errors = [abs(s[m] - s["actual"]) / s["actual"] for s in snapshots if s["actual"] > 0]
        scored = pairs[m]
        out[m] = {
            "mape": 100.0 * sum(errors) / len(errors) if errors else None,
            "zero_actuals": sum(1 for s in snapshots if s["actual"] <= 0),
            "brier": sum((p - y) ** 2 for p, y in scored) / len(scored) if scored else None,
            "deals": len(scored),
        }
    inside = [s["p10"] <= s["actual"] <= s["p90"] for s in snapshots]
    out["model"]["inside"] = sum(inside) / len(inside) if inside else None
    return out


def _calibration(scored: list[tuple[float, int]]) -> list[dict]:
    bins = [[] for _ in range(10)]
    for p, y in scored:
        bins[min(9, int(p * 10))].append((p, y))
    return [{"low": k / 10, "high": (k + 1) / 10, "n": len(b),
             "mean_p": sum(p for p, _ in b) / len(b) if b else None,
             "won": sum(y for _, y in b) / len(b) if b else None} for k, b in enumerate(bins)]
