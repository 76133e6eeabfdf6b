"""Coverage of a period's goal, worked by hand on a small folder: raw, fresh, weighted, won, win rate, needed.

The open deals' freshness rows and their chances are given (the freshness
rules and the win model have their own tests); the closed deals come from the
folder through the engine's as-of cut, so a deal won after ``as_of`` is still
open and one closed before the lookback does not count.
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from bestby.engine.coverage import coverage
from bestby.engine.periods import parse_period
from bestby.engine.sources import folder_tables
from tests.engine.csvfiles import write_csv

AS_OF = datetime(2024, 8, 15, tzinfo=UTC)
PERIOD = parse_period("2024-Q3")  # July to September 2024, calendar fiscal year



@pytest.fixture
def tables(tmp_path):
    closed = [["W1", "p", "u1", "1000", "2024-06-01", "Won", "won", "2024-07-10"]]  # won inside the period
    closed += [[f"UW{i}", "p", "u1", "100", "2024-01-01", "Won", "won", f"2024-0{1 + i % 5}-15"] for i in range(9)]
    closed += [[f"UL{i}", "p", "u1", "380", "2024-01-01", "Lost", "lost", f"2024-0{1 + i % 5}-20"] for i in range(15)]
    closed += [[f"VL{i}", "p", "u2", "100", "2024-01-01", "Lost", "lost", "2024-02-10"] for i in range(3)]
    closed += [["OLD", "p", "u1", "10000", "2023-01-01", "Won", "won", "2023-06-01"],  # before the lookback
               ["LATE", "p", "u1", "7777", "2024-07-01", "Won", "won", "2024-09-01"]]  # won after as_of: open then
    write_csv(tmp_path / "deals.csv",
           ["deal_id", "pipeline", "owner_id", "amount", "created_at", "stage", "status", "closed_at"], closed)
    write_csv(tmp_path / "stages.csv", ["pipeline", "stage", "position", "kind"],
           [["p", "Qualify", 1, "open"], ["p", "Won", 2, "won"], ["p", "Lost", 3, "lost"]])
    write_csv(tmp_path / "users.csv", ["user_id", "name", "team"],
           [["u1", "Ana", "North"], ["u2", "Ben", "North"], ["u3", "Cy", ""]])
    return folder_tables(tmp_path, as_of=AS_OF)


def _row(deal, owner, pipeline, amount, close, state):
    return {"deal_id": deal, "owner_id": owner, "pipeline": pipeline, "stage": "Qualify", "amount": amount,
            "close_date": close, "state": state, "age_days": 30.0, "stage_age_days": 30.0}


ROWS = [
    _row("O1", "u1", "p", 1000.0, date(2024, 8, 30), "fresh"),
    _row("O2", "u1", "p", 2000.0, date(2024, 9, 30), "stalled"),   # the period's last day
    _row("O3", "u1", "p", 4000.0, date(2024, 10, 1), "aging"),     # the day after: not in raw
    _row("O4", "u2", "p", 500.0, date(2024, 7, 31), "expired"),
    _row("O5", None, "p", 300.0, date(2024, 8, 1), "fresh"),       # no owner: the pipeline only
    _row("O6", "u3", "q", None, date(2024, 8, 20), "fresh"),       # unknown amount; an owner without a team
]
CHANCE = {"O1": 0.5, "O2": 0.1, "O3": 0.2, "O4": None, "O5": 0.3, "O6": 0.9}
GOALS = {"u1": Decimal(10000), "u2": Decimal(1000), "team:North": Decimal(20000)}


def _chance(row, horizon):
    assert horizon == 47.0  # 2024-08-15 00:00 to 2024-10-01 00:00
    return CHANCE[row["deal_id"]]


def test_coverage_worked_by_hand(tables):
    got = {(r["level"], r["key"]): r for r in coverage(tables, as_of=AS_OF, period=PERIOD, goals=GOALS,
                                                       rows=ROWS, chance=_chance)}
    assert list(got) == [("owner", "u1"), ("owner", "u2"), ("owner", "u3"), ("team", "North"),
                         ("pipeline", "p"), ("pipeline", "q")]
    u1 = got[("owner", "u1")]
    # won in the period so far: W1 (1000); LATE is still open at as_of, OLD is last year
    assert (u1["goal"], u1["won"], u1["to_go"]) == (10000.0, 1000.0, 9000.0)
    assert (u1["raw"], u1["raw_n"], u1["fresh"], u1["fresh_n"]) == (3000.0, 2, 1000.0, 1)
    assert u1["weighted"] == pytest.approx(1000 * 0.5 + 2000 * 0.1 + 4000 * 0.2)  # every open deal: 1500
    assert u1["raw_coverage"] == pytest.approx(3000 / 9000) and u1["fresh_coverage"] == pytest.approx(1000 / 9000)
    assert u1["weighted_coverage"] == pytest.approx(1500 / 9000)
    # the year before as_of: won 1000 + 9 x 100 = 1900 of 1900 + 15 x 380 = 7600 closed; 25 deals
    assert (u1["closed_n"], u1["win_rate"], u1["needed"]) == (25, pytest.approx(0.25), pytest.approx(4.0))

    u2 = got[("owner", "u2")]
    assert (u2["to_go"], u2["raw"], u2["fresh"], u2["weighted"], u2["unweighted_n"]) == (1000.0, 500.0, 0.0, None, 1)
    assert (u2["closed_n"], u2["win_rate"], u2["needed"]) == (3, None, None)  # under 20 closed deals: no rate

    u3 = got[("owner", "u3")]
    assert (u3["goal"], u3["raw"], u3["raw_n"], u3["raw_coverage"]) == (None, 0.0, 1, None)

    north = got[("team", "North")]
    assert (north["goal"], north["won"], north["to_go"], north["raw"], north["fresh"]) == (
        20000.0, 1000.0, 19000.0, 3500.0, 1000.0)
    assert (north["weighted"], north["weighted_n"], north["unweighted_n"]) == (pytest.approx(1500), 3, 1)
    assert north["win_rate"] == pytest.approx(1900 / (7600 + 300)) and north["closed_n"] == 28

    p = got[("pipeline", "p")]
    assert (p["goal"], p["raw"], p["fresh"], p["won"]) == (None, 3800.0, 1300.0, 1000.0)
    assert p["weighted"] == pytest.approx(1500 + 300 * 0.3) and p["raw_coverage"] is None


def test_levels_filter_and_a_finished_period(tables):
    rows = coverage(tables, as_of=AS_OF, period=PERIOD, goals=GOALS, rows=ROWS, chance=_chance, levels=("team",))
    assert [(r["level"], r["key"]) for r in rows] == [("team", "North")]
    before = parse_period("2024-Q2")  # over at as_of: nothing is left to win, weighted is 0
    rows = coverage(tables, as_of=AS_OF, period=before, goals={"u1": Decimal(3000)}, rows=ROWS,
                    chance=lambda r, h: pytest.fail("no chance is asked for a finished period"))
    u1 = next(r for r in rows if r["key"] == "u1")
    # won in Q2 up to as_of: the 9 UW deals closed 01-15..05-15 fall in Q2 when in April or May
    in_q2 = sum(100 for i in range(9) if 1 + i % 5 in (4, 5))
    assert (u1["won"], u1["weighted"], u1["raw"]) == (float(in_q2), 0.0, 0.0)
    assert u1["to_go"] == 3000.0 - in_q2


# ---------------------------------------------------------------- end to end, against the plain-Python reference

def _reference_coverage(folder, as_of, period, goals, lookback_days=365):
    """Coverage per owner from tests/engine/conformance/reference.py: its cut, freshness, win fits."""
    from datetime import timedelta

    from bestby.engine.policy import ClearancePolicy
    from tests.engine.conformance import reference as ref

    snap = ref.cut(ref.read_folder(folder), as_of)
    model = ref.win_model(snap)
    rows = ref.freshness(snap, ClearancePolicy(), model)
    start = datetime.combine(period.start, datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(period.end, datetime.min.time(), tzinfo=UTC)
    h = max(0.0, (end - as_of).total_seconds() / 86400)

    def within(row):
        fit, clock = ref.win_curve(model, row["pipeline"], row["stage"])
        if fit is None:
            return None
        a = row["stage_age_days"] if clock == "stage" else row["age_days"]
        if a >= fit.t_max or ref.survival_at(fit, a) <= 0:
            return 0.0
        return min(1.0, max(0.0, (ref.cif_win_at(fit, a + h) - ref.cif_win_at(fit, a)) / ref.survival_at(fit, a)))

    out = {}
    for r in rows:
        if r["owner_id"] is None:
            continue
        o = out.setdefault(r["owner_id"], {"raw": 0.0, "fresh": 0.0, "weighted": 0.0, "won": 0.0, "closed": 0.0,
                                           "closed_won": 0.0, "closed_n": 0})
        amount = float(r["amount"] or 0)
        if r["close_date"] is not None and period.start <= r["close_date"] < period.end:
            o["raw"] += amount
            if r["state"] not in ("expired", "stalled"):
                o["fresh"] += amount
        p = within(r)
        o["weighted"] += amount * (p or 0.0)
    for d in snap.deals:
        if d["status"] not in ("won", "lost") or d["owner_id"] is None:
            continue
        o = out.setdefault(d["owner_id"], {"raw": 0.0, "fresh": 0.0, "weighted": 0.0, "won": 0.0, "closed": 0.0,
                                           "closed_won": 0.0, "closed_n": 0})
        closed_at, amount = ref.utc(d["closed_at"]), float(d["amount"] or 0)
        if d["status"] == "won" and start <= closed_at < end:
            o["won"] += amount
        if as_of - timedelta(days=lookback_days) <= closed_at <= as_of:
            o["closed"] += amount
            o["closed_n"] += 1
            o["closed_won"] += amount if d["status"] == "won" else 0.0
    for owner, o in out.items():
        o["win_rate"] = o["closed_won"] / o["closed"] if o["closed_n"] >= 20 and o["closed"] else None
        goal = goals.get(owner)
        o["to_go"] = None if goal is None else max(float(goal) - o["won"], 0.0)
    return out


def test_synth_coverage_matches_the_reference(tmp_path):
    from bestby.engine.goals import goals_by_owner
    from bestby.synth import write_synth

    write_synth(tmp_path, deals=900, seed=11)
    as_of, period = datetime(2025, 11, 15, tzinfo=UTC), parse_period("2025-Q4")
    with (tmp_path / "quotas.csv").open() as fh:
        quota_rows = [(r["owner_id"], date.fromisoformat(r["period_start"]), date.fromisoformat(r["period_end"]),
                       Decimal(r["amount"])) for r in csv.DictReader(fh)]
    goals = goals_by_owner(quota_rows, period)
    # the model's own chances (the freshness calibration scales them; tests/engine/test_calibration.py checks it)
    got = {r["key"]: r for r in coverage(folder_tables(tmp_path, as_of=as_of), as_of=as_of, period=period,
                                         goals=goals, levels=("owner",), calibrated=False)}
    want = _reference_coverage(tmp_path, as_of, period, goals)
    assert set(got) == set(want) and len(got) >= 3
    assert any(w["win_rate"] is not None for w in want.values()) and any(w["raw"] for w in want.values())
    assert any(g["goal"] for g in got.values())
    for owner, w in want.items():
        g = got[owner]
        for key in ("raw", "fresh", "won", "to_go", "win_rate"):
            assert g[key] == (None if w[key] is None else pytest.approx(w[key], rel=1e-9, abs=1e-6)), (owner, key)
        assert (g["weighted"] or 0.0) == pytest.approx(w["weighted"], rel=1e-6, abs=1e-6), owner
        assert g["closed_n"] == w["closed_n"]
