"""The adherence page: the hand-worked figures of tests/cadences/adherence_data.py, cut by role; charts; 400s."""

from __future__ import annotations

import re

import pytest

from tests.cadences.adherence_data import EXPECTED, build
from tests.web.reports_data import table_rows

pytestmark = pytest.mark.django_db
QUERY = "period=2026-03-01..2026-03-31&as_of=2026-03-20"
SHOWN = ("due", "on-time", "late", "skipped", "overdue", "due-today", "leads", "engaged", "stopped", "abandoned")


@pytest.fixture(autouse=True)
def germany(settings):
    settings.BESTBY_COUNTRY = "DE"
    settings.BESTBY_COUNTRY_REGION = None


@pytest.fixture
def users():
    return build()


def page(client, user, query=QUERY):
    client.force_login(user)
    return client.get(f"/adherence/?{query}")


def shown(html):
    return {key: tuple(int(attrs[f]) for f in SHOWN) for key, attrs in table_rows(html, "adherence-table").items()}


def test_signed_out_is_sent_to_sign_in(client):
    response = client.get("/adherence/")
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


def test_admin_sees_every_row_and_the_charts(client, users):
    response = page(client, users["ada"])
    assert response.status_code == 200
    html = response.content.decode()
    assert shown(html) == EXPECTED
    rita = table_rows(html, "adherence-table")[("owner", "u-rita")]
    assert float(rita["on-time-share"]) == pytest.approx(5 / 9)
    assert ">Rita<" in html and ">Team North<" in html and 'href="/adherence/"' in html   # the nav link
    # the steps chart: one group per team and seller (not the workspace), four series each
    steps = re.search(r'<svg class="chart bars"[^>]*aria-label="Steps due[^"]*".*?</svg>', html, re.S).group(0)
    assert re.findall(r'data-label="([^"]+)"', steps) == ["Team North", "Team South", "Rita", "Rob", "Sam"]
    assert 'data-series="on time" data-value="0.555556"' in steps          # rita: 5 / 9
    assert 'data-series="overdue" data-value="0.833333"' in steps          # sam (and team South): 5 / 6
    # the focus of an admin is the workspace: stopped after 1 touch (S1) and 3 (R2); touch 3 replied 2 of 3
    stops = re.search(r'aria-label="Touches before the seller stopped, Workspace".*?</svg>', html, re.S).group(0)
    assert re.findall(r'data-label="(\d+)"', stops) == ["1", "2", "3"]
    assert re.findall(r'data-value="([^"]+)"', stops) == ["1", "0", "1"]
    rates = re.search(r'aria-label="Reply and meeting rate by touch number, Workspace".*?</svg>', html, re.S).group(0)
    assert 'data-series="reply rate" data-value="0.666667"' in rates
    assert 'data-series="meeting rate" data-value="0.333333"' in rates
    touch3 = re.search(r'<tr data-touch="3"[^>]*>', html).group(0)
    assert 'data-reached="3"' in touch3 and 'data-replied="2"' in touch3 and 'data-meetings="1"' in touch3


@pytest.mark.parametrize("who, rows", [
    ("rita", {("owner", "u-rita"), ("team", "North")}),
    ("mia", {("owner", "u-rita"), ("owner", "u-rob"), ("team", "North")}),
    ("sam", {("owner", "u-sam"), ("team", "South")}),
])
def test_rows_are_cut_by_role(client, users, who, rows):
    response = page(client, users[who])
    assert response.status_code == 200
    html = response.content.decode()
    got = shown(html)
    assert set(got) == rows and all(got[k] == EXPECTED[k] for k in rows)
    assert "Workspace" not in html
    # the charts are of the user's team by default
    team = "Team North" if who != "sam" else "Team South"
    assert f"Where buyers engage: {team}" in html


def test_who_picks_a_visible_row_and_refuses_another(client, users):
    html = page(client, users["mia"], QUERY + "&who=owner:u-rob").content.decode()
    assert "Where buyers engage: Rob" in html
    rates = re.search(r'aria-label="Reply and meeting rate by touch number, Rob".*?</svg>', html, re.S).group(0)
    assert re.findall(r'data-series="meeting rate" data-value="([^"]+)"', rates) == ["0", "0", "1"]   # B1 at 3
    response = page(client, users["rita"], QUERY + "&who=owner:u-rob")   # a rep never sees a colleague's row
    html = response.content.decode()
    assert response.status_code == 400 and "who: &#x27;owner:u-rob&#x27; is not a row you can see" in html
    assert "adherence-table" not in html and "Where buyers engage" not in html


@pytest.mark.parametrize("query, words", [
    ("period=2026-Q9", "period: "),
    ("period=2026-03-31..2026-03-01", "ends before it starts"),
    ("as_of=tomorrow", "as_of: "),
])
def test_bad_parameters_give_400_naming_them(client, users, query, words):
    response = page(client, users["ada"], query)
    assert response.status_code == 400
    html = response.content.decode()
    assert words in html and 'aria-invalid="true"' in html and "adherence-table" not in html
