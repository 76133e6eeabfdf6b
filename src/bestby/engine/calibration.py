"""Freshness calibration: the win model's chances, scaled per freshness state by what the team's own past shows.

Why: the win model (:mod:`bestby.engine.win`) gives P(win within h days |
open at its age in its stage), fitted on deals that reached each stage, with
deals still open treated as censored. A deal that has gone quiet stays open,
so it is censored like an active one, and a stalled deal gets the chance of
an active deal of its age. Backtests on synth data showed it: at quarter
starts, stalled deals won about a fifth of what the model said, expired deals
almost nothing, fresh deals about what it said. The freshness state
(:mod:`bestby.engine.rules`: fresh, aging, expired, stalled) carries the
signal the curves miss, so the correction is learned per state.

Specification. For a forecast at ``as_of`` = T with horizon h days:

1. **Calibration snapshots** c_j = T - h - j x ``STEP_DAYS`` for
   j = 0 .. ``SNAPSHOTS`` - 1, so that c_j + h <= T: every outcome is known at
   T (the point-in-time rule: nothing after T is read). A snapshot with
   less than ``MIN_HISTORY_DAYS`` (180) of history before it (from the first
   deal's creation) is skipped: its shelf lives, and so its states, come from
   the short visits that had ended by then (the long ones were still open),
   and its states mean something else than later ones. (On synth data the
   stalled deals of a snapshot three months into the data won 2.75 times
   what the model said; half a year in, a quarter of it.)
2. At each c_j, the sources are cut at c_j (:func:`bestby.engine.sources.recut`,
   on a local DuckDB copy of the rows known at T when they live elsewhere),
   the win model is fitted at c_j and the freshness rules run at c_j. For each
   open deal i: amount a_i, model chance p_i of a win within h days, state
   s_i, and y_i = 1 when it was won in [c_j, c_j + h) as known at T.
3. Per state s, over every snapshot, with Abar_s the mean amount of its deals:

       w_s = sum a_i y_i / Abar_s      (won, in deals of the state's mean size)
       e_s = sum a_i p_i / Abar_s      (what the model expected, same unit)
       r_s ~ Gamma(shape = w_s + K, rate = e_s + K),   K = ``PRIOR`` = 10

   the posterior of a Poisson rate ratio (wins ~ Poisson(r x expected)) under
   a Gamma(K, K) prior of mean 1: with no evidence r_s = 1 (the model as
   fitted); ten expected wins of evidence move it halfway. Amount-weighted,
   because the forecast is an amount and larger deals win less often than
   the curves (which do not see amounts) say; measured in deals of the mean
   size, so that the prior weighs as ten deals whatever the currency.
4. A deal's calibrated chance is ``min(1, p x mean(r_s))`` with
   mean(r_s) = (w_s + K) / (e_s + K). The forecast draws r_s from its
   posterior once per simulated draw (shared by every deal of the state):
   the ratio's own uncertainty then widens P10-P90 as a common factor, which
   independent per-deal draws cannot do.

Constants: ``SNAPSHOTS`` = 4 and ``STEP_DAYS`` = 28 take four monthly starting
points (about a season of evidence, several hundred deals on a team of ten)
at four fits' cost; ``PRIOR`` = 10: below ten expected wins a state's own
ratio is mostly noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from bestby.engine.rules import STATES, Policies
from bestby.engine.sources import as_utc, local_copy, recut

__all__ = ["MIN_HISTORY_DAYS", "PRIOR", "SNAPSHOTS", "STEP_DAYS", "Calibration", "calibrate"]

SNAPSHOTS = 4
STEP_DAYS = 28
MIN_HISTORY_DAYS = 180
PRIOR = 10.0


@dataclass(frozen=True)
class Calibration:
    """Per state: effective wins ``won``, effective expected ``expected`` and deals ``n`` (see the module doc)."""

    won: dict[str, float] = field(default_factory=dict)
    expected: dict[str, float] = field(default_factory=dict)
    n: dict[str, int] = field(default_factory=dict)
    snapshots: int = 0

    def ratio(self, state: str) -> float:
        """The posterior mean of the state's ratio (1 without evidence)."""
        return (self.won.get(state, 0.0) + PRIOR) / (self.expected.get(state, 0.0) + PRIOR)

    def chance(self, p: float | None, state: str) -> float | None:
        return None if p is None else min(1.0, p * self.ratio(state))

    def draws(self, states: list[str], sims: int, rng: np.random.Generator) -> np.ndarray:
        """``len(states) x sims`` ratios drawn from each state's posterior."""
        out = np.empty((len(states), sims))
        for k, s in enumerate(states):
            shape = self.won.get(s, 0.0) + PRIOR
            rate = self.expected.get(s, 0.0) + PRIOR
            out[k] = rng.gamma(shape, 1.0 / rate, sims)
        return out

    def as_dict(self) -> list[dict]:
        return [{"state": s, "ratio": self.ratio(s), "won": self.won.get(s, 0.0),
                 "expected": self.expected.get(s, 0.0), "deals": self.n.get(s, 0)} for s in STATES]


def calibrate(tables: dict, *, as_of: datetime, horizon_days: float, policy: Policies,
              snapshots: int = SNAPSHOTS, step_days: int = STEP_DAYS) -> Calibration:
    """Learn the per-state ratios for a forecast at ``as_of`` over ``horizon_days`` (module docstring).

    ``tables`` are cut at ``as_of``.
    """
    from bestby.engine.freshness import freshness
    from bestby.engine.win import win_model

    as_of = as_utc(as_of)
    if horizon_days <= 0:
        return Calibration()
    h = timedelta(days=horizon_days)
    tables = local_copy(tables)
    deals = tables["deals"]
    first = deals.created_at.min().to_pyarrow().as_py()
    if first is None:
        return Calibration()
    won_at = {r["deal_id"]: as_utc(r["closed_at"]) for r in
              deals.filter(deals.status == "won").select("deal_id", "closed_at").to_pyarrow().to_pylist()}
    earliest = as_utc(first) + timedelta(days=MIN_HISTORY_DAYS)
    won: dict[str, float] = {}  # per state: sum a*y, then in deals of the state's mean amount
    exp: dict[str, float] = {}  # per state: sum a*p, likewise
    amount_sum: dict[str, float] = {}
    n: dict[str, int] = {}
    used = 0
    for j in range(snapshots):
        c = as_of - h - timedelta(days=j * step_days)
        if c < earliest:
            break
        cut = recut(tables, c)
        model = win_model(cut, as_of=c)
        rows = freshness(cut, as_of=c, policy=policy, win_probability=model)
        used += 1
        for r in rows:
            p = model.chances(r["pipeline"], r["stage"], age_days=r["age_days"], stage_age_days=r["stage_age_days"],
                              horizon_days=horizon_days)
            if p is None or np.isnan(p):
                continue
            a = float(r["amount"] or 0.0)
            at = won_at.get(r["deal_id"])
            y = at is not None and c <= at < c + h
            s = r["state"]
            n[s] = n.get(s, 0) + 1
            amount_sum[s] = amount_sum.get(s, 0.0) + a
            won[s] = won.get(s, 0.0) + a * y
            exp[s] = exp.get(s, 0.0) + a * p
    for s in list(won):
        mean = amount_sum[s] / n[s]
        won[s], exp[s] = (won[s] / mean, exp[s] / mean) if mean > 0 else (0.0, 0.0)
    return Calibration(won=won, expected=exp, n=n, snapshots=used)
