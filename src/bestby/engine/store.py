"""Sources: bind the store's tables as Ibis tables, as they were known at ``as_of``.

``StoreReader(names, ...).tables(as_of)`` reads the store's physical tables
(their names come from the caller: the engine knows no Django) and returns the
same tables, with the same columns, types and point-in-time rules as
:func:`bestby.engine.sources.folder_tables`: ``deals``, ``stages``,
``stage_events``, ``close_date_events`` and ``touches`` with FORMAT.md columns,
plus ``users`` (FORMAT.md ``users`` columns; people have no history, so it is
not cut). The as-of cut is :func:`bestby.engine.sources.tables_as_of`, shared
with the folder source, so both sources cannot drift apart.

Shaping (Ibis joins, no SQL)
    Surrogate keys become external ids (``deal_id``, ``owner_id``,
    ``account_id``, ``product_id``, ``lead_id``, ``contact_id``, ``manager_id``),
    stage and pipeline keys become their names. ``names`` maps logical names to
    physical tables: ``deals``, ``stages``, ``pipelines``, ``stage_events``,
    ``close_date_events``, ``touches`` and ``users`` are required; ``accounts``,
    ``products``, ``leads`` and ``contacts`` are optional (without one, its id
    column is NULL), and so is ``stage_event_voids`` (an ``event_id`` column:
    stage events listed there, whose clearing was undone, are left out).
    Every table must have an integer ``id`` key and, except
    stages and pipelines, a text ``external_id``. Empty strings (Django's
    blank text) are NULL, as in a folder; custom JSON is not carried.

Types
    As in a folder: ``ts`` columns are ``timestamp('UTC')``, ``date`` is
    ``date``, ``int`` ``int64``, ``decimal``/``float`` ``float64`` (analytics,
    not bookkeeping).

Backends
    * DuckDB and PostgreSQL (``ibis.postgres.connect``): everything, the
      shaping, the cut and the analytics on top, runs in the database.
    * SQLite: the live store is never read by DuckDB. :class:`StoreReader`
      first copies it with Python's own ``sqlite3`` (the online backup API,
      one read transaction, so every table is from one moment) into a private
      temporary file (:func:`sqlite_snapshot`), and DuckDB's sqlite_scanner
      reads that copy, which no other connection ever opens. The copy is
      deleted when the reader is closed (or garbage collected).

      Why a copy, and not DuckDB on the live file: DuckDB's sqlite extension
      carries its own copy of the SQLite library. SQLite keeps its POSIX
      locks per process and inode, and ``close()`` of *any* descriptor of the
      file drops *all* of the process's locks on it; one library cannot know
      about the other's descriptors. So when DuckDB closed its handle, the
      web worker's own ``sqlite3`` connection silently lost its locks; another
      process then believed it was the database's last user and deleted or
      reset the ``-wal`` and ``-shm`` files the worker still had mapped:
      workers died with SIGBUS and acknowledged commits vanished while
      ``PRAGMA integrity_check`` still said "ok" (see DESIGN.md, "One SQLite
      library per process"; the reproduction is
      ``tests/engine/test_one_sqlite_library.py``). SQLite's own
      documentation warns against two copies of the library on one file in
      one process. The alternatives measured on the 100,000-deal store
      (1.2M touches, 0.44M stage events, a 423 MB file): reading the live
      file through ``sqlite3`` row by row into Arrow took 12.7 s for the
      source step (Python objects for every cell); the backup copies pages
      in C and took 0.9-1.1 s, and DuckDB then scans the copy lazily as it
      scanned the live file before. Materialising the copy's tables in DuckDB
      instead of scanning it cost 3.9 s more. Cost of the copy: the store's
      size, in memory when it fits easily (0.58 s for that store) or on disk
      beside the store (:func:`snapshot_folder`), for as long as the analysis
      runs.
    * SQLite without the extension package: the columns the shaping reads
      (found in its Ibis expressions) are read from the copy through
      ``sqlite3`` as Arrow (timestamps and dates as their stored text; stage
      events and touches after as_of's day left behind) and loaded into the
      reader's embedded DuckDB, where the shaping, the casts, the cut and the
      analytics run. Django writes SQLite timestamps as UTC text
      ``YYYY-MM-DD HH:MM:SS[.ffffff]``; DuckDB reads that as UTC because
      ``ibis.duckdb.connect()`` sets the session ``TimeZone`` to UTC.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import tempfile
import weakref
from datetime import datetime, timedelta
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops

from bestby.engine.sources import TS, as_utc, tables_as_of
from bestby.format import SPECS
from bestby.private import private_dir

__all__ = ["OPTIONAL", "REQUIRED", "SNAPSHOT_DIR", "StoreReader", "snapshot_folder", "sqlite_snapshot"]

REQUIRED = ("deals", "stages", "pipelines", "stage_events", "close_date_events", "touches", "users")
OPTIONAL = ("accounts", "products", "leads", "contacts", "stage_event_voids", "quotas")
_OUT = ("deals", "stages", "stage_events", "close_date_events", "touches", "users")
_TYPES = {"int": dt.int64, "decimal": dt.float64, "float": dt.float64, "ts": TS, "date": dt.date}
_LOADED = itertools.count()
_DATED = ("stage_events", "touches")  # cut by their own ``at`` alone: rows after as_of's day can stay in SQLite


def _dtype(column_type: str) -> dt.DataType:
    return _TYPES.get(column_type, dt.string)


def _lookup(t: ibis.Table, fk: str, ref: ibis.Table | None, out: str, value: str = "external_id") -> ibis.Table:
    """Replace the key column ``fk`` of ``t`` by ``ref[value]`` named ``out`` (NULL when no ``ref``)."""
    if ref is None:
        return t.mutate(**{out: ibis.null(dt.string)}).drop(fk)
    key = f"_key_{out}"
    lk = ref.select(**{key: ref.id, out: ref[value]})
    return t.left_join(lk, t[fk] == lk[key]).drop(fk, key)


def _shape(con, names: dict[str, str], database: str | None = None) -> dict[str, ibis.Table]:
    """The store's whole history with FORMAT.md columns (external ids, names), still untyped."""
    raw = {n: con.table(names[n], database=database) if database else con.table(names[n])
           for n in (*REQUIRED, *OPTIONAL) if n in names}
    ref = raw.get
    users, pipelines, stages = raw["users"], raw["pipelines"], raw["stages"]
    deal_ids = raw["deals"]

    d = raw["deals"]
    d = d.select(deal_id=d.external_id, _pipeline=d.pipeline_id, name=d.name, _account=d.account_id,
                 _owner=d.owner_id, amount=d.amount, currency=d.currency, created_at=d.created_at,
                 _stage=d.stage_id, status=d.status, closed_at=d.closed_at, close_date=d.close_date,
                 lost_reason=d.lost_reason, source=d.source, _product=d.product_id)
    d = _lookup(d, "_pipeline", pipelines, "pipeline", "name")
    d = _lookup(d, "_account", ref("accounts"), "account_id")
    d = _lookup(d, "_owner", users, "owner_id")
    d = _lookup(d, "_stage", stages, "stage", "name")
    d = _lookup(d, "_product", ref("products"), "product_id")

    s = stages.select(_pipeline=stages.pipeline_id, stage=stages.name, position=stages.position,
                      kind=stages.kind, probability=stages.probability)
    s = _lookup(s, "_pipeline", pipelines, "pipeline", "name")

    e = raw["stage_events"]
    if "stage_event_voids" in raw:  # a voided event is no longer history (an undone clear): anti-join it away
        e = e.anti_join(raw["stage_event_voids"], e.id == raw["stage_event_voids"].event_id)
    e = e.select(_deal=e.deal_id, at=e.at, _to=e.to_stage_id, _from=e.from_stage_id)
    e = _lookup(e, "_deal", deal_ids, "deal_id")
    e = _lookup(e, "_to", stages, "to_stage", "name")
    e = _lookup(e, "_from", stages, "from_stage", "name")

    c = raw["close_date_events"]
    c = c.select(_deal=c.deal_id, at=c.at, new_close_date=c.new_close_date, old_close_date=c.old_close_date)
    c = _lookup(c, "_deal", deal_ids, "deal_id")

    t = raw["touches"]
    t = t.select(touch_id=t.external_id, at=t.at, channel=t.channel, _owner=t.owner_id, direction=t.direction,
                 outcome=t.outcome, _deal=t.deal_id, _lead=t.lead_id, _contact=t.contact_id,
                 _account=t.account_id, duration_minutes=t.duration_minutes, notes=t.notes)
    t = _lookup(t, "_owner", users, "owner_id")
    t = _lookup(t, "_deal", deal_ids, "deal_id")
    t = _lookup(t, "_lead", ref("leads"), "lead_id")
    t = _lookup(t, "_contact", ref("contacts"), "contact_id")
    t = _lookup(t, "_account", ref("accounts"), "account_id")

    u = users.select(user_id=users.external_id, name=users.name, email=users.email, role=users.role,
                     _manager=users.manager_id, team=users.team, territory=users.territory)
    u = _lookup(u, "_manager", users, "manager_id")

    shaped = {"deals": d, "stages": s, "stage_events": e, "close_date_events": c, "touches": t, "users": u}
    if "quotas" in raw:  # goals are not history: never cut by as_of (a quota set later still is the goal)
        q = raw["quotas"]
        shaped["quotas"] = q.select(owner_id=q.owner_key, period_start=q.period_start, period_end=q.period_end,
                                    amount=q.amount)
    return shaped


