"""The store source conforms to the folder source: same tables, same as-of cut, same shelf life.

Runs on SQLite (DuckDB reads a private copy of the store, made through Python's
sqlite3) and on PostgreSQL (in the database). The data is committed (``transaction=True``) because the
engine reads it through a second connection.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas
import pytest

from bestby.engine.shelf_life import shelf_life
from bestby.engine.sources import folder_tables
from bestby.importers.canonical import import_canonical
from bestby.pipeline.analytics import store_reader, store_source
from tests.importers.folders import write_folder

pytestmark = pytest.mark.django_db(transaction=True)

AS_OFS = [
    datetime(2024, 1, 16, tzinfo=UTC),       # d2 just created, d1 not yet
    datetime(2024, 2, 25, tzinfo=UTC),       # d3 lost, d1 in Qualify, d2 open
    datetime(2024, 3, 15, 12, tzinfo=UTC),   # d1 in Proposal, d2 won
    datetime(2024, 4, 29, 8, tzinfo=UTC),    # the close-date push, exactly at as_of
    datetime(2030, 1, 1),                    # naive: UTC; everything known
]


@pytest.fixture
def hand(tmp_path):
    folder = write_folder(tmp_path / "hand")
    import_canonical(folder)
    return folder


def frame(table, columns) -> pandas.DataFrame:
    df = table.select(*columns).to_pandas()
    for col in columns:
        if isinstance(df[col].dtype, pandas.DatetimeTZDtype):
            df[col] = df[col].dt.tz_convert("UTC")
    df = df.astype(object).where(df.notna(), None)
    return df.sort_values(columns, key=lambda s: s.astype(str)).reset_index(drop=True)


@pytest.mark.parametrize("as_of", AS_OFS, ids=str)
def test_shelf_life_is_the_same_from_store_and_folder(hand, as_of):
    assert shelf_life(store_source(as_of)) == shelf_life(folder_tables(hand, as_of=as_of))


@pytest.mark.parametrize("as_of", AS_OFS, ids=str)
@pytest.mark.parametrize("name", ["deals", "stages", "stage_events", "close_date_events", "touches"])
def test_tables_agree_row_for_row(hand, as_of, name):
    folder = folder_tables(hand, as_of=as_of)[name]
    store = store_source(as_of)[name]
    assert store.schema() == folder.schema()
    columns = list(folder.columns)
    pandas.testing.assert_frame_equal(frame(store, columns), frame(folder, columns))


def test_users_have_format_columns_and_external_ids(hand):
    users = store_source(datetime(2030, 1, 1, tzinfo=UTC))["users"].to_pandas()
    assert list(users.columns) == ["user_id", "name", "email", "role", "manager_id", "team", "territory"]
    by_id = users.set_index("user_id")
    assert by_id.loc["u-rep1", "manager_id"] == "u-mgr"
    assert by_id.loc["u-rep1", "team"] == "Alpha"


def test_the_store_backend_is_the_databases(hand):
    from django.db import connection

    with store_reader() as store:
        assert store.backend.name == {"sqlite": "duckdb", "postgresql": "postgres"}[connection.vendor]
        deals = store.tables(datetime(2030, 1, 1, tzinfo=UTC))["deals"]
        assert deals._find_backend().name == store.backend.name
        assert deals.count().execute() == 3


def test_fractional_seconds_and_offsets_survive_the_store(tmp_path):
    """SQLite keeps timestamps as UTC text with microseconds; they must come back exact and in UTC."""
    from tests.importers.folders import HAND

    deals = HAND["deals.csv"].replace("2024-02-01T10:00:00,Proposal", "2024-02-01T10:00:00.250000,Proposal")
    events = HAND["stage_events.csv"].replace("d1,2024-03-10T10:00:00,", "d1,2024-03-10T10:00:00.123456-05:00,")
    folder = write_folder(tmp_path / "frac", deals=deals, stage_events=events)
    import_canonical(folder)
    as_of = datetime(2024, 3, 10, 15, 0, 0, 123456, tzinfo=UTC)  # exactly d1's move to Proposal
    store, files = store_source(as_of), folder_tables(folder, as_of=as_of)
    for name in ("deals", "stage_events"):
        columns = list(files[name].columns)
        pandas.testing.assert_frame_equal(frame(store[name], columns), frame(files[name], columns))
    d1 = store["deals"].filter(store["deals"].deal_id == "d1").to_pandas().iloc[0]
    assert d1.created_at == pandas.Timestamp("2024-02-01 10:00:00.25", tz="UTC")
    assert d1.stage == "Proposal"
    assert shelf_life(store) == shelf_life(files)


@pytest.mark.parametrize("name", ["deals", "stages", "stage_events", "close_date_events", "touches", "users"])
def test_sqlite_copy_fallback_agrees_with_the_scanner(hand, name, monkeypatch):
    """Without DuckDB's sqlite_scanner package the copy is read through sqlite3 into DuckDB: same tables."""
    from django.db import connection

    from bestby.engine import store as engine_store

    if connection.vendor != "sqlite":
        pytest.skip("the SQLite read paths only exist on the SQLite store (this pass is PostgreSQL)")
    assert engine_store.sqlite_scanner() is not None  # the pinned extension package is installed: the default scans
    as_of = datetime(2024, 3, 15, 12, tzinfo=UTC)
    with store_reader() as scanning:
        table = scanning.tables(as_of)[name]
        schema, scanned = table.schema(), frame(table, list(table.columns))
    monkeypatch.setattr(engine_store, "sqlite_scanner", lambda: None)
    with store_reader() as copying:
        copied = copying.tables(as_of)[name]
        assert copied.schema() == schema
        pandas.testing.assert_frame_equal(frame(copied, list(scanned.columns)), scanned)
