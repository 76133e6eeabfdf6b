"""Sources: bind the store's tables as Ibis tables, as they were known at ``as_of``.

``store_tables(con, names, as_of=...)`` reads the store's physical tables
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
    * SQLite (``ibis.sqlite.connect(path)``): Ibis' SQLite backend binds and
      joins the tables in SQLite, but it cannot run the analytics (no
      ``Quantile`` rule in Ibis 12; ``epoch_seconds`` drops fractions of a
      second; timestamps are text). So the columns the shaping reads (found
      in its Ibis expressions) are read once from SQLite as Arrow (timestamps
      and dates as their stored text; stage events and touches after as_of's
      day left behind) and loaded into an embedded DuckDB (``engine``, a fresh
      ``ibis.duckdb.connect()`` by default), where the shaping, the casts, the
      cut and the analytics run; the cut deals are materialised there once. Django writes SQLite timestamps as UTC text
      ``YYYY-MM-DD HH:MM:SS[.ffffff]``; DuckDB reads that as UTC because
      ``ibis.duckdb.connect()`` sets the session ``TimeZone`` to UTC.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops

from bestby.engine.sources import TS, as_utc, tables_as_of
from bestby.format import SPECS

__all__ = ["OPTIONAL", "REQUIRED", "store_tables"]

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
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise ValueError(f"store_tables: no physical table name for {', '.join(missing)}")
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


def store_tables(con: ibis.BaseBackend, names: dict[str, str], *, as_of: datetime,
                 engine: ibis.BaseBackend | None = None, sqlite_path: str | None = None) -> dict[str, ibis.Table]:
    """Bind the store's deals, stages, events, touches and users as Ibis tables known at ``as_of``."""
    extension = sqlite_scanner() if con.name == "sqlite" and sqlite_path else None
    if extension is not None:
        engine = engine if engine is not None else ibis.duckdb.connect()
        shaped = _shape(engine, names, database=_attach_sqlite(engine, sqlite_path, extension))
    elif con.name == "sqlite":
        engine = engine if engine is not None else ibis.duckdb.connect()
        shaped = _shape(engine, _load(engine, con, names, as_of))
    else:
        shaped = _shape(con, names)
    typed = {name: _typed(t, name) for name, t in shaped.items()}
    cut = tables_as_of(deals=typed["deals"], stages=typed["stages"], stage_events=typed["stage_events"],
                       close_date_events=typed["close_date_events"], touches=typed["touches"], as_of=as_of)
    cut["users"] = typed["users"]
    if "quotas" in typed:
        cut["quotas"] = typed["quotas"]
    return {name: cut[name] for name in (*_OUT, "quotas") if name in cut}
