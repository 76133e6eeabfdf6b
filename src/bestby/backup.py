"""Back up the store to one file and restore it: the use cases behind ``bestby backup`` and ``bestby restore``.

One file per backup, of the store's own kind: an SQLite database file for the
embedded store (:mod:`bestby.backup_sqlite`, SQLite's online backup API), a
``pg_dump`` custom-format archive for PostgreSQL (:mod:`bestby.backup_postgres`).
Both are consistent snapshots taken while the server keeps running.

Files
    A backup is written to a temporary file beside the target, created with
    mode 0600 (it holds every password hash and session of the workspace;
    a folder it has to create is 0700), checked, then given its name: a
    failed or interrupted backup never leaves a half file under the target
    name. An existing file is not overwritten unless ``force``; the live
    database itself never is. A target that is a folder gets a file named
    ``bestby-YYYYMMDDTHHMMSSZ.sqlite3`` (or ``.pgdump``) after the clock's now,
    which suits a schedule.

Restore
    :func:`inspect` reads a backup without changing anything and refuses what
    is not a bestby backup of the store's kind, a damaged file, or a backup
    made by a newer bestby (migrations this code does not know: restoring it
    would leave a schema the code cannot use). :func:`restore` then replaces
    the whole store with it, atomically on both databases; the adapters ask
    for confirmation first. An older backup is brought up to date by the
    next ``bestby migrate`` (every command that opens the store runs it).

Refusals raise ``BackupError(param, message)`` and change nothing.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from bestby import backup_postgres as pg
from bestby import backup_sqlite as sq
from bestby import clock
from bestby.private import FILE_MODE, private_dir, private_file

__all__ = ["BackupError", "BackupFailed", "BackupInfo", "BackupResult", "backup", "inspect", "restore"]

Progress = Callable[[str, int, int], None]
#: tables a file must hold to be a bestby backup (not any SQLite database or dump)
_MARKERS = {"django_migrations", "pipeline_deal", "people_user"}


class BackupError(ValueError):
    """Refused or failed; ``param`` names the argument at fault (FILE, --force...), nothing changed."""

    def __init__(self, param: str, message: str) -> None:
        self.param, self.message = param, message
        super().__init__(f"{param}: {message}")


class BackupFailed(BackupError):
    """The work itself failed (a tool's error, a copy that fails its check), not the request; nothing changed."""


@dataclass
class BackupResult:
    kind: str  # "sqlite" or "postgresql"
    path: Path
    size: int
    seconds: float
    detail: str  # what was checked, e.g. "integrity ok"


@dataclass
class BackupInfo:
    kind: str
    path: Path
    created: str
    counts: dict[str, int] = field(default_factory=dict)
    tables: set[str] = field(default_factory=set)


@dataclass
class RestoreResult:
    kind: str
    database: str
    seconds: float
    detail: str
    left_alone: list[str] = field(default_factory=list)


def _db(database: dict | None) -> dict:
    if database is not None:
        return database
    from django.conf import settings

    return settings.DATABASES["default"]


def _kind(db: dict) -> str:
    engine = db.get("ENGINE", "")
    if "sqlite" in engine:
        return "sqlite"
    if "postgresql" in engine:
        return "postgresql"
    raise BackupError("--db", f"backups support SQLite and PostgreSQL stores, not {engine!r}")


def _close_connections() -> None:
    """Close this process's Django connections: the store is then opened only by the backup or restore itself."""
    from django.db import connections

    connections.close_all()


# ---------------------------------------------------------------- backup

def _target(target: Path | str, kind: str, db: dict, force: bool) -> Path:
    folder = str(target).endswith(("/", os.sep))  # "backups/": a folder, created if missing
    target = Path(target).expanduser()
    if folder and not target.exists():
        private_dir(target)
    if target.is_dir():
        stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
        target = target / f"bestby-{stamp}.{'sqlite3' if kind == 'sqlite' else 'pgdump'}"
    if kind == "sqlite":
        live = Path(db["NAME"]).resolve()
        if target.resolve() in (live, Path(f"{live}-wal"), Path(f"{live}-shm"), Path(f"{live}-journal")):
            raise BackupError("FILE", f"{target} is the live database itself; give a file elsewhere")
    if target.exists() and not force:
        raise BackupError("FILE", f"{target} exists; give another name, or add --force to replace it")
    if target.exists() and not target.is_file():
        raise BackupError("FILE", f"{target} exists and is not a regular file")
    return target


def _private_temp(target: Path) -> Path:
    private_dir(target.parent, tighten=False)  # a folder made here is 0700; the user's own folder keeps its mode
    temp = target.with_name(f".{target.name}.{os.getpid()}.partial")
    os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    return temp


def _publish(temp: Path, target: Path, force: bool) -> None:
    """Give the checked temporary file its name: replace only with ``force``, else fail if the name appeared."""
    with open(temp, "rb+") as fh:
        os.fsync(fh.fileno())
    if force:
        os.replace(temp, target)
        return
    try:
        os.link(temp, target)  # atomic, and fails if the target exists
    except FileExistsError:
        raise BackupError("FILE", f"{target} appeared during the backup; nothing was replaced") from None
    os.unlink(temp)


def backup(*, target: Path | str, force: bool = False, progress: Progress | None = None,
           database: dict | None = None) -> BackupResult:
    """Write a consistent backup of the store to ``target`` (module doc); BackupError names what is refused."""
    db = _db(database)
    kind = _kind(db)
    try:
        target = _target(target, kind, db, force)
    except OSError as exc:
        raise BackupError("FILE", f"cannot create the folder {target}: {exc.strerror or exc}") from None
    started = time.monotonic()
    temp = None
    try:
        if kind == "sqlite":
            source = Path(db["NAME"])
            if not source.is_file():
                raise BackupError("--db", f"{source} does not exist: there is no store to back up")
            temp = _private_temp(target)  # empty: SQLite writes the copy into it and keeps its mode
            check = sq.backup_into(source, temp, progress=progress)
            if check != "ok":
                raise BackupFailed("FILE", f"the copy failed its integrity check ({check}); nothing was written")
            detail = "integrity ok"
        else:
            tables = _pg_tables(db)
            pg.check_client("pg_dump", _pg_server_major(db))
            temp = _private_temp(target)
            with open(temp, "wb") as out:
                pg.dump_into(db, out, tables=tables, progress=progress)
            listed = pg.read_backup(temp)
            detail = f"{len(listed['tables'])} tables"
        _publish(temp, target, force)
        temp = None
    except pg.ToolError as exc:
        raise BackupFailed("FILE", str(exc)) from None
    except sqlite3.Error as exc:
        raise BackupFailed("--db", f"cannot read the store: {exc}") from None
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise BackupError("FILE", f"cannot write {target}: {exc.strerror or exc}{where}") from None
    finally:
        if temp is not None and temp.exists():
            temp.unlink()
    return BackupResult(kind=kind, path=target, size=target.stat().st_size, seconds=time.monotonic() - started,
                        detail=detail)


def _pg_tables(db: dict) -> int:
    import psycopg

    with psycopg.connect(**_pg_kwargs(db)) as con:
        return con.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]


