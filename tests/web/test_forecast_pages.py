"""Forecast and coverage pages: the engine's figures per row, cut by role, a drill-down to the deals, 400 on bad input.

The expected figures are computed here with the engine on the same store
(:func:`bestby.engine.forecast.forecast`, :func:`bestby.engine.coverage.coverage`)
and the goals from the quota rows read with the ORM; the pages go through
:mod:`bestby.goals.reports`. Engine tests commit (``transaction=True``): the
engine reads the store through a second connection.
"""

from __future__ import annotations

import re

import pytest

from bestby.engine.coverage import coverage
from bestby.engine.forecast import forecast
from bestby.people.models import User
from bestby.pipeline.analytics import store_source
from tests.web.reports_data import AS_OF, QUERY, deal_ids, figure, goals, load_store, period, synth_folder, table_rows
from tests.web.text import without_tokens

PAGES = ("/forecast/", "/coverage/", "/funnel/", "/backtest/", "/goals/")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return synth_folder(tmp_path_factory)


@pytest.fixture
def store(transactional_db, folder):
    return load_store(folder)


def _engine_forecast():
    return forecast(store_source(AS_OF), as_of=AS_OF, period=period(), levels=("owner", "team", "all"))


@pytest.mark.django_db
@pytest.mark.parametrize("url", PAGES)
def test_signed_out_is_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


@pytest.mark.django_db(transaction=True)
def test_forecast_admin_rows_equal_the_engine_and_drill_down_lists_the_deals(client, store):
    client.force_login(store["admin"])
    response = client.get(f"/forecast/?{QUERY}&group=owner:U0002")
    assert response.status_code == 200
    html = response.content.decode()
    shown = table_rows(html, "forecast-table")
    engine = _engine_forecast()
    want = {(r["level"], r["key"]): r for r in engine["rows"] if r["level"] in ("owner", "team", "all")}
    assert set(shown) == set(want) and ("all", "all") in shown and ("team", "South 1") in shown
    goal = goals()
    for key, row in shown.items():
        for field in ("won", "expected", "p10", "p50", "p90"):
            assert figure(row[field]) == pytest.approx(want[key][field], rel=1e-9, abs=1e-6), (key, field)
    assert figure(shown[("owner", "U0002")]["goal"]) == pytest.approx(float(goal["U0002"]))
    assert figure(shown[("team", "North 1")]["goal"]) == pytest.approx(float(goal["team:North 1"]))
    assert figure(shown[("all", "all")]["goal"]) == pytest.approx(float(sum(v for k, v in goal.items()
                                                                           if k.startswith("team:"))))
    # the chart: one slot per row, the dot at the expected amount, the ring at the goal
    slots = re.findall(r'<g class="slot" data-label="([^"]+)" data-low="[^"]*" data-mid="([^"]+)"', html)
    assert len(slots) == len(shown)
    assert float(dict(slots)["François Harris"]) == pytest.approx(want[("owner", "U0002")]["expected"], abs=0.01)
    # the drill-down: U0002's open deals, largest contribution first, with the engine's contributions
    mine = [d for d in engine["deals"] if d["owner_id"] == "U0002"]
    assert mine and deal_ids(html, "drill-deals") == [d["deal_id"] for d in mine]
    contributions = re.findall(r'<tr data-deal="[^"]+" data-contribution="([^"]+)"', html)
    assert [float(c) for c in contributions] == pytest.approx([d["contribution"] for d in mine])
    assert f'href="/deals/{mine[0]["deal_id"]}/"' in html


@pytest.mark.django_db(transaction=True)
def test_forecast_rep_sees_their_own_row_and_deals_only(client, store):
    client.force_login(store["rep"])
    refused = client.get(f"/forecast/?{QUERY}&group=owner:U0003")
    assert refused.status_code == 400 and "group: " in refused.content.decode()
    html = without_tokens(client.get(f"/forecast/?{QUERY}&group=owner:U0002").content.decode())
    assert set(table_rows(html, "forecast-table")) == {("owner", "U0002")}
    assert "Workspace" not in html and "Patricia Davis" not in html  # U0003's name is nowhere
    engine = _engine_forecast()
    mine = {d["deal_id"] for d in engine["deals"] if d["owner_id"] == "U0002"}
    assert mine and set(deal_ids(html, "drill-deals")) == mine
    assert set(re.findall(r'href="/deals/([^/"]+)/"', html)) == mine  # no link to anyone else's deal