def _typed(t: ibis.Table, name: str) -> ibis.Table:
    """Columns in FORMAT.md order and types; empty text is NULL (as in a folder)."""
    out = {}
    for col in SPECS[name].columns:
        value = t[col.name]
        if value.type().is_string():
            value = value.nullif("")
        out[col.name] = value.cast(_dtype(col.type))
    return t.select(**out)


def _as_text(t: ibis.Table) -> ibis.Table:
    """Timestamps and dates as their stored text, decimals as floats: what travels from SQLite to DuckDB."""
    out = {}
    for col, kind in t.schema().items():
        if kind.is_timestamp() or kind.is_date():
            out[col] = t[col].cast(dt.string)
        elif kind.is_decimal():
            out[col] = t[col].cast(dt.float64)
        else:
            out[col] = t[col]
    return t.select(**out)


def _columns_used(shaped: dict[str, ibis.Table]) -> dict[str, list[str] | None]:
    """The physical tables the shaped expressions read, and the columns read from each (None: every column)."""
    used: dict[str, set[str]] = {}
    for t in shaped.values():
        root = t.op()
        for table in root.find(ops.DatabaseTable):
            used.setdefault(table.name, set())
        for field in root.find(ops.Field):
            rel = field.rel
            while isinstance(rel, ops.Reference):
                rel = rel.parent
            if isinstance(rel, ops.DatabaseTable):
                used[rel.name].add(field.name)
    return {name: sorted(cols) or None for name, cols in used.items()}


