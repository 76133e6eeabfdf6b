"""`bestby import csv FILE --mapping MAP.yaml`: exact counts and values, dry run, re-import, bad rows, the CLI."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from bestby.activities.models import Touch
from bestby.audit.models import AuditEntry
from bestby.cli import app
from bestby.importers.crm import csvmap
from bestby.importers.crm.dates import Dates
from bestby.importers.crm.run import import_mapped
from bestby.importers.problems import ImportFailed
from bestby.people.models import User
from bestby.pipeline.models import Deal, Stage, StageEvent
from tests.importers.crm.csvmap_files import (DEALS, DEALS_CREATED, DEALS_FINDINGS, DEALS_HEADER, DEALS_MAP,
                                              DEALS_NEWER, EXAMPLES, TOUCHES, TOUCHES_MAP, write)

pytestmark = pytest.mark.django_db
UTC = timezone.utc


def run(csv_path, mapping, dry_run=False, order=None):
    out, findings = csvmap.map_export(csv_path, Dates(order), mapping=mapping)
    return import_mapped(out, findings, source=f"csvmap:{csv_path.name}", label="test", dry_run=dry_run)


def counts():
    return {"deals": Deal.objects.count(), "stages": Stage.objects.count(), "stage_events": StageEvent.objects.count(),
            "touches": Touch.objects.count(), "users": User.objects.count(), "audit": AuditEntry.objects.count()}


def events(deal_id):
    return [(e.at, e.to_stage.name, e.from_stage.name if e.from_stage else None)
            for e in StageEvent.objects.filter(deal__external_id=deal_id).order_by("at", "id")]


def test_deals_counts_and_findings(tmp_path):
    report = run(write(tmp_path, "deals.csv", DEALS), DEALS_MAP)
    assert {k: v.created for k, v in report.files.items()} == DEALS_CREATED
    assert {f["code"]: f["count"] for f in report.unmapped} == DEALS_FINDINGS
    assert {f["code"] for f in report.unmapped if f["action"] == "skipped"} == {"closed_without_date"}
    skipped = next(f for f in report.unmapped if f["code"] == "closed_without_date")
    assert skipped["examples"] == ["deals.csv, line 6: deal OPP-5"]
    assert counts()["deals"] == 7 and not Deal.objects.filter(external_id="OPP-5").exists()


def test_deals_values(tmp_path):
    run(write(tmp_path, "deals.csv", DEALS), DEALS_MAP)
    d1 = Deal.objects.get(external_id="OPP-1")
    assert d1.amount == Decimal("12500.00") and d1.currency == "EUR" and d1.pipeline.name == "New business"
    assert d1.created_at == datetime(2024, 1, 3, tzinfo=UTC) and d1.close_date == date(2024, 2, 29)
    assert d1.stage.name == "Qualify" and d1.status == "open" and d1.closed_at is None
    assert d1.custom == {"Owner": "Ana"}  # Internal notes is ignored by the mapping
    assert Deal.objects.get(external_id="OPP-2").stage.name == "Proposal"  # values: Proposal sent -> Proposal
    d3 = Deal.objects.get(external_id="OPP-3")
    assert d3.amount == Decimal("4250.50") and d3.stage.name == "Closed won" and d3.status == "won"
    assert d3.closed_at == datetime(2024, 3, 20, tzinfo=UTC)
    d4 = Deal.objects.get(external_id="OPP-4")
    assert (d4.stage.name, d4.status, d4.amount) == ("Closed lost", "lost", Decimal("30000"))
    assert d4.custom == {"Owner": "Ben", "stage_when_closed": "Negotiation"}
    assert events("OPP-4") == [(datetime(2024, 2, 10, tzinfo=UTC), "Qualify", None),
                               (datetime(2024, 3, 28, tzinfo=UTC), "Closed lost", "Qualify")]
    d6 = Deal.objects.get(external_id="OPP-6")
    assert (d6.stage.name, d6.status) == ("Closed won", "won")  # the stage wins over Status=Open
    d7 = Deal.objects.get(external_id="OPP-7")
    assert d7.closed_at == d7.created_at == datetime(2024, 3, 10, tzinfo=UTC)
    d8 = Deal.objects.get(external_id="OPP-8")
    assert (d8.stage.name, d8.status, d8.amount) == ("Closed won", "won", Decimal("999.99"))
    assert d8.closed_at == datetime(2024, 4, 30, tzinfo=UTC)
    assert events("OPP-1") == [] and events("OPP-2") == []
    stages = [(s.name, s.position, s.kind, s.probability) for s in Stage.objects.order_by("position")]
    assert stages == [("Qualify", 1, "open", None), ("Proposal", 2, "open", 0.4), ("Negotiation", 3, "open", 0.7),
                      ("Closed won", 4, "won", None), ("Closed lost", 5, "lost", None)]


def test_touches_after_deals(tmp_path):
    run(write(tmp_path, "deals.csv", DEALS), DEALS_MAP)
    report = run(write(tmp_path, "activities.csv", TOUCHES), TOUCHES_MAP)
    assert {k: v.created for k, v in report.files.items()} == {"touches": 5}
    assert [(f["code"], f["count"], f["action"]) for f in report.unmapped] == [("skipped_by_mapping", 2, "skipped")]
    assert report.unmapped[0]["examples"] == ["activities.csv, line 5: Status = 'Planned'",
                                              "activities.csv, line 8: Status = 'Planned'"]
    t1 = Touch.objects.get(external_id="T-1")
    assert (t1.at, t1.channel, t1.outcome, t1.direction) == (datetime(2024, 1, 8, 10, 15, tzinfo=UTC), "phone",
                                                             "connected", "out")
    assert (t1.deal.external_id, t1.duration_minutes, t1.notes, t1.custom) == ("OPP-1", 12, "Intro call", {})
    assert Touch.objects.get(external_id="T-2").outcome == ""
    assert Touch.objects.get(external_id="T-5").channel == "social"
    t6 = Touch.objects.get(external_id="T-6")
    assert (t6.deal, t6.outcome) == (None, "voicemail_left")
    assert not Touch.objects.filter(external_id__in=["T-4", "T-7"]).exists()


def test_dry_run_writes_nothing(tmp_path):
    before = counts()
    report = run(write(tmp_path, "deals.csv", DEALS), DEALS_MAP, dry_run=True)
    assert report.dry_run and {k: v.created for k, v in report.files.items()} == DEALS_CREATED
    assert counts() == before == {"deals": 0, "stages": 0, "stage_events": 0, "touches": 0, "users": 0, "audit": 0}


def test_reimport_of_a_newer_export(tmp_path):
    run(write(tmp_path / "1", "deals.csv", DEALS), DEALS_MAP)
    report = run(write(tmp_path / "2", "deals.csv", DEALS_NEWER), DEALS_MAP)
    got = {k: (v.created, v.updated, v.unchanged) for k, v in report.files.items()}
    # OPP-1 (amount) and OPP-2 (stage) changed, OPP-9 is new and open (no event); the 10 events are the same
    assert got == {"stages": (0, 0, 5), "deals": (1, 2, 5), "stage_events": (0, 0, 10)}
    assert Deal.objects.get(external_id="OPP-1").amount == Decimal("13000.00")
    # the move the snapshot shows is recorded at import time by the canonical path, nothing invented at created_at
    [(at, to_stage, from_stage)] = events("OPP-2")
    assert (to_stage, from_stage) == ("Negotiation", "Proposal") and at > datetime(2024, 12, 31, tzinfo=UTC)
    assert StageEvent.objects.get(deal__external_id="OPP-2").custom == {"recorded_by": "import"}
    again = run(write(tmp_path / "2", "deals.csv", DEALS_NEWER), DEALS_MAP)
    assert {k: (v.created, v.updated, v.unchanged) for k, v in again.files.items()} == {
        "stages": (0, 0, 5), "deals": (0, 0, 8), "stage_events": (0, 0, 10)}
    assert counts()["stage_events"] == 11


def test_bad_cells_name_file_line_column_and_nothing_is_written(tmp_path):
    bad = DEALS_HEADER + (
        "OPP-1,A,03/01/2024,Qualify,Pending,100,,,Ana,\n"
        "OPP-2,B,31/02/2024,Qualify,Open,100,,,Ana,\n"
        "OPP-3,C,15/01/2024,Qualify,Open,1.5,,,Ana,\n"
    )
    with pytest.raises(ImportFailed) as exc:
        run(write(tmp_path, "deals.csv", bad), DEALS_MAP)
    assert [str(p) for p in exc.value.problems] == [
        "deals.csv, line 2, column Status: 'Pending' is not in the mapping's values.status (deals.yaml, line 16), "
        "which accepts 'Open', 'Won', 'Lost'",
        "deals.csv, line 3, column Created: '31/02/2024' is not a date bestby reads; expected DD/MM/YYYY (optionally "
        "with a time) or ISO 8601 like 2024-03-05T14:02:00",
        "deals.csv, line 4, column Value: '1.5' is not a number written with the mapping's decimal mark ',' and "
        "thousands separator '.' (like 1.234,50)",
    ]
    assert counts()["deals"] == 0


def test_canonical_problem_points_at_the_csv_column(tmp_path):
    # 'Closing' is no declared stage: the canonical path refuses it, placed at the CSV's line and column
    bad = DEALS_HEADER + "OPP-1,A,03/01/2024,Qualify,Open,100,,,Ana,\nOPP-2,B,04/01/2024,Closing,Open,100,,,Ana,\n"
    with pytest.raises(ImportFailed) as exc:
        run(write(tmp_path, "deals.csv", bad), DEALS_MAP)
    [problem] = exc.value.problems
    assert (problem.file, problem.line, problem.column) == ("deals.csv", 3, "Phase")
    assert "'Closing' is not a stage of pipeline 'New business'" in problem.message
    assert counts()["deals"] == counts()["stages"] == 0


def test_users_get_rep_or_manager(tmp_path):
    users = "Login,Name,Email,Boss\nu1,Ana,ana@example.com,u3\nu2,Ben,ben@example.com,u3\nu3,Carla,carla@example.com,\n"
    mapping = write(tmp_path, "users.yaml", "table: users\ncolumns:\n  user_id: Login\n  name: Name\n"
                                            "  email: Email\n  manager_id: Boss\n")
    report = run(write(tmp_path, "users.csv", users), mapping)
    assert report.files["users"].created == 3 and report.unmapped == []
    got = {u.external_id: (u.role, u.manager.external_id if u.manager else None) for u in User.objects.all()}
    assert got == {"u1": ("rep", "u3"), "u2": ("rep", "u3"), "u3": ("manager", None)}


def test_readme_example_files():
    """The README runs these two files; its output shows 4 deals, 5 stages, 4 events, then 3 touches."""
    report = run(EXAMPLES / "deals.csv", DEALS_MAP)
    assert {k: v.created for k, v in report.files.items()} == {"stages": 5, "deals": 4, "stage_events": 4}
    report = run(EXAMPLES / "touches.csv", TOUCHES_MAP)
    assert report.files["touches"].created == 3
    assert [(f["code"], f["count"]) for f in report.unmapped] == [("skipped_by_mapping", 1)]


@pytest.mark.django_db(transaction=True)
def test_cli_import_then_refused_mapping(tmp_path):
    runner = CliRunner()
    deals = write(tmp_path, "deals.csv", DEALS)
    result = runner.invoke(app, ["import", "csv", str(deals), "--mapping", str(DEALS_MAP)])
    assert result.exit_code == 0, result.output
    assert "Not mapped as given" in result.stdout and "deals.csv, line 6: deal" in result.stdout
    before = counts()
    assert before["deals"] == 7 and before["stage_events"] == 10
    bad = write(tmp_path, "bad.yaml", "table: deals\ncolumns:\n  deal_id: Opportunity ID\n  created_at: Created\n"
                                      "  amount: Price\n")
    result = runner.invoke(app, ["import", "csv", str(deals), "--mapping", str(bad)])
    assert result.exit_code == 1
    assert "Import refused" in result.output and "nothing was written" in result.output
    assert "bad.yaml, line 5: columns.amount: 'Price' is not a column of deals.csv; its header has: Opportunity ID," \
        in " ".join(result.output.split())
    result = runner.invoke(app, ["import", "csv", str(deals), "--mapping", str(DEALS_MAP), "--date-format", "MM/DD/YYYY"])
    assert result.exit_code == 1 and "date_format: DD/MM/YYYY differs from --date-format MM/DD/YYYY" in result.output
    assert counts() == before


# -- pure rules: numbers and date patterns ---------------------------------------------------

@pytest.mark.parametrize(("text", "decimal", "thousands", "expected"), [
    ("1.234,50", ",", ".", "1234.50"), ("-1.234.567", ",", ".", "-1234567"), ("12,5", ",", None, "12.5"),
    ("1 234,50", ",", " ", "1234.50"), ("1\u00a0234,50", ",", " ", "1234.50"), ("1'234.50", ".", "'", "1234.50"),
    (",5", ",", ".", "0.5"), ("1234", ",", ".", "1234"),
])
def test_number_marks(text, decimal, thousands, expected):
    assert csvmap.number(text, decimal, thousands) == expected


@pytest.mark.parametrize(("text", "decimal", "thousands"), [
    ("1.5", ",", "."), ("12.34.567", ",", "."), ("1,234.50", ",", "."), ("EUR 10", ",", None), (",", ",", None),
])
def test_number_marks_refuse_other_writing(text, decimal, thousands):
    with pytest.raises(ValueError, match="is not a number written with the mapping's decimal mark"):
        csvmap.number(text, decimal, thousands)
