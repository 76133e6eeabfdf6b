"""The forecast: its distribution against an exact one, its expected value by hand, the new-deal rate by hand.

Open deals and their chances are given (the freshness rules and the win model
have their own tests); won deals come from a small folder through the
engine's as-of cut.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bestby.engine.forecast import forecast
from bestby.engine.periods import parse_period
from bestby.engine.sources import folder_tables
from tests.engine.csvfiles import write_csv

AS_OF = datetime(2024, 9, 21, tzinfo=UTC)  # 10 days before 2024-Q3 ends (2024-10-01)
PERIOD = parse_period("2024-Q3")



def _day(days_before: float) -> str:
    return (AS_OF - timedelta(days=days_before)).strftime("%Y-%m-%dT%H:%M:%S")


def _tables(tmp_path, won):
    write_csv(tmp_path / "deals.csv", ["deal_id", "pipeline", "owner_id", "amount", "created_at", "stage", "status",
                                    "closed_at"], won)
    write_csv(tmp_path / "stages.csv", ["pipeline", "stage", "position", "kind"],
           [["p", "Qualify", 1, "open"], ["p", "Won", 2, "won"], ["p", "Lost", 3, "lost"]])
    write_csv(tmp_path / "users.csv", ["user_id", "name", "team"], [["u1", "Ana", "T"], ["u2", "Ben", "T"]])
    return folder_tables(tmp_path, as_of=AS_OF)


def _open(deal, owner, amount):
    return {"deal_id": deal, "owner_id": owner, "pipeline": "p", "stage": "Qualify", "amount": amount,
            "close_date": None, "state": "fresh", "age_days": 5.0, "stage_age_days": 5.0}


def _exact_pmf(ps):
    """P(sum of independent Bernoulli(p_i) = k), by the textbook recursion (amounts 1)."""
    pmf = [1.0]
    for p in ps:
        pmf = [(pmf[k] if k < len(pmf) else 0.0) * (1 - p) + (pmf[k - 1] * p if k else 0.0)
               for k in range(len(pmf) + 1)]
    return pmf


def _exact_quantile(pmf, q):
    cdf = np.cumsum(pmf)
    return int(np.searchsorted(cdf, q))  # the smallest k with P(W <= k) >= q


PS = [0.9, 0.8, 0.75, 0.6, 0.4, 0.4, 0.4, 0.25, 0.2, 0.1, 0.1, 0.1]  # no CDF step within 0.04 of 0.1, 0.5, 0.9


def test_distribution_equals_the_exact_poisson_binomial(tmp_path):
    tables = _tables(tmp_path, [["OLD", "p", "u1", "7", _day(900), "Won", "won", _day(800)]])  # not in Q3
    rows = [_open(f"O{i}", "u1" if i % 2 else "u2", 1.0) for i in range(len(PS))]
    p_of = {f"O{i}": p for i, p in enumerate(PS)}
    result = forecast(tables, as_of=AS_OF, period=PERIOD, rows=rows, chance=lambda r, h: p_of[r["deal_id"]])
    team = next(r for r in result["rows"] if r["level"] == "team")
    pmf = _exact_pmf(PS)
    cdf = np.cumsum(pmf)
    for q in (0.1, 0.5, 0.9):  # no CDF step near q: the simulated quantile lands on the exact one
        assert min(abs(cdf - q)) > 0.02
    assert (team["p10"], team["p50"], team["p90"]) == tuple(float(_exact_quantile(pmf, q)) for q in (0.1, 0.5, 0.9))
    assert team["expected"] == pytest.approx(sum(PS)) and team["won"] == 0.0 and team["new_rate"] == 0.0
    owners = {r["key"]: r for r in result["rows"] if r["level"] == "owner"}
    assert owners["u1"]["expected"] + owners["u2"]["expected"] == pytest.approx(team["expected"])
    # every deal's contribution is listed, largest first
    assert [d["deal_id"] for d in result["deals"][:2]] == ["O0", "O1"]
    assert sum(d["contribution"] for d in result["deals"]) == pytest.approx(sum(PS))
    # the same seed gives the same figures
    again = forecast(tables, as_of=AS_OF, period=PERIOD, rows=rows, chance=lambda r, h: p_of[r["deal_id"]])
    assert again["rows"] == result["rows"]


def test_new_deals_rate_by_hand_and_won_so_far(tmp_path):
    won = [
        ["X1", "p", "u1", "100", _day(5), "Won", "won", _day(2)],     # created and won in window 0
        ["X2", "p", "u1", "200", _day(15), "Won", "won", _day(12)],   # window 1
        ["X3", "p", "u1", "999", _day(15), "Won", "won", _day(8)],    # created in window 1, won in window 0: no
        ["X4", "p", "u1", "300", _day(25), "Won", "won", _day(21)],   # window 2
        ["X5", "p", "u1", "999", _day(40), "Won", "won", _day(35)],   # before the 3 windows of a 30-day lookback
        ["X6", "p", "u1", "999", _day(3), "Won", "won", "2024-10-02T00:00:00"],  # won after as_of: open then
    ]
    tables = _tables(tmp_path, won)
    result = forecast(tables, as_of=AS_OF, period=PERIOD, rows=[], chance=lambda r, h: 0.0, lookback_days=30,
                      levels=("owner",))
    [u1] = result["rows"]
    # h = 10 days, k = 30 / 10 = 3 windows; X1, X2, X4 -> lambda = 3 / 3 = 1 with amounts 100, 200, 300
    assert u1["new_rate"] == pytest.approx(1.0) and u1["new_expected"] == pytest.approx(200.0)
    # won in Q3 so far, whatever the windows: X1 (09-19), X2 (09-09), X3 (09-13), X4 (08-31), X5 (08-17);
    # X6 is won after as_of
    assert u1["won"] == 2598.0 and u1["expected"] == pytest.approx(2598.0 + 200.0)
    # no open deal: P(no new win) = e^-1 ~ 0.368, so P10 is the amount already won; P90 adds at least one
    assert u1["p10"] == 2598.0 and u1["p90"] > 2598.0


def test_a_finished_period_forecasts_what_was_won(tmp_path):
    tables = _tables(tmp_path, [["X1", "p", "u1", "100", _day(60), "Won", "won", _day(50)]])  # 2024-08-02: Q3
    result = forecast(tables, as_of=datetime(2024, 10, 5, tzinfo=UTC), period=PERIOD, rows=[_open("O", "u1", 50.0)],
                      chance=lambda r, h: pytest.fail("nothing is left to win"), levels=("owner",))
    [u1] = result["rows"]
    assert (u1["won"], u1["expected"], u1["p10"], u1["p90"], u1["new_rate"]) == (100.0, 100.0, 100.0, 100.0, 0.0)
    assert not math.isnan(u1["p50"])
