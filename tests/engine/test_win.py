"""Win chances from the history (engine.win) and the learned first-to-second meeting gap, on hand-made folders.

Every expected figure is worked by hand below from the Aalen-Johansen formula
in ``bestby.engine.survival`` (no code under test computes them).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bestby.engine.freshness import freshness, second_meeting_gaps
from bestby.engine.policy import ClearancePolicy
from bestby.engine.sources import folder_tables
from bestby.engine.win import win_model
from tests.engine.test_freshness import write_csv

AS_OF = datetime(2024, 2, 10, tzinfo=UTC)
STAGES = [["p", "Qualify", 1, "open"], ["p", "Proposal", 2, "open"], ["p", "Won", 3, "won"],
          ["p", "Lost", 4, "lost"]]
# deal, created, stage, status, closed_at
DEALS = [
    ["D1", "2024-01-01", "Won", "won", "2024-01-21"],
    ["D2", "2024-01-01", "Lost", "lost", "2024-01-16"],
    ["D3", "2024-01-01", "Won", "won", "2024-01-31"],
    ["D4", "2024-01-01", "Qualify", "open", ""],
    ["D5", "2024-01-21", "Proposal", "open", ""],
]
EVENTS = [
    ["D1", "2024-01-01", "Qualify"], ["D1", "2024-01-11", "Proposal"], ["D1", "2024-01-21", "Won"],
    ["D2", "2024-01-01", "Qualify"], ["D2", "2024-01-16", "Lost"],
    ["D3", "2024-01-01", "Qualify"], ["D3", "2024-01-06", "Proposal"], ["D3", "2024-01-31", "Won"],
    ["D4", "2024-01-01", "Qualify"],
    ["D5", "2024-01-21", "Qualify"], ["D5", "2024-02-05", "Proposal"],
]


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("win")
    write_csv(folder / "stages.csv", ["pipeline", "stage", "position", "kind"], STAGES)
    write_csv(folder / "deals.csv", ["deal_id", "pipeline", "created_at", "stage", "status", "closed_at"],
              [[d, "p", *rest] for d, *rest in DEALS])
    write_csv(folder / "stage_events.csv", ["deal_id", "at", "to_stage"], EVENTS)
    return folder_tables(folder, as_of=AS_OF)


# Pipeline clock (created -> closed or as_of 02-10): D1 20 won, D2 15 lost, D3 30 won, D4 40 open, D5 20 open.
#   t=15: n=5, 1 lost -> S = 4/5 = 0.8, CIF = 0
#   t=20: n=4 (D5, open at 20, is still at risk), 1 won -> CIF = 0.8 x 1/4 = 0.2, S = 0.8 x 3/4 = 0.6
#   t=30: n=2 (D3, D4), 1 won -> CIF = 0.2 + 0.6 x 1/2 = 0.5, S = 0.3; t_max = 40
#   P(eventual win | open at 20) = (0.5 - 0.2) / 0.6 = 0.5; at 40 (= t_max): beyond the data, 0
#   P(win within 5 days | open at 20) = (CIF(25) - CIF(20)) / S(20) = 0
#   P(win within 10 days | open at 20) = (CIF(30) - CIF(20)) / 0.6 = 0.5
# Proposal clock (last entry into Proposal -> closed or as_of): D1 10 won, D3 25 won, D5 5 open.
#   t=10: n=3, 1 won -> CIF = 1/3, S = 2/3; t=25: n=1, 1 won -> CIF = 1/3 + 2/3 = 1, S = 0
#   P(eventual win | open at 5) = (1 - 0) / 1 = 1
# Qualify clock: D1 20 won, D2 15 lost, D3 30 won, D4 40 open, D5 20 open: the pipeline figures again.

def test_pipeline_curve_by_hand(tables):
    model = win_model(tables, as_of=AS_OF, n_min=2)
    wide = model.pipelines["p"]
    assert (wide.n, wide.n_won, wide.n_lost, wide.n_censored) == (5, 2, 1, 2)
    assert wide.p_win_eventually(20) == pytest.approx(0.5)
    assert wide.p_win_within(20, 5) == pytest.approx(0.0)
    assert wide.p_win_within(20, 10) == pytest.approx(0.5)
    assert wide.p_win_eventually(40) == 0.0


def test_stage_curves_by_hand(tables):
    model = win_model(tables, as_of=AS_OF, n_min=2)
    proposal = model.stages[("p", "Proposal")]
    assert (proposal.n, proposal.n_won, proposal.fallback) == (3, 2, False)
    assert model.chances("p", "Proposal", age_days=20, stage_age_days=5) == pytest.approx(1.0)
    assert model.chances("p", "Qualify", age_days=40, stage_age_days=40) == 0.0
    assert model.chances("p", "Qualify", age_days=20, stage_age_days=20) == pytest.approx(0.5)


def test_small_stage_falls_back_to_the_pipeline_clock(tables):
    # n_min 3: Proposal has 2 closed deals, so D5 is read on the pipeline clock at its age 20: 0.5
    model = win_model(tables, as_of=AS_OF, n_min=3)
    assert model.stages[("p", "Proposal")].fallback is True
    assert model.chances("p", "Proposal", age_days=20, stage_age_days=5) == pytest.approx(0.5)


def test_too_little_history_gives_no_probability(tables):
    model = win_model(tables, as_of=AS_OF)  # N_MIN = 20 closed deals; the pipeline has 3
    assert model.chances("p", "Qualify", age_days=20, stage_age_days=20) is None
    rows = {r["deal_id"]: r for r in freshness(tables, as_of=AS_OF, policy=ClearancePolicy())}
    assert rows["D4"]["win_probability"] is None and rows["D5"]["win_probability"] is None


def test_freshness_uses_the_model(tables):
    rows = {r["deal_id"]: r for r in freshness(tables, as_of=AS_OF, policy=ClearancePolicy(),
                                               win_probability=win_model(tables, as_of=AS_OF, n_min=2))}
    assert rows["D5"]["win_probability"] == pytest.approx(1.0)
    assert rows["D4"]["win_probability"] == 0.0
    assert "low_win_probability" in [r["code"] for r in rows["D4"]["reasons"]]
    assert rows["D4"]["state"] == "stalled"


def test_as_of_hides_later_closes(tmp_path):
    # at 01-20 only D2 has closed (lost): no win yet, every chance 0 on the pipeline clock
    write_csv(tmp_path / "stages.csv", ["pipeline", "stage", "position", "kind"], STAGES)
    write_csv(tmp_path / "deals.csv", ["deal_id", "pipeline", "created_at", "stage", "status", "closed_at"],
              [[d, "p", *rest] for d, *rest in DEALS])
    write_csv(tmp_path / "stage_events.csv", ["deal_id", "at", "to_stage"], EVENTS)
    when = datetime(2024, 1, 20, tzinfo=UTC)
    model = win_model(folder_tables(tmp_path, as_of=when), as_of=when, n_min=1)
    wide = model.pipelines["p"]
    assert (wide.n, wide.n_won, wide.n_lost) == (4, 0, 1)  # D5 does not exist yet
    assert model.chances("p", "Qualify", age_days=5, stage_age_days=5) == 0.0


# ---------------------------------------------------------------- the learned second-meeting gap

def _meeting_folder(folder, gaps: list[int]) -> None:
    stages = [["p", "1st meeting", 1, "open"], ["p", "2nd meeting", 2, "open"], ["p", "Won", 3, "won"]]
    write_csv(folder / "stages.csv", ["pipeline", "stage", "position", "kind"], stages)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    deals, events, touches = [], [], []
    for i, gap in enumerate(gaps):
        deals.append([f"G{i}", "p", start.isoformat(), "2nd meeting", "open"])
        events += [[f"G{i}", start.isoformat(), "1st meeting"],
                   [f"G{i}", (start + timedelta(days=gap)).isoformat(), "2nd meeting"]]
        touches.append([f"t{i}", f"G{i}", "2024-06-01T00:00:00+00:00", "email"])
    # N: first meeting on 04-13 (50 days before 06-02), no second, touched recently
    deals.append(["N", "p", "2024-04-13T00:00:00+00:00", "1st meeting", "open"])
    events.append(["N", "2024-04-13T00:00:00+00:00", "1st meeting"])
    touches.append(["tn", "N", "2024-06-01T00:00:00+00:00", "email"])
    write_csv(folder / "deals.csv", ["deal_id", "pipeline", "created_at", "stage", "status"], deals)
    write_csv(folder / "stage_events.csv", ["deal_id", "at", "to_stage"], events)
    write_csv(folder / "touches.csv", ["touch_id", "deal_id", "at", "channel"], touches)


def test_second_meeting_gap_quantile(tmp_path):
    gaps = [5, 10, 20, 40, 80]
    _meeting_folder(tmp_path, gaps)
    tables = folder_tables(tmp_path, as_of=datetime(2024, 6, 2, tzinfo=UTC))
    # type 7 at 0.8 over [5, 10, 20, 40, 80]: h = 4 x 0.8 = 3.2 -> 40 + 0.2 x 40 = 48
    assert second_meeting_gaps(tables, policy=ClearancePolicy()) == {"p": (pytest.approx(48.0), 5)}
    assert second_meeting_gaps(tables, policy=ClearancePolicy(quantile=0.5)) == {"p": (pytest.approx(20.0), 5)}


@pytest.mark.parametrize(("gap", "expected"), [(60, []), (20, ["no_second_meeting"])])
def test_learned_gap_decides_with_twenty_deals(tmp_path, gap, expected):
    # 20 deals that each took `gap` days to the second meeting: the learned allowance is `gap`.
    # N met first 50 days before 06-02: stalled only when the team's gap is shorter.
    _meeting_folder(tmp_path, [gap] * 20)
    as_of = datetime(2024, 6, 2, tzinfo=UTC)
    tables = folder_tables(tmp_path, as_of=as_of)
    n = {r["deal_id"]: r for r in freshness(tables, as_of=as_of, policy=ClearancePolicy(), win_probability={})}["N"]
    assert [r["code"] for r in n["reasons"] if r["code"] == "no_second_meeting"] == expected
    # a fixed allowance in the policy wins over the learned one
    fixed = ClearancePolicy(no_second_meeting_days=70)
    n = {r["deal_id"]: r for r in freshness(tables, as_of=as_of, policy=fixed, win_probability={})}["N"]
    assert "no_second_meeting" not in [r["code"] for r in n["reasons"]]


def test_nineteen_deals_are_not_enough_history(tmp_path):
    # 19 deals at 60 days: too few, so the default 30 days applies and N (50 days) is stalled
    _meeting_folder(tmp_path, [60] * 19)
    as_of = datetime(2024, 6, 2, tzinfo=UTC)
    tables = folder_tables(tmp_path, as_of=as_of)
    assert np.isclose(second_meeting_gaps(tables, policy=ClearancePolicy())["p"][0], 60.0)
    n = {r["deal_id"]: r for r in freshness(tables, as_of=as_of, policy=ClearancePolicy(), win_probability={})}["N"]
    assert "no_second_meeting" in [r["code"] for r in n["reasons"]]
