"""Shelf life from a FORMAT.md folder with DuckDB: hand-computed cases, point in time, and the Maven proof.

No database: these tests use only the engine (Ibis on an embedded DuckDB).
"""

from __future__ import annotations

import csv
import random
from datetime import UTC, date, datetime
from pathlib import Path

import numpy
import pandas
import pytest

from bestby.engine.shelf_life import shelf_life
from bestby.engine.sources import folder_tables
from bestby.importers.maven import maven_to_canonical

REPO = Path(__file__).resolve().parents[2]
MAVEN = REPO.parent / "shared" / "data" / "maven-crm-sales-opportunities"


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


STAGES = [["p", "Qualify", 1, "open"], ["p", "Proposal", 2, "open"], ["p", "Won", 3, "won"], ["p", "Lost", 4, "lost"]]

# deal_id, created_at, stage, status, closed_at
DEALS = [
    ["D1", "2024-01-01", "Won", "won", "2024-01-11"],                  # cycle 10 days
    ["D2", "2024-01-01", "Won", "won", "2024-01-21"],                  # cycle 20
    ["D3", "2024-01-01T00:00:00", "Won", "won", "2024-01-31T12:00:00"],  # cycle 30.5
    ["D4", "2024-01-01", "Won", "won", "2024-02-10"],                  # cycle 40
    ["D5", "2024-01-01", "Lost", "lost", "2024-01-09"],                # lost: no cycle
    ["D6", "2024-01-01", "Qualify", "open", ""],                       # open, censored in Qualify
    # created 2024-01-01 12:00 at +12:00 = 2024-01-01 00:00 UTC; closed at a bare date (midnight UTC): 2.0 days
    ["D7", "2024-01-01T12:00:00+12:00", "Won", "won", "2024-01-03"],
    ["D8", "2024-02-01", "Qualify", "open", ""],                       # created late (point-in-time test)
]

# deal_id, at, to_stage, from_stage
EVENTS = [
    ["D1", "2024-01-01", "Qualify", ""],
    ["D1", "2024-01-04", "Proposal", "Qualify"],     # Qualify 3 days, forward
    ["D1", "2024-01-11", "Won", "Proposal"],         # Proposal 7 days, forward (won)
    ["D2", "2024-01-01", "Qualify", ""],
    ["D2", "2024-01-06", "Proposal", "Qualify"],     # Qualify 5
    ["D2", "2024-01-21", "Won", "Proposal"],         # Proposal 15
    ["D3", "2024-01-01", "Qualify", ""],
    ["D3", "2024-01-02T12:00:00", "Proposal", "Qualify"],  # Qualify 1.5
    ["D3", "2024-01-31T12:00:00", "Won", "Proposal"],      # Proposal 29
    ["D4", "2024-01-01", "Qualify", ""],
    ["D4", "2024-01-11", "Proposal", "Qualify"],     # Qualify 10
    ["D4", "2024-01-16", "Qualify", "Proposal"],     # Proposal 5, BACKWARD: not counted
    ["D4", "2024-01-20", "Proposal", "Qualify"],     # Qualify 4 (second visit), forward
    ["D4", "2024-02-10", "Won", "Proposal"],         # Proposal 21
    ["D5", "2024-01-01", "Qualify", ""],
    ["D5", "2024-01-09", "Lost", "Qualify"],         # Qualify 8, to LOST: not counted
    ["D6", "2024-01-01", "Qualify", ""],             # still there: censored, not counted
    ["D7", "2024-01-01T12:00:00+12:00", "Qualify", ""],
    ["D7", "2024-01-03", "Won", "Qualify"],          # Qualify 2, forward (won)
    ["D8", "2024-02-01", "Qualify", ""],
]

# deal_id, at, new_close_date, old_close_date
CLOSE_DATE_EVENTS = [
    ["D2", "2024-01-01", "2024-01-20", ""],
    ["D2", "2024-01-10", "2024-01-25", "2024-01-20"],
    ["D2", "2024-01-18", "2024-01-21", "2024-01-25"],
]

