"""What an applied import wrote, kept for its undo: compact, and written inside the import's own transaction.

Per model, the journal keeps

* the primary-key ranges of the rows the import inserted (``created``; how
  they are known exactly is in ``bestby.importers.bulk``): a first load of
  100,000 deals is one range, a few bytes;
* for each row it updated, the old and the new value of each field it changed
  (``updated``); unchanged rows and unchanged fields are not recorded.

``save`` writes it as :class:`bestby.audit.models.ImportBatchRows` of the
batch: one row per model for the ranges, and the updated rows in chunks of
``CHUNK``. Values are stored in a JSON form that the model field reads back
exactly (``to_json`` / ``from_json``): decimals and times as text, so
12000.50 comes back as Decimal("12000.50") and a time keeps its microseconds.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Sequence

from django.db import models

#: updated rows per stored chunk: a 100,000-deal update is 20 rows of a few hundred kB each
CHUNK = 5_000


def to_ranges(keys: Iterable[int]) -> list[list[int]]:
    """Sorted runs of consecutive keys as ``[first, last]`` pairs: [1, 2, 3, 7] -> [[1, 3], [7, 7]]."""
    out: list[list[int]] = []
    for k in sorted(keys):
        if out and k == out[-1][1] + 1:
            out[-1][1] = k
        else:
            out.append([k, k])
    return out


def to_json(field: models.Field, value: Any) -> Any:
    """A field's value in a form JSON keeps exactly (``from_json`` reads it back)."""
    if value is None or isinstance(field, models.JSONField):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def from_json(field: models.Field, value: Any) -> Any:
    """The value ``to_json`` wrote, as the field holds it."""
    if value is None or isinstance(field, models.JSONField):
        return value
    return field.to_python(value)


def field_of(model: type[models.Model], attname: str) -> models.Field:
    for f in model._meta.concrete_fields:
        if f.attname == attname:
            return f
    raise LookupError(f"{model._meta.label} has no field {attname}")


class Journal:
    """Created key ranges and changed fields of one import, per model, until ``save`` writes them."""

    def __init__(self) -> None:
        self.models: dict[str, type[models.Model]] = {}
        self.created_ranges: dict[str, list[list[int]]] = {}
        self.updates: dict[str, dict[int, dict[str, list]]] = {}

    def _label(self, model: type[models.Model]) -> str:
        label = model._meta.label_lower
        self.models[label] = model
        return label

    def created(self, model: type[models.Model], keys: Iterable[int]) -> None:
        """Note rows inserted with these primary keys."""
        self.created_ranges.setdefault(self._label(model), []).extend(to_ranges(keys))

    def created_range(self, model: type[models.Model], first: int, last: int | None) -> None:
        """Note that every row with a key from ``first`` to ``last`` was inserted by the import."""
        if last is not None and last >= first:
            self.created_ranges.setdefault(self._label(model), []).append([first, last])

    def updated(self, model: type[models.Model], pk: int, attnames: Sequence[str], old: Sequence[Any],
                new: Sequence[Any]) -> None:
        """Note one row's update: the fields whose value changed, with the first old and the last new value."""
        rows = self.updates.setdefault(self._label(model), {})
        record = rows.get(pk)
        for attname, a, b in zip(attnames, old, new):
            if a == b:
                continue
            field = field_of(model, attname)
            if record is None:
                record = rows[pk] = {}
            if attname in record:
                record[attname][1] = to_json(field, b)
            else:
                record[attname] = [to_json(field, a), to_json(field, b)]

    def save(self, batch) -> None:
        """Write the journal as rows of ``batch`` (in the caller's transaction)."""
        from bestby.audit.models import ImportBatchRows

        rows = [ImportBatchRows(batch=batch, model=label, kind="created", data=ranges)
                for label, ranges in self.created_ranges.items()]
        for label, records in self.updates.items():
            items = [(str(pk), fields) for pk, fields in records.items() if fields]
            for start in range(0, len(items), CHUNK):
                rows.append(ImportBatchRows(batch=batch, model=label, kind="updated",
                                            data=dict(items[start:start + CHUNK])))
        ImportBatchRows.objects.bulk_create(rows)
