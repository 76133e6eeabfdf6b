"""Funnel and backtest pages: the engine's figures, cut by role; the backtest cached until the data changes."""

from __future__ import annotations

import re

import pytest

from bestby.engine.backtest import backtest
from bestby.engine.forecast import SEED
from bestby.engine.funnel import funnel
from bestby.engine.periods import parse_period
from bestby.engine.reverse_funnel import reverse_funnel
from bestby.pipeline.analytics import store_source
from bestby.pipeline.models import Deal
from tests.web.reports_data import AS_OF, QUERY, figure, load_store, period, synth_folder, table_rows

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return synth_folder(tmp_path_factory)


@pytest.fixture
def store(transactional_db, folder):
    return load_store(folder)


def _funnel_sections(html: str) -> dict[tuple[str, str], dict[str, tuple[float | None, float | None]]]:
    """(pipeline, segment) -> stage -> (to next, to won) as the page shows them."""
    out = {}
    sections = r'<section class="report funnel" data-pipeline="([^"]*)" data-segment="([^"]*)">(.*?)</section>'
    for s in re.finditer(sections, html, re.S):
        stages = re.findall(r'<tr data-stage="([^"]+)" data-to-next="([^"]*)" data-to-won="([^"]*)"', s.group(3))
        out[(s.group(1), s.group(2))] = {st: (figure(a), figure(b)) for st, a, b in stages}
    return out


def test_funnel_by_owner_equals_the_engine_and_a_rep_sees_their_own(client, store):
    client.force_login(store["admin"])
    html = client.get(f"/funnel/?{QUERY}&by=owner&window=365").content.decode()
    since = AS_OF.replace(year=2024)
    want = funnel(store_source(AS_OF), as_of=AS_OF, since=since, by="owner")
    shown = _funnel_sections(html)
    assert set(shown) == {(r["pipeline"], r["segment"]) for r in want}
    for r in want:
        to_next, to_won = shown[(r["pipeline"], r["segment"])][r["stage"]]
        assert to_next == (None if r["to_next"] is None else pytest.approx(r["to_next"]))
        assert to_won == (None if r["to_won"] is None else pytest.approx(r["to_won"]))
    assert html.count('<svg class="chart bars"') == len(shown)
    # the reverse funnel: the engine's gap per row, the workspace line for admins
    reverse = table_rows(html, "reverse-funnel")
    engine = {(r["level"], r["key"]): r for r in reverse_funnel(store_source(AS_OF), as_of=AS_OF, period=period(),
                                                                levels=("owner", "team", "all"))}
    assert set(reverse) == set(engine) and ("all", "all") in reverse
    for key, row in reverse.items():
        assert figure(row["gap"]) == pytest.approx(engine[key]["gap"]), key

    client.force_login(store["rep"])
    html = client.get(f"/funnel/?{QUERY}&window=365").content.decode()  # a rep's default: by owner, their own
    assert {seg for _, seg in _funnel_sections(html)} == {"U0002"}
    assert set(table_rows(html, "reverse-funnel")) == {("owner", "U0002")}
    assert client.get(f"/funnel/?{QUERY}&by=owner&who=U0003").status_code == 400  # not theirs: no such row


def test_funnel_manager_sees_their_team_and_no_pipeline_totals(client, store):
    client.force_login(store["mgr"])
    html = client.get(f"/funnel/?{QUERY}&by=team&window=365").content.decode()
    assert {seg for _, seg in _funnel_sections(html)} == {"North 1"}
    reverse = set(table_rows(html, "reverse-funnel"))
    assert ("team", "North 1") in reverse and ("team", "South 1") not in reverse and ("all", "all") not in reverse
    assert ("owner", "U0004") not in reverse


def test_backtest_equals_the_engine_is_cached_and_is_for_admins(client, store, frozen_clock):
    frozen_clock(AS_OF)  # the page's "now", and the engine's below
    client.force_login(store["admin"])
    url = "/backtest/?from=2025-Q3&to=2025-Q3&weeks_in=0"
    first = client.get(url)
    assert first.status_code == 200
    html = first.content.decode()
    assert "from the cache" not in html and '<svg class="chart interval"' in html
    q3 = parse_period("2025-Q3")
    want = backtest(store_source, periods=[q3], weeks_in=(0,), now=AS_OF, sims=1_000, seed=SEED)
    snaps = re.findall(r'<tr data-period="([^"]+)" data-weeks-in="(\d+)" data-forecast="([^"]*)" data-actual="([^"]*)"',
                       html)
    assert [(p, int(w)) for p, w, _, _ in snaps] == [(s["period"], s["weeks_in"]) for s in want["snapshots"]]
    for (_, _, forecast, actual), s in zip(snaps, want["snapshots"]):
        assert float(forecast) == pytest.approx(s["model"]) and float(actual) == pytest.approx(s["actual"])
    methods = dict(re.findall(r'<tr data-method="(\w+)" data-mape="([^"]*)"', html))
    assert set(methods) == {"model", "stage", "win_rate", "raw"}
    for method, mape in methods.items():
        assert figure(mape) == pytest.approx(want["summary"][method]["mape"]), method
    shown_bins = re.findall(r'<tr data-low="([^"]+)" data-n="(\d+)"', html)
    assert [int(n) for _, n in shown_bins] == [b["n"] for b in want["calibration"] if b["n"]]

    assert "from the cache" in client.get(url).content.decode()  # the same data: no replay
    deal = Deal.objects.order_by("pk").first()
    deal.name += " (renamed)"
    deal.save()  # any write of a deal gives the data a new revision
    assert "from the cache" not in client.get(url).content.decode()

    for role in ("mgr", "rep"):
        client.force_login(store[role])
        assert client.get(url).status_code == 403
        assert 'href="/backtest/"' not in client.get("/goals/").content.decode()  # no menu entry either
