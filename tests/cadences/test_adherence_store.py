"""Adherence from the store and `bestby adherence`: the hand-worked figures of tests/cadences/adherence_data.py.

The store is built through the cadence services (enrol, complete, skip, reply, social), so the rows the
adapter reads are the ones the product writes.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone

import pytest
from typer.testing import CliRunner

from bestby.cadences.adherence_params import DateRange, ParamError, adherence_as_of, adherence_period
from bestby.cadences.adherence_store import adherence_report
from bestby.cli import app
from tests.cadences.adherence_data import EXPECTED, build, figures

pytestmark = pytest.mark.django_db
UTC = timezone.utc
D = date
MARCH = DateRange(D(2026, 3, 1), D(2026, 4, 1))
runner = CliRunner()


@pytest.fixture(autouse=True)
def germany(settings):
    settings.BESTBY_COUNTRY = "DE"
    settings.BESTBY_COUNTRY_REGION = None


@pytest.fixture
def users():
    return build()


def rows(doc):
    return {(r["level"], r["key"]): r for r in doc["rows"]}


def test_operator_sees_every_row_worked_by_hand(users):
    doc = adherence_report(period=MARCH, as_of=D(2026, 3, 20))
    got = rows(doc)
    assert set(got) == set(EXPECTED)
    for key, want in EXPECTED.items():
        assert figures(got[key]) == want, key
    assert (doc["period"], doc["start"], doc["end"], doc["as_of"]) == ("2026-03-01..2026-03-31", "2026-03-01",
                                                                       "2026-03-31", "2026-03-20")
    everyone = got[("all", "all")]
    assert [(t["touch"], t["reached"], t["replied"], t["meetings"]) for t in everyone["by_touch"]] == [
        (1, 4, 0, 0), (2, 3, 0, 0), (3, 3, 2, 1)]
    assert everyone["touches_before_stop"] == [{"touches": 1, "leads": 1}, {"touches": 3, "leads": 1}]
    assert got[("owner", "u-rita")]["on_time_share"] == pytest.approx(5 / 9)
    assert got[("owner", "u-rob")]["team"] == "North"
    # the admin sees the same document
    assert adherence_report(period=MARCH, as_of=D(2026, 3, 20), user=users["ada"])["rows"] == doc["rows"]


def test_an_instant_is_each_sellers_own_date(users):
    # 05:00 UTC on 10 March: 06:00 on the 10th in Berlin, 22:00 on the 9th in Los Angeles
    got = rows(adherence_report(period=MARCH, as_of=datetime(2026, 3, 10, 5, tzinfo=UTC)))
    # rob: B1's three steps on time; B2's two steps of the 9th due today (in UTC they would be overdue)
    assert figures(got[("owner", "u-rob")])[:6] == (5, 3, 0, 0, 0, 2)
    # rita: R1 3 + R2 2 on time, R2 step 4 late, step 3 skipped; R2 step 5 now due on the 12th
    assert figures(got[("owner", "u-rita")])[:6] == (7, 5, 1, 1, 0, 0)
    # sam: step 1 on time, steps of 2, 3 and 5 March overdue, the 10th due today
    assert figures(got[("owner", "u-sam")])[:6] == (5, 1, 0, 0, 3, 1)
    # runs: R2 is still being worked (last attempt the 9th); S1 stopped (2 -> 10 March: 6 business days)
    assert figures(got[("owner", "u-rita")])[6:] == (1, 1, 0, 0)
    assert figures(got[("owner", "u-sam")])[6:] == (1, 0, 1, 1)


@pytest.mark.parametrize("who, shown", [
    ("rita", {("owner", "u-rita"), ("team", "North")}),       # a rep: themselves and their team's total
    ("sam", {("owner", "u-sam"), ("team", "South")}),
    ("mia", {("owner", "u-rita"), ("owner", "u-rob"), ("team", "North")}),  # a manager: their sellers and team
])
def test_rows_are_cut_by_role(users, who, shown):
    got = rows(adherence_report(period=MARCH, as_of=D(2026, 3, 20), user=users[who]))
    assert set(got) == shown
    for key in shown:   # a team total is the whole team's, not only what the user reads row by row
        assert figures(got[key]) == EXPECTED[key], key


def test_an_inactive_user_sees_nothing(users):
    users["rita"].is_active = False
    users["rita"].save()
    assert adherence_report(period=MARCH, as_of=D(2026, 3, 20), user=users["rita"])["rows"] == []


def test_period_and_as_of_parameters():
    now = datetime(2026, 5, 10, 12, tzinfo=UTC)
    assert adherence_period("2026-03-02..2026-03-13", now) == DateRange(D(2026, 3, 2), D(2026, 3, 14))
    quarter = adherence_period("2026-Q1", now)
    assert (quarter.start, quarter.end, quarter.label) == (D(2026, 1, 1), D(2026, 4, 1), "FY2026-Q1")
    assert adherence_period("2026-03", now).label == "FY2026-M03"
    assert adherence_period("", now).label == "FY2026-Q2"
    assert adherence_as_of("2026-03-20", now=now) == D(2026, 3, 20)
    assert adherence_as_of("2026-03-20T10:00:00+02:00", now=now) == datetime(2026, 3, 20, 8, tzinfo=UTC)
    assert adherence_as_of("", now=now) == now
    for bad, words in (("2026-03-13..2026-03-02", "ends before it starts"), ("2026-03-01..", "range of dates"),
                       ("2026-02-30..2026-03-02", "day is out of range"), ("2026-Q9", "2026-Q9"),
                       ("2000-01-01..2026-01-01", "ten years")):
        with pytest.raises(ParamError) as exc:
            adherence_period(bad, now)
        assert exc.value.field == "period" and words in exc.value.message, bad
    with pytest.raises(ParamError) as exc:
        adherence_as_of("yesterday", now=now)
    assert exc.value.field == "as_of"


def test_cli_json_and_table(users):
    result = runner.invoke(app, ["adherence", "--period", "2026-03-01..2026-03-31", "--as-of", "2026-03-20",
                                 "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    got = rows(doc)
    assert {k: figures(v) for k, v in got.items()} == EXPECTED
    assert got[("all", "all")]["by_touch"][2] == {
        "touch": 3, "reached": 3, "replied": 2, "meetings": 1,
        "reply_rate": pytest.approx(2 / 3), "meeting_rate": pytest.approx(1 / 3)}
    table = runner.invoke(app, ["adherence", "--period", "2026-03-01..2026-03-31", "--as-of", "2026-03-20"])
    assert table.exit_code == 0, table.output
    text = table.output
    # rita: 9 due, 56% on time (5/9), 11% late (1/9), 22% overdue (2/9), 11% skipped, 0 due today
    assert re.search(r"Rita\s+9\s+56%\s+11%\s+22%\s+11%\s+0\n", text), text
    assert re.search(r"team North\s+18\s+44%\s+6%\s+39%\s+6%\s+1\n", text), text   # 8/18, 1/18, 7/18, 1/18
    # leads: everyone 4, 2 engaged, 2 stopped, 50% abandoned, (1 + 3) / 2 touches before stopping
    assert re.search(r"everyone\s+4\s+2\s+2\s+50%\s+2\.0\n", text), text
    assert re.search(r"\n\s+3\s+3\s+2\s+67%\s+1\s+33%\s+1\n", text), text     # touch 3
    # a fiscal month covers the same days
    month = json.loads(runner.invoke(app, ["adherence", "--period", "2026-03", "--as-of", "2026-03-20",
                                           "--json"]).output)
    assert month["period"] == "FY2026-M03" and month["rows"] == doc["rows"]


@pytest.mark.parametrize("args, words", [
    (["--period", "2026-Q9"], "--period"),
    (["--period", "2026-03-31..2026-03-01"], "ends before it starts"),
    (["--as-of", "soon"], "--as-of"),
])
def test_cli_bad_options_name_the_option(args, words):
    result = runner.invoke(app, ["adherence", *args])
    assert result.exit_code == 2 and words in result.output, result.output
