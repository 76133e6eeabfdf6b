"""The embedded store under real use, in the suite: `bestby serve` with two workers, readers and writers at once.

The driver is ``bench/stress.py`` (which runs it longer and prints the figures): a demo workspace in a store of
its own, clients reading every analytics page and endpoint while others write through the API, the pages and the
command line; then every acknowledged write must be in the database, no worker may have died, no request may
have failed with a 5xx, and the database must be intact. It runs on SQLite in the SQLite pass and on PostgreSQL
(a database of its own, dropped afterwards) in the PostgreSQL pass. The first version lost acknowledged writes
this way on SQLite (the engine's DuckDB opened the live file beside the workers' sqlite3 connections).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, postgres_pass

sys.path.insert(0, str(REPO / "bench"))
import stress  # noqa: E402

SECONDS = float(os.environ.get("BESTBY_STRESS_SECONDS", "30"))


@pytest.mark.own_database
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="watches worker processes in /proc")
def test_every_acknowledged_write_survives_readers_and_writers_on_two_workers(tmp_path):
    db = "postgres" if postgres_pass() else "sqlite"
    store = stress.prepare(tmp_path / "home", db=db, deals=300,
                           postgres_url=os.environ.get("BESTBY_DATABASE_URL") if db == "postgres" else None)
    try:
        result = stress.run(store, seconds=SECONDS, readers=4, workers=2, threads=4)
    finally:
        stress.drop(store)
    print(stress.report(result, db))
    assert result.lost == []
    assert result.worker_deaths == [] and not result.workers_replaced
    assert result.integrity == "ok"
    assert result.errors == []
    assert result.server_exit == 0
    # the run did what it says: every kind of write was acknowledged, and the readers read
    kinds = {"api amount", "api touch", "page amount", "cli snooze"}
    assert kinds <= {k for k, n in result.acknowledged.items() if n > 0}, result.acknowledged
    assert result.requests.get("page", 0) > 0 and result.requests.get("api", 0) > 0
