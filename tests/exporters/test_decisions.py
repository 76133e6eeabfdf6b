"""`bestby export decisions`: the log and the CRM files, row by row against values worked out by hand.

The story (tests/clearance/helpers.build(): D1 Qualify with close date
2025-03-31, D2 Proposal, D3 won, D4 Qualify with no close date; plus D5,
Proposal, close date 2025-06-30, made here), all times UTC:

    a0  2025-02-20 10:00  clear  D4 to lost      "went quiet"              (before --since 2025-03-01)
    a1  2025-03-03 09:30  clear  D1 to lost      "no reply since January"  by u-rep
    a2  2025-03-04 14:00  clear  D2 to nurture   "budget frozen until autumn"
    a3  2025-03-05 08:00  undo   a1 (D1)         "she replied"             by u-rep
    a4  2025-03-06 11:15  snooze D1 to 04-01     "call after Easter"
    a5  2025-03-06 12:00  snooze D5 to 05-01     "waiting for the board"
    a6  2025-03-07 16:45  undo   a0 (D4)         "cleared by mistake"
        2025-03-08        D2 moved by hand from Lost to Proposal (not a clearance action)

Net states since 2025-03-01, worked out by hand: D1 back in Qualify (the undo
a3 restored it; the snooze a4 changes nothing), close date its own
2025-03-31. D2 Lost "back to nurture", close date the clear's day 2025-03-04,
although D2 is in Proposal now (the file reports the decision; D2 is listed
as changed since). D5 only snoozed: Proposal as it is, 2025-06-30. D4 back
in Qualify (the undo a6 of a clear made before the window), no close date.
Action ids come from the store (they are not reset between tests on PostgreSQL).
"""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from bestby.cli import app
from bestby.clearance import services
from bestby.exporters_decisions import ExportError, decisions_since, write_decisions
from bestby.pipeline import services as pipeline_services
from tests.clearance.helpers import T0, build

pytestmark = pytest.mark.django_db
runner = CliRunner()
UTC = timezone.utc
SINCE = datetime(2025, 3, 1, tzinfo=UTC)


def _at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def story() -> dict[str, int]:
    """Play the story of the module docstring; return the action ids a0 to a6."""
    world = build()
    pipeline_services.create_deal(external_id="D5", pipeline=world["pipeline"], stage=world["stages"]["Proposal"],
                                  owner=world["rep"], amount=Decimal("900"), close_date=date(2025, 6, 30), at=T0)
    rep = world["rep"]
    (a0,) = services.clear(deals=["D4"], reason="went quiet", to="lost", at=_at(20, 10, month=2))
    (a1,) = services.clear(deals=["D1"], reason="no reply since January", to="lost", by=rep, at=_at(3, 9, 30))
    (a2,) = services.clear(deals=["D2"], reason="budget frozen until autumn", to="nurture", at=_at(4, 14))
    a3 = services.undo(action=a1, reason="she replied", by=rep, at=_at(5, 8))
    a4 = services.snooze(deal="D1", until=date(2025, 4, 1), reason="call after Easter", at=_at(6, 11, 15))
    a5 = services.snooze(deal="D5", until=date(2025, 5, 1), reason="waiting for the board", at=_at(6, 12))
    a6 = services.undo(action=a0, reason="cleared by mistake", at=_at(7, 16, 45))
    pipeline_services.move_deal(deal=world["deals"]["D2"], to_stage=world["stages"]["Proposal"], at=_at(8, 10))
    return {f"a{i}": a.pk for i, a in enumerate((a0, a1, a2, a3, a4, a5, a6))}


def read(path) -> list[list[str]]:
    raw = path.read_bytes()
    assert b"\r" not in raw  # LF line ends
    return list(csv.reader(raw.decode("utf-8").splitlines()))


def expected_log(a: dict[str, int]) -> list[list[str]]:
    return [
        ["action_id", "at", "kind", "deal_id", "pipeline", "to", "until", "undoes", "reason", "by",
         "stage_before", "stage_after", "status_before", "status_after", "lost_reason_after"],
        [str(a["a1"]), "2025-03-03T09:30:00+00:00", "clear", "D1", "default", "lost", "", "",
         "no reply since January", "u-rep", "Qualify", "Lost", "open", "lost", "timed out"],
        [str(a["a2"]), "2025-03-04T14:00:00+00:00", "clear", "D2", "default", "nurture", "", "",
         "budget frozen until autumn", "", "Proposal", "Lost", "open", "lost", "back to nurture"],
        [str(a["a3"]), "2025-03-05T08:00:00+00:00", "undo", "D1", "default", "", "", str(a["a1"]),
         "she replied", "u-rep", "Lost", "Qualify", "lost", "open", ""],
        [str(a["a4"]), "2025-03-06T11:15:00+00:00", "snooze", "D1", "default", "", "2025-04-01", "",
         "call after Easter", "", "", "", "", "", ""],
        [str(a["a5"]), "2025-03-06T12:00:00+00:00", "snooze", "D5", "default", "", "2025-05-01", "",
         "waiting for the board", "", "", "", "", "", ""],
        [str(a["a6"]), "2025-03-07T16:45:00+00:00", "undo", "D4", "default", "", "", str(a["a0"]),
         "cleared by mistake", "", "Lost", "Qualify", "lost", "open", ""],
    ]


