"""`bestby backup` and `bestby restore` on the real store: round trips, files, refusals (SQLite and PostgreSQL).

Each round trip backs up a store holding every kind of record, changes it
(services and plain writes), restores, and compares every table, row by row,
with what it held at the backup. The tests commit (``transaction=True``):
the backup reads the store through its own connection, or pg_dump.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from typer.testing import CliRunner

from bestby import backup_postgres, backup_sqlite
from bestby.backup import BackupError, backup, inspect, newer_migrations, restore
from bestby.cli import app
from bestby.importers.canonical import import_canonical
from tests.importers.folders import write_folder

runner = CliRunner()
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("an SQLite store's backup (this pass runs on PostgreSQL)")


def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL store's backup (this pass runs on SQLite)")


def every_table(conn=None) -> dict[str, list[tuple]]:
    """Every table of a store and its rows, in a stable order (rows sorted by their text); default: the test store."""
    conn = conn or connection
    out = {}
    with conn.cursor() as cur:
        if conn.vendor == "sqlite":
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        else:
            cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for name in sorted(r[0] for r in cur.fetchall()):
            cur.execute(f'SELECT * FROM "{name}"')  # noqa: S608 - names from the catalogue
            out[name] = sorted(cur.fetchall(), key=repr)
    return out


def other_store(name: str):
    """A Django connection like the test store's to another database (a file or a database name)."""
    from django.db.utils import load_backend

    return load_backend(connection.settings_dict["ENGINE"]).DatabaseWrapper(
        {**connection.settings_dict, "NAME": name}, alias="other")


def fill(tmp_path) -> None:
    """A store with users, accounts, deals and their history, leads, a running cadence and an audit trail."""
    from bestby import clock
    from bestby.activities.models import Lead
    from bestby.cadences import services as cadences
    from bestby.people.models import User

    with clock.frozen(NOW):
        import_canonical(write_folder(tmp_path / "data"))
        owner = User.objects.order_by("pk").first()
        lead = Lead.objects.create(external_id="L1", name="Lee", company="Leeco", status="new", owner=owner)
        cadences.enrol(leads=[lead], start=date(2026, 3, 2))


def change_everything() -> None:
    """Writes of every sort after the backup: a new deal, a stage move, an edit, a deletion, a new user."""
    from bestby import clock
    from bestby.activities.models import Touch
    from bestby.people.models import User
    from bestby.pipeline import services
    from bestby.pipeline.models import Deal, Stage

    with clock.frozen(datetime(2026, 3, 3, 9, tzinfo=UTC)):
        d1 = Deal.objects.get(external_id="d1")
        services.create_deal(external_id="d-new", pipeline=d1.pipeline, stage=d1.stage, name="after the backup")
        won = Stage.objects.get(pipeline=d1.pipeline, kind="won")
        services.move_deal(deal=d1, to_stage=won)
        Deal.objects.filter(external_id="d2").update(amount=Decimal("1.00"))
        Touch.objects.all().delete()
        User.objects.create(username="late", external_id="late", role="rep")


# ---------------------------------------------------------------- SQLite

@pytest.mark.django_db(transaction=True)
def test_sqlite_round_trip_gives_back_every_table_as_it_was(tmp_path):
    sqlite_only()
    fill(tmp_path)
    at_backup = every_table()
    result = backup(target=tmp_path / "backups" / "b.sqlite3")
    assert result.kind == "sqlite" and result.detail == "integrity ok"
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(result.path.parent.stat().st_mode) == 0o700  # the folder it created
    assert not list(result.path.parent.glob(".*partial*"))  # no temporary file left
    change_everything()
    assert every_table() != at_backup
    done = restore(source=result.path)
    assert done.detail == "integrity ok"
    assert every_table() == at_backup
    with connection.cursor() as cur:
        assert cur.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.django_db(transaction=True)
