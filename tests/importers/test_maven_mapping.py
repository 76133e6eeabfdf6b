"""The Maven "CRM Sales Opportunities" mapping (bestby.importers.maven).

No database: run with ``pytest tests/importers/test_maven_mapping.py -p no:django``.
Expected values are computed here from the publisher's files with the ``csv``
module (or are the counts SOURCE.md states), never taken from the code under test.
"""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from bestby.format import SPECS
from bestby.importers.maven import MavenReport, maven_to_canonical

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = (REPO_ROOT / ".." / "shared" / "data" / "maven-crm-sales-opportunities").resolve()
SOURCE_FILES = ("accounts.csv", "products.csv", "sales_pipeline.csv", "sales_teams.csv")
OUTPUT_FILES = ("users", "stages", "accounts", "products", "deals", "stage_events")


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        return list(reader.fieldnames or []), rows


@pytest.fixture(scope="module")
def source() -> dict[str, list[dict[str, str]]]:
    missing = [name for name in SOURCE_FILES if not (DATA / name).is_file()]
    if missing:
        pytest.fail(f"the Maven source data is missing: expected {', '.join(missing)} in {DATA} "
                    f"(shared/ must sit beside the repository clone)", pytrace=False)
    return {name: _read_csv(DATA / name)[1] for name in SOURCE_FILES}


