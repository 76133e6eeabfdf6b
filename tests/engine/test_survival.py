"""Aalen-Johansen competing risks (bestby.engine.survival): hand example, ECDF, lifelines, properties."""

from __future__ import annotations

import warnings
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bestby.engine.survival import N_MIN, CompetingRisks, fit

# The hand example: 9 deals (1 = won, 2 = lost, 0 = open at as_of).
#   day 2: won, lost, open   (a win, a loss and a censoring tied)
#   day 3: won
#   day 5: won, won, open    (tied wins, and a censoring at the same time)
#   day 7: lost
#   day 8: open              (longest follow-up: t_max = 8)
DUR = [2, 2, 2, 3, 5, 5, 5, 7, 8]
OUT = [1, 2, 0, 1, 1, 1, 0, 2, 0]
#
# Event times and risk sets (at risk = duration >= t; censored at t still counts):
#   t=2: n=9, d1=1, d2=1  S(2) = 1 * (1 - 2/9)          = 7/9
#                         CIF(2) = 1 * 1/9              = 1/9
#   t=3: n=6 (3,5,5,5,7,8), d1=1
#                         S(3) = 7/9 * (1 - 1/6) = 7/9 * 5/6 = 35/54
#                         CIF(3) = 1/9 + 7/9 * 1/6 = 6/54 + 7/54 = 13/54
#   t=5: n=5 (5,5,5,7,8), d1=2
#                         S(5) = 35/54 * 3/5 = 7/18
#                         CIF(5) = 13/54 + 35/54 * 2/5 = 13/54 + 14/54 = 27/54 = 1/2
#   t=7: n=2 (7,8), d2=1  S(7) = 7/18 * 1/2 = 7/36 ;  CIF(7) = 1/2
#   t=8: censoring only, no event: S(8) = 7/36, CIF(8) = 1/2 (= CIF(inf))
# Check: CIF_lost(inf) = 1/9 (t=2) + 7/18 * 1/2 (t=7) = 4/36 + 7/36 = 11/36,
#        and 1/2 + 11/36 + 7/36 = 18/36 + 18/36 = 1.
S = {0: F(1), 1.9: F(1), 2: F(7, 9), 2.5: F(7, 9), 3: F(35, 54), 4.99: F(35, 54), 5: F(7, 18),
     6: F(7, 18), 7: F(7, 36), 8: F(7, 36), 100: F(7, 36)}
CIF = {0: F(0), 1.9: F(0), 2: F(1, 9), 2.5: F(1, 9), 3: F(13, 54), 4.99: F(13, 54), 5: F(1, 2),
       6: F(1, 2), 7: F(1, 2), 8: F(1, 2), 100: F(1, 2)}


@pytest.fixture(scope="module")
def hand() -> CompetingRisks:
    return fit(DUR, OUT)


def test_counts(hand):
    assert (hand.n, hand.n_won, hand.n_lost, hand.n_censored) == (9, 4, 2, 3)
    assert hand.t_max == 8 and hand.fallback is False
    assert list(hand.times) == [2, 3, 5, 7]


@pytest.mark.parametrize("t", sorted(S))
def test_hand_step_functions(hand, t):
    assert hand.survival(t) == pytest.approx(float(S[t]))
    assert hand.cif_win(t) == pytest.approx(float(CIF[t]))
    assert isinstance(hand.cif_win(t), float)


def test_hand_vectorised(hand):
    ts = np.array(sorted(S))
    np.testing.assert_allclose(hand.survival(ts), [float(S[t]) for t in ts])
    np.testing.assert_allclose(hand.cif_win(ts), [float(CIF[t]) for t in ts])
    assert hand.cif_win(-1.0) == 0.0 and hand.survival(-1.0) == 1.0


def test_hand_losses_complete_the_picture(hand):
    # swapping won and lost gives CIF_lost; CIF_win + CIF_lost + S = 1 at every time
    lost = fit(DUR, [{1: 2, 2: 1}.get(o, 0) for o in OUT])
    assert lost.cif_win(np.inf) == pytest.approx(11 / 36)
    ts = np.linspace(0, 10, 41)
    np.testing.assert_allclose(hand.cif_win(ts) + lost.cif_win(ts) + hand.survival(ts), 1.0)