def test_restore_creates_a_store_that_does_not_exist_yet_privately(tmp_path):
    sqlite_only()
    fill(tmp_path)
    at_backup = every_table()
    made = backup(target=tmp_path / "b.sqlite3")
    new_home = tmp_path / "new-machine" / "home"
    target = {**settings.DATABASES["default"], "NAME": str(new_home / "bestby.sqlite3")}
    restore(source=made.path, database=target)
    assert stat.S_IMODE((new_home / "bestby.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE(new_home.stat().st_mode) == 0o700
    other = other_store(str(new_home / "bestby.sqlite3"))
    try:
        assert every_table(other) == at_backup
    finally:
        other.close()


WRITER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[2])
n = 0
while time.monotonic() < end:
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO a (pad) VALUES (randomblob(600))")
    con.execute("INSERT INTO b (pad) VALUES (randomblob(600))")
    con.execute("COMMIT")
    n += 1
print(n, flush=True)
"""


def test_a_backup_is_one_snapshot_while_another_process_keeps_writing(tmp_path, monkeypatch):
    """Each of the writer's transactions adds one row to a and one to b: a consistent copy has as many of each."""
    live = tmp_path / "live.sqlite3"
    con = sqlite3.connect(live, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, pad BLOB)")
    con.execute("CREATE TABLE b (id INTEGER PRIMARY KEY, pad BLOB)")
    con.execute("BEGIN")
    con.executemany("INSERT INTO a (pad) VALUES (randomblob(600))", [()] * 3000)
    con.executemany("INSERT INTO b (pad) VALUES (randomblob(600))", [()] * 3000)
    con.execute("COMMIT")
    con.close()
    monkeypatch.setattr(backup_sqlite, "STEP_PAGES", 8)  # hundreds of steps, each a chance for a write in between
    steps = []
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(live), "4"], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        check = backup_sqlite.backup_into(live, tmp_path / "copy.sqlite3", progress=lambda *a: steps.append(a))
    finally:
        commits = int(writer.stdout.readline())
        writer.wait(timeout=30)
    copy = sqlite3.connect(tmp_path / "copy.sqlite3")
    a, b = (copy.execute(f"SELECT count(*), max(id) FROM {t}").fetchone() for t in ("a", "b"))
    copy.close()
    con = sqlite3.connect(live)
    live_a = con.execute("SELECT count(*) FROM a").fetchone()[0]
    con.close()
    assert check == "ok" and len(steps) > 50
    assert a == b and a[0] >= 3000  # never half of a transaction
    assert commits > 0 and live_a == 3000 + commits > a[0]  # the writer was not blocked: it committed meanwhile
    assert not Path(f"{tmp_path / 'copy.sqlite3'}-wal").exists()  # one self-contained file


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_while_another_process_has_the_store_open(tmp_path):
    sqlite_only()
    fill(tmp_path)
    made = backup(target=tmp_path / "b.sqlite3")
    change_everything()
    changed = every_table()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); "
                               "c.execute('PRAGMA journal_mode=WAL'); c.execute('SELECT count(*) FROM pipeline_deal')"
                               ".fetchone(); print('open', flush=True); time.sleep(60)",
         settings.DATABASES["default"]["NAME"]], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        result = runner.invoke(app, ["restore", str(made.path), "--yes"])
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2
    assert "is open in another process" in result.output and "stop `bestby serve`" in result.output
    assert "Nothing was changed." in result.output
    assert every_table() == changed


# ---------------------------------------------------------------- the command line, refusals (both databases)

@pytest.mark.django_db(transaction=True)
def test_backup_command_refuses_to_overwrite_without_force(tmp_path):
    fill(tmp_path)
    target = tmp_path / "nightly.bak"
    first = runner.invoke(app, ["backup", str(target)])
    assert first.exit_code == 0, first.output
    assert f"to {target} (" in first.output and f"bestby restore {target}" in first.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    before = target.read_bytes()
    again = runner.invoke(app, ["backup", str(target)])
    assert again.exit_code == 2 and f"FILE: {target} exists; give another name, or add --force" in again.output
    assert target.read_bytes() == before
    forced = runner.invoke(app, ["backup", str(target), "--force"])
    assert forced.exit_code == 0, forced.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


