"""Round trip through the command line: import a Salesforce export, clear two deals, export the decisions."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone

import pytest
from typer.testing import CliRunner

from bestby.cli import app
from bestby.clearance import services
from bestby.clearance.models import ClearanceAction
from bestby.pipeline.models import Deal, StageEvent
from tests.importers.crm.salesforce_export import EXPECTED_CREATED, FILES, write_export

pytestmark = pytest.mark.django_db(transaction=True)
runner = CliRunner()


def test_import_clear_two_export_decisions_row_by_row(tmp_path):
    folder = write_export(tmp_path / "sf")
    result = runner.invoke(app, ["import", "salesforce", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {k: v["created"] for k, v in report["files"].items()} == EXPECTED_CREATED
    at = datetime(2024, 11, 4, 10, 30, tzinfo=timezone.utc)
    services.clear(deals=["006A"], reason="quiet since March", at=at)
    services.clear(deals=["006D"], reason="no reply in 8 months", to="nurture", at=at.replace(minute=45))
    ids = dict(ClearanceAction.objects.values_list("deal__external_id", "pk"))
    out = tmp_path / "decisions.csv"
    result = runner.invoke(app, ["export", "decisions", "--since", "2024-11-01", "--format", "salesforce", str(out)])
    assert result.exit_code == 0, result.output
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows == [
        ["Id", "StageName", "Loss_Reason__c", "CloseDate", "bestby_actions", "bestby_reason"],
        ["006A", "Closed Lost", "timed out", "2024-11-04", f"clear#{ids['006A']}", "quiet since March"],
        ["006D", "Closed Lost", "back to nurture", "2024-11-04", f"clear#{ids['006D']}", "no reply in 8 months"],
    ]
    # the clears are stage events of their own, after the imported history
    assert StageEvent.objects.filter(deal__external_id="006A").count() == 4
    # re-importing the same export (the CRM not told yet) keeps both clears, and says so
    result = runner.invoke(app, ["import", "salesforce", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {f["code"]: f["count"] for f in report["unmapped"]}["cleared_kept"] == 2
    assert report["files"]["deals"] == {"created": 0, "updated": 0, "unchanged": 4, "changes": {}, "examples": []}
    assert Deal.objects.get(external_id="006A").status == "lost"
    # a newer export where the CRM moved 006A on is news: the CRM wins, 006D stays cleared
    newer = {k: list(v) for k, v in FILES.items()}
    newer["Opportunity"][1] = newer["Opportunity"][1].replace("Proposal/Price Quote,false,false,2024-06-30",
                                                              "Closed Won,true,true,2024-11-20")
    newer["OpportunityHistory"].append("0093,006A,2024-11-20T16:00:00.000Z,Closed Won,12000.50,2024-11-20,false")
    result = runner.invoke(app, ["import", "salesforce", str(write_export(tmp_path / "sf2", newer)), "--json"])
    assert result.exit_code == 0, result.output
    assert {f["code"]: f["count"] for f in json.loads(result.stdout)["unmapped"]}["cleared_kept"] == 1
    assert Deal.objects.get(external_id="006A").status == "won"
    assert Deal.objects.get(external_id="006D").status == "lost"


def test_dry_run_and_refusal_through_the_cli(tmp_path):
    folder = write_export(tmp_path / "sf")
    result = runner.invoke(app, ["import", "salesforce", str(folder), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Dry run: nothing was written" in result.stdout and "Not mapped as given" in result.stdout
    assert Deal.objects.count() == 0
    files = {k: list(v) for k, v in FILES.items()}
    files["OpportunityHistory"][2] = files["OpportunityHistory"][2].replace("2024-01-20T09:00:00.000Z", "2024-13-20")
    result = runner.invoke(app, ["import", "salesforce", str(write_export(tmp_path / "bad", files))])
    assert result.exit_code == 1
    assert "OpportunityHistory.csv, line 3, column CreatedDate" in result.output
    assert Deal.objects.count() == 0
    result = runner.invoke(app, ["import", "salesforce", str(folder), "--date-format", "YYYY/DD/MM"])
    assert result.exit_code == 2 and "--date-format" in result.output
