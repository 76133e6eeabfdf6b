"""Problems found in input files, reported with file, line and column."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f", line {self.line}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class ImportFailed(Exception):
    """The input was rejected; nothing was written. ``problems`` says where and why."""

    #: at most this many problems are collected; a file with a systematic
    #: mistake (a wrong date format in every row) would otherwise flood the screen
    LIMIT = 50

    def __init__(self, problems: list[Problem], truncated: int = 0):
        self.problems = problems
        self.truncated = truncated
        super().__init__(self.summary())

    def summary(self) -> str:
        lines = [str(p) for p in self.problems]
        if self.truncated:
            lines.append(f"... and {self.truncated} more problems")
        return "\n".join(lines)


class ProblemCollector:
    """Collect problems up to ImportFailed.LIMIT and count the rest."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.truncated = 0

    def add(self, file: str, line: int | None, column: str | None, message: str) -> None:
        if len(self.problems) < ImportFailed.LIMIT:
            self.problems.append(Problem(file, line, column, message))
        else:
            self.truncated += 1

    def __bool__(self) -> bool:
        return bool(self.problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise ImportFailed(self.problems, self.truncated)
