"""A bad-input corpus for the import path (issue 13, "Numbers have bounds", "Values that break pages for everyone").

For every numeric, date and timestamp column of every FORMAT.md file
(enumerated from ``bestby.format``, so a new column is covered as soon as it
is declared), a value just outside the column's bound, in one cell of an
otherwise valid folder (CSV, and Parquet with typed columns as a real
producer writes them), is refused with the file, the line and the column
named, and the store's row counts and rows are exactly what they were. So
is a NUL character in a text cell, on SQLite and on PostgreSQL (which used to
fail with a raw traceback). A value just inside its bound is accepted and
round-trips exactly; a decimal with more places than its column keeps is
rounded half-even.

The limits are written here as literal numbers, from the columns' SQL types
within the 15 significant digits SQLite keeps exactly (``DECIMAL(18, 2)``:
13 digits before the point), not read from ``bestby.bounds``: the test is the
independent statement of the rules.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import override_settings

from bestby.format import FILES
from bestby.importers.canonical import import_canonical
from bestby.importers.problems import ImportFailed
from tests.importers.folders import write_folder
from tests.importers.test_canonical_all_files import all_files
from tests.importers.test_canonical_helpers import all_rows, write_parquet_copies

pytestmark = pytest.mark.django_db

#: digits before the decimal point of every decimal column: DECIMAL(max_digits, places) keeps
#: min(max_digits, 15) - places, 15 being the significant digits SQLite keeps exactly (a 64-bit float's)
DECIMAL_DIGITS = {
    "accounts.annual_revenue": 13,            # DECIMAL(20, 2)
    "products.list_price": 11,                # DECIMAL(18, 4)
    "products.unit_cost": 11,
    "deals.amount": 13,                       # DECIMAL(18, 2)
    "orders.quantity": 11,                    # DECIMAL(18, 4)
    "orders.unit_price": 11,
    "orders.unit_cost": 11,
    "orders.committed_quantity": 11,
    "invoices.amount": 13,                    # DECIMAL(18, 2)
    "wallet.potential_annual_spend": 13,
    "quotas.amount": 13,
}
#: every whole number column is a 32-bit integer (Django's portable range)
INT_MAX = "2,147,483,647"
#: number columns with a narrower range than their type: (out-of-range value, the range the message gives)
FLOAT_RANGES = {"stages.probability": ("1.5", "from 0 to 1")}
#: every date and timestamp: 1900-01-01 to 2199-12-31
DATE_WINDOW = "from 1900-01-01 to 2199-12-31"
OUTSIDE_DATES = ("9999-12-31", "1066-10-14")

NUMERIC_TYPES = ("int", "decimal", "float", "date", "ts")
COLUMNS = [(f.name, c.name, c.type) for f in FILES for c in f.columns if c.type in NUMERIC_TYPES]


def _cases():
    """(file, column, bad value, what the message must say) for every numeric, date and timestamp column."""
    cases = []
    for file, column, kind in COLUMNS:
        key = f"{file}.{column}"
        if kind == "decimal":
            digits = DECIMAL_DIGITS[key]  # a new decimal column: say here how many digits its type keeps
            cases.append((file, column, "1" + "0" * digits, f"({digits} digits before the decimal point)"))
            cases.append((file, column, "1e30", f"({digits} digits before the decimal point)"))
        elif kind == "int":
            cases.append((file, column, "2147483648", INT_MAX))
            cases.append((file, column, "-2147483649", INT_MAX))
        elif kind == "float":
            value, fragment = FLOAT_RANGES[key]  # a new float column: say here what its range is
            cases.append((file, column, value, fragment))
        else:
            for day in OUTSIDE_DATES:
                cases.append((file, column, day if kind == "date" else f"{day}T00:00:00", DATE_WINDOW))
    return cases


CASES = _cases()
#: the values that must be refused because a column cannot be negative (bestby.columns.NON_NEGATIVE) are not
#: here: the one sure thing is that -2147483649 is out of every 32-bit range, whatever the column's minimum


def test_the_corpus_covers_every_numeric_date_and_timestamp_column():
    assert len(COLUMNS) >= 30, COLUMNS  # 5 whole numbers, 11 decimals, 1 float, 17 dates and timestamps today
    assert {f"{f}.{c}" for f, c, k in COLUMNS if k == "decimal"} == set(DECIMAL_DIGITS)
    assert {f"{f}.{c}" for f, c, _v, _m in CASES} == {f"{f}.{c}" for f, c, _k in COLUMNS}
    assert ("quotas", "period_end", "9999-12-31", DATE_WINDOW) in CASES
    assert ("touches", "at", "9999-12-31T00:00:00", DATE_WINDOW) in CASES


# -- the folder and the store -----------------------------------------------------------------------------------


def _rows(text: str) -> list[list[str]]:
    return [r for r in csv.reader(io.StringIO(text, newline="")) if r]


def _write(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def with_cell(files: dict[str, str], file: str, column: str, value: str, row: int = 0) -> dict[str, str]:
    """``files`` with one cell changed: ``column`` of data row ``row`` (line ``row + 2``) of ``file``."""
    files = dict(files)
    rows = _rows(files[f"{file}.csv"])
    if column not in rows[0]:
        rows[0].append(column)
        for r in rows[1:]:
            r.append("")
    rows[row + 1][rows[0].index(column)] = value
    files[f"{file}.csv"] = _write(rows)
    return files


def folder_of(files: dict[str, str], path: Path, fmt: str) -> Path:
    csv_folder = write_folder(path / "csv", files)
    if fmt == "csv":
        return csv_folder
    return write_parquet_copies(csv_folder, path / "parquet", infer_types=True)


def state() -> tuple[dict[str, int], str]:
    """Row counts of every model, and a checksum of every row."""
    rows = all_rows()
    return {label: len(r) for label, r in rows.items()}, hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.fixture(autouse=True)
def utc():
    with override_settings(TIME_ZONE="UTC"):  # bare dates are midnight UTC, so the window's ends are these days
        yield


@pytest.fixture(scope="module")
def store(django_db_setup, django_db_blocker, tmp_path_factory):
    """Every FORMAT.md file imported once for the module (rolled back at its end); each test runs in a savepoint."""
    from django.db import transaction

    tmp = tmp_path_factory.mktemp("corpus")
    with django_db_blocker.unblock(), override_settings(TIME_ZONE="UTC"):
        with transaction.atomic():
            import_canonical(write_folder(tmp / "good", all_files()))
            yield state()
            transaction.set_rollback(True)


def refused(folder: Path) -> list:
    with pytest.raises(ImportFailed) as failed:
        import_canonical(folder)
    return failed.value.problems


# -- out of range ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("file,column,value,fragment", CASES,
                         ids=[f"{f}.{c}={v}" for f, c, v, _m in CASES])
def test_a_value_out_of_its_columns_bound_is_refused_and_nothing_changes(store, tmp_path, fmt, file, column, value,
                                                                         fragment):
    folder = folder_of(with_cell(all_files(), file, column, value), tmp_path, fmt)
    problems = refused(folder)
    assert [(p.file, p.line, p.column) for p in problems] == [(f"{file}.{fmt}", 2, column)], problems
    assert fragment in problems[0].message, problems[0]
    assert str(problems[0]).startswith(f"{file}.{fmt}, line 2, column {column}: ")
    assert state() == store


@pytest.mark.parametrize("file,column,value", [
    ("deals", "amount", "1e20"), ("deals", "amount", "-5"), ("accounts", "employees", "3e9"),
    ("accounts", "employees", "3000000000"), ("quotas", "period_end", "9999-12-31"),
    ("touches", "at", "9999-12-31T00:00"), ("deals", "close_date", "1066-10-14"),
], ids=["deals.amount=1e20", "deals.amount=-5", "accounts.employees=3e9", "accounts.employees=3000000000",
        "quotas.period_end=9999-12-31", "touches.at=9999-12-31T00:00", "deals.close_date=1066-10-14"])
def test_the_values_of_the_issue_are_refused(store, tmp_path, file, column, value):
    problems = refused(folder_of(with_cell(all_files(), file, column, value), tmp_path, "csv"))
    assert [(p.file, p.line, p.column) for p in problems] == [(f"{file}.csv", 2, column)], problems
    assert state() == store


# -- NUL --------------------------------------------------------------------------------------------------------


NUL_CELLS = [("deals", "name"), ("touches", "notes"), ("users", "user_id"), ("accounts", "parent_account_id"),
             ("deals", "a_custom_column")]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
@pytest.mark.parametrize("file,column", NUL_CELLS, ids=[f"{f}.{c}" for f, c in NUL_CELLS])
def test_a_nul_character_in_a_text_cell_is_refused_and_nothing_changes(store, tmp_path, fmt, file, column):
    folder = folder_of(with_cell(all_files(), file, column, "Acme\x00rollout"), tmp_path, fmt)
    problems = refused(folder)
    assert [(p.file, p.line, p.column) for p in problems] == [(f"{file}.{fmt}", 2, column)], problems
    assert "NUL" in problems[0].message
    assert state() == store


def test_a_nul_on_a_later_line_of_a_quoted_multiline_csv_is_placed_on_its_line(store, tmp_path):
    files = all_files()
    files["touches.csv"] = files["touches.csv"].replace('"first call, went well"', '"first call,\nwent well"')
    files = with_cell(files, "touches", "notes", "bad\x00note", row=1)  # touch t2 starts on line 4 now
    problems = refused(folder_of(files, tmp_path, "csv"))
    assert [(p.file, p.line, p.column) for p in problems] == [("touches.csv", 4, "notes")], problems
    assert state() == store


# -- inside the bounds ---------------------------------------------------------------------------------------------


def test_values_just_inside_the_bounds_are_accepted_and_round_trip(store, tmp_path):
    from bestby.accounts.models import Account
    from bestby.goals.models import Quota
    from bestby.pipeline.models import Stage

    files = with_cell(all_files(), "deals", "amount", "9999999999999.99")  # 15 significant digits: exact on SQLite too
    files = with_cell(files, "accounts", "employees", "2147483647")
    files = with_cell(files, "accounts", "payment_terms_days", "0")
    files = with_cell(files, "quotas", "period_start", "1900-01-01")
    files = with_cell(files, "quotas", "period_end", "2199-12-31")
    files = with_cell(files, "touches", "at", "2199-12-31T23:59:59")
    files = with_cell(files, "stages", "probability", "1")
    report = import_canonical(folder_of(files, tmp_path / "in", "csv"))
    assert report.files["deals"].updated == 1
    assert Account.objects.get(external_id="a-sub").employees == 2147483647
    assert Quota.objects.filter(owner_key="u-rep1", period_start="1900-01-01", period_end="2199-12-31").exists()
    assert Stage.objects.filter(name="Qualify", probability=1).exists()
    _assert_amount_round_trips(tmp_path, "9999999999999.99")


#: SQLite gives a DECIMAL column NUMERIC affinity: a value of more than 15 significant digits is stored as a REAL or
#: an INTEGER (9999999999999999.99 became 10000000000000000), so the bound keeps 15 digits on both databases and
#: the largest amount it allows round-trips exactly on both.
def test_the_largest_amount_round_trips_exactly(store, tmp_path):
    import_canonical(folder_of(with_cell(all_files(), "deals", "amount", "9999999999999.99"), tmp_path / "in", "csv"))
    _assert_amount_round_trips(tmp_path, "9999999999999.99")


def test_one_cent_more_than_the_largest_amount_is_refused(store, tmp_path):
    problems = refused(folder_of(with_cell(all_files(), "deals", "amount", "10000000000000.00"), tmp_path, "csv"))
    assert [(p.file, p.line, p.column) for p in problems] == [("deals.csv", 2, "amount")]
    assert state() == store


def _assert_amount_round_trips(tmp_path: Path, amount: str) -> None:
    from bestby.exporters import export_canonical
    from bestby.pipeline.models import Deal

    stored = Deal.objects.get(external_id="d1").amount
    assert stored == Decimal(amount) and str(stored) == amount
    export_canonical(tmp_path / "out")
    exported = {r[0]: r for r in _rows((tmp_path / "out" / "deals.csv").read_text())}
    assert exported["d1"][exported["deal_id"].index("amount")] == amount
    again = import_canonical(tmp_path / "out")
    assert again.files["deals"].updated == 0


def test_decimal_places_beyond_the_column_are_rounded_half_even(store, tmp_path):
    from bestby.commerce.models import Product
    from bestby.pipeline.models import Deal

    files = with_cell(all_files(), "deals", "amount", "1234.5678")
    files = with_cell(files, "deals", "amount", "0.125", row=1)
    files = with_cell(files, "deals", "amount", "500.505", row=2)
    files = with_cell(files, "products", "list_price", "99.99995")
    folder = folder_of(files, tmp_path / "in", "csv")
    import_canonical(folder)
    amounts = dict(Deal.objects.filter(external_id__in=["d1", "d2", "d3"]).values_list("external_id", "amount"))
    assert amounts == {"d1": Decimal("1234.57"), "d2": Decimal("0.12"), "d3": Decimal("500.50")}
    assert Product.objects.get(external_id="p1").list_price == Decimal("100.0000")
    again = import_canonical(folder)  # the rounded values are what is stored: nothing updated the second time
    assert again.files["deals"].updated == 0 and again.files["products"].updated == 0


def test_rounding_up_past_the_largest_amount_is_refused(store, tmp_path):
    problems = refused(folder_of(with_cell(all_files(), "deals", "amount", "9999999999999.995"), tmp_path, "csv"))
    assert [(p.file, p.line, p.column) for p in problems] == [("deals.csv", 2, "amount")]
    assert state() == store


# -- the import page and the dry run use the same checks ------------------------------------------------------


def test_the_dry_run_refuses_the_same(store, tmp_path):
    problems = None
    with pytest.raises(ImportFailed) as failed:
        import_canonical(folder_of(with_cell(all_files(), "quotas", "period_end", "9999-12-31"), tmp_path, "csv"),
                         dry_run=True)
    problems = failed.value.problems
    assert [(p.file, p.line, p.column) for p in problems] == [("quotas.csv", 2, "period_end")]


def test_the_import_page_shows_the_problem_with_file_line_and_column(store, client, tmp_path, monkeypatch):
    from bestby.people.models import User

    monkeypatch.setenv("BESTBY_HOME", str(tmp_path / "home"))
    User.objects.create_user(username="corpus-admin", password="x-long-password-1", external_id="corpus-admin",
                             role="admin")
    client.login(username="corpus-admin", password="x-long-password-1")
    files = with_cell(all_files(), "deals", "amount", "1e20")
    files = with_cell(files, "touches", "notes", "a\x00b", row=1)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text.encode())
    buf.seek(0)
    buf.name = "upload.zip"
    before = state()
    response = client.post("/import/", {"file": buf})
    html = response.content.decode()
    assert response.status_code == 400 and "would be refused" in html
    table = re.search(r'<table class="stages import-problems">(.*?)</table>', html, re.S).group(1)
    shown = re.findall(r'<tr><td>([^<]*)</td><td class="num">([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td>', table)
    assert [row[:3] for row in shown] == [("deals.csv", "2", "amount"), ("touches.csv", "3", "notes")], shown
    assert "is too large" in shown[0][3] and "NUL" in shown[1][3], shown
    assert state() == before


# -- a CRM importer ends in the same checks, its problems placed in the user's file ---------------------------------


def test_a_crm_export_with_values_out_of_bound_is_refused_with_its_own_file_line_and_column(store, tmp_path):
    from bestby.importers.crm import csvmap
    from bestby.importers.crm.dates import Dates
    from bestby.importers.crm.run import import_mapped
    from tests.importers.crm.csvmap_files import DEALS, DEALS_MAP, write

    text = (DEALS.replace('"12.500,00"', '"100.000.000.000.000.000.000,00"')       # line 2: 1e20
            .replace(",8.000,,31/03/2024,", ",8.000,,31/12/9999,")                 # line 3: a far expected close
            .replace("Initech pilot", "Initech\x00pilot"))                         # line 4: NUL
    out, findings = csvmap.map_export(write(tmp_path, "deals.csv", text), Dates(None), mapping=DEALS_MAP)
    with pytest.raises(ImportFailed) as failed:
        import_mapped(out, findings, source="csvmap:deals.csv", label="test")
    got = [(p.file, p.line, p.column) for p in failed.value.problems]
    assert got == [("deals.csv", 2, "Value"), ("deals.csv", 3, "Expected close"), ("deals.csv", 4, "Opportunity")], \
        failed.value.summary()
    assert state() == store


# -- the Maven data set's mapping refuses them in the publisher's files -----------------------------------------

MAVEN = {
    "sales_teams.csv": "sales_agent,manager,regional_office\nAnn Agent,Max Manager,West\n",
    "accounts.csv": ("account,sector,year_established,revenue,employees,office_location,subsidiary_of\n"
                     "Acme,tech,1990,100.5,50,United States,\n"),
    "products.csv": "product,series,sales_price\nGTX Basic,GTX,550\n",
    "sales_pipeline.csv": ("opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value\n"
                           "O1,Ann Agent,GTX Basic,Acme,Won,2017-01-01,2017-02-01,600\n"),
}
MAVEN_CASES = [
    ("sales_pipeline.csv", "close_value", "1e20", "13 digits before the decimal point"),
    ("sales_pipeline.csv", "close_date", "9999-12-31", DATE_WINDOW),
    ("sales_pipeline.csv", "engage_date", "1066-10-14", DATE_WINDOW),
    ("accounts.csv", "revenue", "1e30", "13 digits before the decimal point"),
    ("accounts.csv", "employees", "3000000000", INT_MAX),
    ("products.csv", "sales_price", "1e15", "11 digits before the decimal point"),
    ("accounts.csv", "sector", "te\x00ch", "NUL"),
]


@pytest.mark.parametrize("file,column,value,fragment", MAVEN_CASES,
                         ids=[f"maven.{f.removesuffix('.csv')}.{c}" for f, c, _v, _m in MAVEN_CASES])
def test_the_maven_mapping_refuses_values_out_of_bound_in_the_publishers_file(tmp_path, file, column, value,
                                                                              fragment):
    from bestby.importers.maven import maven_to_canonical

    files = dict(MAVEN)
    rows = _rows(files[file])
    rows[1][rows[0].index(column)] = value
    files[file] = _write(rows)
    maven_to_canonical(write_folder(tmp_path / "good", MAVEN), tmp_path / "ok")  # the good folder maps
    src = write_folder(tmp_path / "src", files)
    with pytest.raises(ValueError) as failed:
        maven_to_canonical(src, tmp_path / "out")
    assert str(failed.value).startswith(f"{file}, line 2, column {column}: "), failed.value
    assert fragment in str(failed.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