LATE = datetime(2030, 1, 1)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_csv(tmp_path / "stages.csv", ["pipeline", "stage", "position", "kind", "probability"],
              [s + [""] for s in STAGES])
    write_csv(tmp_path / "deals.csv", ["deal_id", "pipeline", "created_at", "stage", "status", "closed_at"],
              [[d[0], "p", *d[1:]] for d in DEALS])
    write_csv(tmp_path / "stage_events.csv", ["deal_id", "at", "to_stage", "from_stage"], EVENTS)
    write_csv(tmp_path / "close_date_events.csv", ["deal_id", "at", "new_close_date", "old_close_date"],
              CLOSE_DATE_EVENTS)
    return tmp_path


def by_stage(rows: list[dict]) -> dict:
    return {(r["pipeline"], r["stage"]): (r["days"], r["n"]) for r in rows}


def test_hand_computed_quantiles(folder):
    rows = shelf_life(folder_tables(folder, as_of=LATE), q=0.8)
    got = by_stage(rows)
    assert [r["stage"] for r in rows] == [None, "Qualify", "Proposal"]  # cycle first, then open stages by position
    assert all(r["segment"] is None and r["quantile"] == 0.8 for r in rows)
    # cycle, won deals sorted: [2, 10, 20, 30.5, 40], n = 5; h = (5-1)*0.8 = 3.2
    #   -> x[3] + 0.2*(x[4]-x[3]) = 30.5 + 0.2*9.5 = 32.4
    assert got[("p", None)][1] == 5
    assert got[("p", None)][0] == pytest.approx(32.4)
    # Qualify forward exits: D1 3, D2 5, D3 1.5, D4 10 and 4, D7 2 (D5 -> Lost and censored D6 excluded)
    #   sorted [1.5, 2, 3, 4, 5, 10], n = 6; h = 5*0.8 = 4 -> x[4] = 5
    assert got[("p", "Qualify")] == (pytest.approx(5.0), 6)
    # Proposal forward exits: D1 7, D2 15, D3 29, D4 21 (D4's move back after 5 days excluded)
    #   sorted [7, 15, 21, 29], n = 4; h = 3*0.8 = 2.4 -> 21 + 0.4*8 = 24.2
    assert got[("p", "Proposal")] == (pytest.approx(24.2), 4)


def test_median_interpolates_between_order_statistics(folder):
    got = by_stage(shelf_life(folder_tables(folder, as_of=LATE), q=0.5))
    # Qualify [1.5, 2, 3, 4, 5, 10]: h = 5*0.5 = 2.5 -> 3 + 0.5*(4-3) = 3.5
    assert got[("p", "Qualify")] == (pytest.approx(3.5), 6)
    # cycle [2, 10, 20, 30.5, 40]: h = 2 -> 20
    assert got[("p", None)] == (pytest.approx(20.0), 5)


def test_without_stages_file_stages_are_derived(folder):
    (folder / "stages.csv").unlink()
    tables = folder_tables(folder, as_of=LATE)
    stages = tables["stages"].order_by("position").execute()
    # first appearance: Qualify, Proposal, Won, Lost; Won/Lost inferred from the deals in them
    assert list(stages["stage"]) == ["Qualify", "Proposal", "Won", "Lost"]
    assert list(stages["kind"]) == ["open", "open", "won", "lost"]
    got = by_stage(shelf_life(tables))
    assert got[("p", "Qualify")] == (pytest.approx(5.0), 6)
    assert got[("p", "Proposal")] == (pytest.approx(24.2), 4)


