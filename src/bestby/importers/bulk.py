"""Bulk writes for imports: the only code that inserts many rows at once.

Django's ``bulk_create`` builds a model instance per row and spends most of
its time there; an import of a million touches must not. These helpers write
rows as plain tuples of field values, adapted by the database backend's own
adapters (so what they write is exactly what the ORM writes and reads back):
``executemany`` on SQLite and ``COPY ... FROM STDIN`` on PostgreSQL. They run
inside the caller's transaction; they never commit.

Fields a caller does not give are filled with the model field's default.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable, Sequence

from django.db import connection, models

BATCH = 20_000


def _adapter(field: models.Field) -> Callable[[Any], Any]:
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        if connection.vendor == "postgresql":
            return lambda v: v
        return lambda v: None if v is None else ops.adapt_datetimefield_value(v)
    if isinstance(field, models.DateField):
        return lambda v: None if v is None else ops.adapt_datefield_value(v)
    if isinstance(field, models.JSONField):
        return lambda v: None if v is None else json.dumps(v, sort_keys=True)
    if isinstance(field, models.DecimalField) and connection.vendor == "sqlite":
        return lambda v: None if v is None else str(v)
    return lambda v: v


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def insert_rows(model: type[models.Model], attnames: Sequence[str], rows: Iterable[Sequence[Any]], *, on_batch: Callable[[int], None] | None = None) -> int:
    """Insert ``rows`` (tuples in ``attnames`` order) into ``model``'s table; return the count."""
    meta = model._meta
    given = list(attnames)
    fields = [meta.get_field(a) if not a.endswith("_id") or a == "external_id" or a == "order_id" else _fk(meta, a) for a in given]
    extra = [
        f for f in meta.concrete_fields
        if not f.primary_key and f.attname not in given and (f.has_default() or not f.null)
    ]
    defaults = [f.get_default() for f in extra]
    columns = [f.column for f in fields] + [f.column for f in extra]
    adapters = [_adapter(f) for f in fields + extra]
    table = _quote(meta.db_table)
    count = 0

    def adapted(batch):
        for row in batch:
            full = list(row) + defaults
            yield [ad(v) for ad, v in zip(adapters, full)]

    batch: list[Sequence[Any]] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            sql = f"COPY {table} ({', '.join(_quote(c) for c in columns)}) FROM STDIN"
            with raw.copy(sql) as copy:
                for row in rows:
                    copy.write_row([ad(v) for ad, v in zip(adapters, list(row) + defaults)])
                    count += 1
                    if on_batch and count % BATCH == 0:
                        on_batch(BATCH)
            if on_batch and count % BATCH:
                on_batch(count % BATCH)
            return count
        sql = f"INSERT INTO {table} ({', '.join(_quote(c) for c in columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                cursor.executemany(sql, list(adapted(batch)))
                count += len(batch)
                if on_batch:
                    on_batch(len(batch))
                batch = []
        if batch:
            cursor.executemany(sql, list(adapted(batch)))
            count += len(batch)
            if on_batch:
                on_batch(len(batch))
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
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)
    return len(params)


def existing_rows(model: type[models.Model], attnames: Sequence[str]) -> list[tuple]:
    """All rows of ``model`` as ``(pk, *values)`` in ``attnames`` order, converted by the ORM."""
    return list(model._base_manager.values_list("pk", *attnames).order_by())
