"""The read-only engine commands: ``shelf-life``, ``clearance`` (on the store) and ``analyze`` (on a folder).

Store tests commit their data (``transaction=True``): the engine reads the
store through a second connection. ``analyze`` uses no store; it runs in both
passes too, since the whole module is marked.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from bestby.cli import app
from bestby.engine.freshness import freshness
from bestby.engine.policy import ClearancePolicy
from bestby.engine.shelf_life import shelf_life
from bestby.engine.sources import folder_tables
from bestby.importers.canonical import import_canonical
from tests.engine.test_freshness import write_csv
from tests.importers.folders import write_folder

pytestmark = pytest.mark.django_db(transaction=True)
runner = CliRunner()

AS_OF = "2024-06-30"
STAGES = [["p", "Qualify", 1, "open"], ["p", "Proposal", 2, "open"], ["p", "Won", 3, "won"], ["p", "Lost", 4, "lost"]]
# deal_id, pipeline, owner_id, amount, created_at, stage, status, closed_at
DEALS = [
    ["W1", "p", "u1", "100", "2024-01-01", "Won", "won", "2024-01-11"],    # cycle 10 days
    ["W2", "p", "u1", "100", "2024-01-01", "Won", "won", "2024-01-21"],    # 20
    ["W3", "p", "u1", "100", "2024-01-01", "Won", "won", "2024-01-31"],    # 30
    ["W4", "p", "u2", "100", "2024-02-01", "Won", "won", "2024-03-12"],    # 29 (leap February) + 11 = 40
    ["W5", "p", "u2", "100", "2024-03-01", "Won", "won", "2024-04-20"],    # 31 + 19 = 50
    ["W6", "p", "u2", "900", "2024-05-01", "Won", "won", "2024-07-01"],    # won AFTER as_of: open then
    ["L1", "p", "u1", "100", "2024-02-01", "Lost", "lost", "2024-02-10"],
    ["O1", "p", "u1", "500", "2024-06-01", "Qualify", "open", ""],
    ["O2", "p", "u2", "700", "2024-01-15", "Proposal", "open", ""],        # untouched for 167 days: stalled
    ["N1", "p", "u1", "100", "2024-07-05", "Qualify", "open", ""],         # created after as_of: not there
]
# Whole cycle at 2024-06-30, q = 0.8 (type 7): won cycles [10, 20, 30, 40, 50] (W6 is open then),
# h = (5 - 1) x 0.8 = 3.2 -> x[3] + 0.2 x (x[4] - x[3]) = 40 + 0.2 x 10 = 42.0, n = 5.
# Qualify: W1 10 (to Won), W2 5 (to Proposal) -> [5, 10], h = 0.8 -> 5 + 0.8 x 5 = 9.0, n = 2.
# Proposal: W2 01-06 -> 01-21 = 15 -> 15.0, n = 1.
EVENTS = [["W1", "2024-01-01", "Qualify"], ["W1", "2024-01-11", "Won"],
          ["W2", "2024-01-01", "Qualify"], ["W2", "2024-01-06", "Proposal"], ["W2", "2024-01-21", "Won"]]
OPEN_AT_AS_OF = {"W6", "O1", "O2"}


@pytest.fixture
def hand(tmp_path) -> Path:
    folder = tmp_path / "hand"
    folder.mkdir()
    write_csv(folder / "stages.csv", ["pipeline", "stage", "position", "kind"], STAGES)
    write_csv(folder / "deals.csv",
              ["deal_id", "pipeline", "owner_id", "amount", "created_at", "stage", "status", "closed_at"], DEALS)
    write_csv(folder / "stage_events.csv", ["deal_id", "at", "to_stage"], EVENTS)
    return folder


def test_analyze_writes_parquet_and_csv(hand, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["analyze", "--source", str(hand), "--as-of", AS_OF, "--out", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("shelf_life", "freshness", "clearance"):
        assert (out / f"{name}.parquet").is_file() and (out / f"{name}.csv").is_file()

    with (out / "shelf_life.csv").open(newline="", encoding="utf-8") as fh:
        shelf = [(r["pipeline"], r["stage"] or None, float(r["days"]), int(r["n"])) for r in csv.DictReader(fh)]
    assert shelf == [("p", None, pytest.approx(42.0), 5), ("p", "Qualify", pytest.approx(9.0), 2),
                     ("p", "Proposal", pytest.approx(15.0), 1)]

    fresh = pq.read_table(out / "freshness.parquet").to_pylist()
    assert {r["deal_id"] for r in fresh} == OPEN_AT_AS_OF
    with (out / "freshness.csv").open(newline="", encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == len(OPEN_AT_AS_OF)

    clear = pq.read_table(out / "clearance.parquet").to_pylist()
    assert "O2" in {r["deal_id"] for r in clear}
    assert all(r["state"] in ("expired", "stalled") and r["reasons"] for r in clear)
    with (out / "clearance.csv").open(newline="", encoding="utf-8") as fh:
        rows = {r["deal_id"]: r for r in csv.DictReader(fh)}
    assert "never touched" in rows["O2"]["reasons"]  # reasons joined as text
    assert "42.0" in result.stdout and "3 open deals" in result.stdout


@pytest.fixture
def store(tmp_path) -> Path:
    folder = write_folder(tmp_path / "store")
    import_canonical(folder)
    return folder


@pytest.mark.parametrize("as_of", ["2024-03-15T12:00:00+00:00", "2030-01-01"])
def test_shelf_life_json_equals_engine_on_folder(store, as_of):
    result = runner.invoke(app, ["shelf-life", "--as-of", as_of, "--json"])
    assert result.exit_code == 0, result.output
    when = datetime.fromisoformat(as_of).replace(tzinfo=UTC)
    expected = shelf_life(folder_tables(store, as_of=when), q=0.8)
    assert json.loads(result.stdout) == expected and expected
    result = runner.invoke(app, ["shelf-life", "--as-of", as_of, "--quantile", "0.5"])
    assert result.exit_code == 0, result.output
    assert "whole cycle" in result.stdout


def test_shelf_life_by_segment_lookback_and_business_days(store):
    when = datetime(2030, 1, 1, tzinfo=UTC)
    tables = folder_tables(store, as_of=when)
    result = runner.invoke(app, ["shelf-life", "--as-of", "2030-01-01", "--by", "owner", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows == shelf_life(tables, q=0.8, by="owner")
    assert any(r["segment"] is not None and r["fallback"] for r in rows)  # tiny owners fall back, and say so
    result = runner.invoke(app, ["shelf-life", "--as-of", "2030-01-01", "--lookback", "365", "--business-days",
                                 "--json"])
    assert result.exit_code == 0, result.output
    since = datetime(2029, 1, 1, tzinfo=UTC)
    assert json.loads(result.stdout) == shelf_life(tables, q=0.8, since=since, business_days=True)
    result = runner.invoke(app, ["shelf-life", "--as-of", "2030-01-01", "--by", "team"])
    assert result.exit_code == 0, result.output
    assert "segment" in result.stdout and "pipeline's (own n" in result.stdout


def test_clearance_json_is_expired_or_stalled_open_deals(store):
    when = datetime(2030, 1, 1, tzinfo=UTC)
    result = runner.invoke(app, ["clearance", "--as-of", "2030-01-01", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    open_ids = {r["deal_id"] for r in freshness(folder_tables(store, as_of=when), as_of=when,
                                                policy=ClearancePolicy())}
    assert isinstance(rows, list) and rows  # d1 has not been touched since 2024
    assert {r["deal_id"] for r in rows} <= open_ids
    for r in rows:
        assert r["state"] in ("expired", "stalled")
        assert set(r) == {"deal_id", "owner_id", "stage", "amount", "age_days", "stage_age_days",
                          "days_since_touch", "close_date_pushes", "best_by", "win_probability", "state", "reasons"}
        assert isinstance(r["amount"], float) and all({"code", "text"} == set(x) for x in r["reasons"])
        if r["best_by"] is not None:
            datetime.fromisoformat(r["best_by"])
    result = runner.invoke(app, ["clearance", "--as-of", "2030-01-01"])
    assert result.exit_code == 0 and "open deals to clear" in result.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["shelf-life", "--as-of", "31/01/2024"], "--as-of"),
        (["clearance", "--as-of", "yesterday"], "--as-of"),
        (["analyze", "--source", ".", "--out", "x", "--as-of", "2024-13-01"], "--as-of"),
        (["shelf-life", "--quantile", "0"], "--quantile"),
        (["shelf-life", "--quantile", "1.5"], "--quantile"),
        (["shelf-life", "--quantile", "nan"], "--quantile"),
        (["shelf-life", "--quantile", "high"], "--quantile"),
        (["analyze", "--source", "NOWHERE", "--out", "OUT"], "--source"),
        (["analyze", "--source", "EMPTY", "--out", "OUT"], "--source"),
        (["shelf-life", "--by", "colour"], "--by"),
        (["shelf-life", "--lookback", "0"], "--lookback"),
        (["shelf-life", "--lookback", "-3"], "--lookback"),
        (["analyze", "--source", "EMPTY", "--out", "OUT", "--policy", "BADPOLICY"], "[default] quantile"),
        (["analyze", "--source", "EMPTY", "--out", "OUT", "--policy", "NOWHERE"], "cannot read the policy file"),
    ],
)
def test_bad_options_exit_2_naming_the_option(tmp_path, args, needle):
    (tmp_path / "EMPTY").mkdir()
    (tmp_path / "BADPOLICY").write_text("[default]\nquantile = 3\n", encoding="utf-8")
    args = [str(tmp_path / a) if a in ("NOWHERE", "EMPTY", "OUT", "BADPOLICY") else a for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert not (tmp_path / "OUT").exists()
