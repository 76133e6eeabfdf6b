"""The workspace's files are readable by their owner only: the SQLite store and its -wal and -shm files 0600, the
folders 0700, an older world-readable store tightened on start-up with a note; checked on real files after a real
`bestby migrate` and a write (the security review read a session key out of a 0644 database)."""

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bestby.private import open_private, private_dir, private_file

REPO = Path(__file__).resolve().parents[1]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def bestby(args: list[str], *, home: Path | None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the real command line with the usual umask (022), on the default SQLite store of ``home``."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("BESTBY_DATABASE_URL", "BESTBY_SECRET_KEY", "BESTBY_HOME", "DJANGO_SETTINGS_MODULE")}
    if home is not None:
        env["BESTBY_HOME"] = str(home)
    proc = subprocess.run([sys.executable, "-m", "bestby.cli", *args], env=env, cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=300, preexec_fn=lambda: os.umask(0o022))
    assert proc.returncode == 0, proc.stderr
    return proc


def write_through_wal(db: Path) -> tuple[int, int]:
    """Write one row with the store's WAL journal and return the modes of -wal and -shm while they exist."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # set by bestby's connections
        conn.execute("CREATE TABLE IF NOT EXISTS probe (x)")
        conn.execute("INSERT INTO probe VALUES (1)")
        conn.commit()
        return mode(db.with_name(db.name + "-wal")), mode(db.with_name(db.name + "-shm"))
    finally:
        conn.close()


def test_migrate_creates_a_private_store_and_sqlite_keeps_wal_and_shm_private(tmp_path):
    home = tmp_path / "deploy" / "home"  # two folders that do not exist yet
    out = bestby(["migrate"], home=home)
    db = home / "bestby.sqlite3"
    assert db.stat().st_size > 0  # migrated: tables were written
    assert (mode(home), mode(home.parent)) == (0o700, 0o700)
    assert (mode(db), mode(home / "secret_key")) == (0o600, 0o600)
    assert write_through_wal(db) == (0o600, 0o600)
    assert "tightened" not in out.stderr  # nothing to tighten in a store made private from the start


def test_an_existing_world_readable_store_is_tightened_on_start_with_a_note(tmp_path):
    home = tmp_path / "home"
    bestby(["migrate"], home=home)
    db = home / "bestby.sqlite3"
    os.chmod(home, 0o755)
    os.chmod(db, 0o644)  # a store made by an older version
    # another process holds the store open, with the -wal and -shm files SQLite made with the store's 0644
    holder = sqlite3.connect(db)
    try:
        holder.execute("CREATE TABLE probe (x)")
        holder.execute("INSERT INTO probe VALUES (1)")
        holder.commit()
        wal, shm = db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")
        assert (mode(wal), mode(shm)) == (0o644, 0o644)
        out = bestby(["migrate"], home=home)
        assert (mode(home), mode(db), mode(wal), mode(shm)) == (0o700, 0o600, 0o600, 0o600)
        for path, old, new in ((home, "0755", "0700"), (db, "0644", "0600"), (wal, "0644", "0600"),
                               (shm, "0644", "0600")):
            assert f"bestby: {path}: permissions tightened from {old} to {new}" in out.stderr
        assert holder.execute("SELECT x FROM probe").fetchall() == [(1,)]  # the store itself untouched
    finally:
        holder.close()
    assert "tightened" not in bestby(["migrate"], home=home).stderr  # said once, not on every start


def test_the_current_directory_as_home_keeps_its_mode_and_the_store_is_private(tmp_path):
    work = tmp_path / "project"
    work.mkdir(mode=0o755)
    os.chmod(work, 0o755)
    bestby(["migrate"], home=None, cwd=work)  # no BESTBY_HOME: the current directory is the home
    assert mode(work) == 0o755  # not bestby's own folder: left as the user has it
    assert mode(work / "bestby.sqlite3") == 0o600 and mode(work / "secret_key") == 0o600


def test_private_dir_creates_parents_0700_and_tightens_only_what_is_ours(tmp_path):
    target = tmp_path / "a" / "b" / "c"
    assert private_dir(target) is None
    assert [mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", target)] == [0o700] * 3
    os.chmod(target, 0o755)
    assert private_dir(target, tighten=False) is None and mode(target) == 0o755
    assert "from 0755 to 0700" in private_dir(target) and mode(target) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # a folder like /tmp: never ours to change
    assert private_dir(shared) is None and mode(shared) == 0o1777


def test_private_file_and_open_private(tmp_path):
    fresh = tmp_path / "fresh"
    assert private_file(fresh) is None and mode(fresh) == 0o600 and fresh.read_bytes() == b""
    old = tmp_path / "old"
    old.write_text("kept")
    os.chmod(old, 0o644)
    assert "from 0644 to 0600" in private_file(old) and old.read_text() == "kept" and mode(old) == 0o600
    os.chmod(old, 0o666)
    with open_private(old, "w") as fh:
        assert mode(old) == 0o600  # tightened before a byte is written
        fh.write("new")
    assert old.read_text() == "new"
    with open_private(tmp_path / "log", "a") as fh:
        fh.write("x")
    assert mode(tmp_path / "log") == 0o600
    with pytest.raises(ValueError, match="mode 'r'"):
        open_private(old, "r")


@pytest.mark.django_db
def test_demo_keeps_its_data_and_password_private(tmp_path, monkeypatch):
    from bestby.demo import prepare_demo

    monkeypatch.delenv("BESTBY_DEMO_PASSWORD", raising=False)
    home = tmp_path / "demo-home"
    prepare_demo(deals=30, home=home)
    assert mode(home) == 0o700 and mode(home / "demo_password") == 0o600
    assert mode(home / ".bestby") == 0o700 and mode(home / ".bestby" / "demo-data-30") == 0o700