@pytest.mark.django_db(transaction=True)
def test_backup_into_a_folder_names_the_file_after_the_clock(tmp_path, frozen_clock):
    fill(tmp_path)
    frozen_clock(datetime(2026, 12, 31, 23, 59, 30, tzinfo=UTC))
    result = runner.invoke(app, ["backup", f"{tmp_path / 'nightly'}/"])
    assert result.exit_code == 0, result.output
    ext = "sqlite3" if connection.vendor == "sqlite" else "pgdump"
    made = tmp_path / "nightly" / f"bestby-20261231T235930Z.{ext}"
    assert made.is_file() and stat.S_IMODE((tmp_path / "nightly").stat().st_mode) == 0o700
    assert inspect(source=made).kind == ("sqlite" if ext == "sqlite3" else "postgresql")


@pytest.mark.django_db(transaction=True)
def test_a_backup_it_cannot_write_names_the_file(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    result = runner.invoke(app, ["backup", str(tmp_path / "a-file" / "b.bak")])
    assert result.exit_code == 2 and f"FILE: cannot write {tmp_path / 'a-file' / 'b.bak'}: " in result.output
    assert "Nothing was changed." in result.output and (tmp_path / "a-file").read_text() == "not a folder"


@pytest.mark.django_db(transaction=True)
def test_backup_never_writes_over_the_live_database(tmp_path):
    sqlite_only()
    live = Path(settings.DATABASES["default"]["NAME"])
    before = live.stat().st_mtime_ns, live.stat().st_size
    result = runner.invoke(app, ["backup", str(live), "--force"])
    assert result.exit_code == 2 and "is the live database itself" in result.output
    assert (live.stat().st_mtime_ns, live.stat().st_size) == before


@pytest.mark.django_db(transaction=True)
def test_restore_asks_for_confirmation(tmp_path):
    fill(tmp_path)
    made = backup(target=tmp_path / "b.bak")
    change_everything()
    changed = every_table()
    result = runner.invoke(app, ["restore", str(made.path)])  # not a terminal, no --yes
    assert result.exit_code == 2 and "add --yes to confirm" in result.output
    assert "backup written" in result.output and every_table() == changed
    result = runner.invoke(app, ["restore", str(made.path), "--yes"])
    assert result.exit_code == 0, result.output
    assert every_table() != changed


def _not_a_store(path: Path) -> Path:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE notes (x)")
    con.commit()
    con.close()
    return path


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("make, needle", [
    (lambda p: (p.write_text("deal_id,created_at\nd1,2024-01-01\n"), p)[1], "is not a bestby backup"),
    (_not_a_store, None),
    (lambda p: (p.write_bytes(b"PGDMP" + os.urandom(200)), p)[1], None),
    (lambda p: (p.write_bytes(backup_sqlite.HEADER + os.urandom(3000)), p)[1], None),
], ids=["csv", "other-sqlite-database", "pg-header-garbage", "sqlite-header-garbage"])
def test_restore_refuses_what_is_not_a_backup_of_this_store_and_changes_nothing(tmp_path, make, needle):
    fill(tmp_path)
    before = every_table()
    bad = make(tmp_path / "bad.file")
    result = runner.invoke(app, ["restore", str(bad), "--yes"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"FILE: {bad} ") and "Nothing was changed." in result.output
    if needle:
        assert needle in result.output
    kind = "sqlite" if connection.vendor == "sqlite" else "postgresql"
    head = bad.read_bytes()[:5]
    if kind == "sqlite" and head == b"PGDMP":
        assert "is a backup of a PostgreSQL store and this store is SQLite" in result.output
    if kind == "postgresql" and head == b"SQLit":
        assert "is a backup of an SQLite store and this store is PostgreSQL" in result.output
    assert every_table() == before


@pytest.mark.django_db(transaction=True)
def test_a_truncated_backup_is_refused(tmp_path):
    fill(tmp_path)
    made = backup(target=tmp_path / "b.bak")
    data = made.path.read_bytes()
    cut = tmp_path / "cut.bak"
    cut.write_bytes(data[: len(data) // 2])
    change_everything()
    changed = every_table()
    with pytest.raises(BackupError) as exc:
        restore(source=cut)
    assert exc.value.param == "FILE" and str(cut) in exc.value.message
    assert every_table() == changed


@pytest.mark.django_db(transaction=True)
def test_a_backup_from_a_newer_bestby_is_refused(tmp_path):
    fill(tmp_path)
    with connection.cursor() as cur:
        cur.execute("INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, %s)",
                    ["pipeline", "9999_from_the_future", NOW])
    made = backup(target=tmp_path / "b.bak")
    with connection.cursor() as cur:
        cur.execute("DELETE FROM django_migrations WHERE name = %s", ["9999_from_the_future"])
    before = every_table()
    result = runner.invoke(app, ["restore", str(made.path), "--yes"])
    assert result.exit_code == 2
    assert "was made by a newer bestby (migrations pipeline.9999_from_the_future are unknown here)" in result.output
    assert every_table() == before


def test_newer_migrations_are_those_the_code_lacks():
    known = {("pipeline", "0001_initial"), ("pipeline", "0002_revision")}
    assert newer_migrations({("pipeline", "0001_initial")}, known) == []
    assert newer_migrations({("pipeline", "0001_initial"), ("zeta", "0001_x"), ("alpha", "0009_y")}, known) == [
        "alpha.0009_y", "zeta.0001_x"]


# ---------------------------------------------------------------- PostgreSQL

def test_an_older_pg_client_is_refused_with_what_to_install():
    if backup_postgres.shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed here")
    major = backup_postgres.client_major("pg_dump")
    assert backup_postgres.check_client("pg_dump", major) == major
    with pytest.raises(backup_postgres.ToolError) as exc:
        backup_postgres.check_client("pg_dump", major + 1)
    assert str(exc.value).startswith(f"pg_dump {major} is older than the PostgreSQL {major + 1} server")
    assert f"postgresql-client-{major + 1}" in str(exc.value)
    assert backup_postgres.server_major(150020) == 15 and backup_postgres.server_major(170002) == 17


def test_copy_blocks_are_read_from_a_restore_script():
    script = ("SET x = 1;\nCOPY public.django_migrations (id, app, name, applied) FROM stdin;\n"
              "1\tcontenttypes\t0001_initial\t2026-03-02 09:00:00+00\n2\tpipeline\t0003_deal_change\t\\N\n\\.\n\n"
              "COPY public.other (app, name) FROM stdin;\nx\ty\n\\.\n")
    assert backup_postgres.parse_copy(script, ("app", "name")) == {("contenttypes", "0001_initial"),
                                                                   ("pipeline", "0003_deal_change")}


def _scratch_name() -> str:
    return settings.CONFIG.database_url.rsplit("/", 1)[-1].split("?")[0] + "_restore"


@pytest.mark.django_db(transaction=True)
def test_postgres_round_trip_into_the_store_and_into_a_new_database(tmp_path):
    postgres_only()
    import psycopg

    fill(tmp_path)
    at_backup = every_table()
    made = backup(target=tmp_path / "b.pgdump")
    assert made.kind == "postgresql" and stat.S_IMODE(made.path.stat().st_mode) == 0o600
    assert made.path.read_bytes()[:5] == b"PGDMP"
    change_everything()
    assert every_table() != at_backup
    done = restore(source=made.path)
    assert done.left_alone == []
    assert every_table() == at_backup

    # disaster recovery: the same backup into a new, empty database on the server
    db = settings.DATABASES["default"]
    scratch = _scratch_name()
    admin = {"host": db.get("HOST") or None, "port": db.get("PORT") or None, "user": db.get("USER") or None,
             "password": db.get("PASSWORD") or None, "dbname": db["NAME"], "autocommit": True}
    with psycopg.connect(**admin) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{scratch}"')
        con.execute(f'CREATE DATABASE "{scratch}"')
    try:
        restore(source=made.path, database={**db, "NAME": scratch})
        other = other_store(scratch)
        try:
            assert every_table(other) == at_backup
        finally:
            other.close()
    finally:
        with psycopg.connect(**admin) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
