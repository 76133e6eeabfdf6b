"""Step 1 of an import: check each file's header and parse its cells into typed columns.

Pure of the store except ``store_limits`` and ``store_bounds``, which read the
models' field sizes and ranges (no database access). See
``bestby.importers.canonical`` for the whole import.

Every number, date and timestamp is checked against the bound of the model
column it is written to (``bestby.columns.bound``: a deal amount
``DECIMAL(18, 2)`` keeps 16 digits before the point, an integer 32 bits,
dates 1900-01-01..2199-12-31), and every text cell, custom columns included,
is refused when it holds a NUL character (``bestby.bounds.check_text``); a
refusal is a problem with file, line and column, found before anything is
written. A decimal with more places than its column keeps is rounded
half-even to those places (``1234.5678`` in an amount is ``1234.57``), which
is what the database did silently before; it is not a problem.
"""

from __future__ import annotations

from typing import Any, Callable

from bestby.bounds import OutOfBounds, check_column, check_text
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


def _nul_rows(cells: list, text: bool) -> list[int]:
    """The rows of a column whose text holds a NUL character (one C-level search when there is none)."""
    if text:
        if "\x00" not in "".join(filter(None, cells)):
            return []
        return [i for i, c in enumerate(cells) if c and "\x00" in c]
    return [i for i, c in enumerate(cells) if isinstance(c, str) and "\x00" in c]


def _nul_message(column: str) -> str:
    try:
        check_text(column, "\x00")
    except OutOfBounds as exc:
        return exc.message
    raise AssertionError("check_text let a NUL through")  # pragma: no cover


def parse_table(raw: RawTable, spec: FileSpec, zone, problems: ProblemCollector, notes: list[str],
                limits: dict[str, Callable[[Any], str | None]] | None = None,
                bounds: dict[str, Any] | None = None) -> ParsedTable:
    """Check the header, parse every cell, and find duplicate ids (step 1).

    ``limits`` (see ``store_limits``) checks each parsed value of a column
    against what the store can hold and returns a problem message or None.
    ``bounds`` (see ``store_bounds``) gives the range of each numeric, date and
    timestamp column: a value outside it is a problem, a decimal with too many
    places is rounded (``bestby.bounds.check_column``). A text cell with a NUL
    character is a problem. Problems are reported in row order, then column
    order, as a person reads.
    """
    missing = [c for c in spec.required if c not in raw.columns]
    for column in missing:
        problems.add(raw.file, 1, column, f"required column is missing (the header has: {', '.join(raw.columns)})")
    known = set(spec.column_names)
    custom = [(i, c) for i, c in enumerate(raw.columns) if c not in known]
    if custom:
        notes.append(f"{raw.file}: kept unknown columns as custom fields: {', '.join(c for _, c in custom)}")
    limits = limits or {}
    bounds = bounds or {}
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
        if text and not raw.nul_free:
            for i in _nul_rows(values, True):
                found.append((i, j, col.name, _nul_message(col.name)))
        bound = bounds.get(col.name)
        if bound is not None:
            values, refused = check_column(bound, col.name, values, rounding=True)
            found.extend((i, j, col.name, exc.message) for i, exc in refused)
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
    if custom and not raw.nul_free:
        for k, (i, name) in enumerate(custom):
            found.extend((r, len(spec.columns) + k, name, _nul_message(name)) for r in _nul_rows(raw.cells[i], False))
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


def store_bounds(name: str) -> dict[str, Any]:
    """For each numeric, date and timestamp column of FORMAT.md file ``name``, the bound of its model column.

    ``bestby.columns.bound`` reads it off the model field, the one place each
    range is defined. A value out of it would be refused by PostgreSQL with a
    database error, stored by SQLite as something no page can read back, or
    (a date near 9999) break every later computation; it is a problem of the
    input instead, reported with its file, line and column.
    """
    from bestby.columns import bound

    fmap = MAPS[name]
    found = {}
    for col in fmap.cols:
        if col.ref:
            continue
        spec = bound(fmap.model_label, col.field)
        if spec is not None:
            found[col.column] = spec
    return found


def store_limits(name: str) -> dict[str, Callable[[Any], str | None]]:
    """For each text column of FORMAT.md file ``name``, a check of the length its model field can hold.

    Text longer than the field would be cut or refused by the database, and
    not the same way on SQLite and PostgreSQL (PostgreSQL aborts the import
    with a database error, SQLite stores the value). Such a value is a problem
    of the input instead, reported with its file, line and column. References
    are checked by resolving them, except pipeline and stage names, which are
    checked here. Numbers and dates: ``store_bounds``.
    """
    from django.apps import apps
    from django.db import models

    fmap = MAPS[name]
    checks: dict[str, Callable[[Any], str | None]] = {}
    for col in fmap.cols:
        if col.ref in ("pipelines", "stages"):
            field = apps.get_model("pipeline.Pipeline" if col.ref == "pipelines" else "pipeline.Stage")._meta.get_field("name")
        elif col.ref:
            continue
        else:
            field = fmap.model._meta.get_field(col.field)
        if isinstance(field, models.CharField) and field.max_length:
            checks[col.column] = _text_limit(field.max_length)
    return checks


def _text_limit(length: int) -> Callable[[Any], str | None]:
    def check(value) -> str | None:
        return None if len(value) <= length else f"is {len(value)} characters long; at most {length} fit"

    check.max_length = length

    return check
