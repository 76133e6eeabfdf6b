"""The reference itself, checked against figures worked out by hand (no engine, no database).

The conformance tests trust ``reference.py``; these pin it to hand-worked
values of the edge folders (``cases.py``), so that a mistake in the reference
cannot silently agree with the same mistake in the engine.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bestby.engine.policy import ClearancePolicy
from tests.engine.conformance import reference as R
from tests.engine.conformance.cases import (WIN_AS_OF, write_derived, write_edges, write_late_close_date,
                                             write_tiny_shelf, write_win)

POLICY = ClearancePolicy()


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(scope="module")
def edges(tmp_path_factory):
    return R.read_folder(write_edges(tmp_path_factory.mktemp("edges")))


def test_type_7_quantile():
    assert R.quantile7([4, 1, 3, 2], 0.8) == pytest.approx(3.4)  # h = 2.4: 3 + 0.4 x (4 - 3)
    assert R.quantile7([7.0], 0.8) == 7.0
    assert R.quantile7([], 0.8) is None
    assert R.quantile7([1, 2, 3], 1.0) == 3


def test_edges_shelf_life_by_hand(edges):
    # cycle: B1 31 days, B8 01-10 -> 03-01 = 51 days; h = 0.8: 31 + 0.8 x 20 = 47
    # Qualify: B1 4, B2 0 (tie, lower position first), B5 3 5/12, B7 2, B8 51 (B4 -> Lost does not count)
    #          sorted [0, 2, 3.417, 4, 51], h = 3.2: 4 + 0.2 x 47 = 13.4
    # 1st meeting: B1 10 (after its move back), B2 10; Proof: B1 12 (its first visit left backward)
    rows = R.shelf_life(R.cut(edges, at(2024, 4, 20)), q=0.8)
    got = [(r["pipeline"], r["stage"], None if r["days"] is None else round(r["days"], 9), r["n"]) for r in rows]
    assert got == [
        ("default", None, 47.0, 2), ("default", "Qualify", 13.4, 5), ("default", "1st meeting", 10.0, 2),
        ("default", "Proof", 12.0, 1), ("default", "2nd meeting", None, 0), ("default", "Proposal", None, 0),
        ("renewals", "Review", None, 0),
    ]


def test_edges_cut_by_hand(edges):
    tie = {d["deal_id"]: d for d in R.cut(edges, at(2024, 1, 3)).deals}
    assert tie["B2"]["stage"] == "1st meeting"  # two events at the same instant: the higher position wins
    snap = R.cut(edges, at(2024, 2, 1))
    deals = {d["deal_id"]: d for d in snap.deals}
    assert (deals["B1"]["status"], deals["B1"]["closed_at"]) == ("won", at(2024, 2, 1))  # closed exactly at as_of
    assert (deals["B8"]["status"], deals["B8"]["stage"], deals["B8"]["closed_at"]) == ("open", "Qualify", None)
    assert deals["B5"]["close_date"] == date(2024, 2, 10)  # pushed to 02-15, pulled in to 02-10
    assert "R1" in deals and all(e["at"] <= at(2024, 2, 1) for e in snap.touches)


def test_edges_states_by_hand(edges):
    rows = {r["deal_id"]: r for r in R.freshness(R.cut(edges, at(2024, 4, 20)), POLICY)}
    assert sorted(rows) == ["B2", "B3", "B5", "B6", "B7", "R1"]
    assert (rows["B2"]["state"], rows["B2"]["reason_codes"]) == (
        "stalled", ["close_date_parked", "no_touch", "past_cycle_best_by"])  # 99 days since 01-12; 04-30 parked
    assert rows["B2"]["close_date_pushes"] == 3 and rows["B2"]["close_date_pushes_in_stage"] == 1
    assert rows["B3"]["days_since_touch"] is None  # social only
    assert (rows["B3"]["state"], rows["B3"]["reason_codes"]) == (
        "stalled", ["close_date_past", "no_touch", "past_cycle_best_by", "past_stage_best_by"])
    assert rows["B6"]["days_since_touch"] == 90.0  # exactly 90 days: not "no touch"; idle: expired
    assert (rows["B6"]["state"], rows["B6"]["reason_codes"]) == ("expired", ["past_cycle_best_by", "past_stage_best_by"])
    assert (rows["B7"]["state"], rows["B7"]["reason_codes"]) == ("aging", ["past_cycle_best_by", "past_stage_best_by"])
    assert rows["B7"]["second_meeting_held"] and not rows["B5"]["second_meeting_held"]  # +1 day and 1 s vs exactly +1 day
    assert (rows["B5"]["state"], rows["B5"]["reason_codes"]) == (
        "stalled", ["close_date_past", "close_date_pushed", "no_second_meeting", "past_cycle_best_by",
                    "past_stage_best_by"])
    assert (rows["R1"]["state"], rows["R1"]["reason_codes"], rows["R1"]["best_by"]) == ("stalled", ["no_touch"], None)
    # weights: B5 9000 x 102.58/10, B3 2000 x 101/13.4, B6 1500 x 109/13.4, B2 5000 x 108/47, R1 800
    assert rows["B6"]["staleness"] == pytest.approx(109 / 13.4)
    assert R.clearance_order(list(rows.values())) == ["B5", "B3", "B6", "B2", "R1"]


def test_derived_stages_by_hand(tmp_path):
    folder = R.read_folder(write_derived(tmp_path))
    got = [(s["pipeline"], s["stage"], s["position"], s["kind"]) for s in folder.stages]
    assert got == [("default", "Lead", 1, "open"), ("default", "Demo", 2, "open"), ("default", "Closed Won", 3, "won"),
                   ("default", "Closed Lost", 4, "lost"), ("renewals", "Review", 1, "open")]


def test_tiny_shelf_by_hand(tmp_path):
    rows = {r["deal_id"]: r for r in R.freshness(R.cut(R.read_folder(write_tiny_shelf(tmp_path)),
                                                         at(2024, 4, 10, 19, 12)), POLICY)}
    assert rows["C2"]["stage_shelf_days"] == pytest.approx(0.45)  # visits 0.5 and 0.25: 0.25 + 0.8 x 0.25
    assert rows["C2"]["state"] == "expired" and rows["C2"]["staleness"] == pytest.approx(0.8 / 0.45)
    assert rows["C3"]["state"] == "stalled" and rows["C3"]["close_date_pushes_in_stage"] == 2
    assert R.clearance_order(list(rows.values())) == ["C2", "C3"]  # 1000 x 1.78 before 1200 x 1


def test_late_close_date_by_hand(tmp_path):
    folder = R.read_folder(write_late_close_date(tmp_path))
    early = {d["deal_id"]: d["close_date"] for d in R.cut(folder, at(2024, 1, 15)).deals}
    later = {d["deal_id"]: d["close_date"] for d in R.cut(folder, at(2024, 2, 15)).deals}
    assert early == {"D1": None, "D2": date(2024, 1, 10)}
    assert later == {"D1": date(2024, 5, 31), "D2": date(2024, 1, 10)}


# ---------------------------------------------------------------- the win model

def test_n_min_is_the_engines():
    from bestby.engine.survival import N_MIN

    assert R.N_MIN == N_MIN == 20


def test_aalen_johansen_by_hand():
    # won at 1; won, lost and censored at 2 (ties: one n_j, one S(t_j-); the censored deal is at risk at 2);
    # censored at 3; won at 4 (the last deal at risk)
    rows = [(1.0, R.WON), (2.0, R.LOST), (2.0, R.WON), (2.0, R.CENSORED), (3.0, R.CENSORED), (4.0, R.WON)]
    fit = R.aalen_johansen(rows)
    assert fit.times == [1.0, 2.0, 4.0] and fit.t_max == 4.0 and (fit.n_won, fit.n_lost, fit.closed) == (3, 1, 4)
    # t=1: n 6, CIF 1/6, S 5/6; t=2: n 5, CIF 1/6 + 5/6 x 1/5 = 1/3, S 5/6 x 3/5 = 1/2; t=4: n 1, CIF 5/6, S 0
    assert fit.cif == pytest.approx([1 / 6, 1 / 3, 5 / 6]) and fit.surv == pytest.approx([5 / 6, 1 / 2, 0.0])
    assert R.survival_at(fit, 0.5) == 1.0 and R.cif_win_at(fit, 0.5) == 0.0 and R.cif_win_at(fit, 3.9) == pytest.approx(1 / 3)
    assert R.p_win_eventually(fit, 0.0) == pytest.approx(5 / 6)
    assert R.p_win_eventually(fit, 1.0) == pytest.approx((5 / 6 - 1 / 6) / (5 / 6))  # 4/5
    assert R.p_win_eventually(fit, 2.0) == pytest.approx(1.0)                        # (5/6 - 1/3) / (1/2)
    assert R.p_win_eventually(fit, 3.0) == pytest.approx(1.0)
    assert R.p_win_eventually(fit, 4.0) == 0.0 and R.p_win_eventually(fit, 9.0) == 0.0  # at or beyond t_max
    # censoring at the tail: t_max 5 > the last event; ages in (4, 5) have S = 0: defined 0
    assert R.p_win_eventually(R.aalen_johansen([*rows, (5.0, R.CENSORED)]), 4.5) == 0.0
    empty, open_only = R.aalen_johansen([]), R.aalen_johansen([(3.0, R.CENSORED)])
    assert (empty.t_max, R.p_win_eventually(empty, 0.0)) == (0.0, 0.0)
    assert (open_only.times, R.p_win_eventually(open_only, 1.0)) == ([], 0.0)


def test_win_case_by_hand(tmp_path):
    snap = R.cut(R.read_folder(write_win(tmp_path)), WIN_AS_OF)
    model = R.win_model(snap)
    assert {p: f.closed for p, f in model.pipelines.items()} == {"default": 24, "renewals": 3}
    assert {k: f.closed for k, f in model.stages.items()} == {
        ("default", "Qualify"): 24, ("default", "Proposal"): 5, ("renewals", "Review"): 3}
    assert R.win_curve(model, "default", "Qualify")[1] == "stage"
    assert R.win_curve(model, "default", "Proposal") == (model.pipelines["default"], "deal")  # 5 closed: fallback
    assert R.win_curve(model, "default", "Demo") == (model.pipelines["default"], "deal")      # nobody entered it
    assert R.win_curve(model, "renewals", "Review") == (None, None)                          # 3 closed: no model
    rows = {r["deal_id"]: r for r in R.freshness(snap, POLICY, win=model)}
    assert rows["R4"]["win_probability"] is None
    assert rows["O2"]["win_probability"] == pytest.approx(R.p_win_eventually(model.pipelines["default"], 30.0))
    assert rows["O3"]["win_probability"] == 0.0  # the oldest deal in Qualify: beyond the data
    assert rows["O3"]["state"] == "stalled" and "low_win_probability" in rows["O3"]["reason_codes"]
    assert all(r["win_probability"] is None for r in R.freshness(snap, POLICY))  # model off
    assert not any("low_win_probability" in r["reason_codes"] for r in rows.values() if r["deal_id"] != "O3")