# P(eventual win | open at a) = (CIF(inf) - CIF(a)) / S(a), CIF(inf) = 1/2:
#   a=0:   (1/2 - 0)     / 1     = 1/2
#   a=2:   (1/2 - 1/9)   / (7/9) = (7/18) * (9/7)   = 1/2
#   a=2.5: same step as a=2      = 1/2
#   a=3:   (1/2 - 13/54) / (35/54) = (14/54) * (54/35) = 2/5
#   a=4:   same step as a=3      = 2/5
#   a=5:   (1/2 - 1/2) / (7/18)  = 0   (no win observed after day 5)
#   a=7.5: 0 (S = 7/36 > 0, formula gives 0), not beyond the data (a deal was seen at 8)
#   a=8, 20: beyond the data (t_max = 8): 0 by definition, flagged
EVENTUALLY = {0: F(1, 2), 2: F(1, 2), 2.5: F(1, 2), 3: F(2, 5), 4: F(2, 5), 5: F(0), 7.5: F(0), 8: F(0), 20: F(0)}


@pytest.mark.parametrize("age", sorted(EVENTUALLY))
def test_hand_p_win_eventually(hand, age):
    assert hand.p_win_eventually(age) == pytest.approx(float(EVENTUALLY[age]))
    assert hand.beyond_data(age) is (age >= 8)


# P(win within h | open at a) = (CIF(a + h) - CIF(a)) / S(a):
#   (0, 1):   (CIF(1) - CIF(0)) / 1          = 0
#   (0, 2):   (1/9 - 0) / 1                  = 1/9
#   (1, 1):   (CIF(2) - CIF(1)) / S(1)       = 1/9
#   (2, 1):   (13/54 - 1/9) / (7/9) = (7/54) * (9/7)        = 1/6
#   (2.5, 2): CIF(4.5) = 13/54, same as (2, 1)              = 1/6
#   (2, 3):   (1/2 - 1/9) / (7/9)                           = 1/2
#   (3, 2):   (1/2 - 13/54) / (35/54)                       = 2/5
#   (3, 1):   CIF(4) = CIF(3)                               = 0
#   (2, inf): = P(eventual win | open at 2)                 = 1/2
#   (9, 5):   beyond the data                               = 0
WITHIN = {(0, 1): F(0), (0, 2): F(1, 9), (1, 1): F(1, 9), (2, 1): F(1, 6), (2.5, 2): F(1, 6),
          (2, 3): F(1, 2), (3, 2): F(2, 5), (3, 1): F(0), (2, np.inf): F(1, 2), (9, 5): F(0)}


@pytest.mark.parametrize("age,horizon", sorted(WITHIN))
def test_hand_p_win_within(hand, age, horizon):
    assert hand.p_win_within(age, horizon) == pytest.approx(float(WITHIN[age, horizon]))


def test_hand_conditional_vectorised(hand):
    ages = np.array(sorted(EVENTUALLY))
    np.testing.assert_allclose(hand.p_win_eventually(ages), [float(EVENTUALLY[a]) for a in ages])
    np.testing.assert_array_equal(hand.beyond_data(ages), ages >= 8)
    keys = sorted(WITHIN)
    got = hand.p_win_within(np.array([k[0] for k in keys]), np.array([k[1] for k in keys]))
    np.testing.assert_allclose(got, [float(WITHIN[k]) for k in keys])
    # broadcasting: one age, several horizons
    np.testing.assert_allclose(hand.p_win_within(2, np.array([1, 3])), [1 / 6, 1 / 2])


def test_no_censoring_no_losses_is_the_empirical_cdf():
    rng = np.random.default_rng(7)
    d = rng.integers(0, 30, size=50).astype(float)  # with ties
    est = fit(d, np.ones_like(d, dtype=int))
    ts = np.arange(-1, 32, 0.5)
    ecdf = (d[None, :] <= ts[:, None]).mean(axis=1)
    np.testing.assert_allclose(est.cif_win(ts), ecdf)
    np.testing.assert_allclose(est.survival(ts), 1 - ecdf)


