"""Shelf life per segment (with fallback), over a lookback window, and on the business clock: hand-computed.

Uses the hand-made folder of ``test_shelf_life`` (its comments give each
deal's cycle and stage visits) with owners, teams, sources and amounts added.
Quantiles are type 7: for sorted x and h = (n - 1) q, x[floor h] + frac(h) (x[floor h + 1] - x[floor h]).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bestby.engine.clock import add_days, business_time, elapsed, from_business_time
from bestby.engine.shelf_life import shelf_life
from bestby.engine.sources import folder_tables
from tests.engine.test_shelf_life import CLOSE_DATE_EVENTS, DEALS, EVENTS, LATE, STAGES, write_csv

OWNERS = {"D1": "u1", "D2": "u1", "D3": "u2", "D4": "u2", "D5": "u1", "D6": "u2", "D7": "u1", "D8": ""}
SOURCES = {"D1": "referral", "D2": "referral", "D3": "referral"}
AMOUNTS = {f"D{i}": str(100 * i) for i in range(1, 9)}


@pytest.fixture
def tables(tmp_path):
    write_csv(tmp_path / "stages.csv", ["pipeline", "stage", "position", "kind"], STAGES)
    write_csv(tmp_path / "deals.csv",
              ["deal_id", "pipeline", "created_at", "stage", "status", "closed_at", "owner_id", "source", "amount"],
              [[d[0], "p", *d[1:], OWNERS[d[0]], SOURCES.get(d[0], ""), AMOUNTS[d[0]]] for d in DEALS])
    write_csv(tmp_path / "stage_events.csv", ["deal_id", "at", "to_stage", "from_stage"], EVENTS)
    write_csv(tmp_path / "close_date_events.csv", ["deal_id", "at", "new_close_date", "old_close_date"],
              CLOSE_DATE_EVENTS)
    write_csv(tmp_path / "users.csv", ["user_id", "team"], [["u1", "A"], ["u2", "B"]])
    return folder_tables(tmp_path, as_of=LATE)


def index(rows):
    return {(r["segment"], r["stage"]): r for r in rows}


def figure(row):
    return (pytest.approx(row["days"]) if row["days"] is not None else None, row["n"], row.get("segment_n"),
            row.get("fallback"))


def test_by_owner_own_figures(tables):
    got = index(shelf_life(tables, by="owner", min_n=1))
    # the pipeline rows come first and are unchanged
    assert figure(got[(None, None)]) == (pytest.approx(32.4), 5, None, None)
    # u1 wins: D1 10, D2 20, D7 2 -> [2, 10, 20], h = 1.6 -> 10 + 0.6 x 10 = 16
    assert figure(got[("u1", None)]) == (pytest.approx(16.0), 3, 3, False)
    # u2 wins: D3 30.5, D4 40 -> h = 0.8 -> 30.5 + 0.8 x 9.5 = 38.1
    assert figure(got[("u2", None)]) == (pytest.approx(38.1), 2, 2, False)
    # Qualify: u1 D1 3, D2 5, D7 2 -> [2, 3, 5] -> 3 + 0.6 x 2 = 4.2; u2 D3 1.5, D4 10 and 4 -> 4 + 0.6 x 6 = 7.6
    assert figure(got[("u1", "Qualify")]) == (pytest.approx(4.2), 3, 3, False)
    assert figure(got[("u2", "Qualify")]) == (pytest.approx(7.6), 3, 3, False)
    # Proposal: u1 D1 7, D2 15 -> 7 + 0.8 x 8 = 13.4; u2 D3 29, D4 21 -> 21 + 0.8 x 8 = 27.4
    assert figure(got[("u1", "Proposal")]) == (pytest.approx(13.4), 2, 2, False)
    assert figure(got[("u2", "Proposal")]) == (pytest.approx(27.4), 2, 2, False)
    # D8 has no owner: segment "(none)", no history of its own, so the pipeline's figures, flagged
    assert figure(got[("(none)", None)]) == (pytest.approx(32.4), 5, 0, True)
    assert figure(got[("(none)", "Qualify")]) == (pytest.approx(5.0), 6, 0, True)


def test_small_segments_fall_back_and_say_so(tables):
    rows = shelf_life(tables, by="owner")  # default min_n 20: every owner is too small
    seg = [r for r in rows if r["segment"] is not None]
    assert {r["segment"] for r in seg} == {"u1", "u2", "(none)"}
    assert all(r["fallback"] is True for r in seg)
    got = index(rows)
    assert figure(got[("u1", None)]) == (pytest.approx(32.4), 5, 3, True)
    assert figure(got[("u2", "Proposal")]) == (pytest.approx(24.2), 4, 2, True)


def test_by_team_uses_the_owners_team(tables):
    got = index(shelf_life(tables, by="team", min_n=1))
    assert figure(got[("A", None)]) == (pytest.approx(16.0), 3, 3, False)
    assert figure(got[("B", "Qualify")]) == (pytest.approx(7.6), 3, 3, False)


def test_by_source(tables):
    got = index(shelf_life(tables, by="source", min_n=1))
    # referral wins D1 10, D2 20, D3 30.5 -> h = 1.6 -> 20 + 0.6 x 10.5 = 26.3; others D4 40, D7 2 -> 2 + 0.8 x 38
    assert figure(got[("referral", None)]) == (pytest.approx(26.3), 3, 3, False)
    assert figure(got[("(none)", None)]) == (pytest.approx(32.4), 2, 2, False)


def test_by_amount_band(tables):
    # amounts 100 .. 800: q25 = 200 + 0.75 x 100 = 275, q50 = 450, q75 = 600 + 0.25 x 100 = 625
    got = index(shelf_life(tables, by="amount_band", min_n=1))
    bands = sorted({s for s, _ in got if s is not None})
    assert bands == sorted(["<= 275", "275-450", "450-625", "> 625"])
    # <= 275: D1 10, D2 20 -> 10 + 0.8 x 10 = 18; 275-450: D3 30.5, D4 40 -> 38.1; > 625: D7 2 only
    assert figure(got[("<= 275", None)]) == (pytest.approx(18.0), 2, 2, False)
    assert figure(got[("275-450", None)]) == (pytest.approx(38.1), 2, 2, False)
    assert figure(got[("> 625", None)]) == (pytest.approx(2.0), 1, 1, False)
    # 450-625 (D5 lost, D6 open): no win of its own
    assert figure(got[("450-625", None)]) == (pytest.approx(32.4), 5, 0, True)


def test_unknown_segment_is_refused(tables):
    with pytest.raises(ValueError, match="by must be one of"):
        shelf_life(tables, by="colour")


def test_lookback_counts_figures_that_ended_inside_it(tables):
    rows = index(shelf_life(tables, since=datetime(2024, 1, 21, tzinfo=UTC)))
    # wins closed on or after 01-21: D2 20, D3 30.5, D4 40 -> 30.5 + 0.6 x 9.5 = 36.2
    assert figure(rows[(None, None)]) == (pytest.approx(36.2), 3, None, None)
    # every Qualify exit was before 01-21 (the last, D4's second visit, on 01-20)
    assert rows[(None, "Qualify")]["days"] is None and rows[(None, "Qualify")]["n"] == 0
    # Proposal exits on or after 01-21: D2 15 (01-21), D3 29, D4 21 -> 21 + 0.6 x 8 = 25.8
    assert figure(rows[(None, "Proposal")]) == (pytest.approx(25.8), 3, None, None)


def test_business_days(tables):
    # 2024-01-01 is a Monday. Wins on the business clock:
    #   D1 -> Thu 01-11: 5 + 3 = 8; D2 -> Sun 01-21: 15 (the weekend adds nothing);
    #   D3 -> Wed 01-31 12:00: 20 + 2 + 0.5 = 22.5; D4 -> Sat 02-10: 25 + 5 = 30; D7 -> Wed 01-03: 2
    #   sorted [2, 8, 15, 22.5, 30]: h = 3.2 -> 22.5 + 0.2 x 7.5 = 24
    rows = index(shelf_life(tables, business_days=True))
    assert figure(rows[(None, None)]) == (pytest.approx(24.0), 5, None, None)
    # Qualify visits (all inside the first week except D4's): D1 3, D2 Mon -> Sat 01-06 = 5, D3 1.5, D7 2,
    #   D4 Mon 01-01 -> Thu 01-11 = 8 and Tue 01-16 -> Sat 01-20 = 4 -> [1.5, 2, 3, 4, 5, 8] -> x[4] = 5
    assert figure(rows[(None, "Qualify")]) == (pytest.approx(5.0), 6, None, None)


MON = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(("start", "end", "days"), [
    (MON + timedelta(days=4), MON + timedelta(days=7), 1.0),             # Friday 00:00 -> Monday 00:00
    (MON + timedelta(days=5, hours=12), MON + timedelta(days=7, hours=12), 0.5),  # Saturday noon -> Monday noon
    (MON, MON + timedelta(days=7), 5.0),                                  # a week
    (MON + timedelta(days=5), MON + timedelta(days=6, hours=23), 0.0),    # inside a weekend
    (MON + timedelta(days=2, hours=6), MON + timedelta(days=2, hours=18), 0.5),   # half a Wednesday
])
def test_business_clock_examples(start, end, days):
    assert elapsed(start, end, business=True) == pytest.approx(days)


def test_business_clock_inverse():
    # 3 business days after Thursday noon is Tuesday noon; a best-by ending with Friday is Saturday 00:00
    assert add_days(MON + timedelta(days=3, hours=12), 3, business=True) == MON + timedelta(days=8, hours=12)
    assert add_days(MON, 5, business=True) == MON + timedelta(days=5)
    for hours in range(0, 24 * 14, 7):
        t = MON + timedelta(hours=hours)
        if t.weekday() < 5 and not (t.weekday() == 0 and t.hour == 0):
            assert from_business_time(business_time(t)) == t  # weekday instants round-trip exactly
    # Monday 00:00 has the business time of the Saturday 00:00 before it, the first instant with it
    assert from_business_time(business_time(MON)) == MON - timedelta(days=2)


# ---------------------------------------------------------------- freshness with a segment and on the business clock

@pytest.fixture
def owners_folder(tmp_path):
    # 20 wins of u1 in 10 calendar days (Mon 01-01 -> Thu 01-11: 8 business days),
    # 20 wins of u2 in 40 calendar days (Mon 01-01 -> Sat 02-10: 30 business days);
    # O1 (u1) and O2 (u2) created Friday 03-01, both last touched that day.
    write_csv(tmp_path / "stages.csv", ["pipeline", "stage", "position", "kind"],
              [["p", "Qualify", 1, "open"], ["p", "Won", 2, "won"]])
    deals = [[f"W{i}", "p", "u1" if i <= 20 else "u2", "2024-01-01", "Won", "won",
              "2024-01-11" if i <= 20 else "2024-02-10"] for i in range(1, 41)]
    deals += [["O1", "p", "u1", "2024-03-01", "Qualify", "open", ""], ["O2", "p", "u2", "2024-03-01", "Qualify", "open", ""]]
    write_csv(tmp_path / "deals.csv", ["deal_id", "pipeline", "owner_id", "created_at", "stage", "status", "closed_at"],
              deals)
    write_csv(tmp_path / "touches.csv", ["touch_id", "deal_id", "at", "channel"],
              [["t1", "O1", "2024-03-01", "email"], ["t2", "O2", "2024-03-01", "email"]])
    return tmp_path


AS_OF_APRIL = datetime(2024, 4, 5, tzinfo=UTC)  # a Friday: 35 calendar days, 25 business days after 03-01


def fresh_rows(folder, policy):
    from bestby.engine.freshness import freshness

    tables = folder_tables(folder, as_of=AS_OF_APRIL)
    return {r["deal_id"]: r for r in freshness(tables, as_of=AS_OF_APRIL, policy=policy, win_probability={})}


def test_freshness_uses_the_segment_best_by(owners_folder):
    from bestby.engine.policy import ClearancePolicy

    # the pipeline's cycle: 20 x 10 and 20 x 40 days, h = 39 x 0.8 = 31.2 -> 40; O1 at 35 days: aging
    plain = fresh_rows(owners_folder, ClearancePolicy())
    assert plain["O1"]["cycle_shelf_days"] == pytest.approx(40.0) and plain["O1"]["state"] == "aging"
    assert plain["O1"]["best_by"] == datetime(2024, 4, 10, tzinfo=UTC)
    # by owner: u1 closes in 10 days, so O1 (35 days, idle 35 > 30) is expired; u2's 40 keeps O2 aging
    seg = fresh_rows(owners_folder, ClearancePolicy(segment="owner"))
    assert seg["O1"]["segment"] == "u1" and seg["O1"]["cycle_shelf_days"] == pytest.approx(10.0)
    assert seg["O1"]["state"] == "expired" and seg["O1"]["best_by"] == datetime(2024, 3, 11, tzinfo=UTC)
    assert seg["O2"]["segment"] == "u2" and seg["O2"]["state"] == "aging"


def test_freshness_on_the_business_clock(owners_folder):
    from bestby.engine.policy import ClearancePolicy

    # business cycle: 20 x 8 and 20 x 30 -> 30; O1 is 25 business days old (> 22.5): aging on the cycle
    rows = fresh_rows(owners_folder, ClearancePolicy(business_days=True))
    o1 = rows["O1"]
    assert o1["cycle_shelf_days"] == pytest.approx(30.0) and o1["shelf_unit"] == "business days"
    assert o1["age_days"] == pytest.approx(35.0)  # the row's ages stay calendar days
    assert [r["code"] for r in o1["reasons"]] == ["cycle_aging"]
    assert o1["reasons"][0]["text"] == "open for 25 of its 30 best-by business days"
    # best-by: 30 business days after Friday 03-01 00:00 is six weeks later, Friday 04-12 00:00
    assert o1["best_by"] == datetime(2024, 4, 12, tzinfo=UTC)
    assert o1["staleness"] == pytest.approx(25 / 30)


def test_lookback_in_the_policy(owners_folder):
    from bestby.engine.policy import ClearancePolicy

    # only wins that closed within 60 days before 04-05 (on or after 02-05): u2's 20 wins in 40 days
    rows = fresh_rows(owners_folder, ClearancePolicy(lookback_days=60))
    assert rows["O1"]["cycle_shelf_days"] == pytest.approx(40.0)
    rows = fresh_rows(owners_folder, ClearancePolicy(lookback_days=30))  # none: no cycle shelf life at all
    assert rows["O1"]["cycle_shelf_days"] is None and rows["O1"]["best_by"] is None
