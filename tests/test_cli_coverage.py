"""``bestby coverage``: the store's quotas and deals through the engine, and errors that name the option.

The store result is compared with the engine run on the same synth folder
(the folder source, goals from its quotas.csv read with the csv module): the
two sources share no code, so an import, a store read or a goal lookup that
drifts shows up here. Store tests commit (``transaction=True``): the engine
reads the store through a second connection.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from bestby.cli import app
from bestby.engine.coverage import coverage
from bestby.engine.goals import goals_by_owner
from bestby.engine.periods import parse_period
from bestby.engine.sources import folder_tables
from bestby.importers.canonical import import_canonical
from bestby.synth import write_synth

pytestmark = pytest.mark.django_db(transaction=True)
runner = CliRunner()


def _quotas(folder) -> list[tuple]:
    """The folder's quota rows, read with the csv module (not the importer)."""
    with (folder / "quotas.csv").open() as fh:
        return [(r["owner_id"], date.fromisoformat(r["period_start"]), date.fromisoformat(r["period_end"]),
                 Decimal(r["amount"])) for r in csv.DictReader(fh)]


def test_coverage_from_the_store_equals_the_folder(tmp_path):
    write_synth(tmp_path, deals=500, seed=21)
    import_canonical(tmp_path)
    result = runner.invoke(app, ["coverage", "--as-of", "2025-11-15", "--period", "2025-Q4", "--json",
                                 "--by", "owner,team,pipeline"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    got = {(r["level"], r["key"]): r for r in doc["groups"]}
    got[("all", "all")] = doc  # the top level is the whole workspace

    as_of, period = datetime(2025, 11, 15, tzinfo=UTC), parse_period("2025-Q4")
    quotas = _quotas(tmp_path)
    goals = goals_by_owner(quotas, period)
    want = {(r["level"], r["key"]): r for r in coverage(folder_tables(tmp_path, as_of=as_of), as_of=as_of,
                                                        period=period, goals=goals,
                                                        levels=("owner", "team", "pipeline", "all"))}
    assert got.keys() == want.keys() and {k[0] for k in got} == {"owner", "team", "pipeline", "all"}
    assert (doc["period"], doc["start"], doc["end"], doc["as_of"]) == ("FY2025-Q4", "2025-10-01", "2025-12-31",
                                                                       "2025-11-15T00:00:00+00:00")
    # the workspace's goal: the team goals' sum (synth sets team goals), computed here from the csv rows
    team_goals = sum(v for k, v in goals.items() if k.startswith("team:"))
    assert team_goals and doc["goal"] == pytest.approx(float(team_goals))
    # a folder's quotas file is read by the source too: no goals passed, the same goals
    own = coverage(folder_tables(tmp_path, as_of=as_of), as_of=as_of, period=period, levels=("owner", "team"))
    assert {r["key"]: r["goal"] for r in own} == {k[1]: want[k]["goal"] for k in want if k[0] in ("owner", "team")}
    assert any(r["goal"] for r in got.values()) and any(r["win_rate"] for r in got.values())
    for key, w in want.items():
        g = got[key]
        for field in ("goal", "won", "to_go", "raw", "fresh", "weighted", "win_rate", "needed"):
            assert g[field] == (None if w[field] is None else pytest.approx(w[field], rel=1e-6, abs=1e-6)), \
                (key, field)
        assert (g["open_n"], g["closed_n"]) == (w["open_n"], w["closed_n"])
    # without --by: the workspace alone, the same figures
    alone = json.loads(runner.invoke(app, ["coverage", "--as-of", "2025-11-15", "--period", "2025-Q4",
                                           "--json"]).output)
    assert alone["groups"] == [] and alone["raw"] == doc["raw"] and alone["goal"] == doc["goal"]


def test_table_and_bad_options(tmp_path):
    write_synth(tmp_path, deals=120, seed=2)
    import_canonical(tmp_path)
    result = runner.invoke(app, ["coverage", "--as-of", "2025-11-15", "--by", "team"])
    assert result.exit_code == 0, result.output
    assert "Coverage of FY2025-Q4 (2025-10-01 to 2025-12-31)" in result.output and "team " in result.output
    bad = runner.invoke(app, ["coverage", "--period", "2025-Q5"])
    assert bad.exit_code == 2 and "--period" in bad.output and "FY2026-Q1" in bad.output
    bad = runner.invoke(app, ["coverage", "--by", "owner,region"])
    assert bad.exit_code == 2 and "--by" in bad.output and "'region'" in bad.output
    bad = runner.invoke(app, ["coverage", "--as-of", "yesterday"])
    assert bad.exit_code == 2 and "--as-of" in bad.output


def test_forecast_from_the_store_equals_the_folder(tmp_path):
    from bestby.engine.forecast import forecast

    write_synth(tmp_path, deals=400, seed=22)
    import_canonical(tmp_path)
    result = runner.invoke(app, ["forecast", "--as-of", "2025-11-15", "--period", "2025-Q4", "--json",
                                 "--sims", "2000", "--by", "owner,team,pipeline"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    as_of, period = datetime(2025, 11, 15, tzinfo=UTC), parse_period("2025-Q4")
    want = forecast(folder_tables(tmp_path, as_of=as_of), as_of=as_of, period=period, sims=2000, seed=2026,
                    levels=("owner", "team", "pipeline", "all"))
    rows = {(r["level"], r["key"]): r for r in got["groups"]}
    rows[("all", "all")] = got
    assert rows.keys() == {(r["level"], r["key"]) for r in want["rows"]}
    for w in want["rows"]:
        g = rows[(w["level"], w["key"])]
        for field in ("won", "open_expected", "new_expected", "expected", "p10", "p50", "p90"):
            assert g[field] == pytest.approx(w[field], rel=1e-9, abs=1e-6), (w["key"], field)
        assert g["p10"] <= g["p50"] <= g["p90"]
    assert [d["deal_id"] for d in got["deals"]] == [d["deal_id"] for d in want["deals"]]
    assert [d["probability"] for d in got["deals"]] == [d["p"] for d in want["deals"]]
    assert {"period", "as_of", "expected", "p10", "p50", "p90", "groups", "deals"} <= got.keys()
    table = runner.invoke(app, ["forecast", "--as-of", "2025-11-15", "--by", "pipeline", "--deals", "3",
                                "--sims", "500"])
    assert table.exit_code == 0 and "P90" in table.output and "largest contributions" in table.output
    bad = runner.invoke(app, ["forecast", "--sims", "5"])
    assert bad.exit_code == 2 and "--sims" in bad.output


def test_funnel_from_the_store_equals_the_folder(tmp_path):
    from datetime import timedelta

    from bestby.engine.funnel import funnel

    write_synth(tmp_path, deals=300, seed=23)
    import_canonical(tmp_path)
    as_of = datetime(2025, 11, 15, tzinfo=UTC)
    for by in (None, "owner", "team"):
        args = ["funnel", "--as-of", "2025-11-15", "--window", "200", "--json"] + (["--by", by] if by else [])
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        want = funnel(folder_tables(tmp_path, as_of=as_of), as_of=as_of, since=as_of - timedelta(days=200), by=by)
        assert json.loads(result.output) == json.loads(json.dumps(want)) and want
    table = runner.invoke(app, ["funnel", "--as-of", "2025-11-15"])
    assert table.exit_code == 0 and "to next" in table.output and "Qualify → 1st meeting" in table.output
    bad = runner.invoke(app, ["funnel", "--by", "region"])
    assert bad.exit_code == 2 and "--by" in bad.output


def test_reverse_funnel_from_the_store_equals_the_folder(tmp_path):
    from bestby.engine.reverse_funnel import reverse_funnel

    write_synth(tmp_path, deals=300, seed=24)
    import_canonical(tmp_path)
    result = runner.invoke(app, ["reverse-funnel", "--as-of", "2025-11-15", "--period", "2025-Q4", "--json"])
    assert result.exit_code == 0, result.output
    as_of, period = datetime(2025, 11, 15, tzinfo=UTC), parse_period("2025-Q4")
    quotas = _quotas(tmp_path)
    want = reverse_funnel(folder_tables(tmp_path, as_of=as_of), as_of=as_of, period=period,
                          goals=goals_by_owner(quotas, period))
    got = json.loads(result.output)
    assert [(r["level"], r["key"]) for r in got] == [(r["level"], r["key"]) for r in want] and want
    for g, w in zip(got, want):
        for field, value in w.items():
            if isinstance(value, float):
                assert g[field] == pytest.approx(value, rel=1e-6, abs=1e-6), (w["key"], field)
            else:
                assert g[field] == value, (w["key"], field)
    bad = runner.invoke(app, ["reverse-funnel", "--by", "pipeline"])
    assert bad.exit_code == 2 and "--by" in bad.output
