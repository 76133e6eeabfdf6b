"""The reverse funnel worked by hand: the gap, the rates at the key's own cycle time, what is needed per week."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bestby.engine.periods import parse_period
from bestby.engine.reverse_funnel import reverse_funnel
from bestby.engine.sources import folder_tables
from tests.engine.csvfiles import write_csv

AS_OF = datetime(2024, 9, 3, tzinfo=UTC)  # 28 days (4 weeks) before 2024-Q3 ends
PERIOD = parse_period("2024-Q3")



@pytest.fixture
def tables(tmp_path):
    write_csv(tmp_path / "stages.csv", ["pipeline", "stage", "position", "kind"],
           [["p", "Qualify", 1, "open"], ["p", "1st meeting", 2, "open"], ["p", "Won", 3, "won"],
            ["p", "Lost", 4, "lost"]])
    write_csv(tmp_path / "deals.csv", ["deal_id", "pipeline", "owner_id", "amount", "created_at", "stage", "status",
                                    "closed_at"], [
        ["N1", "p", "u1", "1000", "2024-01-10", "Won", "won", "2024-01-30"],   # won 20 days after creation
        ["N2", "p", "u1", "3000", "2024-02-01", "Won", "won", "2024-04-01"],   # 60 days: too slow for 28
        ["N3", "p", "u1", "500", "2024-03-01", "Lost", "lost", "2024-03-20"],
        ["N4", "p", "u1", "700", "2024-08-20", "Qualify", "open", ""],         # recent: created in the last 28 days
        ["N5", "p", "u1", "900", "2024-08-10", "1st meeting", "open", ""],     # recent too
        ["Z1", "p", "u1", "800", "2023-07-01", "Won", "won", "2023-07-10"],    # before the lookback
    ])
    write_csv(tmp_path / "stage_events.csv", ["deal_id", "at", "to_stage"], [
        ["N1", "2024-01-10", "Qualify"], ["N1", "2024-01-15", "1st meeting"], ["N1", "2024-01-30", "Won"],
        ["N2", "2024-02-01", "Qualify"], ["N2", "2024-02-15", "1st meeting"], ["N2", "2024-04-01", "Won"],
        ["N3", "2024-03-01", "Qualify"], ["N3", "2024-03-20", "Lost"],
        ["N4", "2024-08-20", "Qualify"],
        ["N5", "2024-08-10", "Qualify"], ["N5", "2024-08-20", "1st meeting"],
    ])
    write_csv(tmp_path / "users.csv", ["user_id", "name", "team"], [["u1", "Ana", "T"], ["u2", "Ben", ""]])
    return folder_tables(tmp_path, as_of=AS_OF)


COVERAGE = [
    {"level": "owner", "key": "u1", "goal": 10000.0, "to_go": 10000.0, "weighted": 4000.0},
    {"level": "owner", "key": "u2", "goal": 5000.0, "to_go": 5000.0, "weighted": None},   # no history at all
    {"level": "team", "key": "T", "goal": 20000.0, "to_go": 20000.0, "weighted": 4000.0},
    {"level": "pipeline", "key": "p", "goal": None, "to_go": None, "weighted": 4000.0},  # no goal: no row
]


def test_reverse_funnel_by_hand(tables):
    rows = {(r["level"], r["key"]): r for r in reverse_funnel(tables, as_of=AS_OF, period=PERIOD, goals={},
                                                              coverage_rows=COVERAGE)}
    assert set(rows) == {("owner", "u1"), ("owner", "u2"), ("team", "T")}
    u1 = rows[("owner", "u1")]
    # created in the year before as_of - 28 days: N1 N2 N3, won within 28 days: N1 -> 1/3
    # first meetings in that window: N1 (won 15 days later), N2 (46 days) -> 1/2
    # won in the year before as_of: N1 1000, N2 3000 -> 2000 a deal
    assert (u1["gap"], u1["days_left"], u1["p_new"], u1["p_meeting"], u1["won_amount"]) == (
        6000.0, 28.0, pytest.approx(1 / 3), 0.5, 2000.0)
    assert u1["deals_needed"] == pytest.approx(9.0) and u1["deals_per_week"] == pytest.approx(2.25)
    assert u1["meetings_needed"] == pytest.approx(6.0) and u1["meetings_per_week"] == pytest.approx(1.5)
    # now: N4 and N5 created in the last 28 days, N5's first meeting too
    assert (u1["deals_per_week_now"], u1["meetings_per_week_now"]) == (0.5, 0.25)
    team = rows[("team", "T")]
    assert team["gap"] == 16000.0 and team["deals_needed"] == pytest.approx(24.0)
    u2 = rows[("owner", "u2")]
    assert (u2["gap"], u2["p_new"], u2["deals_needed"], u2["deals_per_week"]) == (5000.0, None, None, None)


def test_no_gap_needs_nothing(tables):
    covered = [{"level": "owner", "key": "u1", "goal": 1000.0, "to_go": 1000.0, "weighted": 4000.0}]
    [row] = reverse_funnel(tables, as_of=AS_OF, period=PERIOD, goals={}, coverage_rows=covered)
    assert (row["gap"], row["deals_needed"], row["meetings_per_week"]) == (0.0, 0.0, 0.0)