def test_point_in_time(folder):
    as_of = datetime(2024, 1, 15, tzinfo=UTC)
    tables = folder_tables(folder, as_of=as_of)
    deals = tables["deals"].execute().set_index("deal_id")
    # D8 was created after as_of: it does not exist, nor do its events
    assert "D8" not in deals.index
    events = tables["stage_events"].execute()
    assert "D8" not in set(events["deal_id"])
    assert events["at"].max() <= as_of
    # D2 was won on 01-21, after as_of: open, no closed_at, in its stage as of its last event (Proposal, 01-06)
    assert deals.loc["D2", "status"] == "open"
    assert pandas.isna(deals.loc["D2", "closed_at"])
    assert deals.loc["D2", "stage"] == "Proposal"
    assert set(events[events.deal_id == "D2"]["to_stage"]) == {"Qualify", "Proposal"}
    # D4 moved back to Qualify on 01-16, after as_of: as of 01-15 it is in Proposal
    assert deals.loc["D4", "stage"] == "Proposal"
    # D1 (won 01-11) and D5 (lost 01-09) closed before as_of: unchanged
    assert deals.loc["D1", "status"] == "won" and deals.loc["D1", "stage"] == "Won"
    assert deals.loc["D5", "status"] == "lost"
    # D2's expected close date as of 01-15: the 01-10 change to 01-25; the 01-18 change is not yet known
    assert pandas.Timestamp(deals.loc["D2", "close_date"]).date() == date(2024, 1, 25)
    assert len(tables["close_date_events"].execute()) == 2

    got = by_stage(shelf_life(tables))
    # cycle: only D7 (2) and D1 (10) were won by 01-15; h = 1*0.8 -> 2 + 0.8*8 = 8.4
    assert got[("p", None)] == (pytest.approx(8.4), 2)
    # Qualify exits known by 01-15: D1 3, D2 5, D3 1.5, D4 10, D7 2 (D4's second visit starts 01-16)
    #   sorted [1.5, 2, 3, 5, 10]; h = 4*0.8 = 3.2 -> 5 + 0.2*5 = 6
    assert got[("p", "Qualify")] == (pytest.approx(6.0), 5)
    # Proposal exits known by 01-15: only D1's 7 days (D2, D3 still there; D4 left on 01-16)
    assert got[("p", "Proposal")] == (pytest.approx(7.0), 1)


def test_before_any_deal_there_is_no_cycle_row_and_n_is_zero(folder):
    rows = shelf_life(folder_tables(folder, as_of=datetime(2023, 12, 1)))
    assert [r["stage"] for r in rows] == ["Qualify", "Proposal"]
    assert all(r["days"] is None and r["n"] == 0 for r in rows)


@pytest.mark.parametrize("q", [0.0, 0.1, 0.5, 0.8, 0.95, 1.0])
def test_quantile_is_numpy_type_7_on_parquet(tmp_path, q):
    """DuckDB's quantile_cont through Ibis equals numpy.quantile (linear, type 7); the Parquet path too."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(7)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    lengths = [rng.randint(1, 400) * 3600 + rng.randint(0, 59) for _ in range(37)]  # whole seconds
    closed = [datetime.fromtimestamp(start.timestamp() + s, tz=UTC) for s in lengths]
    pq.write_table(pa.table({
        "deal_id": [f"d{i}" for i in range(len(lengths))],
        "pipeline": ["p"] * len(lengths),
        "created_at": [start] * len(lengths),
        "status": ["won"] * len(lengths),
        "stage": ["Won"] * len(lengths),
        "closed_at": closed,
    }), tmp_path / "deals.parquet")
    rows = shelf_life(folder_tables(tmp_path, as_of=LATE), q=q)
    assert len(rows) == 1
    expected = float(numpy.quantile([s / 86400 for s in lengths], q))
    assert rows[0]["days"] == pytest.approx(expected, rel=1e-12, abs=1e-9)
    assert rows[0]["n"] == len(lengths)


def test_maven_whole_cycle_equals_independent_quantile(tmp_path):
    if not MAVEN.is_dir():
        pytest.fail(f"{MAVEN} is missing: the Maven proof needs ../shared/data beside the repository")
    out = tmp_path / "maven"
    maven_to_canonical(MAVEN, out)
    rows = shelf_life(folder_tables(out, as_of=datetime(2018, 1, 1)), q=0.8)
    cycle = [r for r in rows if r["pipeline"] == "maven" and r["stage"] is None]
    assert len(cycle) == 1

    # independently, from the publisher's raw file: won deals' engage_date -> close_date in days
    with (MAVEN / "sales_pipeline.csv").open(newline="", encoding="utf-8") as fh:
        days = [
            (date.fromisoformat(r["close_date"]) - date.fromisoformat(r["engage_date"])).days
            for r in csv.DictReader(fh)
            if r["deal_stage"] == "Won"
        ]
    assert len(days) == 4238
    assert cycle[0]["n"] == 4238
    assert cycle[0]["days"] == pytest.approx(float(numpy.quantile(days, 0.8)), abs=1e-9)