@pytest.fixture(scope="module")
def mapped(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("maven-canonical")
    report = maven_to_canonical(DATA, out)
    files = {name: _read_csv(out / f"{name}.csv") for name in OUTPUT_FILES}
    return report, out, files


def rows(mapped, name: str) -> list[dict[str, str]]:
    return mapped[2][name][1]


def by_id(mapped, name: str, key: str) -> dict[str, dict[str, str]]:
    return {r[key]: r for r in rows(mapped, name)}


def _norm(name: str) -> str:
    return name.replace(" ", "").lower()


# --------------------------------------------------------------------------- shape


def test_report(mapped):
    report, _, files = mapped
    assert isinstance(report, MavenReport)
    assert report.counts == {name: len(files[name][1]) for name in OUTPUT_FILES}
    assert all(isinstance(n, str) and n for n in report.notes)
    text = "\n".join(report.notes)
    for fact in ("1,480", "GTXPro", "2017-12-31", "2,473", "1,425", "millions", "technolgy",
                 "Philipines", "no stage history"):
        assert fact in text, fact


def test_columns_are_the_format_then_custom_columns(mapped):
    _, out, files = mapped
    custom = {
        "users": [], "stages": [], "accounts": ["year_established", "office_location"],
        "products": ["series"], "deals": ["close_value", "amount_estimated", "created_at_estimated"],
        "stage_events": [],
    }
    for name in OUTPUT_FILES:
        header = files[name][0]
        spec = list(SPECS[name].column_names)
        assert header[: len(spec)] == spec, name
        assert header[len(spec):] == custom[name], name
        raw = (out / f"{name}.csv").read_bytes()
        assert b"\r" not in raw and raw.endswith(b"\n"), name


def _check_value(typ: str, value: str) -> bool:
    if typ in ("id", "str") or typ.startswith("ref:"):
        return True
    if typ == "int":
        return value.lstrip("-").isdigit()
    if typ in ("decimal", "float"):
        try:
            return Decimal(value).is_finite()
        except InvalidOperation:
            return False
    if typ == "date":
        try:
            date.fromisoformat(value)
            return len(value) == 10
        except ValueError:
            return False
    if typ == "ts":
        try:
            datetime.fromisoformat(value)
            return True
        except ValueError:
            return False
    if typ.startswith("enum:"):
        return value in typ[5:].split("|")
    raise AssertionError(f"unknown column type {typ}")


def test_every_file_conforms_to_the_format(mapped):
    """Required cells filled, keys unique, values typed, references resolve (bestby.format)."""
    files = mapped[2]
    keys: dict[str, set[str]] = {}
    for name in OUTPUT_FILES:
        spec = SPECS[name]
        if len(spec.key) == 1:
            keys[name] = {r[spec.key[0]] for r in files[name][1]}
    for name in OUTPUT_FILES:
        spec = SPECS[name]
        data = files[name][1]
        if spec.key:
            seen = Counter(tuple(r[k] for k in spec.key) for r in data)
            assert max(seen.values()) == 1, f"{name}: duplicate key"
        for line, r in enumerate(data, start=2):
            for col in spec.columns:
                value = r[col.name]
                if value == "":
                    assert not col.required, f"{name}:{line}:{col.name} is required"
                    continue
                assert _check_value(col.type, value), f"{name}:{line}:{col.name}={value!r}"
                if col.ref:
                    assert value in keys[col.ref], f"{name}:{line}:{col.name}={value!r} dangles"


# --------------------------------------------------------------------------- users


def test_users_are_every_agent_and_every_manager(source, mapped):
    teams = source["sales_teams.csv"]
    managers = {t["manager"] for t in teams}
    users = rows(mapped, "users")
    assert len(teams) == 35
    assert len(users) == 35 + len(managers)
    names = [u["name"] for u in users]
    assert len(set(names)) == len(names)
    assert set(names) == {t["sales_agent"] for t in teams} | managers
    by_name = {u["name"]: u for u in users}
    for t in teams:
        agent = by_name[t["sales_agent"]]
        assert agent["role"] == "rep"
        assert agent["team"] == agent["territory"] == t["regional_office"]
        manager = by_name[t["manager"]]
        assert agent["manager_id"] == manager["user_id"]
        assert manager["role"] == "manager"
        assert manager["manager_id"] == ""
        assert manager["team"] == manager["territory"] == t["regional_office"]
    assert by_name["Moses Frase"]["user_id"] == "moses-frase"
    # agents without deals are users all the same (SOURCE.md names five)
    with_deals = {r["sales_agent"] for r in source["sales_pipeline.csv"]}
    idle = {t["sales_agent"] for t in teams} - with_deals
    assert idle == {"Carl Lin", "Carol Thompson", "Elizabeth Anderson", "Mei-Mei Johns",
                    "Natalya Ivanova"}
    assert idle <= set(by_name)


# --------------------------------------------------------------------------- accounts, products


def test_accounts(source, mapped):
    src = {a["account"]: a for a in source["accounts.csv"]}
    accounts = rows(mapped, "accounts")
    assert len(accounts) == len(src) == 85
    by_name = {a["name"]: a for a in accounts}
    ids = {a["account_id"]: a["name"] for a in accounts}
    assert set(by_name) == set(src)
    for name, a in src.items():
        out = by_name[name]
        assert out["sector"] == a["sector"]
        assert out["annual_revenue"] == a["revenue"]
        assert out["employees"] == a["employees"]
        assert out["territory"] == out["office_location"] == a["office_location"]
        assert out["year_established"] == a["year_established"]
        parent = out["parent_account_id"]
        assert (ids[parent] if parent else "") == a["subsidiary_of"]
    assert by_name["Cancity"]["account_id"] == "cancity"
    assert by_name["Bluth Company"]["parent_account_id"] == "acme-corporation"
    assert sum(a["sector"] == "technolgy" for a in accounts) == sum(
        a["sector"] == "technolgy" for a in src.values()) > 0
    # parents come before their subsidiaries
    position = {a["account_id"]: i for i, a in enumerate(accounts)}
    for a in accounts:
        if a["parent_account_id"]:
            assert position[a["parent_account_id"]] < position[a["account_id"]]


def test_products_gtxpro_merged(source, mapped):
    src = source["products.csv"]
    products = rows(mapped, "products")
    assert len(products) == len(src) == 7
    by_name = {p["name"]: p for p in products}
    for p in src:
        assert by_name[p["product"]]["category"] == by_name[p["product"]]["series"] == p["series"]
        assert by_name[p["product"]]["list_price"] == p["sales_price"]
    assert by_name["GTX Pro"]["product_id"] == "gtx-pro"
    # every deal's product resolves, GTXPro included: no product is missing
    names = {p["product"] for p in src}
    loose = {_norm(p["product"]): p["product"] for p in src}
    pipeline = source["sales_pipeline.csv"]
    not_exact = Counter(r["product"] for r in pipeline if r["product"] not in names)
    assert not_exact == Counter({"GTXPro": 1480})
    product_of = {pid: p["name"] for pid, p in by_id(mapped, "products", "product_id").items()}
    deals = by_id(mapped, "deals", "deal_id")
    for r in pipeline:
        expected = r["product"] if r["product"] in names else loose[_norm(r["product"])]
        assert product_of[deals[r["opportunity_id"]]["product_id"]] == expected


# --------------------------------------------------------------------------- deals


def test_every_opportunity_is_a_deal(source, mapped):
    pipeline = source["sales_pipeline.csv"]
    deals = rows(mapped, "deals")
    assert len(pipeline) == len(deals) == 8800
    assert [d["deal_id"] for d in deals] == [r["opportunity_id"] for r in pipeline]
    assert {d["pipeline"] for d in deals} == {"maven"}
    stages = Counter(r["deal_stage"] for r in pipeline)
    assert stages == {"Won": 4238, "Lost": 2473, "Engaging": 1589, "Prospecting": 500}
    assert Counter(d["stage"] for d in deals) == stages
    assert Counter(d["status"] for d in deals) == {"won": 4238, "lost": 2473, "open": 2089}
    assert Counter(d["stage"] for d in deals if d["status"] == "open") == {
        "Engaging": 1589, "Prospecting": 500}


def test_owners_and_accounts_join_by_name(source, mapped):
    users = by_id(mapped, "users", "user_id")
    accounts = by_id(mapped, "accounts", "account_id")
    deals = by_id(mapped, "deals", "deal_id")
    empty = 0
    for r in source["sales_pipeline.csv"]:
        d = deals[r["opportunity_id"]]
        assert users[d["owner_id"]]["name"] == r["sales_agent"]
        assert users[d["owner_id"]]["role"] == "rep"
        if r["account"]:
            assert accounts[d["account_id"]]["name"] == r["account"]
        else:
            assert d["account_id"] == ""
            empty += 1
    assert empty == sum(d["account_id"] == "" for d in deals.values()) == 1425


def test_amounts(source, mapped):
    price = {_norm(p["product"]): p["sales_price"] for p in source["products.csv"]}
    deals = by_id(mapped, "deals", "deal_id")
    for r in source["sales_pipeline.csv"]:
        d = deals[r["opportunity_id"]]
        Decimal(d["amount"])  # a valid decimal, never empty
        assert Decimal(d["amount"]).is_finite()
        assert d["close_value"] == r["close_value"]
        if r["deal_stage"] == "Won":
            assert d["amount"] == r["close_value"]
            assert d["amount_estimated"] == ""
        else:  # Lost: close_value 0; open: no close_value -> the list price
            assert d["amount"] == price[_norm(r["product"])]
            assert d["amount_estimated"] == "true"
    lost = [r for r in source["sales_pipeline.csv"] if r["deal_stage"] == "Lost"]
    assert {r["close_value"] for r in lost} == {"0"}


def test_dates_and_estimated_created_at(source, mapped):
    pipeline = source["sales_pipeline.csv"]
    last = max(v for r in pipeline for v in (r["engage_date"], r["close_date"]) if v)
    assert last == "2017-12-31"
    deals = by_id(mapped, "deals", "deal_id")
    estimated = 0
    for r in pipeline:
        d = deals[r["opportunity_id"]]
        if r["deal_stage"] == "Prospecting":
            assert r["engage_date"] == ""
            assert d["created_at"] == last
            assert d["created_at_estimated"] == "true"
            estimated += 1
        else:
            assert d["created_at"] == r["engage_date"]
            assert d["created_at_estimated"] == ""
        if r["deal_stage"] in ("Won", "Lost"):
            assert d["closed_at"] == d["close_date"] == r["close_date"] != ""
        else:
            assert d["closed_at"] == d["close_date"] == ""
    assert estimated == 500


def test_stage_events(source, mapped):
    pipeline = source["sales_pipeline.csv"]
    closes = sum(r["deal_stage"] in ("Won", "Lost") for r in pipeline)
    assert closes == 4238 + 2473
    events = rows(mapped, "stage_events")
    assert len(events) == 8800 + closes
    per_deal: dict[str, list[dict[str, str]]] = {}
    for e in events:
        per_deal.setdefault(e["deal_id"], []).append(e)
    deals = by_id(mapped, "deals", "deal_id")
    for r in pipeline:
        ev = per_deal[r["opportunity_id"]]
        entry = ev[0]
        assert entry["from_stage"] == ""
        assert entry["at"] == deals[r["opportunity_id"]]["created_at"]
        if r["deal_stage"] == "Prospecting":
            assert len(ev) == 1
            assert entry["to_stage"] == "Prospecting" and entry["at"] == "2017-12-31"
        else:
            assert entry["to_stage"] == "Engaging" and entry["at"] == r["engage_date"]
        if r["deal_stage"] == "Engaging":
            assert len(ev) == 1
        if r["deal_stage"] in ("Won", "Lost"):
            assert len(ev) == 2
            assert ev[1] == {"deal_id": r["opportunity_id"], "at": r["close_date"],
                             "to_stage": r["deal_stage"], "from_stage": "Engaging"}


def test_stages(mapped):
    assert [(s["pipeline"], s["stage"], s["position"], s["kind"], s["probability"])
            for s in rows(mapped, "stages")] == [
        ("maven", "Prospecting", "1", "open", ""),
        ("maven", "Engaging", "2", "open", ""),
        ("maven", "Won", "3", "won", ""),
        ("maven", "Lost", "4", "lost", ""),
    ]


def test_hand_checked_row(mapped):
    """1C1I7A6R: Moses Frase, GTX Plus Basic, Cancity, Won, 2016-10-20 -> 2017-03-01, 1054."""
    d = by_id(mapped, "deals", "deal_id")["1C1I7A6R"]
    assert {k: d[k] for k in ("owner_id", "product_id", "account_id", "stage", "status",
                              "created_at", "closed_at", "close_date", "amount", "close_value")} == {
        "owner_id": "moses-frase", "product_id": "gtx-plus-basic", "account_id": "cancity",
        "stage": "Won", "status": "won", "created_at": "2016-10-20", "closed_at": "2017-03-01",
        "close_date": "2017-03-01", "amount": "1054", "close_value": "1054",
    }
    users = by_id(mapped, "users", "user_id")
    assert users["moses-frase"]["name"] == "Moses Frase"
    assert users["moses-frase"]["manager_id"] == "dustin-brinkmann"
    assert users["moses-frase"]["territory"] == "Central"
    assert by_id(mapped, "products", "product_id")["gtx-plus-basic"]["list_price"] == "1096"
    assert [e for e in rows(mapped, "stage_events") if e["deal_id"] == "1C1I7A6R"] == [
        {"deal_id": "1C1I7A6R", "at": "2016-10-20", "to_stage": "Engaging", "from_stage": ""},
        {"deal_id": "1C1I7A6R", "at": "2017-03-01", "to_stage": "Won", "from_stage": "Engaging"},
    ]


# --------------------------------------------------------------------------- errors


@pytest.fixture
def broken_copy(source, tmp_path):
    """A writable copy of the source; the test breaks one file."""
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCE_FILES:
        shutil.copyfile(DATA / name, src / name)
    return src


def _rewrite(path: Path, edit) -> None:
    with path.open(encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh))
    edit(table)
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(table)


