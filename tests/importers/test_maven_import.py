"""`bestby import maven` into the store: every opportunity lands, counts match the files."""

import csv
from collections import Counter
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from bestby.accounts.models import Account
from bestby.cli import app
from bestby.commerce.models import Product
from bestby.people.models import User
from bestby.pipeline.models import Deal, StageEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_maven_import_counts_match_source(shared_data, settings):
    src = shared_data / "maven-crm-sales-opportunities"
    pipeline = _rows(src / "sales_pipeline.csv")
    teams = _rows(src / "sales_teams.csv")
    stages = Counter(r["deal_stage"] for r in pipeline)
    closed = stages["Won"] + stages["Lost"]

    result = CliRunner().invoke(app, ["import", "maven", str(src), "--json"])
    assert result.exit_code == 0, result.output

    assert Deal.objects.count() == len(pipeline) == 8800
    assert Deal.objects.filter(status="won").count() == stages["Won"]
    assert Deal.objects.filter(status="lost").count() == stages["Lost"]
    assert Deal.objects.filter(status="open").count() == stages["Engaging"] + stages["Prospecting"]
    assert Deal.objects.filter(stage__name="Prospecting").count() == stages["Prospecting"]
    people = {r["sales_agent"] for r in teams} | {r["manager"] for r in teams}
    assert User.objects.count() == len(people)
    assert User.objects.filter(role="manager").count() == len({r["manager"] for r in teams})
    assert Account.objects.count() == len(_rows(src / "accounts.csv"))
    assert Product.objects.count() == len(_rows(src / "products.csv"))
    # GTXPro in the pipeline is the product GTX Pro: no deal lost its product
    assert Deal.objects.filter(product__isnull=True).count() == 0
    assert Deal.objects.filter(product__name="GTX Pro").count() == sum(r["product"] == "GTXPro" for r in pipeline)
    assert StageEvent.objects.count() == len(pipeline) + closed
    # won amount equals close_value, summed independently
    won_total = sum(Decimal(r["close_value"]) for r in pipeline if r["deal_stage"] == "Won")
    assert sum(Deal.objects.filter(status="won").values_list("amount", flat=True)) == won_total
    # an agent's deals are owned by the agent, who reports to the manager in sales_teams.csv
    row = next(r for r in pipeline if r["opportunity_id"] == "1C1I7A6R")
    deal = Deal.objects.get(external_id="1C1I7A6R")
    assert deal.owner.name == row["sales_agent"] == "Moses Frase"
    assert deal.owner.manager.name == next(t["manager"] for t in teams if t["sales_agent"] == "Moses Frase")
    assert deal.closed_at.date().isoformat() == row["close_date"]


def test_maven_import_twice_is_unchanged(shared_data):
    src = shared_data / "maven-crm-sales-opportunities"
    runner = CliRunner()
    assert runner.invoke(app, ["import", "maven", str(src)]).exit_code == 0
    result = runner.invoke(app, ["import", "maven", str(src), "--json"])
    assert result.exit_code == 0, result.output
    import json

    report = json.loads(result.stdout)
    assert all(v["created"] == 0 and v["updated"] == 0 for v in report["files"].values())
    assert report["files"]["deals"]["unchanged"] == 8800