@pytest.mark.django_db(transaction=True)
def test_forecast_manager_sees_their_team_only(client, store):
    client.force_login(store["mgr"])
    response = client.get(f"/forecast/?{QUERY}&group=team:North 1")
    assert response.status_code == 200
    html = response.content.decode()
    shown = set(table_rows(html, "forecast-table"))
    assert ("team", "North 1") in shown and {("owner", "U0002"), ("owner", "U0003")} <= shown
    assert shown <= {("owner", "U0001"), ("owner", "U0002"), ("owner", "U0003"), ("team", "North 1")}
    engine = _engine_forecast()
    team = {d["deal_id"] for d in engine["deals"] if d["team"] == "North 1"}
    assert set(deal_ids(html, "drill-deals")) == team
    assert client.get(f"/forecast/?{QUERY}&group=team:South 1").status_code == 400
    assert client.get(f"/forecast/?{QUERY}&group=all:all").status_code == 400


@pytest.mark.django_db(transaction=True)
def test_coverage_rows_equal_the_engine_and_are_cut_by_role(client, store):
    client.force_login(store["admin"])
    html = client.get(f"/coverage/?{QUERY}").content.decode()
    shown = table_rows(html, "coverage-table")
    want = {(r["level"], r["key"]): r for r in coverage(store_source(AS_OF), as_of=AS_OF, period=period(),
                                                        levels=("owner", "team", "pipeline", "all"))}
    assert set(shown) == set(want) and ("pipeline", "default") in shown
    for key, row in shown.items():
        for field, attr in (("goal", "goal"), ("raw", "raw"), ("fresh", "fresh"), ("weighted", "weighted"),
                            ("raw_coverage", "raw-coverage"), ("weighted_coverage", "weighted-coverage"),
                            ("needed", "needed")):
            w = want[key][field]
            assert figure(row[attr]) == (None if w is None else pytest.approx(w, rel=1e-9)), (key, field)
    assert html.count('<line class="needed"') == sum(1 for r in want.values() if r["needed"] is not None)

    client.force_login(store["mgr"])
    shown = set(table_rows(client.get(f"/coverage/?{QUERY}").content.decode(), "coverage-table"))
    assert ("team", "North 1") in shown and not {k for k in shown if k[0] in ("pipeline", "all")}
    assert ("owner", "U0004") not in shown and ("team", "South 1") not in shown


@pytest.mark.django_db
@pytest.mark.parametrize("url, field", [
    ("/forecast/?period=2025-Q9", "period"), ("/forecast/?as_of=yesterday", "as_of"),
    ("/forecast/?group=nobody", "group"), ("/forecast/?period=FY0000-Q1", "period"),
    ("/coverage/?period=2025-13", "period"), ("/coverage/?as_of=9999-01-01", "as_of"),
    ("/funnel/?window=0", "window"), ("/funnel/?window=many", "window"), ("/funnel/?by=pipeline", "by"),
    ("/funnel/?as_of=2025-02-30", "as_of"),
    ("/backtest/?from=last-year", "from"), ("/backtest/?from=2025-Q1&to=2025-03", "to"),
    ("/backtest/?from=2025-Q3&to=2025-Q1", "to"), ("/backtest/?from=2020-Q1&to=2025-Q1", "to"),
    ("/backtest/?weeks_in=0,x", "weeks_in"), ("/backtest/?weeks_in=60", "weeks_in"),
    ("/goals/?period=soon", "period"), ("/goals/?owner=%00", "owner"), ("/forecast/?period=%00", "period"),
])
def test_bad_parameters_are_400_naming_the_parameter(client, url, field):
    admin = User.objects.create_user(username="root", external_id="root", role="admin")
    client.force_login(admin)
    response = client.get(url)
    assert response.status_code == 400
    errors = re.findall(r'<p class="error" role="alert">([^<]+)</p>', response.content.decode())
    assert errors and errors[0].startswith(f"{field}: "), errors


def test_reports_are_cached_until_the_data_changes(store):
    from bestby.goals.cache import cached_report
    from bestby.goals.reports import coverage_report, forecast_report
    from bestby.pipeline.models import Deal

    first, hit = cached_report(forecast_report, period=period(), as_of=AS_OF, by=("owner",))
    assert not hit and first["groups"]
    again, hit = cached_report(forecast_report, period=period(), as_of=AS_OF, by=("owner",))
    assert hit and again == first  # the drill-down's request: same as_of, no recomputation
    _, hit = cached_report(forecast_report, period=period(), as_of=AS_OF, by=("owner", "team"))
    assert not hit  # other parameters, another entry
    _, hit = cached_report(coverage_report, period=period(), as_of=AS_OF, by=("owner",))
    assert not hit  # another report, another entry
    deal = Deal.objects.filter(status="open").order_by("pk").first()
    deal.amount = (deal.amount or 0) * 2 + 1000
    deal.save()  # a write gives the data a new revision: the figures are computed again
    changed, hit = cached_report(forecast_report, period=period(), as_of=AS_OF, by=("owner",))
    assert not hit and changed["expected"] != first["expected"]