def _pg_server_major(db: dict) -> int:
    import psycopg

    with psycopg.connect(**_pg_kwargs(db)) as con:
        return pg.server_major(con.info.server_version)


def _pg_kwargs(db: dict) -> dict:
    out = {"dbname": db["NAME"], "connect_timeout": 10}
    for key, name in (("HOST", "host"), ("PORT", "port"), ("USER", "user"), ("PASSWORD", "password")):
        if db.get(key):
            out[name] = db[key]
    return out


# ---------------------------------------------------------------- restore

def _known_migrations() -> set[tuple[str, str]]:
    from django.db.migrations.loader import MigrationLoader

    return set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)


def newer_migrations(in_backup: set[tuple[str, str]], known: set[tuple[str, str]]) -> list[str]:
    """The backup's migrations this code does not have, as ``app.name``, sorted."""
    return sorted(f"{app}.{name}" for app, name in in_backup - known)


def inspect(*, source: Path, database: dict | None = None) -> BackupInfo:
    """Read a backup without changing anything; BackupError says why it cannot be restored into this store."""
    db = _db(database)
    kind = _kind(db)
    source = Path(source).expanduser()
    if not source.is_file():
        raise BackupError("FILE", f"{source} is not a file")
    with open(source, "rb") as fh:
        head = fh.read(16)
    found = "sqlite" if head.startswith(sq.HEADER) else "postgresql" if head.startswith(pg.HEADER) else None
    if found is None:
        raise BackupError("FILE", f"{source} is not a bestby backup (neither an SQLite database nor a pg_dump "
                                  "custom-format archive); give a file written by `bestby backup`")
    if found != kind:
        name, an = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}, {"sqlite": "an SQLite", "postgresql": "a PostgreSQL"}
        raise BackupError("FILE", f"{source} is a backup of {an[found]} store and this store is {name[kind]}; "
                                  f"restore it into {an[found]} store (--db), or move the data with `bestby export "
                                  "DIR` there and `bestby import canonical DIR` here")
    try:
        held = sq.read_backup(source) if kind == "sqlite" else pg.read_backup(source)
    except (sqlite3.Error, pg.ToolError) as exc:
        raise BackupError("FILE", f"{source} cannot be read as a backup: {exc}") from None
    if kind == "sqlite" and held["check"] != "ok":
        raise BackupError("FILE", f"{source} is damaged (quick_check: {held['check']}); use another backup")
    missing = _MARKERS - held["tables"]
    if missing:
        raise BackupError("FILE", f"{source} is a database but not a bestby store (no table "
                                  f"{', '.join(sorted(missing))}); give a file written by `bestby backup`")
    newer = newer_migrations(held["migrations"], _known_migrations())
    if newer:
        shown = ", ".join(newer[:3]) + (f" and {len(newer) - 3} more" if len(newer) > 3 else "")
        raise BackupError("FILE", f"{source} was made by a newer bestby (migrations {shown} are unknown here); "
                                  "upgrade bestby, then restore it")
    if kind == "sqlite":
        created = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(source.stat().st_mtime))
    else:
        created = held["created"]
    return BackupInfo(kind=kind, path=source, created=created, counts=held.get("counts", {}), tables=held["tables"])


