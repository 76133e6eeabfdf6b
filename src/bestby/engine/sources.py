"""Sources: bind a FORMAT.md folder as Ibis tables, as they were known at ``as_of``.

``folder_tables(folder, as_of=...)`` reads ``deals`` (required), ``stages``,
``stage_events``, ``close_date_events``, ``touches`` and ``users`` (people
have no history: not cut; used for the ``team`` segment) from CSV or Parquet
files (``NAME.parquet`` is preferred over ``NAME.csv`` when both exist) with
DuckDB through Ibis, and returns lazy Ibis tables: nothing is pulled into
Python except the small stage list derived when there is no stages file.

Types
    CSV columns are read as text (``all_varchar``) and cast explicitly by the
    column types of :mod:`bestby.format`; empty strings are NULL. ``ts``
    columns become ``timestamp('UTC')``: ISO 8601 with an offset is converted
    to UTC; a naive timestamp or a bare date is **taken as UTC** for now (the
    workspace time zone of FORMAT.md is not wired into the engine yet; this
    relies on the connection's ``TimeZone`` being UTC, which is what
    ``ibis.duckdb.connect()`` sets). ``date`` columns become ``date``; ``int``
    ``int64``; ``decimal`` and ``float`` ``float64`` (analytics, not
    bookkeeping). Optional columns missing from a file are added as typed
    NULLs, custom columns are kept as text. A deal's empty ``pipeline`` is
    ``"default"`` (as the importer does).

Point in time (``as_of``; a naive ``as_of`` is UTC)
    * a deal created after ``as_of`` does not exist (nor do its events);
    * stage, close-date events and touches with ``at > as_of`` do not exist;
    * a deal closed after ``as_of`` is open: ``status`` ``'open'``,
      ``closed_at`` and ``lost_reason`` NULL;
    * the stage of a deal open at ``as_of`` is the ``to_stage`` of its last
      stage event at or before ``as_of`` (ties on ``at`` broken by the higher
      stage position), or the deal's ``stage`` when it has no such event; a
      deal closed at or before ``as_of`` keeps its ``stage``;
    * with a close_date_events file, ``close_date`` is the ``new_close_date``
      of the last visible event, else the ``old_close_date`` of the first
      later event (NULL when that event is the first setting: no date was set
      at ``as_of``), else the deal's ``close_date``. Without that file a deal's
      ``close_date`` is taken as given (it may be a later value: the folder
      does not say).

Stages
    With a stages file it is used as given (all of it: stages are the process,
    not history). Without one, the stages of each pipeline are the names seen
    in ``stage_events`` (from_stage then to_stage, in file order) and then in
    ``deals``, ordered by first appearance, kinds inferred by
    :func:`bestby.importers.stages.derive_stages` from the whole files, as the
    importer does. File order is DuckDB's scan order (``row_number()`` with no
    ORDER BY, which follows the file as insertion order is preserved).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt

from bestby.format import SPECS
from bestby.importers.stages import derive_stages

__all__ = ["DEFAULT_PIPELINE", "TS", "as_utc", "folder_tables", "local_copy", "materialize", "recut", "tables_as_of"]

DEFAULT_PIPELINE = "default"  # the pipeline of a deal whose pipeline cell is empty (as the importer)
TS = dt.Timestamp(timezone="UTC")

_TYPES = {"int": dt.int64, "decimal": dt.float64, "float": dt.float64, "ts": TS, "date": dt.date}
_FILES = ("deals", "stages", "stage_events", "close_date_events", "touches")
_UNCUT = ("users", "quotas")  # not history: read whole at any as_of


def _dtype(column_type: str) -> dt.DataType:
    return _TYPES.get(column_type, dt.string)


def _find(folder: Path, name: str) -> Path | None:
    for suffix in (".parquet", ".csv"):
        path = folder / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def _read(con, path: Path, name: str) -> ibis.Table:
    """Bind one file and cast its columns to the format's types (missing optional columns: NULL)."""
    if path.suffix == ".csv":
        raw = con.read_csv(path, all_varchar=True, header=True)
    else:
        raw = con.read_parquet(path)
    spec = SPECS[name]
    missing = [c.name for c in spec.columns if c.required and c.name not in raw.columns]
    if missing:
        raise ValueError(f"{path.name}: missing required column(s) {', '.join(missing)}")
    out = {}
    for col in spec.columns:
        want = _dtype(col.type)
        if col.name in raw.columns:
            value = raw[col.name]
            if value.type().is_string():
                value = value.nullif("")
            out[col.name] = value.cast(want)
        else:
            out[col.name] = ibis.null(want)
    for extra in raw.columns:
        if extra not in out:
            out[extra] = raw[extra].cast(dt.string)
    return raw.select(**out)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; a naive datetime is taken as UTC (the engine's one rule for naive times)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _derived_stages(deals: ibis.Table, events: ibis.Table | None) -> ibis.Table:
    """Stages by first appearance (events, then deals) with inferred kinds; reduced in the engine."""
    firsts: list[tuple[str, int, int, str]] = []  # (pipeline, source rank, first row, stage)
    if events is not None:
        e = events.mutate(rn=ibis.row_number()).join(deals.select("deal_id", "pipeline"), "deal_id")
        for offset, col in ((0, "from_stage"), (1, "to_stage")):
            agg = (e.filter(e[col].notnull())
                   .group_by(pipeline=e.pipeline, stage=e[col])
                   .agg(first=(e.rn * 2 + offset).min()))
            firsts += [(r.pipeline, 0, int(r.first), r.stage) for r in agg.execute().itertuples()]
    d = deals.mutate(rn=ibis.row_number())
    agg = d.filter(d.stage.notnull()).group_by("pipeline", "stage").agg(first=d.rn.min())
    firsts += [(r.pipeline, 1, int(r.first), r.stage) for r in agg.execute().itertuples()]
    st = deals.filter(deals.stage.notnull() & deals.status.notnull()).select("pipeline", "stage", "status").distinct()
    statuses: dict[str, dict[str, set[str]]] = {}
    for r in st.execute().itertuples():
        statuses.setdefault(r.pipeline, {}).setdefault(r.stage, set()).add(r.status)
    rows = []
    for pipeline in sorted({f[0] for f in firsts}):
        seen = [f[3] for f in sorted(f for f in firsts if f[0] == pipeline)]
        for s in derive_stages(seen, statuses.get(pipeline, {})):
            rows.append({"pipeline": pipeline, "stage": s.name, "position": s.position, "kind": s.kind,
                         "probability": None})
    schema = ibis.schema({"pipeline": "string", "stage": "string", "position": "int64", "kind": "string",
                          "probability": "float64"})
    if not rows:
        return ibis.memtable({k: [] for k in schema.names}, schema=schema)
    import pandas as pd

    return ibis.memtable(pd.DataFrame(rows, columns=list(schema.names)), schema=schema)


def _last(t: ibis.Table, by: str, order: list) -> ibis.Table:
    """The last row of each ``by`` group under ``order`` (ascending keys)."""
    rank = ibis.row_number().over(group_by=t[by], order_by=[ibis.desc(k) for k in order])
    return t.mutate(_rank=rank).filter(lambda x: x._rank == 0).drop("_rank")


_MATERIALIZED = itertools.count()


def materialize(t: ibis.Table) -> ibis.Table:
    """On DuckDB, compute ``t`` once into a temporary table; elsewhere keep the expression.

    Used for results that several analytics read. The cut deals (current stage from a window over every stage event, the
    close date at as_of) are used by every analytic, several times each; as
    an expression each use would redo the window over all events. DuckDB
    keeps the temporary table in memory for the connection's life (one row
    per deal: small next to the events). PostgreSQL plans the expression
    itself and a temporary table there would outlive the caller's intent, so
    it stays an expression.
    """
    con = t._find_backend()
    if con.name != "duckdb":
        return t
    schema = t.schema()  # a table read back reports timestamps with a scale: cast to the expression's types
    return con.create_table(f"_bestby_reduced_{next(_MATERIALIZED)}", t, temp=True).cast(schema)


def folder_tables(folder: Path, *, as_of: datetime, con=None) -> dict[str, ibis.Table]:
    """Bind a FORMAT.md folder's deals, stages and events as Ibis tables known at ``as_of``."""
    folder = Path(folder)
    con = con if con is not None else ibis.duckdb.connect()
    paths = {name: _find(folder, name) for name in (*_FILES, *_UNCUT)}
    if paths["deals"] is None:
        raise FileNotFoundError(f"{folder}: no deals.csv or deals.parquet")
    all_deals = _read(con, paths["deals"], "deals")
    all_deals = all_deals.mutate(pipeline=all_deals.pipeline.fill_null(DEFAULT_PIPELINE))
    all_events = _read(con, paths["stage_events"], "stage_events") if paths["stage_events"] else None
    stages = _read(con, paths["stages"], "stages") if paths["stages"] else _derived_stages(all_deals, all_events)
    cde = _read(con, paths["close_date_events"], "close_date_events") if paths["close_date_events"] else None
    touches = _read(con, paths["touches"], "touches") if paths["touches"] else None
    tables = tables_as_of(deals=all_deals, stages=stages, stage_events=all_events, close_date_events=cde,
                          touches=touches, as_of=as_of)
    for name in _UNCUT:
        if paths[name] is not None:
            tables[name] = _read(con, paths[name], name)
    return tables


def local_copy(tables: dict[str, ibis.Table]) -> dict[str, ibis.Table]:
    """The tables copied into one in-process DuckDB (themselves when they already live in DuckDB).

    For work that re-reads cut tables many times (the forecast's calibration
    replays four earlier snapshots of them): on PostgreSQL each replay would be
    an expression nested in the cut's expression, which PostgreSQL plans badly
    (minutes for a few thousand deals); one copy of the rows known at as_of
    (a second or two per 100,000 deals) makes every replay local.
    """
    if all(t._find_backend().name == "duckdb" for t in tables.values()):
        return tables
    con = ibis.duckdb.connect()
    out = {}
    for name, t in tables.items():
        schema = t.schema()
        # through a memtable: handing create_table a bare Arrow table trips an Ibis 12 / DuckDB bug
        local = con.create_table(f"_bestby_copy_{next(_MATERIALIZED)}_{name}", ibis.memtable(t.to_pyarrow()),
                                 temp=True)
        out[name] = local.cast(schema)
    return out


def recut(tables: dict[str, ibis.Table], as_of: datetime) -> dict[str, ibis.Table]:
    """Tables already cut at some moment A, cut again at an earlier ``as_of`` (for looking back from A).

    Cutting composes: cut(cut(x, A), c) = cut(x, c) for c <= A, because every
    rule of :func:`tables_as_of` reads only rows at or before its moment (a deal
    closed after c is open at c whether it closed before A or after; the close
    date at c comes from events at or before A, and the first one after c,
    which the A-cut keeps). So a forecast at A can replay its own past without
    any row after A. Users and quotas pass through.
    """
    cut = tables_as_of(deals=tables["deals"], stages=tables["stages"], stage_events=tables.get("stage_events"),
                       close_date_events=tables.get("close_date_events"), touches=tables.get("touches"),
                       as_of=as_of)
    for name in _UNCUT:
        if name in tables:
            cut[name] = tables[name]
    return cut


def tables_as_of(*, deals: ibis.Table, stages: ibis.Table, stage_events: ibis.Table | None = None,
                 close_date_events: ibis.Table | None = None, touches: ibis.Table | None = None,
                 as_of: datetime) -> dict[str, ibis.Table]:
    """Cut whole-history tables (FORMAT.md columns, typed) to what was known at ``as_of``.

    Shared by every source (a folder, the store): the point-in-time rules of
    this module's docstring live here and only here. ``deals.pipeline`` must
    already be filled; the tables must share one backend.
    """
    cut = ibis.literal(as_utc(as_of), type=TS)
    all_deals, all_events = deals, stage_events

    deals = all_deals.filter(all_deals.created_at <= cut)
    closed_later = deals.closed_at.notnull() & (deals.closed_at > cut)
    deals = deals.mutate(
        status=ibis.ifelse(closed_later, "open", deals.status),
        closed_at=ibis.ifelse(closed_later, ibis.null(TS), deals.closed_at),
        lost_reason=ibis.ifelse(closed_later, ibis.null(dt.string), deals.lost_reason),
    )
    visible_ids = deals.select("deal_id")
    tables: dict[str, ibis.Table] = {"stages": stages}

    if all_events is not None:
        ev = all_events.filter(all_events.at <= cut)
        ev = materialize(ev.semi_join(visible_ids, "deal_id"))  # read by the cut, shelf life, facts, entries
        tables["stage_events"] = ev
        pos = stages.select(s_pipeline="pipeline", s_stage="stage", s_position="position")
        ranked = (ev.join(deals.select("deal_id", e_pipeline="pipeline"), "deal_id")
                  .left_join(pos, [("e_pipeline", "s_pipeline"), ("to_stage", "s_stage")]))
        last = _last(ranked, "deal_id", ["at", "s_position"]).select(l_deal="deal_id", l_stage="to_stage")
        deals = deals.left_join(last, deals.deal_id == last.l_deal)
        still_open = deals.status.isnull() | ~deals.status.isin(["won", "lost"])
        deals = deals.mutate(stage=ibis.ifelse(still_open, deals.l_stage.coalesce(deals.stage), deals.stage))
        deals = deals.drop("l_deal", "l_stage")

    if close_date_events is not None:
        cde = close_date_events.semi_join(visible_ids, "deal_id")
        seen = cde.filter(cde.at <= cut)
        later = cde.filter(cde.at > cut)
        tables["close_date_events"] = seen
        last_new = _last(seen, "deal_id", ["at"]).select(n_deal="deal_id", n_date="new_close_date")
        first_rank = ibis.row_number().over(group_by=later.deal_id, order_by=[later.at])
        first_old = (later.mutate(_rank=first_rank).filter(lambda x: x._rank == 0)
                     .select(o_deal="deal_id", o_date="old_close_date"))
        deals = (deals.left_join(last_new, deals.deal_id == last_new.n_deal)
                 .left_join(first_old, deals.deal_id == first_old.o_deal))
        # a later event's old_close_date is what was set at as_of, NULL included (the date was first set later)
        at_as_of = ibis.ifelse(deals.o_deal.notnull(), deals.o_date, deals.close_date)
        deals = deals.mutate(close_date=ibis.coalesce(deals.n_date, at_as_of))
        deals = deals.drop("n_deal", "n_date", "o_deal", "o_date")

    if touches is not None:
        tables["touches"] = touches.filter(touches.at <= cut)

    tables["deals"] = materialize(deals)
    return {name: tables[name] for name in _FILES if name in tables}
