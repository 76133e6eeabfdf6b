"""Honest coverage of a period's goal, as of a date: raw, fresh, weighted, and the coverage each key needs.

For a fiscal period P (:mod:`bestby.engine.periods`) and a moment ``as_of``,
one row per level (``owner``, ``team``, ``pipeline``) and key:

``goal``
    from quota rows (:mod:`bestby.engine.goals`; the source's ``quotas``
    unless the caller passes goals): an owner's own rows, a team's
    ``team:NAME`` rows; a pipeline has no goal (None). The workspace (level
    ``all``) has the sum of the team goals when any team has one, else the
    sum of the owners' goals (teams often carry a goal above their sellers'
    sum, so the team goals win; adding both would count the same sales twice).
``won``
    the amount of deals won with ``closed_at`` in P and not after ``as_of``:
    the part of the goal already reached.
``to_go``
    ``max(goal - won, 0)``; None without a goal.
``raw``
    the amount of deals open at ``as_of`` whose expected close date is in P
    (what a CRM's coverage counts).
``fresh``
    ``raw`` without the deals the freshness rules put on the clearance list
    (state ``expired`` or ``stalled``).
``weighted``
    the expected won amount in what is left of P: the sum over *every* open
    deal of amount x P(win before P.end | open at as_of), from the engine's
    win model (:mod:`bestby.engine.win`) at the deal's stage and age. Every
    deal counts, because a deal expected later may still close in P, and one
    expected in P may not: the chance says how likely. The chance is scaled
    by the deal's freshness state as the team's past says
    (:mod:`bestby.engine.calibration`). None when the pipeline
    has too little history for a model (then ``weighted_n`` says how many
    deals had no chance).
``raw_coverage``, ``fresh_coverage``, ``weighted_coverage``
    each amount divided by ``to_go``; None when ``to_go`` is None or 0.
``win_rate``
    amount won / amount closed (won + lost) over the key's deals closed in
    the ``lookback_days`` (default 365) before ``as_of``; None with fewer
    than ``MIN_CLOSED`` (20) closed deals, the same floor as the win model:
    a rate from a handful of deals is noise.
``needed``
    ``1 / win_rate``: the raw coverage that reaches the goal at the key's own
    rate. This replaces the rule of thumb "3x" with the team's own number.

Amounts are in the workspace currency; an unknown amount counts as 0. A
deal without an owner counts only at the pipeline level; an owner without a
team has no team row. After P has ended, nothing is left to win (the horizon
is 0 and ``weighted`` is 0).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Callable, Mapping

from bestby.engine.freshness import freshness
from bestby.engine.periods import Period
from bestby.engine.policy import ClearancePolicy
from bestby.engine.rules import Policies
from bestby.engine.sources import as_utc
from bestby.engine.win import WinModel, win_model

__all__ = ["ALL_LEVELS", "LEVELS", "MIN_CLOSED", "coverage", "period_goals"]

LEVELS = ("owner", "team", "pipeline")
ALL_LEVELS = (*LEVELS, "all")  # "all": every deal, one row (the backtest's total)
MIN_CLOSED = 20
STALE = ("expired", "stalled")
_DAY = 86_400.0

# a deal's chance to win within h days, for tests and callers with their own model: (freshness row, h) -> p or None
Chance = Callable[[dict, float], "float | None"]


def _model_chance(model: WinModel) -> Chance:
    def chance(row: dict, horizon: float) -> float | None:
        return model.chances(row["pipeline"], row["stage"], age_days=row["age_days"],
                             stage_age_days=row["stage_age_days"], horizon_days=horizon)
    return chance


def midnight(d) -> datetime:
    """A period boundary (a date) as the UTC instant it starts."""
    return datetime.combine(d, datetime.min.time(), tzinfo=UTC)


def open_deals_and_chances(tables, *, as_of: datetime, period: Period, policy, model, chance, rows,
                           calibrated: bool = True):
    """What coverage and the forecast share: the open deals' freshness rows, each deal's chance function
    (uncalibrated), the horizon (days from ``as_of`` to the period's end, at least 0), and the freshness
    calibration (:mod:`bestby.engine.calibration`) or None.

    ``rows`` and ``chance`` from the caller are used as given (a caller's own
    chance is never calibrated: it is taken to be what the caller means);
    otherwise the win model (fitted here unless ``model`` is given) supplies
    both, and with ``calibrated`` the chances are scaled per freshness state by
    the ratios learned from the team's own past.
    """
    if rows is None or chance is None:
        model = model if model is not None else win_model(tables, as_of=as_of)
    policy = policy or ClearancePolicy()
    if rows is None:
        rows = freshness(tables, as_of=as_of, policy=policy, win_probability=model)
    horizon = max(0.0, (midnight(period.end) - as_of).total_seconds() / _DAY)
    calibration = None
    if chance is None and calibrated and horizon > 0:
        from bestby.engine.calibration import calibrate

        calibration = calibrate(tables, as_of=as_of, horizon_days=horizon, policy=policy)
    return rows, chance or _model_chance(model), horizon, calibration


def calibrated_chance(chance: Chance, calibration) -> Chance:
    """``chance`` scaled by the deal's freshness state's ratio (itself when there is no calibration)."""
    if calibration is None:
        return chance
    return lambda row, h: calibration.chance(chance(row, h), row["state"])


def _closed(tables, as_of: datetime, since: datetime) -> list[dict]:
    d = tables["deals"]
    d = d.filter(d.status.isin(["won", "lost"]) & (d.closed_at >= since) & (d.closed_at <= as_of))
    # ordered: float sums must not depend on the order a parallel scan returns rows in
    return (d.select("deal_id", "owner_id", "pipeline", "status", "amount", "closed_at").order_by("deal_id")
            .to_pyarrow().to_pylist())


def _teams(tables) -> dict[str, str]:
    users = tables.get("users")
    if users is None:
        return {}
    rows = users.select("user_id", "team").to_pyarrow().to_pylist()
    return {r["user_id"]: r["team"] for r in rows if r["team"]}


def _keys(owner: str | None, pipeline: str, teams: Mapping[str, str]) -> list[tuple[str, str]]:
    """The (level, key) pairs a deal counts for: its pipeline, its owner, the owner's team, and everything."""
    keys = [("pipeline", pipeline), ("all", "all")]
    if owner is not None:
        keys.append(("owner", owner))
        if owner in teams:
            keys.append(("team", teams[owner]))
    return keys


def period_goals(tables: dict, period: Period) -> dict[str, Decimal]:
    """Every owner's and team's goal for ``period`` from the source's quota rows."""
    from bestby.engine.goals import goals_by_owner, quota_rows

    return goals_by_owner(quota_rows(tables), period)


def _goal(goals: Mapping[str, Decimal], level: str, key: str) -> Decimal | None:
    """A key's goal (see ``goal`` in the module docstring)."""
    if level == "owner":
        return goals.get(key)
    if level == "team":
        return goals.get(f"team:{key}")
    if level == "all":
        teams = [g for k, g in goals.items() if k.startswith("team:")]
        owners = [g for k, g in goals.items() if not k.startswith("team:")]
        return sum(teams) if teams else sum(owners) if owners else None
    return None


def coverage(tables: dict, *, as_of: datetime, period: Period, goals: Mapping[str, Decimal] | None = None,
             policy: Policies | None = None, lookback_days: int = 365, levels=LEVELS,
             model: WinModel | None = None, chance: Chance | None = None,
             rows: list[dict] | None = None, calibrated: bool = True) -> list[dict]:
    """Coverage rows for ``period`` at ``as_of`` (see the module docstring), ordered by level then key.

    ``goals`` maps owner ids and ``team:NAME`` keys to the period's goal
    (:func:`bestby.engine.goals.goals_by_owner`); None reads the source's quota rows. ``rows`` are the open deals'
    freshness rows when the caller has them; ``chance`` replaces the win model.
    """
    as_of = as_utc(as_of)
    goals = period_goals(tables, period) if goals is None else goals
    rows, chance, horizon, calibration = open_deals_and_chances(
        tables, as_of=as_of, period=period, policy=policy, model=model, chance=chance, rows=rows,
        calibrated=calibrated)
    chance = calibrated_chance(chance, calibration)
    end = midnight(period.end)
    teams = _teams(tables)

    acc: dict[tuple[str, str], dict] = {}

    def bucket(level: str, key: str) -> dict:
        b = acc.get((level, key))
        if b is None:
            b = acc[(level, key)] = {"won": 0.0, "raw": 0.0, "raw_n": 0, "fresh": 0.0, "fresh_n": 0,
                                     "weighted": 0.0, "weighted_n": 0, "unweighted_n": 0, "open_n": 0,
                                     "closed": 0.0, "closed_won": 0.0, "closed_n": 0}
        return b

    for r in rows:
        amount = float(r["amount"] or 0.0)
        in_period = r["close_date"] is not None and r["close_date"] in period
        p = chance(r, horizon) if horizon > 0 else 0.0
        for key in _keys(r["owner_id"], r["pipeline"], teams):
            b = bucket(*key)
            b["open_n"] += 1
            if in_period:
                b["raw"] += amount
                b["raw_n"] += 1
                if r["state"] not in STALE:
                    b["fresh"] += amount
                    b["fresh_n"] += 1
            if p is None or (isinstance(p, float) and math.isnan(p)):
                b["unweighted_n"] += 1
            else:
                b["weighted"] += amount * p
                b["weighted_n"] += 1

    start = midnight(period.start)
    for d in _closed(tables, as_of, min(start, as_of - timedelta(days=lookback_days))):
        amount = float(d["amount"] or 0.0)
        closed_at = as_utc(d["closed_at"])
        for key in _keys(d["owner_id"], d["pipeline"], teams):
            b = bucket(*key)
            if d["status"] == "won" and start <= closed_at < end:
                b["won"] += amount
            if closed_at >= as_of - timedelta(days=lookback_days):
                b["closed"] += amount
                b["closed_n"] += 1
                if d["status"] == "won":
                    b["closed_won"] += amount

    out = []
    for (level, key), b in sorted(acc.items(), key=lambda kv: (ALL_LEVELS.index(kv[0][0]), kv[0][1])):
        if level not in levels:
            continue
        goal = _goal(goals, level, key)
        goal_f = None if goal is None else float(goal)
        to_go = None if goal_f is None else max(goal_f - b["won"], 0.0)
        weighted = b["weighted"] if b["weighted_n"] or not b["unweighted_n"] else None
        rate = b["closed_won"] / b["closed"] if b["closed_n"] >= MIN_CLOSED and b["closed"] > 0 else None

        def ratio(x):
            return None if x is None or not to_go else x / to_go

        out.append({
            "level": level, "key": key, "period": period.label, "as_of": as_of, "goal": goal_f, "won": b["won"],
            "to_go": to_go, "open_n": b["open_n"], "raw": b["raw"], "raw_n": b["raw_n"], "fresh": b["fresh"],
            "fresh_n": b["fresh_n"], "weighted": weighted, "weighted_n": b["weighted_n"],
            "unweighted_n": b["unweighted_n"], "raw_coverage": ratio(b["raw"]), "fresh_coverage": ratio(b["fresh"]),
            "weighted_coverage": ratio(weighted), "closed_n": b["closed_n"], "win_rate": rate,
            "needed": None if not rate else 1.0 / rate,
        })
    return out