def _load(engine, con, names: dict[str, str], as_of: datetime) -> dict[str, str]:
    """Copy the physical tables ``_shape`` reads from SQLite into ``engine`` (temporary tables); new names.

    Only the columns the shaping reads travel, keys as integers (the id lookups
    then run in DuckDB), and the rows of stage events and touches dated after
    ``as_of``'s UTC day are left in SQLite: they are cut anyway. The filter
    compares the stored text with the next day's date (``YYYY-MM-DD``), which
    holds for any text that starts with its date; the exact cut is
    :func:`bestby.engine.sources.tables_as_of`'s, in DuckDB. Close-date events
    are not filtered (the cut reads the first later event) nor are deals (a
    touch or event may name a deal created later).
    """
    batch = next(_LOADED)
    used = _columns_used(_shape(con, names))
    utc = as_utc(as_of)
    next_day = (utc.date() + timedelta(days=1)).isoformat()
    local: dict[str, str] = {}
    for logical, physical in names.items():
        if physical not in used:
            continue
        if physical not in local:
            raw = con.table(physical)
            cols = used[physical]
            t = raw if cols is None else raw.select(*[c for c in raw.columns if c in cols])
            if logical in _DATED and "at" in t.columns:
                t = t.filter(t.at.cast(dt.string) < next_day)
            arrow = _as_text(t).to_pyarrow()
            # (a memtable: handing create_table a bare Arrow table trips an Ibis 12 / DuckDB 2 bug, DROP VIEW IF EXISTS)
            local[physical] = f"_bestby_store_{batch}_{logical}"
            engine.create_table(local[physical], ibis.memtable(arrow), temp=True)
    return {logical: local[physical] for logical, physical in names.items() if physical in local}