def expected_crm(a: dict[str, int], header: list[str]) -> list[list[str]]:
    """Id, stage, lost reason, close date, actions, reason: in the order the deals first appear since 03-01."""
    return [header,
            ["D1", "Qualify", "", "2025-03-31", f"clear#{a['a1']} undo#{a['a3']} snooze#{a['a4']}",
             "call after Easter"],
            ["D2", "Lost", "back to nurture", "2025-03-04", f"clear#{a['a2']}", "budget frozen until autumn"],
            ["D5", "Proposal", "", "2025-06-30", f"snooze#{a['a5']}", "waiting for the board"],
            ["D4", "Qualify", "", "", f"undo#{a['a6']}", "cleared by mistake"]]


# ---------------------------------------------------------------- the module

def test_csv_log_row_by_row(tmp_path):
    a = story()
    written = write_decisions(decisions_since(SINCE), "csv", tmp_path / "log.csv")
    assert read(tmp_path / "log.csv") == expected_log(a)
    assert written.rows == {"clear": 2, "snooze": 2, "undo": 2}
    assert written.changed == []


def test_salesforce_one_row_per_deal_net_state(tmp_path):
    a = story()
    written = write_decisions(decisions_since(SINCE), "salesforce", tmp_path / "sf.csv")
    header = ["Id", "StageName", "Loss_Reason__c", "CloseDate", "bestby_actions", "bestby_reason"]
    assert read(tmp_path / "sf.csv") == expected_crm(a, header)
    # latest action per deal: D1 snooze, D2 clear, D5 snooze, D4 undo
    assert written.rows == {"clear": 1, "snooze": 2, "undo": 1}
    assert written.changed == ["D2"]  # in Proposal now; the file says Lost (the decision)


def test_salesforce_loss_reason_field_renamed(tmp_path):
    story()
    write_decisions(decisions_since(SINCE), "salesforce", tmp_path / "sf.csv", loss_reason_field="Reason_Lost__c")
    rows = read(tmp_path / "sf.csv")
    assert rows[0] == ["Id", "StageName", "Reason_Lost__c", "CloseDate", "bestby_actions", "bestby_reason"]
    assert rows[2][:3] == ["D2", "Lost", "back to nurture"]


def test_hubspot(tmp_path):
    a = story()
    write_decisions(decisions_since(SINCE), "hubspot", tmp_path / "hs.csv")
    header = ["Record ID", "Deal Stage", "Closed Lost Reason", "Close Date", "bestby_actions", "bestby_reason"]
    assert read(tmp_path / "hs.csv") == expected_crm(a, header)


def test_pipedrive(tmp_path):
    a = story()
    write_decisions(decisions_since(SINCE), "pipedrive", tmp_path / "pd.csv")
    assert read(tmp_path / "pd.csv") == [
        ["Deal - ID", "Deal - Status", "Deal - Lost reason", "bestby_actions", "bestby_reason"],
        ["D1", "open", "", f"clear#{a['a1']} undo#{a['a3']} snooze#{a['a4']}", "call after Easter"],
        ["D2", "lost", "back to nurture", f"clear#{a['a2']}", "budget frozen until autumn"],
        ["D5", "open", "", f"snooze#{a['a5']}", "waiting for the board"],
        ["D4", "open", "", f"undo#{a['a6']}", "cleared by mistake"],
    ]


