"""Every FORMAT.md file at once: counts, idempotency, round trip, Parquet.

The hand folder plus contacts, products, leads, orders (a two-column key),
invoices and wallet (a key of a reference and a category), written by hand.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from bestby.accounts.models import Contact, WalletRow
from bestby.activities.models import Lead, Touch
from bestby.commerce.models import Invoice, OrderLine
from bestby.importers.canonical import import_canonical
from bestby.importers.problems import ImportFailed
from tests.importers.folders import HAND, write_folder
from tests.importers.test_canonical_helpers import export_bytes, flush_store, replace_line, write_parquet_copies

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def utc(settings):
    settings.TIME_ZONE = "UTC"


def all_files() -> dict[str, str]:
    files = dict(HAND)
    files["deals.csv"] = replace_line(files["deals.csv"], "2024-05-31,,inbound,\n", "2024-05-31,,inbound,p1\n")
    files["touches.csv"] += "t3,2024-02-06T09:00:00,email,u-rep1,in,replied,,l2,c1,,,\n"
    files["contacts.csv"] = (
        "contact_id,account_id,name,title,email,phone,buying_role\n"
        "c1,a-acme,Carl Contact,CTO,carl@acme.test,+1 555 0100,decision_maker\n"
        "c2,a-sub,Cora,,,,champion\n"
    )
    files["products.csv"] = (
        "product_id,name,category,list_price,unit_cost\n"
        "p1,Widget,hardware,99.9999,45.5\n"
        "p2,Support,services,1200,\n"
    )
    files["leads.csv"] = (
        "lead_id,name,company,email,phone,owner_id,source,created_at,status,converted_deal_id\n"
        "l1,Lee Lead,Leeco,lee@leeco.test,,u-rep1,inbound,2024-01-05T08:00:00,converted,d1\n"
        "l2,Lin,Linco,,,,prospecting,2024-02-05,in_cadence,\n"
    )
    files["orders.csv"] = (
        "order_id,line_no,account_id,product_id,ordered_at,quantity,unit_price,unit_cost,committed_quantity,promised_at,taken_at\n"
        "o1,1,a-acme,p1,2024-03-01,10,99.5,45.5,12,2024-06-01,2024-03-05\n"
        "o1,2,a-acme,p2,2024-03-01,1,1200,,,,\n"
        "o2,1,a-sub,p1,2024-04-01T12:00:00,2.5,100,,,,\n"
    )
    files["invoices.csv"] = (
        "invoice_id,account_id,issued_at,due_at,amount,paid_at\n"
        "i1,a-acme,2024-03-01,2024-03-31,2195,2024-04-10\n"
        "i2,a-sub,2024-04-01,2024-05-01,250.00,\n"
    )
    files["wallet.csv"] = (
        "account_id,category,potential_annual_spend,incumbent\n"
        "a-acme,hardware,50000,Globex\n"
        "a-acme,services,20000,\n"
        "a-sub,hardware,5000,Initech\n"
    )
    return files


ALL_ROWS = {"users": 2, "stages": 4, "accounts": 2, "contacts": 2, "products": 2, "deals": 3, "leads": 2,
            "stage_events": 6, "close_date_events": 2, "touches": 3, "orders": 3, "invoices": 2, "wallet": 3,
            "quotas": 2}


def counts(report):
    return {k: (v.created, v.updated, v.unchanged) for k, v in report.files.items()}


def test_every_file_imports_resolves_and_is_idempotent(tmp_path):
    folder = write_folder(tmp_path / "in", all_files())
    assert counts(import_canonical(folder)) == {k: (n, 0, 0) for k, n in ALL_ROWS.items()}
    assert Contact.objects.get(external_id="c1").account.external_id == "a-acme"
    assert Lead.objects.get(external_id="l1").converted_deal.external_id == "d1"
    t3 = Touch.objects.get(external_id="t3")
    assert (t3.lead.external_id, t3.contact.external_id, t3.deal, t3.account) == ("l2", "c1", None, None)
    line = OrderLine.objects.get(order_id="o1", line_no=1)
    assert (line.account.external_id, line.product.external_id, line.quantity, line.committed_quantity) == (
        "a-acme", "p1", Decimal("10"), Decimal("12"))
    assert Invoice.objects.get(external_id="i2").paid_at is None
    assert WalletRow.objects.get(account__external_id="a-acme", category="services").incumbent == ""
    assert counts(import_canonical(folder)) == {k: (0, 0, n) for k, n in ALL_ROWS.items()}


def test_order_lines_and_wallet_rows_are_matched_on_their_keys(tmp_path):
    files = all_files()
    import_canonical(write_folder(tmp_path / "in", files))
    files["orders.csv"] = replace_line(files["orders.csv"], "o1,2,a-acme,p2,2024-03-01,1,", "o1,2,a-acme,p2,2024-03-01,3,")
    files["wallet.csv"] = replace_line(files["wallet.csv"], "a-sub,hardware,5000,", "a-sub,hardware,7500,")
    report = import_canonical(write_folder(tmp_path / "changed", files))
    assert counts(report)["orders"] == (0, 1, 2) and counts(report)["wallet"] == (0, 1, 2)
    assert OrderLine.objects.get(order_id="o1", line_no=2).quantity == 3
    assert OrderLine.objects.count() == 3 and WalletRow.objects.count() == 3


def test_duplicate_composite_keys_are_problems(tmp_path):
    files = all_files()
    files["orders.csv"] += "o1,2,a-sub,p1,2024-03-02,1,1,,,,\n"
    files["wallet.csv"] += "a-acme,hardware,1,Other\n"
    with pytest.raises(ImportFailed) as failed:
        import_canonical(write_folder(tmp_path / "in", files))
    assert [(p.file, p.line, p.column) for p in failed.value.problems] == [
        ("orders.csv", 5, "order_id"), ("wallet.csv", 5, "account_id"),
    ]


def test_every_file_round_trips_byte_identical(tmp_path):
    import_canonical(write_folder(tmp_path / "in", all_files()))
    first = export_bytes(tmp_path / "export-1")
    assert sorted(first) == sorted(all_files())
    assert first["orders.csv"].decode() == (
        "order_id,line_no,account_id,product_id,ordered_at,quantity,unit_price,unit_cost,committed_quantity,promised_at,taken_at\n"
        "o1,1,a-acme,p1,2024-03-01T00:00:00+00:00,10.00,99.50,45.50,12.00,2024-06-01T00:00:00+00:00,2024-03-05T00:00:00+00:00\n"
        "o1,2,a-acme,p2,2024-03-01T00:00:00+00:00,1.00,1200.00,,,,\n"
        "o2,1,a-sub,p1,2024-04-01T12:00:00+00:00,2.50,100.00,,,,\n"
    )
    assert first["products.csv"].decode() == (
        "product_id,name,category,list_price,unit_cost\n"
        "p1,Widget,hardware,99.9999,45.50\n"
        "p2,Support,services,1200.00,\n"
    )
    assert first["wallet.csv"].decode() == (
        "account_id,category,potential_annual_spend,incumbent\n"
        "a-acme,hardware,50000.00,Globex\n"
        "a-acme,services,20000.00,\n"
        "a-sub,hardware,5000.00,Initech\n"
    )
    flush_store()
    import_canonical(tmp_path / "export-1")
    assert export_bytes(tmp_path / "export-2") == first


def test_every_file_as_parquet_gives_the_same_store(tmp_path):
    csv_folder = write_folder(tmp_path / "csv", all_files())
    import_canonical(csv_folder)
    from_csv = export_bytes(tmp_path / "csv-export")
    flush_store()
    pq = write_parquet_copies(csv_folder, tmp_path / "pq", infer_types=True)
    assert counts(import_canonical(pq)) == {k: (n, 0, 0) for k, n in ALL_ROWS.items()}
    assert export_bytes(tmp_path / "pq-export") == from_csv
    assert counts(import_canonical(csv_folder)) == {k: (0, 0, n) for k, n in ALL_ROWS.items()}
