"""One SQLite library per process on the live store (DESIGN.md, "What the first version taught").

The reproduction of ``../shared/repro/sqlite_two_libraries.py``, run against the
engine's real read path: this process holds Django's ``sqlite3`` connection to
the store, reads the store through the engine (``store_reader``), a second
process connects, and both commit in turn. When DuckDB's sqlite extension (its
own copy of SQLite) opened the live file, closing it dropped this process's
POSIX locks, the other process deleted the WAL under it and about half of the
acknowledged commits vanished. Now the engine reads a private copy, so every
commit survives and the live file is never opened by a second library.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection

from bestby.engine import store as engine_store
from bestby.engine.store import SNAPSHOT_DIR, snapshot_folder
from bestby.importers.canonical import import_canonical
from bestby.pipeline.analytics import store_reader
from tests.importers.folders import write_folder

pytestmark = pytest.mark.django_db(transaction=True)

AS_OF = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def sqlite_store(tmp_path):
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite store's read path (this pass is PostgreSQL)")
    import_canonical(write_folder(tmp_path / "hand"))
    return Path(connection.settings_dict["NAME"])


def _other(db: Path, code: str) -> str:
    """Run ``code`` in a second process with its own sqlite3 connection ``c`` to the store."""
    script = f"import sqlite3; c = sqlite3.connect({str(db)!r}, timeout=20); {code}"
    return subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout


def test_commits_survive_an_engine_read_beside_a_sqlite3_connection(sqlite_store):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE probe_commits (x INTEGER)")
    try:
        assert connection.cursor().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        with store_reader() as store:  # the engine's read, while this process holds its sqlite3 connection
            assert store.tables(AS_OF)["deals"].count().execute() == 3
        _other(sqlite_store, "c.execute('select 1').fetchall()")
        for i in range(50):
            with connection.cursor() as cursor:  # autocommit: acknowledged when execute returns
                cursor.execute("INSERT INTO probe_commits VALUES (%s)", [i])
            _other(sqlite_store, f"c.execute('insert into probe_commits values ({1000 + i})'); c.commit()")
        connection.close()
        survived = int(_other(sqlite_store, "print(c.execute('select count(*) from probe_commits').fetchone()[0])"))
        assert survived == 100
        assert _other(sqlite_store, "print(c.execute('pragma integrity_check').fetchone()[0])").strip() == "ok"
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE probe_commits")


def test_duckdb_never_opens_the_live_file(sqlite_store):
    with store_reader() as store:
        store.tables(AS_OF)["touches"].count().execute()
        opened = {Path(p).resolve() for (p,) in store.backend.raw_sql(
            "SELECT path FROM duckdb_databases() WHERE path IS NOT NULL").fetchall()}
        assert opened == {store.snapshot.resolve()}
        assert sqlite_store.resolve() not in opened


def test_the_copy_is_private_and_goes_with_the_reader(sqlite_store):
    reader = store_reader()
    copy = reader.snapshot
    assert copy.parent == snapshot_folder(sqlite_store)
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o700
    assert reader.tables(AS_OF)["deals"].count().execute() == 3
    reader.close()
    assert not copy.exists() and not list(copy.parent.glob(copy.name + "*"))


def test_the_copy_goes_when_its_tables_are_garbage_collected(sqlite_store):
    import gc

    from bestby.pipeline.analytics import store_source

    tables = store_source(AS_OF)
    copies = list(snapshot_folder(sqlite_store).glob(f"snapshot-{os.getpid()}-*.sqlite3"))
    assert len(copies) == 1 and tables["deals"].count().execute() == 3
    del tables
    gc.collect()
    assert not copies[0].exists()


def test_a_copy_left_by_a_dead_process_is_swept(sqlite_store):
    folder = snapshot_folder(sqlite_store)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    folder.mkdir(mode=0o700, exist_ok=True)
    left = folder / f"snapshot-{dead}-abc.sqlite3"
    left.write_bytes(b"left by a killed analysis")
    with store_reader() as store:
        assert not left.exists() and store.snapshot.exists()


def test_a_reader_sees_the_store_as_it_was_when_it_opened(sqlite_store):
    with store_reader() as before:
        _other(sqlite_store, "c.execute(\"update pipeline_deal set name = 'renamed later'\"); c.commit()")
        assert "renamed later" not in set(before.tables(AS_OF)["deals"].name.execute())
    with store_reader() as after:
        assert set(after.tables(AS_OF)["deals"].name.execute()) == {"renamed later"}


def test_a_small_store_is_copied_into_memory_a_large_one_beside_itself(sqlite_store, monkeypatch):
    if not engine_store.MEMORY_DIR.is_dir():
        pytest.skip("no /dev/shm on this machine")
    assert snapshot_folder(sqlite_store) == engine_store.MEMORY_DIR / f"bestby-snapshots-{os.getuid()}"
    # a store larger than a quarter of the memory available goes to disk, beside the store
    wal = Path(f"{sqlite_store}-wal")
    size = sqlite_store.stat().st_size + (wal.stat().st_size if wal.exists() else 0)  # the store with its WAL
    monkeypatch.setattr(engine_store, "_available_memory", lambda: 4 * size - 4)
    assert snapshot_folder(sqlite_store) == sqlite_store.parent / SNAPSHOT_DIR
    monkeypatch.setattr(engine_store, "_available_memory", lambda: 4 * size)
    assert snapshot_folder(sqlite_store).parent == engine_store.MEMORY_DIR
    with store_reader() as store:
        assert store.snapshot.parent == snapshot_folder(sqlite_store)
