"""Report endpoints: the CLI's JSON documents over the store, cut by role, errors naming the field."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bestby.api.tokens import create_token
from bestby.cli import app
from bestby.engine.forecast import forecast
from bestby.engine.funnel import funnel
from bestby.goals.cache import cached_backtest
from bestby.pipeline.analytics import store_source
from tests.api.conftest import Api
from tests.web.reports_data import AS_OF, PERIOD, load_store, period, synth_folder

runner = CliRunner()
WHEN = {"period": PERIOD, "as_of": "2025-11-15"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return synth_folder(tmp_path_factory)


@pytest.fixture
def store(transactional_db, folder):
    users = load_store(folder)
    return {role: Api(create_token(user=u, name="tests")[1]) for role, u in users.items()}


@pytest.mark.django_db(transaction=True)
def test_coverage_is_the_cli_document_for_admins_and_own_rows_for_others(store):
    got = store["admin"].get("/api/coverage", by="owner,team,pipeline", **WHEN)
    assert got.status_code == 200, got.content
    cli = runner.invoke(app, ["coverage", "--period", PERIOD, "--as-of", "2025-11-15", "--by", "owner,team,pipeline",
                              "--json"])
    assert cli.exit_code == 0, cli.output
    assert got.json() == json.loads(cli.output)

    rep = store["rep"].get("/api/coverage", **WHEN).json()  # default for non-admins: their rows
    assert [(g["level"], g["key"]) for g in rep["groups"]] == [("owner", "U0002")]
    assert rep["goal"] is None and rep["raw"] is None and rep["period"] == "FY2025-Q4"
    mine = next(g for g in got.json()["groups"] if g["key"] == "U0002")
    assert rep["groups"][0] == mine


@pytest.mark.django_db(transaction=True)
def test_forecast_deals_and_rows_are_cut_by_role(store):
    engine = forecast(store_source(AS_OF), as_of=AS_OF, period=period(), levels=("owner", "team", "all"))
    rep = store["rep"].get("/api/forecast", **WHEN)
    assert rep.status_code == 200, rep.content
    doc = rep.json()
    assert [(g["level"], g["key"]) for g in doc["groups"]] == [("owner", "U0002")] and doc["expected"] is None
    want = [d for d in engine["deals"] if d["owner_id"] == "U0002"]
    assert [d["deal_id"] for d in doc["deals"]] == [d["deal_id"] for d in want]
    assert [d["contribution"] for d in doc["deals"]] == pytest.approx([d["contribution"] for d in want])
    row = next(r for r in engine["rows"] if r["level"] == "owner" and r["key"] == "U0002")
    assert doc["groups"][0]["expected"] == pytest.approx(row["expected"]) and doc["groups"][0]["goal"] > 0

    mgr = store["mgr"].get("/api/forecast", by="owner,team,pipeline", deals=3, **WHEN).json()
    keys = {(g["level"], g["key"]) for g in mgr["groups"]}
    assert ("team", "North 1") in keys and keys <= {("owner", "U0001"), ("owner", "U0002"), ("owner", "U0003"),
                                                    ("team", "North 1")}
    team = [d["deal_id"] for d in engine["deals"] if d["team"] == "North 1"][:3]
    assert [d["deal_id"] for d in mgr["deals"]] == team


@pytest.mark.django_db(transaction=True)
def test_funnel_reverse_funnel_and_backtest(store, frozen_clock):
    frozen_clock(AS_OF)  # the API's "now" for the backtest, and the cache lookup's below
    rows = store["rep"].get("/api/funnel", as_of="2025-11-15", window=365).json()
    since = AS_OF.replace(year=2024)
    want = [r for r in funnel(store_source(AS_OF), as_of=AS_OF, since=since, by="owner") if r["segment"] == "U0002"]
    assert rows == json.loads(json.dumps(want))
    assert store["rep"].get("/api/funnel", as_of="2025-11-15", by="team").json() == []  # a rep has no team rows

    reverse = store["mgr"].get("/api/reverse-funnel", by="owner,team,all", **WHEN).json()
    keys = {(r["level"], r["key"]) for r in reverse}
    assert ("team", "North 1") in keys and not {k for k in keys if k[0] == "all" or k[1] in ("South 1", "U0004")}

    refused = store["mgr"].get("/api/backtest", **{"from": "2025-Q3", "to": "2025-Q3", "weeks_in": "0"})
    assert refused.status_code == 403 and "admins" in refused.json()["detail"]
    got = store["admin"].get("/api/backtest", **{"from": "2025-Q3", "to": "2025-Q3", "weeks_in": "0"})
    assert got.status_code == 200, got.content
    doc = got.json()
    assert [(p["period"], p["weeks_in"]) for p in doc["periods"]] == [("FY2025-Q3", 0)]
    assert set(doc["baselines"]) == {"stage", "win_rate", "raw"} and doc["summary"]["mape"] is not None
    cached, hit = cached_backtest(periods=[period().previous()], weeks_in=(0,), now=AS_OF)
    assert hit and json.loads(json.dumps(cached)) == doc  # the page and the API share one cached document


@pytest.mark.parametrize("path, params, field", [
    ("/api/coverage", {"period": "2025-Q9"}, "period"),
    ("/api/coverage", {"as_of": "tomorrow"}, "as_of"),
    ("/api/coverage", {"by": "owner,shoe"}, "by"),
    ("/api/forecast", {"period": "FY0000"}, "period"),
    ("/api/forecast", {"deals": "-1"}, "deals"),
    ("/api/funnel", {"window": "0"}, "window"),
    ("/api/funnel", {"by": "pipeline"}, "by"),
    ("/api/reverse-funnel", {"by": "pipeline"}, "by"),
    ("/api/reverse-funnel", {"as_of": "3000-01-01"}, "as_of"),
    ("/api/backtest", {"from": "soon"}, "from"),
    ("/api/backtest", {"from": "2025-Q3", "to": "2025-Q1"}, "to"),
    ("/api/backtest", {"weeks_in": "0,x"}, "weeks_in"),
])
def test_bad_parameters_are_422_naming_the_field(world, path, params, field):
    response = world["api"]["admin"].get(path, **params)
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field and response.json()["detail"]