def sqlite_scanner() -> str | None:
    """The path of DuckDB's sqlite_scanner extension shipped as a Python package, if it is installed.

    Why a package: DuckDB installs extensions by downloading them at run time,
    which a self-hosted, possibly offline workspace cannot rely on. The
    ``duckdb-extension-sqlite-scanner`` wheel carries the extension binary
    built by DuckDB for the pinned DuckDB version (DuckDB checks the
    extension's signature when it loads it: an altered binary is refused).
    """
    try:
        import duckdb_extension_sqlite_scanner as package
    except ImportError:
        return None
    import duckdb

    path = Path(package.__file__).parent / "extensions" / f"v{duckdb.__version__}" / "sqlite_scanner.duckdb_extension"
    return str(path) if path.is_file() else None


def _attach_sqlite(engine, path: str, extension: str) -> str:
    """Load the extension into ``engine`` and attach the SQLite file read-only; return its database name."""
    engine.con.load_extension(extension)
    name = f"_bestby_store_{next(_LOADED)}"
    engine.attach(path, name=name, read_only=True)
    return name


def _cut(shaped: dict[str, ibis.Table], as_of: datetime) -> dict[str, ibis.Table]:
    """Type the shaped tables and cut them at ``as_of`` (users and quotas are not history: never cut)."""
    typed = {name: _typed(t, name) for name, t in shaped.items()}
    cut = tables_as_of(deals=typed["deals"], stages=typed["stages"], stage_events=typed["stage_events"],
                       close_date_events=typed["close_date_events"], touches=typed["touches"], as_of=as_of)
    cut["users"] = typed["users"]
    if "quotas" in typed:
        cut["quotas"] = typed["quotas"]
    return {name: cut[name] for name in (*_OUT, "quotas") if name in cut}


#: the folder, beside the SQLite store, that holds the engine's private copies while an analysis runs
SNAPSHOT_DIR = ".bestby-snapshots"
#: a RAM-backed file system for the copy when the store is small next to the memory free (see snapshot_folder)
MEMORY_DIR = Path("/dev/shm")
#: the largest share of the available memory (and of the RAM disk's free space) one copy may take there
MEMORY_SHARE = 0.25


def _available_memory() -> int | None:
    """MemAvailable from /proc/meminfo in bytes (what the kernel can give without swapping), None when unknown."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def snapshot_folder(path: str | os.PathLike) -> Path:
    """Where the engine's copy of the store at ``path`` goes: in memory when it fits easily, else beside the store.

    In memory (``/dev/shm/bestby-snapshots-UID``, a RAM file system on
    Linux) the copy is written at memory speed: 0.58 s instead of 0.8-1.0 s
    for the 423 MB benchmark store, the larger part of what the copy adds to
    an analysis. "Fits easily" means the store (with its WAL) takes at most
    :data:`MEMORY_SHARE` (a quarter) of the memory the kernel says is
    available without swapping and of the RAM disk's free space, so that two
    or three analyses at once on the web workers never push the server into
    swap. Otherwise (a large store, no ``/dev/shm``, not Linux) the copy goes
    to :data:`SNAPSHOT_DIR` beside the store, on a disk that has room for the
    store. The folder's name carries the user id: several users' bestby on
    one machine never share it.
    """
    path = Path(path)
    beside = path.parent / SNAPSHOT_DIR
    try:
        size = path.stat().st_size + (os.stat(f"{path}-wal").st_size if os.path.exists(f"{path}-wal") else 0)
        free = os.statvfs(MEMORY_DIR)
    except OSError:
        return beside
    memory = _available_memory()
    if memory is None or size > MEMORY_SHARE * min(memory, free.f_bavail * free.f_frsize):
        return beside
    return MEMORY_DIR / f"bestby-snapshots-{os.getuid()}"


def sqlite_snapshot(path: str | os.PathLike, *, folder: str | os.PathLike | None = None) -> Path:
    """Copy the live SQLite database at ``path`` into a new private file with Python's ``sqlite3``; return its path.

    The copy is SQLite's online backup (``sqlite3_backup`` in one step: one
    read transaction on the store, so all tables are from one moment; writers
    go on meanwhile, WAL readers never block them). It is made with the same
    SQLite library as every other connection of this process, so no lock is
    lost (see the module docstring). The copy is switched to the rollback
    journal, so reading it needs no ``-wal`` or ``-shm`` file.

    ``folder`` defaults to :func:`snapshot_folder` (memory when the store is
    small next to it, else beside the store). It is created 0700 and the copy 0600: the
    copy holds everything the store holds, sessions included. Copies left by
    a process that died (their name carries its pid) are removed first. Raises
    ``OSError`` naming the folder when the copy cannot be written (a full
    disk), leaving no partial file.
    """
    path = Path(path)
    folder = Path(folder) if folder is not None else snapshot_folder(path)
    private_dir(folder)
    _sweep(folder)
    fd, name = tempfile.mkstemp(prefix=f"snapshot-{os.getpid()}-", suffix=".sqlite3", dir=folder)  # mode 0600
    os.close(fd)
    target = Path(name)
    try:
        source = sqlite3.connect(path, timeout=20)
        try:
            copy = sqlite3.connect(target)
            try:
                source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")
            finally:
                copy.close()
        finally:
            source.close()
    except (sqlite3.Error, OSError) as exc:
        discard_snapshot(target)
        raise OSError(f"cannot copy the store {path} for the analytics into {folder}: {exc} "
                      "(the copy needs as much free space as the store)") from exc
    return target


def discard_snapshot(path: str | os.PathLike) -> None:
    """Delete a copy made by :func:`sqlite_snapshot` and any journal beside it (missing files are fine)."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        try:
            os.unlink(f"{path}{suffix}")
        except FileNotFoundError:
            pass


