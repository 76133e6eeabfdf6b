"""`bestby export DIR` (the FORMAT.md interchange) keeps every value exactly, formula-like text included.

Unlike the files meant for spreadsheets (bestby.spreadsheet), the interchange
format is read back by `bestby import canonical`: a deal named ``=1+2`` must
come back as ``=1+2``, not ``'=1+2``, or import → export → import would drift.
"""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from bestby.cli import app
from bestby.pipeline.models import Deal
from tests.importers.folders import write_folder

pytestmark = pytest.mark.django_db(transaction=True)
runner = CliRunner()

DEALS = (
    "deal_id,pipeline,name,account_id,owner_id,amount,currency,created_at,stage,status,closed_at,close_date,"
    "lost_reason,source,product_id\n"
    "d1,default,=1+2,a-acme,u-rep1,12000.50,USD,2024-02-01T10:00:00,Proposal,open,,2024-05-31,,inbound,\n"
    "d2,default,-2+3,a-sub,u-rep1,3000,USD,2024-01-15,Won,won,2024-03-01T16:30:00+01:00,2024-03-01,,referral,\n"
    'd3,default,"@SUM(A1)",,u-rep1,500,,2024-01-20,Lost,lost,2024-02-20,2024-02-28,+no budget,,\n'
)


def test_the_interchange_export_keeps_formula_like_text_exactly(tmp_path):
    folder = write_folder(tmp_path / "in", deals=DEALS)
    assert runner.invoke(app, ["import", "canonical", str(folder)]).exit_code == 0
    assert dict(Deal.objects.values_list("external_id", "name")) == {"d1": "=1+2", "d2": "-2+3", "d3": "@SUM(A1)"}
    result = runner.invoke(app, ["export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    with (tmp_path / "out" / "deals.csv").open(newline="", encoding="utf-8") as fh:
        rows = {r["deal_id"]: r for r in csv.DictReader(fh)}
    assert {k: (r["name"], r["lost_reason"]) for k, r in rows.items()} == {
        "d1": ("=1+2", ""), "d2": ("-2+3", ""), "d3": ("@SUM(A1)", "+no budget")}
    # and read back, the same values
    assert runner.invoke(app, ["import", "canonical", str(tmp_path / "out")]).exit_code == 0
    assert dict(Deal.objects.values_list("external_id", "lost_reason")) == {"d1": "", "d2": "", "d3": "+no budget"}
    assert dict(Deal.objects.values_list("external_id", "name")) == {"d1": "=1+2", "d2": "-2+3", "d3": "@SUM(A1)"}
