"""What the parts of one CRM mapping share: the source files, the output, findings, problems, cell readers.

The readers turn a cell into a value or record a problem naming the source
file, line and column (and return None), so that a mapper collects every
malformed cell of an export before refusing it, as the canonical import does.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from bestby.importers.crm.dates import Dates
from bestby.importers.crm.findings import Findings
from bestby.importers.crm.out import Out
from bestby.importers.crm.source import SourceFile
from bestby.importers.problems import ProblemCollector


class MapContext:
    def __init__(self, files: dict[str, SourceFile], dates: Dates) -> None:
        self.files = files
        self.dates = dates
        self.out = Out()
        self.findings = Findings()
        self.problems = ProblemCollector()

    def ts(self, src: SourceFile, column: str, i: int, cell: str) -> datetime | None:
        return self.ts_at(src.file, src.lines[i], src.header(column) or column, cell) if cell else None

    def ts_at(self, file: str, line: int | None, column: str | None, cell: str) -> datetime | None:
        """The timestamp of a cell ('' is None); an unreadable one is a problem naming file, line and column."""
        if not cell:
            return None
        try:
            return self.dates.ts(cell)
        except ValueError as exc:
            self.problems.add(file, line, column, str(exc))
            return None

    def ts_col(self, src: SourceFile, column: str, cells: list[str]) -> list[datetime | None]:
        """``ts`` of a whole column; each bad cell is a problem (the column is then read cell by cell)."""
        try:
            return self.dates.ts_column(cells)
        except ValueError:
            return [self.ts(src, column, i, c) for i, c in enumerate(cells)]

    def day(self, src: SourceFile, column: str, i: int, cell: str) -> date | None:
        if not cell:
            return None
        try:
            return self.dates.day(cell)
        except ValueError as exc:
            self.problems.add(src.file, src.lines[i], src.header(column) or column, str(exc))
            return None

    def day_col(self, src: SourceFile, column: str, cells: list[str]) -> list[date | None]:
        try:
            return self.dates.day_column(cells)
        except ValueError:
            return [self.day(src, column, i, c) for i, c in enumerate(cells)]

    def money(self, src: SourceFile, column: str, i: int, cell: str) -> Decimal | None:
        return self.money_at(src.file, src.lines[i], src.header(column) or column, cell)

    def money_at(self, file: str, line: int | None, column: str, cell: str) -> Decimal | None:
        """A decimal; a comma is a thousands separator only before a dot ("12,000.50"), else a problem."""
        if not cell:
            return None
        try:
            value = Decimal(cell.replace(",", "")) if "," in cell and "." in cell else Decimal(cell)
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            self.problems.add(file, line, column, f"{cell!r} is not a number")
            return None
        return value
