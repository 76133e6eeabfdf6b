"""The FORMAT.md tables a CRM mapper builds in memory, each row remembering where it came from.

``Out.table(name).add(file, line, **values)`` appends one row of FORMAT.md file
``name`` that was made from line ``line`` of the source file ``file``. Values
may be typed (``datetime``, ``date``, ``Decimal``) or strings; ``None`` or ''
is empty. Keyword arguments that are not FORMAT.md columns become custom
fields (FORMAT.md keeps unknown columns as custom fields).

``describe(file, column=source_column, ...)`` names the source column a
FORMAT.md column came from, so that a problem found later by the canonical
path (``run.import_mapped``) points at the user's file, line and column and not
at an intermediate table the user never saw.
"""

from __future__ import annotations

from bestby.format import SPECS
from bestby.importers.readers import RawTable


class OutTable:
    def __init__(self, name: str) -> None:
        self.name = name
        self.columns: list[str] = list(SPECS[name].column_names)
        self._index = {c: i for i, c in enumerate(self.columns)}
        self.rows: list[list] = []
        self.files: list[str] = []
        self.lines: list[int | None] = []
        self.source_columns: dict[tuple[str, str], str] = {}

    def add(self, file: str, line: int | None, **values) -> None:
        if values.keys() <= self._index.keys():  # the common case: only known columns (a C-level test)
            get = values.get
            self.rows.append([get(c) for c in self.columns])
            self.files.append(file)
            self.lines.append(line)
            return
        row = [None] * len(self.columns)
        index = self._index
        for key, value in values.items():
            j = index.get(key)
            if j is None:  # a custom column: widen every row
                j = index[key] = len(self.columns)
                self.columns.append(key)
                for r in self.rows:
                    r.append(None)
                row.append(None)
            row[j] = value
        self.rows.append(row)
        self.files.append(file)
        self.lines.append(line)

    def adder(self, *columns: str):
        """A fast ``add`` for a hot loop: ``add(file, line, *values)`` with values in the order of ``columns``.

        Building a keyword dictionary per row was a fifth of a 2-million-task
        mapping; positional values into a preallocated row cost a tenth of it.
        """
        rows, files, lines = self.rows, self.files, self.lines
        idx = [self._index[c] for c in columns]
        if idx == list(range(len(self.columns))):
            def add(file: str, line: int | None, *values) -> None:
                rows.append(list(values))
                files.append(file)
                lines.append(line)
        else:
            pairs = list(enumerate(idx))

            def add(file: str, line: int | None, *values) -> None:
                row = [None] * len(self.columns)
                for k, j in pairs:
                    row[j] = values[k]
                rows.append(row)
                files.append(file)
                lines.append(line)
        return add

    def describe(self, file: str, **columns: str) -> None:
        for column, source in columns.items():
            self.source_columns[(file, column)] = source

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> list:
        j = self._index[name]
        return [r[j] for r in self.rows]

    def set_column(self, name: str, values: list) -> None:
        j = self._index[name]
        for r, v in zip(self.rows, values):
            r[j] = v

    def to_raw(self) -> RawTable:
        """The table as the canonical path reads a file: its "line" L is row L - 2 (the header is line 1)."""
        width = len(self.columns)
        cells = [[("" if (v := r[j]) is None else v) for r in self.rows] for j in range(width)]
        return RawTable(self.name, list(self.columns), cells, lines=list(range(2, len(self.rows) + 2)), nrows=len(self.rows))

    def origin(self, line: int | None, column: str | None) -> tuple[str, int | None, str | None]:
        """The source (file, line, column) of a problem reported on this table's ``line`` and ``column``."""
        if line is None or not 2 <= line < len(self.rows) + 2:
            return self.name, line, column
        file, source_line = self.files[line - 2], self.lines[line - 2]
        source_column = self.source_columns.get((file, column), column) if column else None
        return file, source_line, source_column


class Out:
    def __init__(self) -> None:
        self.tables: dict[str, OutTable] = {}

    def table(self, name: str) -> OutTable:
        if name not in self.tables:
            self.tables[name] = OutTable(name)
        return self.tables[name]

    def counts(self) -> dict[str, int]:
        return {name: len(t) for name, t in self.tables.items() if len(t)}
