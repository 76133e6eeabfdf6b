"""The funnel worked by hand on a small folder: cohorts by first entry, censoring, lost stages, owners and teams."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bestby.engine.funnel import funnel
from bestby.engine.sources import folder_tables
from tests.engine.csvfiles import write_csv

AS_OF = datetime(2024, 6, 30, tzinfo=UTC)
SINCE = datetime(2024, 1, 1, tzinfo=UTC)



@pytest.fixture
def tables(tmp_path):
    write_csv(tmp_path / "stages.csv", ["pipeline", "stage", "position", "kind"],
           [["p", "Qualify", 1, "open"], ["p", "1st meeting", 2, "open"], ["p", "2nd meeting", 3, "open"],
            ["p", "Won", 4, "won"], ["p", "Lost", 5, "lost"]])
    # deal, owner, stage, status, closed_at
    write_csv(tmp_path / "deals.csv", ["deal_id", "pipeline", "owner_id", "amount", "created_at", "stage", "status",
                                    "closed_at"], [
        ["A", "p", "u1", "1", "2024-01-05", "Won", "won", "2024-03-01"],
        ["B", "p", "u1", "1", "2024-01-10", "Lost", "lost", "2024-03-15"],   # lost in 1st meeting
        ["C", "p", "u1", "1", "2024-02-01", "Lost", "lost", "2024-02-20"],   # lost in Qualify
        ["D", "p", "u2", "1", "2024-03-01", "1st meeting", "open", ""],
        ["E", "p", "u2", "1", "2024-05-01", "Qualify", "open", ""],          # still in Qualify
        ["F", "p", "u2", "1", "2023-12-01", "1st meeting", "open", ""],      # entered Qualify before the window
        ["G", "p", "u1", "1", "2024-06-01", "Won", "won", "2024-07-20"],     # won after as_of: open in Qualify then
    ])
    write_csv(tmp_path / "stage_events.csv", ["deal_id", "at", "to_stage"], [
        ["A", "2024-01-05", "Qualify"], ["A", "2024-01-20", "1st meeting"], ["A", "2024-02-10", "2nd meeting"],
        ["A", "2024-03-01", "Won"],
        ["B", "2024-01-10", "Qualify"], ["B", "2024-02-01", "1st meeting"], ["B", "2024-03-15", "Lost"],
        ["C", "2024-02-01", "Qualify"], ["C", "2024-02-20", "Lost"],
        ["D", "2024-03-01", "Qualify"], ["D", "2024-04-01", "1st meeting"],
        ["E", "2024-05-01", "Qualify"],
        ["F", "2023-12-01", "Qualify"], ["F", "2024-01-15", "1st meeting"],
        ["G", "2024-06-01", "Qualify"], ["G", "2024-07-05", "1st meeting"], ["G", "2024-07-20", "Won"],
    ])
    write_csv(tmp_path / "users.csv", ["user_id", "name", "team"], [["u1", "Ana", "N"], ["u2", "Ben", "S"]])
    return folder_tables(tmp_path, as_of=AS_OF)


def _pick(rows, segment, stage):
    return next(r for r in rows if r["segment"] == segment and r["stage"] == stage)


FIELDS = ("entered", "advanced", "lost_here", "still_here", "to_next", "won", "closed", "to_won")


def test_pipeline_funnel_by_hand(tables):
    rows = funnel(tables, as_of=AS_OF, since=SINCE)
    assert [r["stage"] for r in rows] == ["Qualify", "1st meeting", "2nd meeting"]
    # Qualify: A B C D E G entered (F before the window); past it A B D; C lost there; E G still there (G's
    # later moves are after as_of); won A; closed A B C
    q = _pick(rows, None, "Qualify")
    assert tuple(q[f] for f in FIELDS) == (6, 3, 1, 2, 0.75, 1, 3, pytest.approx(1 / 3))
    assert q["next_stage"] == "1st meeting"
    # 1st meeting: A B D F; past it A; B lost there (its move to Lost is not progress); D F still there
    m1 = _pick(rows, None, "1st meeting")
    assert tuple(m1[f] for f in FIELDS) == (4, 1, 1, 2, 0.5, 1, 2, 0.5)
    m2 = _pick(rows, None, "2nd meeting")
    assert tuple(m2[f] for f in FIELDS) == (1, 1, 0, 0, 1.0, 1, 1, 1.0) and m2["next_stage"] == "won"


def test_owner_and_team_funnels_and_an_empty_window(tables):
    rows = funnel(tables, as_of=AS_OF, since=SINCE, by="owner")
    u1, u2 = _pick(rows, "u1", "Qualify"), _pick(rows, "u2", "Qualify")
    assert tuple(u1[f] for f in FIELDS) == (4, 2, 1, 1, pytest.approx(2 / 3), 1, 3, pytest.approx(1 / 3))
    assert tuple(u2[f] for f in FIELDS) == (2, 1, 0, 1, 1.0, 0, 0, None)  # nothing closed: no win rate
    teams = funnel(tables, as_of=AS_OF, since=SINCE, by="team")
    assert {r["segment"] for r in teams} == {"N", "S"}
    assert _pick(teams, "N", "Qualify")["entered"] == 4
    assert funnel(tables, as_of=AS_OF, since=datetime(2024, 6, 29, tzinfo=UTC)) == []
    with pytest.raises(ValueError, match="by: 'region'"):
        funnel(tables, as_of=AS_OF, since=SINCE, by="region")
