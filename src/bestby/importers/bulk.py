"""Bulk writes for imports: the only code that inserts many rows at once.

Django's ``bulk_create`` builds a model instance per row and spends most of
its time there; an import of a million touches must not. These helpers write
rows as plain tuples of field values, adapted column by column into exactly
the representation Django's backends write and read back (naive UTC text for
SQLite timestamps, JSON text, decimal text): ``executemany`` on SQLite and
``COPY ... FROM STDIN`` on PostgreSQL. They run inside the caller's
transaction; they never commit, and index drops and rebuilds roll back with it.

Fields a caller does not give are filled with the model field's default.

**Which rows an insert created** (for the undo of an import, ``journal``):
on PostgreSQL the keys are drawn from the table's sequence first, in one
query, and written with the rows, so they are exactly known even while other
sessions insert into the same table. On SQLite the import's transaction holds
the database's only write lock from its first statement (``BEGIN IMMEDIATE``,
and the import writes its batch row first anyway), so no other connection can
insert between the ``MAX(id)`` read before the insert and the one after it:
every key in that range is a row of this insert (AUTOINCREMENT keys only grow).
"""

from __future__ import annotations

import json
from datetime import timezone
from itertools import islice, repeat
from typing import Any, Callable, Iterable, Iterator, Sequence

from django.db import connection, models

from bestby.pipeline import revision

BATCH = 20_000
#: a load of at least this many rows, into a table holding fewer rows than the
#: load, drops the table's plain secondary indexes and builds them again after:
#: one sorted build is several times faster than a million random B-tree inserts
REBUILD_INDEXES_FROM = 50_000
# On PostgreSQL such a load also drops the table's foreign keys and adds them
# back after: a deferred trigger per row and key took 30 s of a 1M-touch load,
# the validating join of ALTER TABLE ... ADD CONSTRAINT takes about a second.

_UTC = timezone.utc


def _column_adapter(field: models.Field) -> Callable[[Sequence[Any]], list]:
    """A function that adapts a whole column of values for the database driver."""
    vendor = connection.vendor
    if isinstance(field, models.DateTimeField):
        if vendor == "postgresql":
            return list
        # what Django's SQLite backend stores: naive UTC 'YYYY-MM-DD HH:MM:SS[.ffffff]'
        # (an aware UTC value's isoformat ends in "+00:00": cutting it is the fast way to the same text)
        return lambda col: [
            None if v is None else (v.isoformat(" ")[:-6] if v.tzinfo is _UTC else v.astimezone(_UTC).replace(tzinfo=None).isoformat(" "))
            for v in col
        ]
    if isinstance(field, models.DateField):
        return lambda col: [None if v is None else v.isoformat() for v in col]
    if isinstance(field, models.JSONField):
        return lambda col: ["{}" if v == {} else (None if v is None else json.dumps(v, sort_keys=True)) for v in col]
    if isinstance(field, models.DecimalField) and vendor == "sqlite":
        return lambda col: [None if v is None else str(v) for v in col]
    return list


def _adapter(field: models.Field) -> Callable[[Any], Any]:
    """Adapt one value (for updates, which are few)."""
    column = _column_adapter(field)
    return lambda v: column([v])[0]


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def tune_for_bulk() -> None:
    """Give SQLite a 256 MB page cache for this connection (the default 2 MB thrashes on index inserts)."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -262144")


def _plain_indexes(cursor, model) -> dict[str, list[str]]:
    """The table's plain (non-unique, non-key, column) indexes: name -> columns."""
    table = model._meta.db_table
    out = {}
    for name, c in connection.introspection.get_constraints(cursor, table).items():
        if (c.get("index") and not c.get("unique") and not c.get("primary_key") and c.get("columns")
                and not c.get("definition") and not name.endswith("_like") and not name.startswith("sqlite_")
                and all(o in (None, "ASC") for o in (c.get("orders") or []))):
            out[name] = list(c["columns"])
    return out


def _foreign_keys(cursor, model) -> dict[str, tuple[str, str, str]]:
    """The table's single-column foreign keys: name -> (column, referenced table, referenced column)."""
    out = {}
    for name, c in connection.introspection.get_constraints(cursor, model._meta.db_table).items():
        if c.get("foreign_key") and len(c.get("columns") or []) == 1:
            out[name] = (c["columns"][0], *c["foreign_key"])
    return out


def insert_rows(model: type[models.Model], attnames: Sequence[str], rows: Iterable[Sequence[Any]], *,
                on_batch: Callable[[int], None] | None = None, journal=None) -> int:
    """Insert ``rows`` (sequences in ``attnames`` order) into ``model``'s table; return the count."""
    rows = rows if isinstance(rows, list) else list(rows)
    if not rows:
        return 0
    return insert_columns(model, attnames, [list(c) for c in zip(*rows)], on_batch=on_batch, journal=journal)