def test_since_leaves_older_actions_out(tmp_path):
    a = story()
    # from 03-05: a3 to a6; D2's only action (a2, 03-04) is out, and D1 keeps its undo and snooze only
    write_decisions(decisions_since(datetime(2025, 3, 5, tzinfo=UTC)), "salesforce", tmp_path / "sf.csv")
    assert read(tmp_path / "sf.csv")[1:] == [
        ["D1", "Qualify", "", "2025-03-31", f"undo#{a['a3']} snooze#{a['a4']}", "call after Easter"],
        ["D5", "Proposal", "", "2025-06-30", f"snooze#{a['a5']}", "waiting for the board"],
        ["D4", "Qualify", "", "", f"undo#{a['a6']}", "cleared by mistake"],
    ]
    # at >= since: an action exactly at since is in, one microsecond later it is out
    assert [d.action_id for d in decisions_since(_at(3, 9, 30))][0] == a["a1"]
    assert [d.action_id for d in decisions_since(_at(3, 9, 30) + timedelta(microseconds=1))][0] == a["a2"]
    # everything since February: the old clear a0 is in the log too
    write_decisions(decisions_since(datetime(2025, 2, 1, tzinfo=UTC)), "csv", tmp_path / "all.csv")
    assert [row[0] for row in read(tmp_path / "all.csv")[1:]] == [str(a[f"a{i}"]) for i in range(7)]


def test_a_clear_not_undone_gives_the_lost_stage_and_the_day_of_the_clear(tmp_path):
    a = story()
    # a1 and a2 alone (as if exported before the undo a3): both deals stand cleared
    rows = [d for d in decisions_since(SINCE) if d.action_id <= a["a2"]]
    write_decisions(rows, "salesforce", tmp_path / "sf.csv")
    assert read(tmp_path / "sf.csv")[1:] == [
        ["D1", "Lost", "timed out", "2025-03-03", f"clear#{a['a1']}", "no reply since January"],
        ["D2", "Lost", "back to nurture", "2025-03-04", f"clear#{a['a2']}", "budget frozen until autumn"],
    ]


def test_no_actions_gives_a_header_only(tmp_path):
    story()
    written = write_decisions(decisions_since(datetime(2025, 4, 1, tzinfo=UTC)), "hubspot", tmp_path / "hs.csv")
    assert read(tmp_path / "hs.csv") == [
        ["Record ID", "Deal Stage", "Closed Lost Reason", "Close Date", "bestby_actions", "bestby_reason"]]
    assert written.total == 0


@pytest.mark.parametrize(("kwargs", "param"), [
    ({"fmt": "excel"}, "fmt"),
    ({"fmt": "salesforce", "loss_reason_field": "Loss Reason"}, "loss_reason_field"),
    ({"fmt": "salesforce", "loss_reason_field": "CloseDate"}, "loss_reason_field"),
    ({"fmt": "csv", "path": "missing/log.csv"}, "path"),
    ({"fmt": "csv", "path": "."}, "path"),
])
def test_bad_arguments_name_the_parameter_and_write_nothing(tmp_path, kwargs, param):
    story()
    target = tmp_path / kwargs.pop("path", "out.csv")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ExportError) as caught:
        write_decisions(decisions_since(SINCE), path=target, **kwargs)
    assert caught.value.param == param
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_naive_since_is_refused():
    with pytest.raises(ExportError) as caught:
        decisions_since(datetime(2025, 3, 1))
    assert caught.value.param == "since"


# ---------------------------------------------------------------- formulas (the files are opened in spreadsheets)

EVIL = '=HYPERLINK("http://evil.test","open")'
LOG_HEADER = ("action_id", "at", "kind", "deal_id", "pipeline", "to", "until", "undoes", "reason", "by",
              "stage_before", "stage_after", "status_before", "status_after", "lost_reason_after")


def formula_story() -> dict[str, int]:
    """D1 cleared with a reason a spreadsheet would run; D4 (an imported lost reason ``@evil``) snoozed: ``-2+3``."""
    from bestby.pipeline.models import Deal

    world = build()
    Deal.objects.filter(external_id="D4").update(lost_reason="@evil")
    (a1,) = services.clear(deals=["D1"], reason=EVIL, to="lost", by=world["rep"], at=_at(3, 9, 30))
    a2 = services.snooze(deal="D4", until=date(2025, 4, 1), reason="-2+3", at=_at(4, 14))
    return {"a1": a1.pk, "a2": a2.pk}


