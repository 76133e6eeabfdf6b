"""SQLite backup and restore through SQLite's online backup API (Python's ``sqlite3``, the store's only SQLite).

Backup
    The source connection opens a read transaction first and keeps it for the
    whole copy; every ``sqlite3_backup_step`` then reads that one snapshot (a
    step opens and closes its own read transaction only when none is open).
    In WAL mode, the store's mode, a reader never blocks writers, so the
    server keeps writing while the backup copies ``STEP_PAGES`` pages at a
    time (one progress update per step), and the copy is the store exactly as
    it was when the backup began: a write committed during the copy is in the
    store and not in the backup, never half of it. The copy is then switched
    to a rollback journal (one self-contained file, no ``-wal`` beside it)
    and checked with ``PRAGMA integrity_check`` before it is given its name.
    Only Python's ``sqlite3`` opens the store here (see DESIGN.md: one SQLite
    library per process).

Restore
    The backup is copied *into* the live database through the same API, over
    the store's own connection, so SQLite's journal makes it atomic: a crash
    or an error half-way leaves the store as it was. Before that, this
    connection takes the database for itself: ``locking_mode=EXCLUSIVE``,
    the journal switched from WAL to a rollback journal (SQLite refuses that
    while another connection, in this or any process, has the database open:
    that is how a running server is detected), and an exclusive lock held
    until the restore has committed; then WAL is switched back on. A server
    started meanwhile waits for the lock (up to its busy timeout) instead of
    reading a half-restored store.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable

__all__ = ["HEADER", "InUse", "backup_into", "is_sqlite", "read_backup", "restore_from"]

HEADER = b"SQLite format 3\x00"
#: pages per backup step: 2,048 pages (8 MiB at the default 4 KiB page) between progress updates; small enough to
#: show progress on a store of a few hundred MB, large enough that the steps' overhead does not matter
STEP_PAGES = 2048
#: how long the restore waits for another connection's lock before it says the database is in use
LOCK_WAIT_S = 5.0

Progress = Callable[[str, int, int], None]


class InUse(RuntimeError):
    """Another connection has the database open: the restore did not start."""


def is_sqlite(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(HEADER)) == HEADER


def _stepper(progress: Progress | None, label: str):
    done = [0]

    def step(_status, remaining: int, total: int) -> None:
        if progress is not None:
            now = total - remaining
            progress(label, now - done[0], total)
            done[0] = now
    return step


def backup_into(source: Path, target: Path, *, progress: Progress | None = None) -> str:
    """Copy the database ``source`` into the new file ``target`` (a consistent snapshot); return its integrity check."""
    src = sqlite3.connect(source, timeout=20, isolation_level=None)
    try:
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the read transaction (the snapshot) starts here
        dst = sqlite3.connect(target, isolation_level=None)
        try:
            src.backup(dst, pages=STEP_PAGES, progress=_stepper(progress, "backup"))
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            check = _integrity(dst)
        finally:
            dst.close()
        src.execute("COMMIT")
    finally:
        src.close()
    return check


def read_backup(path: Path) -> dict:
    """What an SQLite backup holds: ``tables``, ``migrations`` {(app, name)}, ``counts``, ``check`` (quick_check).

    Opened read-only; raises sqlite3.DatabaseError when the file is no
    readable database.
    """
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        check = "; ".join(r[0] for r in con.execute("PRAGMA quick_check").fetchall()[:5])
        migrations = set()
        if "django_migrations" in tables:
            migrations = set(con.execute("SELECT app, name FROM django_migrations"))
        counts = {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # noqa: S608 - names from the file itself
                  for t in ("pipeline_deal", "people_user", "activities_lead") if t in tables}
    finally:
        con.close()
    return {"tables": tables, "migrations": migrations, "counts": counts, "check": check}


def restore_from(backup: Path, live: Path, *, progress: Progress | None = None) -> str:
    """Replace the content of the database ``live`` with the backup's, atomically (module doc); return its check.

    Raises ``InUse`` (nothing changed) when another connection has ``live`` open.
    """
    con = sqlite3.connect(live, timeout=LOCK_WAIT_S, isolation_level=None)
    try:
        was = con.execute("PRAGMA journal_mode").fetchone()[0]
        try:
            con.execute("PRAGMA locking_mode=EXCLUSIVE")
            mode = con.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
            con.execute("BEGIN EXCLUSIVE")
            con.execute("COMMIT")  # in exclusive locking mode the lock stays after the commit
        except sqlite3.OperationalError as exc:
            raise InUse(str(exc)) from None
        if mode != "delete":
            raise InUse(f"the journal stayed {mode!r}")
        src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True, isolation_level=None)
        try:
            src.backup(con, pages=STEP_PAGES, progress=_stepper(progress, "restore"))
        finally:
            src.close()
        if was.lower() == "wal":
            con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA locking_mode=NORMAL")
        return _integrity(con)
    finally:
        con.close()


def _integrity(con: sqlite3.Connection) -> str:
    return "; ".join(r[0] for r in con.execute("PRAGMA integrity_check").fetchall()[:5])
