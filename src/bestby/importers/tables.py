"""Step 1 of an import: check each file's header and parse its cells into typed columns.

Pure of the store except ``store_limits``, which reads the models' field sizes
(no database access). See ``bestby.importers.canonical`` for the whole import.
"""

from __future__ import annotations

from typing import Any, Callable

from bestby.format import FileSpec
from bestby.importers.mapping import MAPS
from bestby.importers.parse import parser_for
from bestby.importers.problems import ProblemCollector
from bestby.importers.readers import RawTable


class ParsedTable:
    """A parsed file, column by column: typed values in spec column order (None = empty)."""

    def __init__(self, spec: FileSpec, raw: RawTable, columns: list[list], customs: list[dict | None]) -> None:
        self.spec = spec
        self.file = raw.file
        self.raw = raw
        self.columns = columns      # one list per spec column
        self.customs = customs      # unknown columns of each row, non-empty cells only
        self.nrows = raw.nrows

    @property
    def lines(self) -> list[int]:
        return self.raw.lines

    @property
    def rows(self) -> list[list]:
        return [list(r) for r in zip(*self.columns)]

    def column(self, name: str) -> list:
        return self.columns[self.index(name)]

    def index(self, column: str) -> int:
        return self.spec.column_names.index(column)


def _is_blank(cell, text: bool) -> bool:
    return cell is None or cell == "" or (not text and isinstance(cell, str) and not cell.strip())


def _parse_column(cells: list, parse, text: bool) -> tuple[list, list[tuple[int, str]]]:
    """Parse one column; return the values and the (row, message) of each cell that failed.

    The fast path parses every non-empty cell in one comprehension; only a
    column that has a bad or blank-looking cell is walked cell by cell.
    """
    if text:
        return [None if c is None or c == "" else (c if type(c) is str else parse(c)) for c in cells], []
    allowed = getattr(parse, "allowed", None)
    try:
        if allowed is not None:
            return [None if c is None or c == "" else (c if c in allowed else parse(c)) for c in cells], []
        return [None if c is None or c == "" else parse(c) for c in cells], []
    except ValueError:
        pass
    values, bad = [], []
    for i, c in enumerate(cells):
        if _is_blank(c, text):
            values.append(None)
            continue
        try:
            values.append(parse(c))
        except ValueError as exc:
            values.append(None)
            bad.append((i, str(exc)))
    return values, bad


def parse_table(raw: RawTable, spec: FileSpec, zone, problems: ProblemCollector, notes: list[str],
                limits: dict[str, Callable[[Any], str | None]] | None = None) -> ParsedTable:
    """Check the header, parse every cell, and find duplicate ids (step 1).

    ``limits`` (see ``store_limits``) checks each parsed value of a column
    against what the store can hold and returns a problem message or None.
    Problems are reported in row order, then column order, as a person reads.
    """
    missing = [c for c in spec.required if c not in raw.columns]
    for column in missing:
        problems.add(raw.file, 1, column, f"required column is missing (the header has: {', '.join(raw.columns)})")
    known = set(spec.column_names)
    custom = [(i, c) for i, c in enumerate(raw.columns) if c not in known]
    if custom:
        notes.append(f"{raw.file}: kept unknown columns as custom fields: {', '.join(c for _, c in custom)}")
    limits = limits or {}
    n = raw.nrows
    found: list[tuple[int, int, str, str]] = []  # (row, column order, column, message)
    columns: list[list] = []
    for j, col in enumerate(spec.columns):
        if col.name not in raw.columns:
            columns.append([None] * n)
            continue
        parse = parser_for(col, zone)
        text = parse.__name__ == "parse_str"
        values, bad = _parse_column(raw.cells[raw.columns.index(col.name)], parse, text)
        found.extend((i, j, col.name, message) for i, message in bad)
        failed = {i for i, _ in bad}
        if col.required and None in values:
            found.extend((i, j, col.name, "is required but empty") for i, v in enumerate(values) if v is None and i not in failed)
        limit = limits.get(col.name)
        longest = getattr(limit, "max_length", None)
        if longest is not None and max((len(v) for v in values if v is not None), default=0) <= longest:
            limit = None  # every cell fits: no need to ask cell by cell
        if limit is not None:
            for i, v in enumerate(values):
                if v is not None and (message := limit(v)) is not None:
                    found.append((i, j, col.name, message))
        columns.append(values)
    if found:
        lines = raw.lines
        for i, _, name, message in sorted(found, key=lambda f: (f[0], f[1])):
            problems.add(raw.file, lines[i], name, message)
    if custom:
        pairs = [(c, raw.cells[i]) for i, c in custom]
        customs = []
        for r in range(n):
            extra = {c: (v if isinstance(v, str) else str(v)) for c, cells in pairs if (v := cells[r]) not in (None, "")}
            customs.append(extra or None)
    else:
        customs = [None] * n
    if spec.key and not missing:
        keys = list(zip(*(columns[spec.column_names.index(k)] for k in spec.key)))
        if len(set(keys)) != len(keys):
            seen: dict[tuple, int] = {}
            lines = raw.lines
            for i, key in enumerate(keys):
                if None in key:
                    continue
                first = seen.setdefault(key, i)
                if first != i:
                    label = ", ".join(f"{k}={v}" for k, v in zip(spec.key, key))
                    problems.add(raw.file, lines[i], spec.key[0], f"duplicate row {label} (first on line {lines[first]})")
    return ParsedTable(spec, raw, columns, customs)