def test_missing_column_names_file_and_column(broken_copy, tmp_path):
    def drop_close_value(table):
        i = table[0].index("close_value")
        for row in table:
            del row[i]

    _rewrite(broken_copy / "sales_pipeline.csv", drop_close_value)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match=r"sales_pipeline\.csv.*close_value"):
        maven_to_canonical(broken_copy, out)
    assert not out.exists() or not any(out.iterdir()), "nothing is written on error"


def test_missing_file_names_the_file(broken_copy, tmp_path):
    (broken_copy / "sales_teams.csv").unlink()
    with pytest.raises(ValueError, match=r"sales_teams\.csv"):
        maven_to_canonical(broken_copy, tmp_path / "out")


@pytest.mark.parametrize("column, value", [
    ("sales_agent", "Nobody Known"),
    ("product", "GTX Ultra"),
    ("account", "Not A Company"),
])
def test_unknown_reference_names_file_line_and_column(broken_copy, tmp_path, column, value):
    def break_row_10(table):
        table[9][table[0].index(column)] = value  # the 10th line of the file

    _rewrite(broken_copy / "sales_pipeline.csv", break_row_10)
    with pytest.raises(ValueError, match=rf"sales_pipeline\.csv, line 10, column {column}\b"):
        maven_to_canonical(broken_copy, tmp_path / "out")