def restore(*, source: Path, progress: Progress | None = None, database: dict | None = None) -> RestoreResult:
    """Replace the whole store with the backup ``source``, atomically (module doc); BackupError if refused."""
    db = _db(database)
    info = inspect(source=source, database=db)
    started = time.monotonic()
    _close_connections()
    if info.kind == "sqlite":
        live = Path(db["NAME"])
        if live.resolve() == info.path.resolve():
            raise BackupError("FILE", f"{source} is the live database itself")
        if not live.exists():  # a new machine: the store is created from the backup, private from the start
            private_dir(live.parent, tighten=False)
            private_file(live)
        try:
            check = sq.restore_from(info.path, live, progress=progress)
        except sq.InUse as exc:
            raise BackupError("FILE", f"the database {live} is open in another process ({exc}): stop `bestby "
                                      "serve` and any other bestby command, then run the restore again") from None
        return RestoreResult(kind="sqlite", database=str(live), seconds=time.monotonic() - started,
                             detail=f"integrity {check}")
    try:
        pg.check_client("pg_restore", _pg_server_major(db))
        present = _pg_table_names(db)
        pg.restore_from(info.path, db, tables=len(info.tables), progress=progress)
    except pg.ToolError as exc:
        raise BackupFailed("FILE", f"{exc}; the database was left as it was") from None
    return RestoreResult(kind="postgresql", database=db["NAME"], seconds=time.monotonic() - started,
                         detail=f"{len(info.tables)} tables", left_alone=sorted(present - info.tables))


def _pg_table_names(db: dict) -> set[str]:
    import psycopg

    with psycopg.connect(**_pg_kwargs(db)) as con:
        return {r[0] for r in con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
