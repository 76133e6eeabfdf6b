"""Survival with competing risks: each open deal's chance to win given its age (DESIGN.md, idea 1).

"Reduce, then model": the engine reduces the big tables to one row per deal;
this module works on those small arrays with NumPy only (no Ibis, no Django).

Input
    ``durations``: days from entry (float, finite, >= 0) until the deal was
    won, lost, or, for a deal still open, until ``as_of``.
    ``outcomes``: 1 = won, 2 = lost, 0 = censored (still open at ``as_of``).
    Won and lost are *competing* outcomes: a lost deal can never be won, so
    treating losses as censored (plain Kaplan-Meier on wins) would overstate
    the chance to win. Open deals are right-censored: we know only that they
    had not closed by their duration.

The Aalen-Johansen estimator
    Let t_1 < t_2 < ... be the distinct times at which at least one deal was
    won or lost. At t_j let

    * n_j  = number at risk = deals with duration >= t_j,
    * d1_j = deals won at t_j, d2_j = deals lost at t_j.

    All-cause Kaplan-Meier (probability of being still open after t):

        S(t) = prod_{t_j <= t} (1 - (d1_j + d2_j) / n_j)

    Cumulative incidence of winning (probability of having been won by t):

        CIF_win(t) = sum_{t_j <= t} S(t_j-) * d1_j / n_j

    where S(t_j-) is S just before t_j (the product over t_i < t_j).
    Both are right-continuous step functions with S(t) = 1 and CIF_win(t) = 0
    for t < t_1; for every t, CIF_win(t) + CIF_lost(t) + S(t) = 1.

Ties
    All wins and losses at the same time are handled together, as in the
    formula: they share the same n_j and the same S(t_j-). There is no
    random jitter (lifelines' ``AalenJohansenFitter`` jitters tied events of
    different kinds; without such ties it gives the same numbers).
    Censoring at the same time as events counts as still at risk at that
    time (the standard convention: a deal open at ``as_of`` with age t was
    exposed to closing at t), so it is in n_j and leaves the risk set only
    after t_j.

Conditional chances for a deal still open at age a (no win or loss at times
<= a, so the denominator is S(a)):

    P(eventual win | open at a)       = (CIF_win(inf) - CIF_win(a)) / S(a)
    P(win within h days | open at a)  = (CIF_win(a + h) - CIF_win(a)) / S(a)

    CIF_win(inf) is CIF_win at the longest observed duration t_max: the data
    say nothing beyond it. With censored deals at the tail, the mass S(t_max)
    is still unresolved, so "eventual" means "by the longest follow-up the
    team has seen"; it is what the history supports, not an extrapolation.

Edge cases
    * Age at or beyond t_max (the longest duration in the data, open or
      closed): no deal in the history was observed older than that, so there
      is no evidence of a later win. Both probabilities are 0 there (for
      a > t_max with S(a) > 0 the formula already gives 0, since CIF_win is
      flat after the last event; where S(a) = 0 the formula is 0/0 and we
      define it as 0 for the same reason). ``beyond_data(age)`` is True for
      those ages so a caller can say "older than any deal in history" instead
      of a bare 0%. We do not carry the last value forward: that would
      promise a chance the history never showed.
    * Results are clipped to [0, 1] against floating-point round-off.
    * Ages and horizons must be >= 0 (``horizon`` may be ``inf``:
      ``p_win_within(a, inf) == p_win_eventually(a)``); negative or NaN
      values raise ``ValueError``. ``cif_win(t)`` and ``survival(t)`` accept
      any real t (before 0 they are 0 and 1).
    * No deals at all: S = 1, CIF_win = 0 everywhere, t_max = 0, so every age
      is beyond the data and every probability is 0.

Small samples
    ``N_MIN = 20`` closed (won + lost) deals. Information about the chance to
    win comes from closed deals; open deals only tell how long others have
    waited. With 20 closed deals one event moves CIF_win by at least 1/20 =
    5 points, and the standard error of a share near 30% is about 10 points
    (sqrt(0.3 * 0.7 / 20)); with fewer, a single deal swings the figure more
    than the differences a manager acts on. Hence ``fit(..., wider=W)``: when
    a group has fewer than ``n_min`` closed deals and a wider group's fit
    ``W`` is given (the stage across segments, the pipeline across stages),
    it returns ``W`` with ``fallback=True``; its ``n``, ``n_won`` ... are
    then those of the wider group, the figures its numbers rest on. Without
    ``wider`` the group's own estimate is returned (``fallback=False``) and
    the caller can see the small counts. No shrinkage blend: a plain switch
    is easy to explain ("too few deals in this segment, using the stage")
    and the Aalen-Johansen curves of two groups do not mix into a valid
    curve by a simple weighted average of conditional probabilities anyway.

Evaluation is vectorised: every method accepts a scalar (returns a float, or
a bool for ``beyond_data``) or an array (returns an array of the broadcast
shape), looked up with ``np.searchsorted`` on the step functions.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

__all__ = ["CENSORED", "LOST", "N_MIN", "WON", "CompetingRisks", "fit"]

CENSORED, WON, LOST = 0, 1, 2
N_MIN = 20  # closed deals below which a wider group's estimate is used (see module docstring)


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=float)
    a.setflags(write=False)
    return a


def _nonnegative(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if np.isnan(x).any() or (x < 0).any():
        raise ValueError(f"{name} must be >= 0 and not NaN")
    return x


def _shape(x: np.ndarray, scalar: bool):
    return x.item() if scalar else x


@dataclass(frozen=True, eq=False)
class CompetingRisks:
    """An Aalen-Johansen fit: step functions S and CIF_win at the event times, and the counts.

    ``times`` are the distinct event times t_1 < ... < t_k; ``surv`` and
    ``cif`` have k + 1 entries: the value before t_1 (1 and 0), then the value
    at and after each t_j. ``t_max`` is the longest duration in the data.
    """

    times: np.ndarray
    surv: np.ndarray
    cif: np.ndarray
    t_max: float
    n: int
    n_won: int
    n_lost: int
    n_censored: int
    fallback: bool = False

    def _index(self, t: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.times, t, side="right")  # number of event times <= t

    def survival(self, t):
        """All-cause S(t): probability of still being open after t days."""
        x = np.asarray(t, dtype=float)
        return _shape(self.surv[self._index(x)], x.ndim == 0)

    def cif_win(self, t):
        """CIF_win(t): probability of having been won by t days."""
        x = np.asarray(t, dtype=float)
        return _shape(self.cif[self._index(x)], x.ndim == 0)

    def beyond_data(self, age):
        """True where no deal in the data was observed at this age or older (the estimate is 0 there)."""
        x = _nonnegative(age, "age")
        return _shape(x >= self.t_max, x.ndim == 0)

    def _conditional(self, age: np.ndarray, upper: np.ndarray) -> np.ndarray:
        s = self.surv[self._index(age)]
        gain = self.cif[self._index(upper)] - self.cif[self._index(age)]
        ok = (s > 0) & (age < self.t_max)
        out = np.divide(gain, s, out=np.zeros(np.broadcast(gain, s).shape), where=ok)
        return np.clip(out, 0.0, 1.0)

    def p_win_eventually(self, age):
        """P(eventual win | open at age) = (CIF_win(inf) - CIF_win(a)) / S(a); 0 beyond the data."""
        a = _nonnegative(age, "age")
        return _shape(self._conditional(a, np.full_like(a, np.inf)), a.ndim == 0)

    def p_win_within(self, age, horizon):
        """P(win within horizon days | open at age) = (CIF_win(a + h) - CIF_win(a)) / S(a); 0 beyond the data."""
        a, h = np.broadcast_arrays(_nonnegative(age, "age"), _nonnegative(horizon, "horizon"))
        return _shape(self._conditional(a, a + h), a.ndim == 0)


def fit(durations, outcomes, *, wider: CompetingRisks | None = None, n_min: int = N_MIN) -> CompetingRisks:
    """Fit the Aalen-Johansen estimator; use ``wider`` (flagged) when fewer than ``n_min`` deals closed."""
    d = np.asarray(durations, dtype=float).ravel()
    o = np.asarray(outcomes).ravel()
    if d.shape != o.shape:
        raise ValueError(f"durations and outcomes differ in length: {d.size} != {o.size}")
    if not np.isfinite(d).all() or (d < 0).any():
        raise ValueError("durations must be finite and >= 0")
    if not np.isin(o, (CENSORED, WON, LOST)).all():
        raise ValueError("outcomes must be 0 (censored), 1 (won) or 2 (lost)")
    o = o.astype(np.int64)
    won, lost = int((o == WON).sum()), int((o == LOST).sum())
    if wider is not None and won + lost < n_min:
        return dataclasses.replace(wider, fallback=True)

    t_unique, inverse = np.unique(d, return_inverse=True)
    k = t_unique.size
    count = np.bincount(inverse, minlength=k)
    d1 = np.bincount(inverse, weights=(o == WON), minlength=k)
    d2 = np.bincount(inverse, weights=(o == LOST), minlength=k)
    at_risk = np.cumsum(count[::-1])[::-1]  # deals with duration >= t (censored at t included)
    event = (d1 + d2) > 0
    t_j, n_j, d1_j, d2_j = t_unique[event], at_risk[event], d1[event], d2[event]
    s_after = np.cumprod(1.0 - (d1_j + d2_j) / n_j)
    s_before = np.concatenate(([1.0], s_after[:-1]))
    cif = np.cumsum(s_before * d1_j / n_j)
    return CompetingRisks(
        times=_readonly(t_j),
        surv=_readonly(np.concatenate(([1.0], s_after))),
        cif=_readonly(np.concatenate(([0.0], cif))),
        t_max=float(d.max()) if d.size else 0.0,
        n=int(d.size), n_won=won, n_lost=lost, n_censored=int((o == CENSORED).sum()),
    )