def test_matches_lifelines_aalen_johansen():
    lifelines = pytest.importorskip("lifelines")
    rng = np.random.default_rng(20240501)
    n = 300
    # Integer days give many ties within a kind and with censoring. lifelines jitters only ties
    # between DIFFERENT event kinds (jitter_level=0 is refused), so wins fall on even days and
    # losses on odd days; censoring is on any day, tied with both. Days start at 1: lifelines
    # forces its first row (t = 0) to CIF 0, dropping deals won on day 0 (ours counts them;
    # see test_edge_cases).
    won = rng.random(n) < 0.4
    lost = ~won & (rng.random(n) < 0.6)
    d = rng.integers(1, 60, size=n)
    d = np.where(won, d + d % 2, np.where(lost, d | 1, d)).astype(float)
    o = np.where(won, 1, np.where(lost, 2, 0))
    assert len(np.unique(d[o == 1])) < (o == 1).sum() and np.isin(d[o == 0], d[o != 0]).any()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a jitter warning would mean the comparison is not exact
        ajf = lifelines.AalenJohansenFitter(calculate_variance=False).fit(d, o, event_of_interest=1)
    ref = ajf.cumulative_density_["CIF_1"]
    ours = fit(d, o)
    np.testing.assert_allclose(ours.cif_win(ref.index.to_numpy(dtype=float)), ref.to_numpy(), atol=1e-12)
    km = lifelines.KaplanMeierFitter().fit(d, o != 0).survival_function_.iloc[:, 0]
    np.testing.assert_allclose(ours.survival(km.index.to_numpy(dtype=float)), km.to_numpy(), atol=1e-12)


def test_small_sample_falls_back_to_wider_group():
    rng = np.random.default_rng(1)
    wide = fit(rng.integers(0, 40, 200), rng.integers(0, 3, 200))
    few = ([1, 2, 3, 4, 5], [1, 1, 2, 0, 0])  # 4 closed deals < N_MIN
    used = fit(*few, wider=wide)
    assert used.fallback is True and used.n == wide.n
    assert used.p_win_eventually(3.0) == wide.p_win_eventually(3.0)
    own = fit(*few)
    assert own.fallback is False and own.n == 5
    # enough closed deals: the group's own estimate even when a wider one is offered
    d = np.arange(N_MIN, dtype=float)
    enough = fit(d, np.ones(N_MIN, dtype=int), wider=wide)
    assert enough.fallback is False and enough.n == N_MIN


def test_edge_cases():
    empty = fit([], [])
    assert empty.n == 0 and empty.cif_win(5.0) == 0.0 and empty.survival(5.0) == 1.0
    assert empty.p_win_eventually(0.0) == 0.0 and empty.beyond_data(0.0) is True
    everyone = fit([1, 2, 2], [1, 2, 1])  # S reaches 0 at t=2: 0/0 there is defined as 0
    assert everyone.survival(2.0) == 0.0
    assert everyone.p_win_eventually(2.0) == 0.0 and everyone.p_win_within(3.0, 1.0) == 0.0
    assert everyone.p_win_eventually(1.0) == pytest.approx(0.5)  # (2/3 - 1/3) / (2/3)
    same_day = fit([0.0, 0.0, 4.0], [1, 0, 2])  # won on the day of entry
    assert same_day.cif_win(0.0) == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        fit([1, 2], [1])
    with pytest.raises(ValueError):
        fit([1, -2], [1, 0])
    with pytest.raises(ValueError):
        fit([1, 2], [1, 3])
    with pytest.raises(ValueError):
        fit([1, np.nan], [1, 0])
    with pytest.raises(ValueError):
        fit(DUR, OUT).p_win_within(-1.0, 2.0)
    with pytest.raises(ValueError):
        fit(DUR, OUT).p_win_eventually(np.nan)


samples = st.lists(st.tuples(st.integers(0, 30).map(float) | st.floats(0, 30, allow_nan=False),
                             st.sampled_from([0, 1, 2])), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(samples)
def test_properties(rows):
    d, o = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    est = fit(d, o)
    ts = np.concatenate((np.linspace(-1, 32, 67), d))
    ts.sort()
    cif, s = est.cif_win(ts), est.survival(ts)
    tol = 1e-12
    assert (cif >= -tol).all() and (cif <= 1 - s + tol).all()
    assert (np.diff(cif) >= -tol).all() and (np.diff(s) <= tol).all()
    ages = np.concatenate((np.linspace(0, 32, 33), d))
    ev = est.p_win_eventually(ages)
    assert ((0 <= ev) & (ev <= 1)).all()
    for h in (0.0, 1.0, 7.5, 30.0, np.inf):
        within = est.p_win_within(ages, h)
        assert ((0 <= within) & (within <= ev + tol)).all()
    np.testing.assert_allclose(est.p_win_within(ages, np.inf), ev)
    assert est.n == len(rows) and est.n_won + est.n_lost + est.n_censored == est.n