def store_limits(name: str) -> dict[str, Callable[[Any], str | None]]:
    """For each column of FORMAT.md file ``name``, a check of what its model field can hold.

    Text longer than the field, a decimal with more digits or decimal places
    than the field keeps, or a whole number out of the field's range would be
    cut, rounded or refused by the database, and not the same way on SQLite
    and PostgreSQL (PostgreSQL aborts the import with a database error,
    SQLite stores the value, and a re-import of a rounded amount reports it
    updated every time). Such a value is a problem of the input instead,
    reported with its file, line and column. References are checked by
    resolving them, except pipeline and stage names, which are checked here.
    """
    from django.apps import apps
    from django.db import models
    from django.db.backends.base.operations import BaseDatabaseOperations

    fmap = MAPS[name]
    checks: dict[str, Callable[[Any], str | None]] = {}
    for col in fmap.cols:
        if col.ref in ("pipelines", "stages"):
            field = apps.get_model("pipeline.Pipeline" if col.ref == "pipelines" else "pipeline.Stage")._meta.get_field("name")
        elif col.ref:
            continue
        else:
            field = fmap.model._meta.get_field(col.field)
        if isinstance(field, models.DecimalField):
            checks[col.column] = _decimal_limit(field.max_digits - field.decimal_places, field.decimal_places)
        elif isinstance(field, models.IntegerField):
            # the range Django documents as safe on every database, not SQLite's wider one
            low, high = BaseDatabaseOperations.integer_field_ranges[field.get_internal_type()]
            checks[col.column] = _int_limit(low, high)
        elif isinstance(field, models.CharField) and field.max_length:
            checks[col.column] = _text_limit(field.max_length)
    return checks


def _decimal_limit(whole: int, places: int) -> Callable[[Any], str | None]:
    def check(value) -> str | None:
        if value and value.adjusted() >= whole:
            return f"{value} is too large: at most {whole} digits before the decimal point"
        if value.normalize().as_tuple().exponent < -places:
            return f"{value} has more than {places} decimal places; round it to {places}"
        return None

    return check


def _int_limit(low: int, high: int) -> Callable[[Any], str | None]:
    def check(value) -> str | None:
        return None if low <= value <= high else f"{value} is out of range ({low} to {high})"

    return check


def _text_limit(length: int) -> Callable[[Any], str | None]:
    def check(value) -> str | None:
        return None if len(value) <= length else f"is {len(value)} characters long; at most {length} fit"

    check.max_length = length

    return check