def _sweep(folder: Path) -> None:
    """Remove copies whose process is gone (killed in the middle of an analysis)."""
    for leftover in folder.glob("snapshot-*-*.sqlite3*"):
        try:
            pid = int(leftover.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            leftover.unlink(missing_ok=True)
        except PermissionError:  # alive, another user's
            pass


class StoreReader:
    """One read of the store for the engine: ``tables(as_of)`` binds its tables at any moment; ``close()`` ends it.

    ``names`` maps logical names to physical tables (see the module
    docstring). Give either ``con``, an Ibis backend that holds the tables
    (PostgreSQL, DuckDB), or ``sqlite_path``, the live SQLite store: then the
    reader takes a private copy at once (:func:`sqlite_snapshot`) and every
    ``tables(as_of)`` reads that copy, so all cuts of one reader (a backtest's
    snapshots) see the same data. The returned tables live on the reader's
    backend; on SQLite the copy is deleted by ``close()`` (also ``with``), or
    when the last table bound to it is garbage collected.
    """

    def __init__(self, names: dict[str, str], *, con: ibis.BaseBackend | None = None,
                 sqlite_path: str | os.PathLike | None = None, snapshot_dir: str | os.PathLike | None = None) -> None:
        if (con is None) == (sqlite_path is None):
            raise ValueError("StoreReader: give con (PostgreSQL, DuckDB) or sqlite_path (the SQLite store)")
        missing = [n for n in REQUIRED if n not in names]
        if missing:
            raise ValueError(f"StoreReader: no physical table name for {', '.join(missing)}")
        self.names = dict(names)
        self.snapshot: Path | None = None
        self._database: str | None = None
        self._copy: ibis.BaseBackend | None = None
        if con is not None:
            self.backend = con
            return
        self.snapshot = sqlite_snapshot(sqlite_path, folder=snapshot_dir)
        self.backend = ibis.duckdb.connect()
        # the copy goes when the reader is closed, or when the DuckDB connection (kept alive by every table bound
        # to it) is garbage collected, or at exit
        self._discard = weakref.finalize(self.backend, discard_snapshot, str(self.snapshot))
        extension = sqlite_scanner()
        if extension is not None:
            self._database = _attach_sqlite(self.backend, str(self.snapshot), extension)
        else:
            self._copy = ibis.sqlite.connect(str(self.snapshot))

    def tables(self, as_of: datetime) -> dict[str, ibis.Table]:
        """The store's deals, stages, events, touches and users (and quotas) as known at ``as_of``."""
        if self._copy is not None:
            shaped = _shape(self.backend, _load(self.backend, self._copy, self.names, as_of))
        else:
            shaped = _shape(self.backend, self.names, database=self._database)
        return _cut(shaped, as_of)

    def close(self) -> None:
        """Disconnect; on SQLite delete the copy (tables bound by this reader can no longer be read)."""
        if self._copy is not None:
            self._copy.disconnect()
            self._copy = None
        self.backend.disconnect()
        if self.snapshot is not None:
            self._discard()

    def __enter__(self) -> "StoreReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
