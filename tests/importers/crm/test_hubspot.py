"""`bestby import hubspot`: a hand-written export (see hubspot_fixture for every count), re-imports, bad input."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from bestby.accounts.models import Account, Contact
from bestby.activities.models import Touch
from bestby.cli import app
from bestby.importers.crm import hubspot
from bestby.importers.crm.dates import DateOrderError, Dates
from bestby.importers.crm.run import import_mapped
from bestby.importers.problems import ImportFailed
from bestby.people.models import User
from bestby.pipeline.models import CloseDateEvent, Deal, Stage, StageEvent
from tests.importers.crm.hubspot_fixture import DEALS_HEADER, DEALS_ROWS, csv_text, deals_text, write_export

pytestmark = pytest.mark.django_db
UTC = timezone.utc
DEALS_FILE = "hubspot-crm-exports-all-deals-2024-08-01.csv"

EXPECTED_CREATED = {"users": 3, "stages": 8, "accounts": 3, "contacts": 3, "deals": 8, "stage_events": 15, "touches": 7}
EXPECTED_FINDINGS = {
    "unrecognised_file": 1,        # notes.csv
    "contact_company_unknown": 1,  # contact 203 -> company 55
    "stage_without_dates": 1,      # Negotiation
    "probability_varies": 1,       # Contract Sent: 0.8 (106) and 90% (107)
    "latest_entry_only": 7,        # every deal but 104 has Date entered values
    "deal_several_companies": 1,   # 102 -> 12;99
    "exit_before_entry": 1,        # 103 left Appointment Scheduled before it entered it
    "deal_company_unknown": 1,     # 103 -> 77
    "flag_contradicts_stage": 1,   # 104 Closed Won with Is Closed Won false
    "no_history": 1,               # 104
    "other_pipeline_entry": 1,     # 105 (Renewals) with a Sales Pipeline value
    "history_before_deal": 1,      # 106 entered Appointment Scheduled before its creation
    "history_ends_elsewhere": 1,   # 108 in Negotiation, last entry Appointment Scheduled
    "not_done": 2,                 # call 304, email 404
    "activity_unlinked": 1,        # call 305 -> deal 999 only
    "call_contact_unknown": 1,     # call 306 -> contact 999 (deal 101 kept)
    "not_made": 1,                 # call 307 canceled
}


def run(path, dry_run=False, order=None):
    out, findings = hubspot.map_export(path, Dates(order))
    return import_mapped(out, findings, source="hubspot:test", label="test", dry_run=dry_run)


def counts():
    return {"deals": Deal.objects.count(), "stage_events": StageEvent.objects.count(),
            "close_date_events": CloseDateEvent.objects.count(), "touches": Touch.objects.count(),
            "users": User.objects.count(), "accounts": Account.objects.count(), "contacts": Contact.objects.count(),
            "stages": Stage.objects.count()}


def events(deal_id):
    return [(e.at, e.to_stage.name, e.from_stage.name if e.from_stage else None)
            for e in StageEvent.objects.filter(deal__external_id=deal_id).order_by("at", "id")]


def test_export_counts_and_findings(tmp_path):
    report = run(write_export(tmp_path / "hs"))
    assert {k: v.created for k, v in report.files.items() if v.created} == EXPECTED_CREATED
    assert {f["code"]: f["count"] for f in report.unmapped} == EXPECTED_FINDINGS
    skipped = {f["code"] for f in report.unmapped if f["action"] == "skipped"}
    assert skipped == {"unrecognised_file", "other_pipeline_entry", "history_before_deal", "not_done",
                       "activity_unlinked", "not_made"}
    assert counts() == {"deals": 8, "stage_events": 15, "close_date_events": 0, "touches": 7, "users": 3,
                        "accounts": 3, "contacts": 3, "stages": 8}
    assert Deal.objects.filter(status="won").count() == 2 and Deal.objects.filter(status="lost").count() == 1


def test_stages_from_the_date_entered_columns(tmp_path):
    run(write_export(tmp_path / "hs"))
    got = [(s.pipeline.name, s.position, s.name, s.kind, s.probability)
           for s in Stage.objects.order_by("pipeline__name", "position")]
    assert got == [
        ("Renewals", 1, "Review (legal)", "open", None),
        ("Renewals", 2, "Closed Won", "won", 1.0),
        ("Sales Pipeline", 1, "Appointment Scheduled", "open", None),
        ("Sales Pipeline", 2, "Qualified To Buy", "open", 0.4),
        ("Sales Pipeline", 3, "Contract Sent", "open", None),     # 0.8 and 0.9 disagree
        ("Sales Pipeline", 4, "Negotiation", "open", None),       # no column: after those that have one
        ("Sales Pipeline", 5, "Closed Won", "won", 1.0),
        ("Sales Pipeline", 6, "Closed Lost", "lost", 0.0),
    ]


def test_deal_values_and_stage_events(tmp_path):
    run(write_export(tmp_path / "hs"))
    a = Deal.objects.get(external_id="101")
    assert (a.name, a.pipeline.name, a.stage.name, a.status) == ("Acme expansion", "Sales Pipeline", "Closed Won", "won")
    assert a.amount == Decimal("5000") and a.currency == "USD" and a.account.external_id == "11"
    assert a.created_at == datetime(2024, 1, 2, 9, tzinfo=UTC) and a.close_date == date(2024, 2, 20)
    # closed when HubSpot recorded the entry into Closed Won, not at midnight of the Close Date
    assert a.closed_at == datetime(2024, 2, 20, 15, 30, tzinfo=UTC)
    assert a.owner.external_id == "jane-doe" and a.owner.name == "Jane Doe" and a.custom == {"deal_type": "newbusiness"}
    assert events("101") == [
        (datetime(2024, 1, 2, 9, tzinfo=UTC), "Appointment Scheduled", None),
        (datetime(2024, 1, 10, 10, tzinfo=UTC), "Qualified To Buy", "Appointment Scheduled"),
        (datetime(2024, 2, 1, 12, tzinfo=UTC), "Contract Sent", "Qualified To Buy"),
        (datetime(2024, 2, 20, 15, 30, tzinfo=UTC), "Closed Won", "Contract Sent")]
    b = Deal.objects.get(external_id="102")
    assert b.status == "open" and b.closed_at is None and b.close_date == date(2024, 6, 30)
    assert b.account.external_id == "12" and b.custom == {"hubspot_other_company_ids": "99"}
    assert b.owner.external_id == "bob@example.com" and b.owner.email == "bob@example.com" and b.owner.name == "Bob Smith"
    c = Deal.objects.get(external_id="103")
    assert c.status == "lost" and c.lost_reason == "Budget" and c.account is None
    assert c.closed_at == datetime(2024, 4, 12, 17, tzinfo=UTC) and c.close_date == date(2024, 4, 15)
    # 104: no history, a Closed Won stage whose flag says otherwise: the stage wins, events from its own fields
    d = Deal.objects.get(external_id="104")
    assert d.status == "won" and d.closed_at == datetime(2024, 5, 10, tzinfo=UTC)
    assert events("104") == [(datetime(2024, 5, 1, 9, tzinfo=UTC), "Appointment Scheduled", None),
                             (datetime(2024, 5, 10, tzinfo=UTC), "Closed Won", "Appointment Scheduled")]
    e = Deal.objects.get(external_id="105")
    assert (e.pipeline.name, e.stage.name, e.owner) == ("Renewals", "Review (legal)", None)
    assert events("105") == [(datetime(2024, 2, 1, 9, tzinfo=UTC), "Review (legal)", None)]
    assert events("106") == [(datetime(2024, 5, 3, 11, tzinfo=UTC), "Contract Sent", None)]
    assert events("108") == [(datetime(2024, 7, 1, 9, tzinfo=UTC), "Appointment Scheduled", None)]
    assert {u.external_id: (u.name, u.email, u.role) for u in User.objects.all()} == {
        "jane-doe": ("Jane Doe", "", "rep"), "bob@example.com": ("Bob Smith", "bob@example.com", "rep"),
        "carol-kim": ("Carol Kim", "", "rep")}


def test_accounts_contacts_and_touches(tmp_path):
    run(write_export(tmp_path / "hs"))
    acme = Account.objects.get(external_id="11")
    assert (acme.name, acme.sector, acme.territory, acme.employees) == ("Acme Corp", "COMPUTER_SOFTWARE", "United States", 250)
    assert acme.annual_revenue == Decimal("12000000")
    assert {c.external_id: (c.name, c.account.external_id if c.account else None) for c in Contact.objects.all()} == {
        "201": ("Ann Lee", "11"), "202": ("Carl Diaz", "13"), "203": ("Dora", None)}
    got = {t.external_id: (t.channel, t.direction, t.outcome, t.deal.external_id if t.deal else None,
                           t.contact.external_id if t.contact else None, t.account.external_id if t.account else None,
                           t.duration_minutes, t.owner.external_id if t.owner else None)
           for t in Touch.objects.all()}
    assert got == {
        "301": ("phone", "out", "connected", "101", "201", "11", 5, "jane-doe"),           # 300000 ms
        "302": ("phone", "out", "voicemail_left", "102", None, "12", 1, "bob@example.com"),  # 0:45 -> 1 min; account of the deal
        "303": ("phone", "out", "no_answer", None, "202", "13", None, "carol-kim"),         # status No answer; account of the contact
        "306": ("phone", "out", "bounced", "101", None, "11", None, "jane-doe"),            # wrong number; contact 999 dropped
        "401": ("email", "out", "", "101", "201", "11", None, "jane-doe"),
        "402": ("email", "in", "replied", None, "201", "11", None, None),
        "403": ("email", "out", "bounced", "102", None, "12", None, "bob@example.com"),
    }
    assert Touch.objects.get(external_id="301").at == datetime(2024, 1, 5, 10, tzinfo=UTC)
    assert Touch.objects.get(external_id="403").notes == "Hello"


def test_the_deals_file_alone(tmp_path):
    folder = write_export(tmp_path / "hs")
    report = run(folder / DEALS_FILE)
    assert {k: v.created for k, v in report.files.items() if v.created} == {
        "users": 2, "stages": 8, "deals": 8, "stage_events": 15}
    found = {f["code"]: f["count"] for f in report.unmapped}
    # without the companies export every company link is dropped: 101, 102, 103 and 107 have one
    assert found["deal_company_unknown"] == 4 and "deal_several_companies" not in found
    assert Deal.objects.filter(account__isnull=False).count() == 0


def test_dry_run_writes_nothing(tmp_path):
    before = counts()
    report = run(write_export(tmp_path / "hs"), dry_run=True)
    assert report.dry_run and report.files["deals"].created == 8 and report.files["touches"].created == 7
    assert counts() == before


def test_reimport_is_idempotent_and_a_newer_export_updates(tmp_path):
    folder = write_export(tmp_path / "hs")
    run(folder)
    again = run(folder)
    assert all(c.created == 0 and c.updated == 0 for c in again.files.values())
    assert counts()["stage_events"] == 15
    rows = [list(r) for r in DEALS_ROWS]
    cs = DEALS_HEADER.index("Date entered Contract Sent (Sales Pipeline)")
    # 102 moved on to Contract Sent on 03-20, with a later close date and a new amount
    rows[1][2], rows[1][4], rows[1][5], rows[1][cs] = "Contract Sent", "1500", "2024-07-31", "2024-03-20 10:00"
    # and a new deal 109, created in Appointment Scheduled
    new = [""] * len(DEALS_HEADER)
    new[:8] = ["109", "Iota", "Appointment Scheduled", "Sales Pipeline", "400", "2024-11-30", "2024-08-01 09:00", "Jane Doe"]
    new[DEALS_HEADER.index('Date entered "Appointment Scheduled (Sales Pipeline)"')] = "2024-08-01 09:00"
    rows.append(new)
    report = run(write_export(tmp_path / "hs2", deals=deals_text(rows)))
    files = {k: (v.created, v.updated, v.unchanged) for k, v in report.files.items()}
    assert files["deals"] == (1, 1, 7)
    assert files["stage_events"] == (2, 0, 15)
    assert files["touches"] == (0, 0, 7)
    b = Deal.objects.get(external_id="102")
    assert b.stage.name == "Contract Sent" and b.amount == Decimal("1500") and b.close_date == date(2024, 7, 31)
    assert events("102")[-1] == (datetime(2024, 3, 20, 10, tzinfo=UTC), "Contract Sent", "Qualified To Buy")
    # HubSpot has no close-date history: the change is recorded at import time, once
    [change] = CloseDateEvent.objects.all()
    assert (change.deal.external_id, change.old_close_date, change.new_close_date) == ("102", date(2024, 6, 30), date(2024, 7, 31))
    assert counts()["deals"] == 9 and counts()["stage_events"] == 17


def test_bad_date_is_refused_with_file_line_and_column(tmp_path):
    run(write_export(tmp_path / "hs"))
    before = counts()
    rows = [list(r) for r in DEALS_ROWS]
    rows[1][DEALS_HEADER.index("Create Date")] = "2024-13-45"
    with pytest.raises(ImportFailed) as exc:
        run(write_export(tmp_path / "bad", deals=deals_text(rows)))
    assert [(p.file, p.line, p.column) for p in exc.value.problems] == [(DEALS_FILE, 3, "Create Date")]
    assert "'2024-13-45' is not a date" in str(exc.value)
    assert counts() == before


def test_missing_column_is_refused(tmp_path):
    j = DEALS_HEADER.index("Create Date")
    text = csv_text([c for k, c in enumerate(DEALS_HEADER) if k != j], [[v for k, v in enumerate(r) if k != j] for r in DEALS_ROWS])
    with pytest.raises(ImportFailed) as exc:
        run(write_export(tmp_path / "hs", deals=text))
    [problem] = exc.value.problems
    assert (problem.file, problem.line, problem.column) == (DEALS_FILE, 1, "Create Date")
    assert "required column is missing" in problem.message
    assert counts()["deals"] == 0


def test_problem_found_by_the_canonical_path_names_the_source(tmp_path):
    rows = [list(r) for r in DEALS_ROWS]
    rows[2][DEALS_HEADER.index("Amount")] = "8,000"
    with pytest.raises(ImportFailed) as exc:
        run(write_export(tmp_path / "hs", deals=deals_text(rows)))
    [problem] = exc.value.problems
    assert (problem.file, problem.line, problem.column) == (DEALS_FILE, 4, "Amount")
    assert counts()["deals"] == 0


def test_bad_call_duration_and_no_deals_export_are_refused(tmp_path):
    folder = write_export(tmp_path / "hs", calls="Record ID,Activity date,Call duration,Associated Deal IDs\n"
                                                 "301,2024-01-05 10:00,about five minutes,101\n")
    with pytest.raises(ImportFailed) as exc:
        run(folder)
    assert [(p.file, p.line, p.column) for p in exc.value.problems] == [
        ("hubspot-crm-exports-calls-2024-08-01.csv", 2, "Call duration")]
    (folder / DEALS_FILE).unlink()
    with pytest.raises(ImportFailed) as exc:
        run(folder)
    assert "has no HubSpot deals export" in str(exc.value)
    assert counts()["deals"] == 0


def test_slash_dates_need_a_known_order(tmp_path):
    created, close = DEALS_HEADER.index("Create Date"), DEALS_HEADER.index("Close Date")
    header = DEALS_HEADER[:14]  # no Date entered columns
    rows = [r[:14] for r in DEALS_ROWS[:2]]
    rows[0][created], rows[0][close] = "02/01/2024 09:00", "03/02/2024"
    rows[1][created], rows[1][close] = "01/03/2024 08:00", "30/06/2024"   # 30 proves day-first
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "deals.csv").write_text(csv_text(header, rows))
    run(folder / "deals.csv")
    assert Deal.objects.get(external_id="101").created_at == datetime(2024, 1, 2, 9, tzinfo=UTC)
    assert Deal.objects.get(external_id="102").close_date == date(2024, 6, 30)
    rows[1][close] = "06/07/2024"  # now every date reads both ways
    (folder / "deals.csv").write_text(csv_text(header, rows))
    with pytest.raises(DateOrderError):
        hubspot.map_export(folder / "deals.csv", Dates())


@pytest.mark.django_db(transaction=True)
def test_cli_dry_run_then_import_then_refusal(tmp_path):
    runner = CliRunner()
    folder = write_export(tmp_path / "hs")
    result = runner.invoke(app, ["import", "hubspot", str(folder), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["dry_run"] and report["files"]["deals"]["created"] == 8
    assert {f["code"]: f["count"] for f in report["unmapped"]} == EXPECTED_FINDINGS
    assert Deal.objects.count() == 0
    result = runner.invoke(app, ["import", "hubspot", str(folder)])
    assert result.exit_code == 0, result.output
    assert "Not mapped as given" in result.stdout
    assert Deal.objects.count() == 8 and Touch.objects.count() == 7
    rows = [list(r) for r in DEALS_ROWS]
    rows[0][DEALS_HEADER.index('Date entered "Closed Won (Sales Pipeline)"')] = "soon"
    result = runner.invoke(app, ["import", "hubspot", str(write_export(tmp_path / "bad", deals=deals_text(rows)))])
    assert result.exit_code == 1
    assert f'{DEALS_FILE}, line 2, column Date entered "Closed Won (Sales Pipeline)"' in result.output
    assert Deal.objects.count() == 8 and StageEvent.objects.count() == 15
