"""`bestby import pipedrive`: two hand-written exports (pipedrive_fixture has every count), re-imports, bad input."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from bestby.accounts.models import Account, Contact
from bestby.activities.models import Touch
from bestby.cli import app
from bestby.importers.crm import pipedrive
from bestby.importers.crm.dates import DateOrderError, Dates
from bestby.importers.crm.run import import_mapped
from bestby.importers.problems import ImportFailed
from bestby.people.models import User
from bestby.pipeline.models import CloseDateEvent, Deal, Stage, StageEvent
from tests.importers.crm.pipedrive_fixture import (
    LOG, LOG_CREATED, LOG_FINDINGS, SHEET, SHEET_CREATED, SHEET_FINDINGS, write_export,
)

pytestmark = pytest.mark.django_db
UTC = timezone.utc


def run(path, dry_run=False):
    out, findings = pipedrive.map_export(path, Dates())
    return import_mapped(out, findings, source="pipedrive:test", label="test", dry_run=dry_run)


def counts():
    return {"deals": Deal.objects.count(), "stage_events": StageEvent.objects.count(),
            "close_date_events": CloseDateEvent.objects.count(), "touches": Touch.objects.count(),
            "users": User.objects.count(), "accounts": Account.objects.count(), "contacts": Contact.objects.count(),
            "stages": Stage.objects.count()}


def events(deal_id):
    return [(e.at, e.to_stage.name, e.from_stage.name if e.from_stage else None)
            for e in StageEvent.objects.filter(deal__external_id=deal_id).order_by("at", "id")]


def found(report):
    return {f["code"]: f["count"] for f in report.unmapped}


def changed(files, name, old, new):
    assert old in files[name], (name, old)
    return {**files, name: files[name].replace(old, new)}


# -- the spreadsheet-style export ---------------------------------------------------------------------------
def test_sheet_counts_and_findings(tmp_path):
    report = run(write_export(tmp_path / "pd", SHEET))
    assert {k: v.created for k, v in report.files.items() if v.created} == SHEET_CREATED
    assert found(report) == SHEET_FINDINGS
    assert counts() == {"deals": 4, "stage_events": 9, "close_date_events": 2, "touches": 4, "users": 3,
                        "accounts": 3, "contacts": 2, "stages": 4}
    skipped = {f["code"] for f in report.unmapped if f["action"] == "skipped"}
    assert skipped == {"deal_deleted", "history_before_deal", "unknown_stage", "change_log_other_field",
                       "change_log_deal_missing", "activity_id_repeated", "not_done", "activity_not_a_touch",
                       "activity_deal_missing"}


def test_sheet_stages_get_won_and_lost_after_the_open_ones(tmp_path):
    run(write_export(tmp_path / "pd", SHEET))
    got = [(s.pipeline.name, s.position, s.name, s.kind, s.probability)
           for s in Stage.objects.order_by("pipeline__name", "position")]
    assert got == [("Sales", 1, "Qualified", "open", 0.2), ("Sales", 2, "Proposal", "open", 0.6),
                   ("Sales", 3, "Won", "won", 1.0), ("Sales", 4, "Lost", "lost", 0.0)]


def test_sheet_deals_and_their_history(tmp_path):
    run(write_export(tmp_path / "pd", SHEET))
    a = Deal.objects.get(external_id="101")
    assert (a.name, a.pipeline.name, a.stage.name, a.status, a.closed_at) == ("Acme rollout", "Sales", "Proposal", "open", None)
    assert a.amount == Decimal("12000.50") and a.currency == "EUR" and a.close_date == date(2024, 4, 30)
    assert a.account.external_id == "11" and a.owner.external_id == "1"   # named "Acme GmbH" and "Rita Rep"
    assert events("101") == [(datetime(2024, 1, 10, 9, tzinfo=UTC), "Qualified", None),
                             (datetime(2024, 1, 25, 9, tzinfo=UTC), "Proposal", "Qualified")]
    assert [(e.at, e.new_close_date, e.old_close_date) for e in CloseDateEvent.objects.order_by("at")] == [
        (datetime(2024, 1, 10, 9, tzinfo=UTC), date(2024, 3, 31), None),
        (datetime(2024, 2, 15, 9, tzinfo=UTC), date(2024, 4, 30), date(2024, 3, 31))]
    b = Deal.objects.get(external_id="102")
    assert (b.stage.name, b.status, b.closed_at, b.owner.external_id) == ("Won", "won", datetime(2024, 2, 20, 16, tzinfo=UTC), "2")
    # the row dated before the deal's creation is skipped; the close comes from the stage it was in
    assert events("102") == [(datetime(2024, 1, 15, 10, tzinfo=UTC), "Qualified", None),
                             (datetime(2024, 2, 20, 16, tzinfo=UTC), "Won", "Qualified")]
    c = Deal.objects.get(external_id="103")
    assert (c.stage.name, c.status, c.lost_reason, c.account.external_id, c.account.name) == (
        "Lost", "lost", "No budget", "Gamma Ltd", "Gamma Ltd")
    assert events("103") == [(datetime(2024, 2, 1, 8, tzinfo=UTC), "Qualified", None),
                             (datetime(2024, 3, 5, 12, tzinfo=UTC), "Lost", "Qualified")]
    d = Deal.objects.get(external_id="105")   # lost without a lost time: closed at its update time
    assert (d.closed_at, d.lost_reason, d.owner.external_id, d.owner.name) == (
        datetime(2024, 2, 20, 17, tzinfo=UTC), "Timing", "Nora New", "Nora New")
    assert events("105") == [(datetime(2024, 2, 10, 9, tzinfo=UTC), "Qualified", None),
                             (datetime(2024, 2, 14, 9, tzinfo=UTC), "Proposal", "Qualified"),
                             (datetime(2024, 2, 20, 17, tzinfo=UTC), "Lost", "Proposal")]
    assert not Deal.objects.filter(external_id="104").exists()


def test_sheet_people_and_touches(tmp_path):
    run(write_export(tmp_path / "pd", SHEET))
    assert {u.external_id: (u.name, u.email, u.role) for u in User.objects.all()} == {
        "1": ("Rita Rep", "rita@example.com", "rep"), "2": ("Max Boss", "max@example.com", "rep"),
        "Nora New": ("Nora New", "", "rep")}
    assert {c.external_id: (c.name, c.email, c.phone, c.account.external_id) for c in Contact.objects.all()} == {
        "21": ("Anna Acme", "anna@acme.example", "+49 30 1234", "11"), "22": ("Ben Beta", "ben@beta.example", "", "12")}
    assert Account.objects.get(external_id="11").created_at == datetime(2023, 12, 1, 8, tzinfo=UTC)
    got = {t.external_id: (t.at, t.channel, t.direction, t.owner.external_id, t.deal.external_id if t.deal else None,
                           t.contact.external_id if t.contact else None, t.account.external_id if t.account else None,
                           t.notes)
           for t in Touch.objects.all()}
    assert got == {
        "301": (datetime(2024, 1, 11, 10, 30, tzinfo=UTC), "phone", "out", "1", "101", "21", "11", "Intro call"),
        "302": (datetime(2024, 1, 20, 14, tzinfo=UTC), "meeting", "out", "2", "102", "22", "12", "Demo"),
        "307": (datetime(2024, 1, 16, tzinfo=UTC), "social", "out", "1", "101", None, "11", ""),
        "308": (datetime(2024, 1, 17, tzinfo=UTC), "other", "out", "2", None, "22", None, ""),
    }


def test_dry_run_writes_nothing(tmp_path):
    before = counts()
    report = run(write_export(tmp_path / "pd", SHEET), dry_run=True)
    assert report.dry_run and {k: v.created for k, v in report.files.items() if v.created} == SHEET_CREATED
    assert counts() == before == dict.fromkeys(before, 0)


# -- the change-log-only export (the Enpal extract's shape) ---------------------------------------------------
def test_log_counts_and_findings(tmp_path):
    report = run(write_export(tmp_path / "pd", LOG))
    assert {k: v.created for k, v in report.files.items() if v.created} == LOG_CREATED
    assert found(report) == LOG_FINDINGS


def test_log_deals_built_from_the_change_log(tmp_path):
    run(write_export(tmp_path / "pd", LOG))
    assert [(s.position, s.name, s.kind) for s in Stage.objects.order_by("position")] == [
        (1, "Lead in", "open"), (2, "Qualified lead", "open"), (3, "Demo", "open"), (4, "Won", "won"), (5, "Lost", "lost")]
    one = Deal.objects.get(external_id="1")
    assert (one.pipeline.name, one.created_at, one.owner.external_id, one.status, one.stage.name) == (
        "pipedrive", datetime(2024, 3, 1, 10, tzinfo=UTC), "8", "lost", "Lost")
    assert (one.closed_at, one.lost_reason) == (datetime(2024, 3, 20, 10, tzinfo=UTC), "No reply")
    # skipping a stage and going back are kept as they happened; Lost comes from the stage the deal was in
    assert events("1") == [(datetime(2024, 3, 3, 10, tzinfo=UTC), "Lead in", None),
                           (datetime(2024, 3, 10, 10, tzinfo=UTC), "Demo", "Lead in"),
                           (datetime(2024, 3, 12, 10, tzinfo=UTC), "Qualified lead", "Demo"),
                           (datetime(2024, 3, 20, 10, tzinfo=UTC), "Lost", "Qualified lead")]
    two = Deal.objects.get(external_id="2")
    assert (two.status, two.stage.name, two.close_date, two.owner.external_id) == ("open", "Qualified lead", date(2024, 5, 31), "8")
    assert [(e.at, e.new_close_date, e.old_close_date) for e in CloseDateEvent.objects.order_by("at")] == [
        (datetime(2024, 3, 6, 9, tzinfo=UTC), date(2024, 4, 30), None),
        (datetime(2024, 3, 9, 9, tzinfo=UTC), date(2024, 5, 31), date(2024, 4, 30))]
    three = Deal.objects.get(external_id="3")   # the later of the two deals with id 3
    assert (three.created_at, three.status, three.stage.name, three.owner) == (
        datetime(2024, 3, 15, 8, tzinfo=UTC), "open", "Lead in", None)
    assert events("3") == [(datetime(2024, 3, 16, 8, tzinfo=UTC), "Lead in", None)]
    got = {t.external_id: (t.at, t.channel, t.owner.external_id, t.deal.external_id) for t in Touch.objects.all()}
    assert got == {"500": (datetime(2024, 3, 4, 11, tzinfo=UTC), "phone", "7", "1"),
                   "501": (datetime(2024, 3, 5, 15, tzinfo=UTC), "meeting", "8", "2")}


def test_reimport_of_a_newer_log_updates_and_adds_only_the_news(tmp_path):
    run(write_export(tmp_path / "a", LOG))
    again = run(write_export(tmp_path / "a", LOG))
    assert {k: (v.created, v.updated) for k, v in again.files.items()} == {k: (0, 0) for k in again.files}
    assert {k: v.unchanged for k, v in again.files.items()} == LOG_CREATED
    newer = dict(LOG)
    newer["deal_changes.csv"] += "2,2024-03-25 09:00:00,stage_id,3\n2,2024-03-30 09:00:00,lost_reason,1\n"
    newer["activity.csv"] += "505,sc_2,8,2,True,2024-03-26T10:00:00\n"
    report = run(write_export(tmp_path / "b", newer))
    got = {k: (v.created, v.updated, v.unchanged) for k, v in report.files.items()}
    assert got == {"stages": (0, 0, 5), "users": (0, 0, 2), "deals": (0, 1, 2), "stage_events": (2, 0, 7),
                   "close_date_events": (0, 0, 2), "touches": (1, 0, 2)}
    two = Deal.objects.get(external_id="2")
    assert (two.status, two.stage.name, two.lost_reason) == ("lost", "Lost", "Too expensive")
    assert events("2")[-2:] == [(datetime(2024, 3, 25, 9, tzinfo=UTC), "Demo", "Qualified lead"),
                                (datetime(2024, 3, 30, 9, tzinfo=UTC), "Lost", "Demo")]


# -- bad input: refused before anything is written, named by file, line and column ----------------------------
@pytest.mark.parametrize(("files", "where"), [
    (changed(SHEET, "deals.csv", "Deal - Deal created,", "Deal - Opened,"), "deals.csv, line 1, column Deal - Deal created"),
    (changed(SHEET, "deals.csv", "103,Gamma,500,", "103,Gamma,5OO,"), "deals.csv, line 4, column Deal - Value"),
    (changed(SHEET, "deal_changes.csv", "105,2024-02-12 09:00:00", "105,2024-02-31 09:00:00"),
     "deal_changes.csv, line 13, column change_time"),
    (changed(SHEET, "activities.csv", "302,Meeting,Done", "302,Meeting,maybe"), "activities.csv, line 3, column Activity - Done"),
    (changed(LOG, "deal_changes.csv", "2024-04-30", "30.04.24"), "deal_changes.csv, line 11, column new_value"),
    # found by the canonical path, placed back in the export's cell
    (changed(SHEET, "deals.csv", "3000,EUR", "3000,EURO-DOLLAR"), "deals.csv, line 3, column Deal - Currency"),
])
def test_bad_input_is_refused_and_changes_nothing(tmp_path, files, where):
    run(write_export(tmp_path / "good", SHEET))
    before = counts()
    with pytest.raises(ImportFailed) as exc:
        run(write_export(tmp_path / "bad", files))
    assert any(str(p).startswith(where) for p in exc.value.problems), exc.value.problems
    assert counts() == before


def test_without_stages_or_change_log_the_deals_name_the_stages(tmp_path):
    files = {k: v for k, v in SHEET.items() if k not in ("stages.csv", "deal_changes.csv")}
    report = run(write_export(tmp_path / "pd", files))
    assert [(s.position, s.name, s.kind, s.probability) for s in Stage.objects.order_by("position")] == [
        (1, "Proposal", "open", None), (2, "Qualified", "open", None), (3, "Won", "won", 1.0), (4, "Lost", "lost", 0.0)]
    assert found(report)["stages_inferred"] == 1 and found(report)["no_stage_history"] == 4
    # 101 enters Proposal; 102, 103 and 105 enter the stage they closed in, then Won or Lost
    assert StageEvent.objects.count() == 7
    assert events("105") == [(datetime(2024, 2, 10, 9, tzinfo=UTC), "Proposal", None),
                             (datetime(2024, 2, 20, 17, tzinfo=UTC), "Lost", "Proposal")]


def test_slash_dates_are_read_in_the_order_the_data_proves(tmp_path):
    files = changed(SHEET, "deals.csv", "2024-01-15 10:00:00,2024-03-01", "15/01/2024 10:00,2024-03-01")
    run(write_export(tmp_path / "a", files))
    assert Deal.objects.get(external_id="102").created_at == datetime(2024, 1, 15, 10, tzinfo=UTC)
    ambiguous = changed(SHEET, "deals.csv", "2024-01-15 10:00:00,2024-03-01", "05/01/2024 10:00,2024-03-01")
    with pytest.raises(DateOrderError, match="--date-format"):
        run(write_export(tmp_path / "b", ambiguous))


def test_a_folder_without_deals_or_change_log_is_refused(tmp_path):
    with pytest.raises(ImportFailed) as exc:
        run(write_export(tmp_path / "pd", {"users.csv": SHEET["users.csv"]}))
    assert "neither a deals export" in str(exc.value)


@pytest.mark.django_db(transaction=True)
def test_cli_import_then_dry_run_then_refusal(tmp_path):
    runner = CliRunner()
    folder = write_export(tmp_path / "pd", SHEET)
    result = runner.invoke(app, ["import", "pipedrive", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {k: v["created"] for k, v in report["files"].items() if v["created"]} == SHEET_CREATED
    assert {f["code"]: f["count"] for f in report["unmapped"]} == SHEET_FINDINGS
    result = runner.invoke(app, ["import", "pipedrive", str(folder), "--dry-run"])
    assert result.exit_code == 0 and "Not mapped as given" in result.stdout
    bad = write_export(tmp_path / "bad", changed(SHEET, "deals.csv", "2024-02-10 09:00:00,,", "2024-02-10 25:00:00,,"))
    result = runner.invoke(app, ["import", "pipedrive", str(bad)])
    assert result.exit_code == 1 and "deals.csv, line 6, column Deal - Deal created" in result.output
    assert counts()["deals"] == 4
