"""Freshness, classification rules and the clearance list, from a hand-made FORMAT.md folder with DuckDB.

No database: only the engine (Ibis on an embedded DuckDB). All timestamps are
midnight UTC, so every duration below is a whole number of days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bestby.engine.freshness import classify, clearance_list, freshness, staleness
from bestby.engine.policy import ClearancePolicy
from bestby.engine.shelf_life import shelf_life
from bestby.engine.sources import folder_tables
from tests.engine.csvfiles import write_csv  # noqa: F401 - also imported from here by other tests

AS_OF = datetime(2024, 6, 30, tzinfo=UTC)


STAGES = [["Qualify", 1, "open"], ["1st meeting", 2, "open"], ["Proof", 3, "open"], ["2nd meeting", 4, "open"],
          ["Proposal", 5, "open"], ["Won", 6, "won"], ["Lost", 7, "lost"]]

# deal_id, pipeline, owner_id, amount, created_at, stage, status, closed_at, close_date
DEALS = [
    ["H1", "p", "u1", "1000", "2024-01-01", "Won", "won", "2024-03-11", ""],   # history: the shelf lives
    ["F", "p", "u1", "3000", "2024-06-25", "Qualify", "open", "", "2024-07-31"],
    ["A", "p", "u1", "4000", "2024-05-01", "Proposal", "open", "", "2024-07-15"],
    ["E", "p", "u2", "12000", "2024-04-01", "Proposal", "open", "", "2024-06-15"],
    ["S1", "p", "u2", "5000", "2024-03-01", "Qualify", "open", "", ""],
    ["S2", "p", "u1", "20000", "2024-05-10", "Proof", "open", "", "2024-07-10"],
    ["S3", "p", "u2", "50000", "2024-06-20", "1st meeting", "open", "", ""],
    ["M", "p", "u1", "", "2024-05-01", "Proof", "open", "", ""],
    ["P", "p", "u2", "8000", "2024-05-01", "Proposal", "open", "", ""],
    ["K", "p", "u1", "2000", "2024-06-28", "Won", "won", "2024-07-10", ""],   # won AFTER as_of: open then
    ["Q1", "q", "u3", "1000", "2024-01-15", "Intro", "open", "", ""],        # another pipeline, no history
    ["W", "p", "u2", "7000", "2024-04-01", "Proposal", "open", "", ""],      # past its best-by, still worked
    ["PK", "p", "u1", "900", "2024-06-27", "Qualify", "open", "", "2024-07-31"],  # close date parked
]

# deal_id, at, to_stage
EVENTS = [
    # H1, won: Qualify 10 days, 1st meeting 10, Proof 10, 2nd meeting 10, Proposal 02-10 -> 03-11 = 30;
    # cycle 01-01 -> 03-11 = 31 + 29 + 10 = 70 (the only won deal: cycle shelf life 70).
    # Stage shelf lives (0.8 quantile, type 7, of forward exits of ALL deals, open ones included):
    #   Qualify      H1 10, A 4, E 4, S2 5, S3 5, M 9 -> [4, 4, 5, 5, 9, 10], h = 5 x 0.8 = 4 -> 9
    #   1st meeting  H1 10, A 5, E 5, S2 36, M 46, P 38 -> [5, 5, 10, 36, 38, 46], h = 4 -> 38
    #   Proof        H1 10, A 10, E 5 -> [5, 10, 10], h = 1.6 -> 10 + 0.6 x 0 = 10
    #   Proposal     H1 30 (A, E and P are still there: censored) -> 30
    # K's Qualify visit is censored: its move to Won on 07-10 is after as_of.
    ["H1", "2024-01-01", "Qualify"], ["H1", "2024-01-11", "1st meeting"], ["H1", "2024-01-21", "Proof"],
    ["H1", "2024-01-31", "2nd meeting"], ["H1", "2024-02-10", "Proposal"], ["H1", "2024-03-11", "Won"],
    ["F", "2024-06-25", "Qualify"],
    ["A", "2024-05-01", "Qualify"], ["A", "2024-05-05", "1st meeting"], ["A", "2024-05-10", "Proof"],
    ["A", "2024-05-20", "2nd meeting"], ["A", "2024-06-06", "Proposal"],
    ["E", "2024-04-01", "Qualify"], ["E", "2024-04-05", "1st meeting"], ["E", "2024-04-10", "Proof"],
    ["E", "2024-04-15", "2nd meeting"], ["E", "2024-05-01", "Proposal"],
    ["S1", "2024-03-01", "Qualify"],
    ["S2", "2024-05-10", "Qualify"], ["S2", "2024-05-15", "1st meeting"], ["S2", "2024-06-20", "Proof"],
    ["S3", "2024-06-20", "Qualify"], ["S3", "2024-06-25", "1st meeting"],
    ["M", "2024-05-01", "Qualify"], ["M", "2024-05-10", "1st meeting"], ["M", "2024-06-25", "Proof"],
    ["S1", "2024-07-02", "1st meeting"],  # after as_of: does not exist
    ["P", "2024-05-01", "1st meeting"], ["P", "2024-06-08", "Proposal"],  # skipped the 2nd meeting stage
    ["K", "2024-06-28", "Qualify"], ["K", "2024-07-10", "Won"],
    ["W", "2024-04-01", "Proposal"],   # straight into Proposal: a censored visit, no forward exit
    ["PK", "2024-06-27", "Qualify"],
]

# touch_id, deal_id, at, channel
TOUCHES = [
    ["t1", "F", "2024-06-26", "email"],
    ["t2", "A", "2024-06-20", "phone"],
    ["t3", "E", "2024-05-20", "email"],     # E's last touch: 41 days before as_of, idle (> 30)
    ["t4", "S1", "2024-03-10", "email"],     # S1's last real touch: 03-10 -> 06-30 = 21 + 30 + 31 + 30 = 112 days
    ["t5", "S1", "2024-06-25", "social"],    # a "like" is not a touch
    ["t6", "S1", "2024-07-05", "phone"],     # after as_of: does not exist
    ["t7", "S2", "2024-05-15", "meeting"],   # the first meeting itself (same day): not a second one
    ["t8", "S2", "2024-06-25", "email"],
    ["t9", "S3", "2024-06-25", "meeting"],
    ["t10", "M", "2024-05-20", "meeting"],   # 10 days after M's first meeting: a second meeting
    ["t11", "M", "2024-06-28", "text"],
    ["t12", "P", "2024-06-29", "email"],
    ["t13", "", "2024-06-29", "email"],      # not linked to a deal
    ["t14", "W", "2024-06-29", "phone"],     # W is still worked
    ["t15", "PK", "2024-06-28", "email"],
]

# deal_id, at, new_close_date, old_close_date
CLOSE_DATE_EVENTS = [
    ["F", "2024-06-25", "2024-07-15", ""],            # first setting: not a push
    ["F", "2024-06-27", "2024-07-30", "2024-07-15"],  # push 1 (of 1: not stalled)
    ["S2", "2024-06-01", "2024-06-15", ""],           # first setting
    ["S2", "2024-06-20", "2024-06-30", "2024-06-15"], # push 1, at the moment S2 entered Proof: counts
    ["S2", "2024-06-21", "2024-07-15", "2024-06-30"], # push 2
    ["S2", "2024-06-22", "2024-07-10", "2024-07-15"], # pulled in: not a push (and so not parked either)
    ["A", "2024-05-01", "2024-06-01", ""],            # A: two pushes, both before it entered Proposal on 06-06:
    ["A", "2024-05-15", "2024-06-20", "2024-06-01"],  # re-planning while it moved, not a stall
    ["A", "2024-05-25", "2024-07-15", "2024-06-20"],
    ["PK", "2024-06-27", "2024-07-15", ""],           # first setting
    ["PK", "2024-06-28", "2024-07-31", "2024-07-15"], # pushed to a month end: parked
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    tmp_path = tmp_path_factory.mktemp("fresh")
    write_csv(tmp_path / "stages.csv", ["pipeline", "stage", "position", "kind"], [["p", *s] for s in STAGES])
    write_csv(tmp_path / "deals.csv",
              ["deal_id", "pipeline", "owner_id", "amount", "created_at", "stage", "status", "closed_at",
               "close_date"],
              DEALS)
    write_csv(tmp_path / "stage_events.csv", ["deal_id", "at", "to_stage"], EVENTS)
    write_csv(tmp_path / "touches.csv", ["touch_id", "deal_id", "at", "channel"],
              [[t[0], t[1], t[2], t[3]] for t in TOUCHES])
    write_csv(tmp_path / "close_date_events.csv", ["deal_id", "at", "new_close_date", "old_close_date"],
              CLOSE_DATE_EVENTS)
    return tmp_path


@pytest.fixture(scope="module")
def tables(folder):
    return folder_tables(folder, as_of=AS_OF)


@pytest.fixture(scope="module")
def result(tables) -> list[dict]:
    return freshness(tables, as_of=AS_OF, policy=ClearancePolicy(), win_probability={"S3": 0.04, "F": 0.05})


@pytest.fixture
def rows(result) -> dict[str, dict]:
    return {r["deal_id"]: r for r in result}


def codes(row: dict) -> list[str]:
    return [r["code"] for r in row["reasons"]]


def test_only_open_deals_sorted_by_id(result):
    # H1 is won; K was won after as_of, so it is open then
    assert [r["deal_id"] for r in result] == ["A", "E", "F", "K", "M", "P", "PK", "Q1", "S1", "S2", "S3", "W"]


def test_states(rows):
    assert {k: r["state"] for k, r in rows.items()} == {
        "F": "fresh", "K": "fresh", "A": "aging", "M": "aging", "P": "aging", "W": "aging", "PK": "aging",
        "E": "expired", "S1": "stalled", "S2": "stalled", "S3": "stalled", "Q1": "stalled"}


def test_fresh_deal(rows):
    f = rows["F"]
    # created 06-25: age 5, in Qualify 5 (<= 0.75 x 9); one push; touched 06-26; p = 0.05 is not below the floor
    assert (f["age_days"], f["stage_age_days"], f["days_since_touch"]) == (5, 5, 4)
    assert f["close_date_pushes"] == 1 and f["close_date_past"] is False
    assert f["win_probability"] == 0.05
    # best-by = min(06-25 + 9, 06-25 + 70) = 07-04
    assert f["best_by"] == datetime(2024, 7, 4, tzinfo=UTC)
    assert f["reasons"] == []
    assert f["owner_id"] == "u1" and f["amount"] == 3000.0 and f["pipeline"] == "p"


def test_aging_deal(rows):
    a = rows["A"]
    # Proposal since 06-06: 24 days > 22.5 (0.75 x 30), <= 30; age 05-01 -> 06-30 = 60 > 52.5, <= 70
    assert (a["age_days"], a["stage_age_days"], a["days_since_touch"]) == (60, 24, 10)
    # best-by = min(06-06 + 30 = 07-06, 05-01 + 70 = 07-10)
    assert a["best_by"] == datetime(2024, 7, 6, tzinfo=UTC)
    assert codes(a) == ["stage_aging", "cycle_aging"]
    assert a["win_probability"] is None
    # two pushes, both before the Proposal entry (06-06): not "pushed again and again" while stuck
    assert (a["close_date_pushes"], a["close_date_pushes_in_stage"]) == (2, 0)
    assert a["close_date"] == date(2024, 7, 15) and a["close_date_parked"] is False


def test_expired_deal(rows):
    e = rows["E"]
    # Proposal since 05-01: 60 days > 30; age 04-01 -> 06-30 = 29 + 31 + 30 = 90 > 70; close date 06-15 past by 15
    # idle: last touch 05-20, 41 days ago (> 30), so past its best-by it is expired (not stalled: < 90)
    assert (e["age_days"], e["stage_age_days"], e["days_since_touch"]) == (90, 60, 41)
    assert e["best_by"] == datetime(2024, 5, 31, tzinfo=UTC)  # min(05-01 + 30, 04-01 + 70 = 06-10)
    assert e["close_date_past"] is True
    assert codes(e) == ["past_stage_best_by", "past_cycle_best_by", "close_date_past"]
    assert e["reasons"][0]["text"] == "in Proposal for 60 days; 80% leave within 30"
    assert e["reasons"][2]["text"] == "expected close date passed 15 days ago"
    assert e["staleness"] == pytest.approx(2.0)  # max(60 / 30, 90 / 70)


def test_no_touch_ignores_social_and_the_future(rows):
    s = rows["S1"]
    # the social like of 06-25 and the phone call of 07-05 (after as_of) do not count: last touch 03-10
    assert s["days_since_touch"] == 112
    # the 07-02 stage event is after as_of: still in Qualify since 03-01, 121 days (> 9 and > 70)
    assert s["stage"] == "Qualify" and s["stage_age_days"] == 121 and s["age_days"] == 121
    assert codes(s) == ["past_stage_best_by", "past_cycle_best_by", "no_touch"]
    assert s["reasons"][2]["text"] == "no touch for 112 days"
    assert s["close_date"] is None and s["close_date_past"] is False
    assert s["reasons"][0]["text"] == "in Qualify for 121 days; 80% leave within 9"
    assert s["staleness"] == pytest.approx(121 / 9)  # max(121 / 9, 121 / 70) = 13.44


def test_pushes_and_no_second_meeting(rows):
    s = rows["S2"]
    # two pushes (06-15 -> 06-30 -> 07-15), then a pull-in to 07-10
    assert s["close_date_pushes"] == 2 and s["close_date"] == date(2024, 7, 10)
    assert s["close_date_pushes_in_stage"] == 2 and s["close_date_parked"] is False
    # in Proof since 06-20: 10 days, not past 10 but > 7.5; age 51 <= 52.5;
    # first meeting 05-15 (46 days ago); its same-day meeting touch is not a second meeting
    assert (s["stage_age_days"], s["age_days"]) == (10, 51)
    assert codes(s) == ["stage_aging", "close_date_pushed", "no_second_meeting"]
    assert s["staleness"] == pytest.approx(1.0)


def test_meeting_touch_counts_as_second_meeting(rows):
    m = rows["M"]
    # first meeting 05-10, 51 days ago, no 2nd-meeting stage, but a meeting touch on 05-20
    # in Proof 5 days (fresh), age 60 > 52.5: aging on the cycle only; no amount
    assert codes(m) == ["cycle_aging"]
    assert m["amount"] is None


def test_later_stage_counts_as_second_meeting(rows):
    p = rows["P"]
    # first meeting 05-01, 60 days ago, no 2nd-meeting event or meeting touch, but now in Proposal (position 5 >= 4)
    # in Proposal since 06-08: 22 days <= 22.5; age 60 > 52.5
    assert (p["stage_age_days"], p["age_days"]) == (22, 60)
    assert codes(p) == ["cycle_aging"]


def test_past_best_by_but_worked_is_aging(rows):
    w = rows["W"]
    # Proposal since 04-01: 90 days > 30 and age 90 > 70, but touched 06-29 (1 day ago, not idle): aging
    assert (w["age_days"], w["stage_age_days"], w["days_since_touch"]) == (90, 90, 1)
    assert w["state"] == "aging"
    assert codes(w) == ["past_stage_best_by", "past_cycle_best_by"]
    assert w["reasons"][0]["text"] == "in Proposal for 90 days; 80% leave within 30; still worked (touched 1 days ago)"


def test_close_date_parked_at_month_end(rows):
    k = rows["PK"]
    # pushed on 06-28 from 07-15 to 07-31, the last day of July; in Qualify 3 days, touched 2 days ago
    assert k["close_date"] == date(2024, 7, 31) and k["close_date_parked"] is True
    assert codes(k) == ["close_date_parked"] and k["state"] == "aging"


def test_won_after_as_of_is_open(rows):
    k = rows["K"]
    assert (k["stage"], k["age_days"], k["state"]) == ("Qualify", 2, "fresh")


def test_pipeline_without_history(rows):
    q = rows["Q1"]
    # no shelf life: no best-by, no clock rules; never touched in 01-15 -> 06-30 = 16 + 29 + 31 + 30 + 31 + 30 = 167
    assert q["best_by"] is None and q["staleness"] is None and q["days_since_touch"] is None
    assert q["reasons"] == [{"code": "no_touch", "text": "never touched in 167 days"}]
    assert q["stage_entered_at"] == datetime(2024, 1, 15, tzinfo=UTC)  # no stage event: created_at


def test_low_win_probability(rows):
    s = rows["S3"]
    # in 1st meeting 5 days (shelf 38), age 10: fresh by the clock; p = 0.04 < 0.05
    assert codes(s) == ["low_win_probability"]
    assert s["win_probability"] == 0.04
    assert s["staleness"] == pytest.approx(10 / 70)  # max(5 / 38, 10 / 70)


def test_clearance_list(rows):
    got = clearance_list(list(rows.values()))
    # S1 5000 x 13.44 = 67222; S3 50000 x max(1, 0.14) = 50000; E 12000 x 2 = 24000; S2 20000 x 1 = 20000
    # Q1 has no shelf life (staleness None): 1000 x 1
    assert [r["deal_id"] for r in got] == ["S1", "S3", "E", "S2", "Q1"]


def test_default_shelf_is_learned_and_explicit_shelf_overrides(tables, result):
    explicit = freshness(tables, as_of=AS_OF, policy=ClearancePolicy(), shelf=shelf_life(tables, q=0.8),
                         win_probability={"S3": 0.04, "F": 0.05})
    assert explicit == result
    # a longer Proposal shelf life (100 days) makes A fresh in stage; its cycle is still aging
    shelf = [{"pipeline": "p", "stage": None, "days": 70.0}, {"pipeline": "p", "stage": "Proposal", "days": 100.0}]
    a = {r["deal_id"]: r for r in freshness(tables, as_of=AS_OF, policy=ClearancePolicy(), shelf=shelf)}["A"]
    assert codes(a) == ["cycle_aging"]
    assert a["best_by"] == datetime(2024, 7, 10, tzinfo=UTC)


def test_policy_per_pipeline(tables):
    lenient = ClearancePolicy(no_touch_days=200, stalled_after_pushes=3, no_second_meeting_days=60)
    got = {r["deal_id"]: r for r in freshness(tables, as_of=AS_OF, policy={"p": lenient})}
    assert got["S1"]["state"] == "expired"
    assert codes(got["S2"]) == ["stage_aging"]
    assert codes(got["Q1"]) == ["no_touch"]  # pipeline q is not in the mapping: the defaults


# ---------------------------------------------------------------- classify, rule by rule

BASE = {
    "stage": "Proposal", "age_days": 10.0, "stage_age_days": 5.0, "stage_shelf_days": 20.0,
    "cycle_shelf_days": 100.0, "days_since_touch": 3.0, "close_date_pushes": 0, "close_date_days_past": -10,
    "days_since_first_meeting": None, "second_meeting_held": False, "win_probability": None,
}
POLICY = ClearancePolicy()


def state(**changes) -> tuple[str, list[str]]:
    s, reasons = classify({**BASE, **changes}, POLICY)
    return s, [r["code"] for r in reasons]


def test_classify_base_is_fresh():
    assert state() == ("fresh", [])


@pytest.mark.parametrize(("days", "expected"), [(90, "fresh"), (90.5, "stalled"), (91, "stalled")])
def test_classify_no_touch_boundary(days, expected):
    assert state(days_since_touch=days)[0] == expected


def test_classify_never_touched_counts_from_creation():
    assert state(days_since_touch=None, age_days=90, cycle_shelf_days=None) == ("fresh", [])
    assert state(days_since_touch=None, age_days=91, cycle_shelf_days=None) == ("stalled", ["no_touch"])


@pytest.mark.parametrize(("pushes", "expected"), [(0, "fresh"), (1, "fresh"), (2, "stalled"), (5, "stalled")])
def test_classify_push_boundary(pushes, expected):
    assert state(close_date_pushes=pushes)[0] == expected


def test_classify_stage_best_by_boundaries():
    # shelf 20: aging beyond 15 (0.75 x 20), expired beyond 20
    assert state(stage_age_days=15) == ("fresh", [])
    assert state(stage_age_days=15.5) == ("aging", ["stage_aging"])
    assert state(stage_age_days=20) == ("aging", ["stage_aging"])
    # past the best-by: expired when idle (no touch for more than 30 days), aging while still worked
    assert state(stage_age_days=21, days_since_touch=31) == ("expired", ["past_stage_best_by"])
    assert state(stage_age_days=21, days_since_touch=30) == ("aging", ["past_stage_best_by"])
    assert state(stage_age_days=21) == ("aging", ["past_stage_best_by"])


@pytest.mark.parametrize(("idle", "touched", "expected"), [
    (30, 30.5, "expired"), (30, 30, "aging"), (0, 0.5, "expired"), (0, 0, "aging"), (60, 45, "aging")])
def test_classify_expired_idle_boundary(idle, touched, expected):
    policy = ClearancePolicy(expired_idle_days=idle)
    s, _ = classify({**BASE, "stage_age_days": 25.0, "days_since_touch": touched}, policy)
    assert s == expected


def test_classify_never_touched_idle_counts_from_creation():
    # never touched: idle for its whole age (10 days here, not > 30), so past the stage best-by it is aging
    assert state(stage_age_days=21, days_since_touch=None)[0] == "aging"
    assert state(stage_age_days=21, age_days=31, days_since_touch=None)[0] == "expired"


def test_classify_pushes_count_in_stage_only():
    assert state(close_date_pushes=3, close_date_pushes_in_stage=1) == ("fresh", [])
    assert state(close_date_pushes=3, close_date_pushes_in_stage=2) == ("stalled", ["close_date_pushed"])


def test_classify_second_meeting_allowance_comes_from_facts():
    assert state(days_since_first_meeting=45, second_meeting_days=50.0) == ("fresh", [])
    assert state(days_since_first_meeting=51, second_meeting_days=50.0) == ("stalled", ["no_second_meeting"])


def test_classify_parked_close_date_ages():
    assert state(close_date_parked=True) == ("aging", ["close_date_parked"])


def test_classify_cycle_best_by_boundaries():
    assert state(age_days=75) == ("fresh", [])
    assert state(age_days=76) == ("aging", ["cycle_aging"])
    assert state(age_days=100) == ("aging", ["cycle_aging"])
    assert state(age_days=101, days_since_touch=31) == ("expired", ["past_cycle_best_by"])
    assert state(age_days=101) == ("aging", ["past_cycle_best_by"])


def test_classify_without_shelf_life_no_clock_rules():
    assert state(stage_shelf_days=None, cycle_shelf_days=None, stage_age_days=500, age_days=500,
                 days_since_touch=1) == ("fresh", [])


def test_classify_close_date_past_is_aging():
    assert state(close_date_days_past=0) == ("fresh", [])
    assert state(close_date_days_past=1) == ("aging", ["close_date_past"])
    assert classify({**BASE, "close_date_days_past": 3}, ClearancePolicy(close_date_grace_days=7))[0] == "fresh"


def test_classify_second_meeting_boundary():
    assert state(days_since_first_meeting=30) == ("fresh", [])
    assert state(days_since_first_meeting=31) == ("stalled", ["no_second_meeting"])
    assert state(days_since_first_meeting=31, second_meeting_held=True) == ("fresh", [])


def test_classify_win_probability_floor():
    assert state(win_probability=0.05) == ("fresh", [])
    assert state(win_probability=0.049) == ("stalled", ["low_win_probability"])
    assert state(win_probability=None) == ("fresh", [])


def test_classify_stalled_outranks_expired_and_lists_every_reason():
    got = state(stage_age_days=30, age_days=120, days_since_touch=100, close_date_pushes=2,
                close_date_days_past=5, days_since_first_meeting=40, win_probability=0.01)
    assert got == ("stalled", ["past_stage_best_by", "past_cycle_best_by", "close_date_past", "no_touch",
                               "close_date_pushed", "no_second_meeting", "low_win_probability"])


def test_staleness():
    assert staleness(BASE) == pytest.approx(0.25)  # max(5 / 20, 10 / 100)
    assert staleness({**BASE, "stage_shelf_days": None, "cycle_shelf_days": None}) is None
    assert staleness({**BASE, "stage_shelf_days": 0.0}) == pytest.approx(5.0)  # a zero shelf counts as one day


def test_clearance_list_keeps_expired_and_stalled_only():
    rows = [{"deal_id": "b", "state": "stalled", "amount": 100.0, "staleness": None},
            {"deal_id": "a", "state": "expired", "amount": 50.0, "staleness": 2.0},
            {"deal_id": "c", "state": "aging", "amount": 1e9, "staleness": 0.9},
            {"deal_id": "d", "state": "expired", "amount": None, "staleness": 3.0}]
    assert [r["deal_id"] for r in clearance_list(rows)] == ["a", "b", "d"]  # 100 (tie, by id), 100, 0


# ---------------------------------------------------------------- policy validation

@pytest.mark.parametrize(("field", "value"), [
    ("quantile", 0.0), ("quantile", 1.5), ("quantile", float("nan")), ("aging_fraction", 0),
    ("aging_fraction", 1.2), ("no_touch_days", -1), ("no_touch_days", float("inf")),
    ("stalled_after_pushes", 0), ("stalled_after_pushes", 1.5), ("stalled_after_pushes", True),
    ("close_date_grace_days", -1), ("no_second_meeting_days", "30"),
    ("win_probability_floor", -0.1), ("win_probability_floor", 2),
    ("first_meeting_stage", ""), ("second_meeting_stage", None),
    ("expired_idle_days", -1), ("expired_idle_days", float("nan")), ("no_second_meeting_days", -5),
    ("segment", "colour"), ("segment", ""), ("lookback_days", 0), ("lookback_days", float("inf")),
    ("lookback_days", "90"), ("business_days", "yes"), ("business_days", 1),
])
def test_policy_validation_names_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        ClearancePolicy(**{field: value})


def test_policy_meeting_stages_must_differ():
    with pytest.raises(ValueError, match="second_meeting_stage"):
        ClearancePolicy(first_meeting_stage="Meet", second_meeting_stage="Meet")


def test_policy_defaults_and_frozen():
    p = ClearancePolicy()
    assert (p.quantile, p.aging_fraction, p.no_touch_days, p.stalled_after_pushes, p.win_probability_floor) == (
        0.8, 0.75, 90, 2, 0.05)
    with pytest.raises(AttributeError):
        p.quantile = 0.5  # type: ignore[misc]


# ---------------------------------------------------------------- policies from a file

def test_policy_file_toml_default_and_per_pipeline(tmp_path, tables):
    from bestby.engine.policy import load_policy

    path = tmp_path / "policy.toml"
    path.write_text('[default]\nno_touch_days = 200\n\n[pipelines.q]\nno_touch_days = 100\n', encoding="utf-8")
    policy = load_policy(path)
    assert policy.get("p").no_touch_days == 200 and policy.get("q").no_touch_days == 100
    assert policy.get("q").quantile == 0.8  # untouched settings keep the built-in defaults
    got = {r["deal_id"]: r for r in freshness(tables, as_of=AS_OF, policy=policy, win_probability={})}
    # S1 untouched for 112 days: not stalled under 200 (pipeline p); Q1 never touched in 167 days: stalled under 100
    assert "no_touch" not in codes(got["S1"]) and codes(got["Q1"]) == ["no_touch"]


def test_policy_file_json_single_policy(tmp_path):
    from bestby.engine.policy import ClearancePolicy, load_policy

    path = tmp_path / "policy.json"
    path.write_text('{"default": {"quantile": 0.9, "segment": "owner", "business_days": true}}', encoding="utf-8")
    assert load_policy(path) == ClearancePolicy(quantile=0.9, segment="owner", business_days=True)


@pytest.mark.parametrize(("text", "needle"), [
    ("[default]\nquantile = 2\n", "policy.toml: [default] quantile must be in (0, 1]"),
    ("[default]\nno_touch = 5\n", "policy.toml: [default] unknown setting 'no_touch'"),
    ("[pipelines.Big]\nsegment = 'colour'\n", "policy.toml: [pipelines.Big] segment must be one of"),
    ("[defaults]\n", "policy.toml: unknown section 'defaults'"),
    ("[default\n", "policy.toml: not valid TOML"),
])
def test_policy_file_errors_name_the_section_and_setting(tmp_path, text, needle):
    from bestby.engine.policy import load_policy

    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError) as err:
        load_policy(path)
    assert needle in str(err.value)