def insert_columns(model: type[models.Model], attnames: Sequence[str], columns: Sequence[Sequence[Any]], *,
                   on_batch: Callable[[int], None] | None = None, journal=None) -> int:
    """Insert rows given column by column (lists in ``attnames`` order); return the count.

    With a ``journal`` (``bestby.importers.journal.Journal``), the keys of the
    inserted rows are recorded in it (see the module doc for how they are known).
    """
    n = len(columns[0]) if columns else 0
    if not n:
        return 0
    revision.changed(model)  # no signals here: tell in-process read models that deals changed
    meta = model._meta
    pk_before = None
    if journal is not None:
        if connection.vendor == "postgresql":
            attnames, columns = [meta.pk.attname, *attnames], [_next_keys(meta, n), *columns]
            journal.created(model, columns[0])
        else:
            pk_before = _max_pk(meta)
    fields = [_fk(meta, a) for a in attnames]
    extra = [
        f for f in meta.concrete_fields
        if not f.primary_key and f.attname not in attnames and (f.has_default() or not f.null)
    ]
    names = [f.column for f in fields] + [f.column for f in extra]
    data = [_column_adapter(f)(col) for f, col in zip(fields, columns)]
    data += [repeat(_column_adapter(f)([f.get_default()])[0], n) for f in extra]
    tuples = zip(*data)

    def batches() -> Iterator[list[tuple]]:
        while batch := list(islice(tuples, BATCH)):
            yield batch

    table = _quote(meta.db_table)
    col_sql = ", ".join(_quote(c) for c in names)
    with connection.cursor() as cursor:
        dropped, foreign = {}, {}
        if n >= REBUILD_INDEXES_FROM and model._base_manager.count() < n:
            dropped = _plain_indexes(cursor, model)
            if connection.vendor == "postgresql":
                # run the checks pending so far: PostgreSQL alters no table with pending ones
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                foreign = _foreign_keys(cursor, model)
                for name in foreign:
                    cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_quote(name)}")
            for name in dropped:
                cursor.execute(f"DROP INDEX {_quote(name)}")
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({col_sql}) FROM STDIN") as copy:
                write = copy.write_row
                for batch in batches():
                    for row in batch:
                        write(row)
                    if on_batch:
                        on_batch(len(batch))
        else:
            sql = f"INSERT INTO {table} ({col_sql}) VALUES ({', '.join(['%s'] * len(names))})"
            for batch in batches():
                cursor.executemany(sql, batch)
                if on_batch:
                    on_batch(len(batch))
        for name, cols in dropped.items():
            cursor.execute(f"CREATE INDEX {_quote(name)} ON {table} ({', '.join(_quote(c) for c in cols)})")
        for name, (column, other, other_column) in foreign.items():
            # one validating join instead of a deferred trigger per row: a missing
            # parent still fails the import, and the constraint is as Django made it
            cursor.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {_quote(name)} FOREIGN KEY ({_quote(column)}) "
                f"REFERENCES {_quote(other)} ({_quote(other_column)}) DEFERRABLE INITIALLY DEFERRED"
            )
    if journal is not None and connection.vendor != "postgresql":
        journal.created_range(model, (pk_before or 0) + 1, _max_pk(meta))
    return n


def _next_keys(meta, n: int) -> list[int]:
    """``n`` new primary keys from the table's sequence (PostgreSQL), in one query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [meta.db_table, meta.pk.column, n])
        return [row[0] for row in cursor.fetchall()]


def _max_pk(meta) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX({_quote(meta.pk.column)}) FROM {_quote(meta.db_table)}")
        return cursor.fetchone()[0]


def delete_ranges(model: type[models.Model], ranges: Sequence[Sequence[int]]) -> int:
    """Delete the rows whose primary key lies in one of ``ranges`` (``[first, last]``); return the count.

    The one way rows of append-only history are removed: the undo of the
    import that appended them (``bestby.importers.undo``), which checked first
    that nothing else depends on them. The ORM refuses such deletes on purpose.
    """
    meta = model._meta
    sql = f"DELETE FROM {_quote(meta.db_table)} WHERE {_quote(meta.pk.column)} BETWEEN %s AND %s"
    count = 0
    with connection.cursor() as cursor:
        for first, last in ranges:
            cursor.execute(sql, [first, last])
            count += cursor.rowcount
    if count:
        revision.changed(model)
    return count


def _fk(meta, attname: str):
    for f in meta.concrete_fields:
        if f.attname == attname:
            return f
    raise LookupError(f"{meta.label} has no field {attname}")


def update_rows(model: type[models.Model], attnames: Sequence[str], rows: Iterable[tuple[int, Sequence[Any]]]) -> int:
    """Update rows given as ``(pk, values in attnames order)``; return the count."""
    meta = model._meta
    fields = [_fk(meta, a) for a in attnames]
    adapters = [_adapter(f) for f in fields]
    sets = ", ".join(f"{_quote(f.column)} = %s" for f in fields)
    sql = f"UPDATE {_quote(meta.db_table)} SET {sets} WHERE {_quote(meta.pk.column)} = %s"
    params = [[ad(v) for ad, v in zip(adapters, values)] + [pk] for pk, values in rows]
    if params:
        revision.changed(model)
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
    return len(params)


def existing_rows(model: type[models.Model], attnames: Sequence[str]) -> list[tuple]:
    """All rows of ``model`` as ``(pk, *values)`` in ``attnames`` order, converted by the ORM."""
    return list(model._base_manager.values_list("pk", *attnames).order_by())