def formula_files(a: dict[str, int]) -> dict[str, list[list[str]]]:
    """Every format's rows, worked out by hand: each formula cell behind a quote, nothing else changed."""
    crm = [["D1", "Lost", "timed out", "2025-03-03", f"clear#{a['a1']}", "'" + EVIL],
           ["D4", "Qualify", "'@evil", "", f"snooze#{a['a2']}", "'-2+3"]]
    return {
        "csv": [list(LOG_HEADER),
                [str(a["a1"]), "2025-03-03T09:30:00+00:00", "clear", "D1", "default", "lost", "", "", "'" + EVIL,
                 "u-rep", "Qualify", "Lost", "open", "lost", "timed out"],
                [str(a["a2"]), "2025-03-04T14:00:00+00:00", "snooze", "D4", "default", "", "2025-04-01", "",
                 "'-2+3", "", "", "", "", "", ""]],
        "salesforce": [["Id", "StageName", "Loss_Reason__c", "CloseDate", "bestby_actions", "bestby_reason"], *crm],
        "hubspot": [["Record ID", "Deal Stage", "Closed Lost Reason", "Close Date", "bestby_actions",
                     "bestby_reason"], *crm],
        "pipedrive": [["Deal - ID", "Deal - Status", "Deal - Lost reason", "bestby_actions", "bestby_reason"],
                      ["D1", "lost", "timed out", f"clear#{a['a1']}", "'" + EVIL],
                      ["D4", "open", "'@evil", f"snooze#{a['a2']}", "'-2+3"]],
    }


@pytest.mark.parametrize("fmt", ["csv", "salesforce", "hubspot", "pipedrive"])
def test_every_format_writes_formulas_as_text(tmp_path, fmt):
    a = formula_story()
    write_decisions(decisions_since(SINCE), fmt, tmp_path / "out.csv")
    assert read(tmp_path / "out.csv") == formula_files(a)[fmt]


# ---------------------------------------------------------------- the command line

def _cli(*args: str):
    return runner.invoke(app, ["export", "decisions", *args])


@pytest.mark.django_db(transaction=True)
def test_cli_writes_the_salesforce_file_and_a_summary(tmp_path):
    a = story()
    out = tmp_path / "sf.csv"
    result = _cli("--since", "2025-03-01", "--format", "salesforce", "--loss-reason-field", "Why_Lost__c", str(out))
    assert result.exit_code == 0, result.output
    header = ["Id", "StageName", "Why_Lost__c", "CloseDate", "bestby_actions", "bestby_reason"]
    assert read(out) == expected_crm(a, header)
    lines = [" ".join(line.replace("│", " ").split()) for line in result.stdout.splitlines()]
    assert {"clear 1", "snooze 2", "undo 1", "total 4"} <= set(lines)
    assert "1 deal(s) changed after their latest decision (D2)" in " ".join(lines)


@pytest.mark.django_db(transaction=True)
def test_cli_writes_the_log(tmp_path):
    a = story()
    out = tmp_path / "log.csv"
    result = _cli("--since", "2025-03-01", "--format", "csv", str(out))
    assert result.exit_code == 0, result.output
    assert read(out) == expected_log(a)
    lines = [" ".join(line.replace("│", " ").split()) for line in result.stdout.splitlines()]
    assert {"clear 2", "snooze 2", "undo 2", "total 6"} <= set(lines)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("args", "needle"), [
    (["--since", "2025-13-01", "--format", "csv"], "--since"),
    (["--since", "01/03/2025", "--format", "csv"], "--since"),
    (["--since", "2025-03-01", "--format", "excel"], "--format"),
    (["--since", "2025-03-01", "--format", "hubspot", "--loss-reason-field", "Why__c"], "--loss-reason-field"),
    (["--since", "2025-03-01", "--format", "salesforce", "--loss-reason-field", "why lost"], "--loss-reason-field"),
])
def test_cli_bad_options_exit_2_and_leave_the_file_alone(tmp_path, args, needle):
    story()
    out = tmp_path / "out.csv"
    out.write_text("kept\n")
    result = _cli(*args, str(out))
    assert result.exit_code == 2
    assert result.output.startswith(f"{needle}:") and "Nothing was written." in result.output
    assert out.read_text() == "kept\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("where", ["no/such/folder/out.csv", "a-file/out.csv", "."])
def test_cli_unwritable_file_exits_2(tmp_path, where):
    (tmp_path / "a-file").write_text("not a folder\n")
    result = _cli("--since", "2025-03-01", "--format", "csv", str(tmp_path / where))
    assert result.exit_code == 2
    assert result.output.startswith("FILE:") and "Nothing was written." in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]
    assert (tmp_path / "a-file").read_text() == "not a folder\n"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fmt", ["csv", "salesforce", "hubspot", "pipedrive"])
def test_cli_writes_formulas_as_text(tmp_path, fmt):
    a = formula_story()
    out = tmp_path / "out.csv"
    result = _cli("--since", "2025-03-01", "--format", fmt, str(out))
    assert result.exit_code == 0, result.output
    assert read(out) == formula_files(a)[fmt]
