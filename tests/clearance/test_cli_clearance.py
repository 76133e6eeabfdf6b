"""The clearance commands: clearance (list, apply), clear, snooze and undo on a store imported from a hand folder.

Store tests commit their data (``transaction=True``): the listing reads the
store through a second connection. The hand folder (tests/importers/folders.py)
has d1 open in Proposal (last touched 2024-02), d2 won and d3 lost; users
u-rep1 (rita@example.com) and u-mgr (max@example.com). bestby's clock is frozen
on 1 June 2026: clears and snoozes happen then, whatever day the tests run.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bestby.audit.models import AuditEntry
from bestby.cli import app
from bestby.clearance.models import ClearanceAction
from bestby.importers.canonical import import_canonical
from bestby.pipeline.models import Deal
from tests.clearance.helpers import deal_rows, dump
from tests.importers.folders import write_folder

pytestmark = pytest.mark.django_db(transaction=True)
runner = CliRunner()
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)  # the commands' "now": after 2026-01-01, before the 2030 dates below


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    frozen_clock(NOW)


@pytest.fixture
def store(tmp_path) -> Path:
    folder = write_folder(tmp_path / "store")
    import_canonical(folder)
    return folder


def _ok(args: list[str]):
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result


def _listed(as_of: str) -> list[str]:
    return [r["deal_id"] for r in json.loads(_ok(["clearance", "--as-of", as_of, "--json"]).stdout)]


def test_clear_then_undo_from_the_command_line(store):
    deals = deal_rows()
    result = _ok(["clear", "d1", "--reason", "no reply since February", "--by", "max@example.com"])
    action = ClearanceAction.objects.get()
    assert f"#{action.pk}" in result.stdout and f"bestby undo {action.pk}" in result.stdout
    d1 = Deal.objects.select_related("stage").get(external_id="d1")
    assert (d1.stage.name, d1.status, d1.lost_reason) == ("Lost", "lost", "timed out")
    entry = AuditEntry.objects.get(action="clearance.clear")
    assert (entry.by.email, entry.reason, entry.object_id) == ("max@example.com", "no reply since February", "d1")

    result = _ok(["undo", str(action.pk), "--reason", "she replied"])
    assert "Proposal (open)" in result.stdout
    assert deal_rows() == deals
    assert AuditEntry.objects.get(action="clearance.undo").reason == "she replied"


def test_clear_to_nurture(store):
    _ok(["clear", "d1", "--reason", "not this year", "--to", "nurture"])
    assert Deal.objects.get(external_id="d1").lost_reason == "back to nurture"


def test_snooze_hides_the_deal_until_the_date(store):
    assert _listed("2030-01-01") == ["d1"]
    result = _ok(["snooze", "d1", "--until", "2030-02-01", "--reason", "budget opens in February"])
    assert "2030-02-01" in result.stdout
    assert _listed("2030-01-31T23:00:00") == []
    assert _listed("2030-02-01") == ["d1"]
    table = _ok(["clearance", "--as-of", "2030-01-15"]).stdout
    assert "0 of 1 open deals to clear" in table
    action = ClearanceAction.objects.get()
    _ok(["undo", str(action.pk)])
    assert _listed("2030-01-15") == ["d1"]


def test_clearance_apply_reviews_then_applies_and_undoes_as_a_batch(store):
    before, deals = dump(), deal_rows()
    result = _ok(["clearance", "apply", "--as-of", "2030-01-01"])
    assert "d1" in result.stdout and "Nothing changed; run again with --yes" in result.stdout
    assert dump() == before

    result = _ok(["clearance", "apply", "--as-of", "2030-01-01", "--yes", "--by", "u-mgr"])
    action = ClearanceAction.objects.get()
    assert action.batch and action.by.external_id == "u-mgr"
    assert action.reason.startswith("clearance list: ") and "touch" in action.reason
    assert f"bestby undo --batch {action.batch}" in result.stdout and f"#{action.pk}" in result.stdout
    assert Deal.objects.get(external_id="d1").status == "lost"
    assert _listed("2030-01-01") == []

    _ok(["undo", "--batch", action.batch])
    assert deal_rows() == deals
    # `clearance --as-of D apply` reads --as-of from the group, as `clearance apply --as-of D` does
    result = _ok(["clearance", "--as-of", "2030-01-01", "apply"])
    assert "Would clear 1 deal (12,000 of pipeline)" in result.stdout


def test_apply_at_a_past_as_of_leaves_out_deals_closed_since(store):
    _ok(["clear", "d1", "--reason", "stale"])  # now, after 2026-01-01
    assert _listed("2026-01-01") == ["d1"]  # the list as it was then
    result = _ok(["clearance", "apply", "--as-of", "2026-01-01", "--yes"])
    assert "1 deal on the list" in result.stdout and "closed by now" in result.stdout
    assert "Nothing to clear" in result.stdout and ClearanceAction.objects.count() == 1


def test_nothing_to_apply(store):
    result = _ok(["clearance", "apply", "--as-of", "2024-02-02", "--yes"])
    assert "Nothing to clear" in result.stdout and not ClearanceAction.objects.exists()


def test_export_leaves_voided_events_out(store, tmp_path):
    _ok(["export", str(tmp_path / "before")])
    action_id = re.search(r"bestby undo (\d+)", _ok(["clear", "d1", "--reason", "stale"]).stdout).group(1)
    _ok(["export", str(tmp_path / "cleared")])
    _ok(["undo", action_id])
    _ok(["export", str(tmp_path / "after")])

    def events(name: str) -> list[list[str]]:
        with (tmp_path / name / "stage_events.csv").open(newline="", encoding="utf-8") as fh:
            return list(csv.reader(fh))

    assert ["d1", "Lost"] in [[r[0], r[2]] for r in events("cleared")]
    assert events("after") == events("before")
    for name in ("deals.csv", "leads.csv"):
        if (tmp_path / "before" / name).exists():
            assert (tmp_path / "after" / name).read_text() == (tmp_path / "before" / name).read_text()


def test_the_list_and_apply_use_the_policy_file(store, tmp_path):
    codes = {x["code"] for x in json.loads(_ok(["clearance", "--as-of", "2030-01-01", "--json"]).stdout)[0]["reasons"]}
    assert "no_touch" in codes  # d1: last touched 2024-02-02, default no_touch_days 90
    policy = tmp_path / "policy.toml"
    policy.write_text("[default]\nno_touch_days = 100000\n", encoding="utf-8")
    rows = json.loads(_ok(["clearance", "--as-of", "2030-01-01", "--json", "--policy", str(policy)]).stdout)
    assert [r["deal_id"] for r in rows] == ["d1"] and "no_touch" not in {x["code"] for x in rows[0]["reasons"]}
    _ok(["clearance", "apply", "--as-of", "2030-01-01", "--yes", "--policy", str(policy)])
    assert "no touch" not in ClearanceAction.objects.get().reason


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["clear", "NOPE", "d1", "--reason", "x"], ["DEAL_ID", "NOPE"]),
        (["clear", "d2", "--reason", "x"], ["DEAL_ID", "'d2' is won"]),
        (["clear", "d1", "--reason", "  "], ["--reason"]),
        (["clear", "d1"], ["--reason"]),
        (["clear", "d1", "--reason", "x", "--to", "maybe"], ["--to"]),
        (["clear", "d1", "--reason", "x", "--by", "nobody@example.com"], ["--by", "nobody@example.com"]),
        (["snooze", "d1", "--until", "2030-13-01", "--reason", "x"], ["--until"]),
        (["snooze", "d1", "--until", "2020-01-01", "--reason", "x"], ["--until", "2020-01-01"]),
        (["snooze", "d3", "--until", "2099-01-01", "--reason", "x"], ["DEAL_ID", "d3"]),
        (["snooze", "d1", "--until", "2099-01-01", "--reason", ""], ["--reason"]),
        (["undo", "999999"], ["ACTION_ID", "999999"]),
        (["undo", "first"], ["ACTION_ID", "first"]),
        (["undo"], ["ACTION_ID"]),
        (["undo", "--batch", "nope"], ["--batch", "nope"]),
        (["clearance", "apply", "--to", "maybe"], ["--to"]),
        (["clearance", "apply", "--as-of", "2030-01-01", "--yes", "--reason", " "], ["--reason"]),
        (["clearance", "apply", "--as-of", "soon"], ["--as-of"]),
        (["clearance", "--policy", "NOWHERE.toml"], ["--policy"]),
        (["clearance", "apply", "--yes", "--policy", "NOWHERE.toml"], ["--policy"]),
    ],
)
def test_bad_input_exits_2_naming_it_and_changes_nothing(store, args, needles):
    before = dump()
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    for needle in needles:
        assert needle in result.output
    assert dump() == before


def test_undo_twice_and_undo_of_an_undo_exit_2(store):
    _ok(["clear", "d1", "--reason", "stale"])
    first = ClearanceAction.objects.get()
    _ok(["undo", str(first.pk)])
    second = ClearanceAction.objects.get(kind="undo")
    before = dump()
    for args, needle in (([str(first.pk)], "already undone"), ([str(second.pk)], "cannot itself be undone")):
        result = runner.invoke(app, ["undo", *args])
        assert result.exit_code == 2 and needle in result.output and "ACTION_ID" in result.output, result.output
        assert dump() == before
