"""The files of a CRM export: found by object name, columns looked up by any of their known names.

Exports name the same object and column in several ways (``Opportunity
History.csv`` or ``OpportunityHistory.csv``; ``OpportunityId`` in the data
export, ``OppID`` in a report; ``Deal - ID`` or ``id`` in Pipedrive). A file
is found when its name, lower-cased with everything but letters and digits
removed, equals one of the object's names so normalised; a column when its
header cell, normalised the same way, equals one of the given names.

Files are read by the canonical reader (``bestby.importers.readers``): UTF-8
with or without a byte-order mark, CRLF or LF, RFC 4180 quoting, so that one
reader knows every file's line numbers. Problems (a missing file or column, a
broken CSV) are collected and raised together as ``ImportFailed``.
"""

from __future__ import annotations

import re
from pathlib import Path

from bestby.importers.problems import ProblemCollector
from bestby.importers.readers import RawTable, read_table


def norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


class SourceFile:
    """One source file, column by column; cells are strings ('' is empty)."""

    def __init__(self, raw: RawTable) -> None:
        self.raw = raw
        self.file = raw.file
        self.nrows = raw.nrows
        self._by_norm: dict[str, int] = {}
        for i, c in enumerate(raw.columns):
            self._by_norm.setdefault(norm(c), i)

    @property
    def lines(self) -> list[int]:
        return self.raw.lines

    def header(self, *names: str) -> str | None:
        """The file's own name of the first of ``names`` it has, or None."""
        for n in names:
            i = self._by_norm.get(norm(n))
            if i is not None:
                return self.raw.columns[i]
        return None

    def col(self, *names: str) -> list[str] | None:
        """The cells of the first of ``names`` the file has (stripped strings), or None."""
        for n in names:
            i = self._by_norm.get(norm(n))
            if i is not None:
                cells = self.raw.cells[i]
                try:
                    return list(map(str.strip, cells))  # CSV cells are all str: one C-level pass
                except TypeError:
                    return [c.strip() if isinstance(c, str) else ("" if c is None else str(c)) for c in cells]
        return None

    def need(self, problems: ProblemCollector, *names: str) -> list[str]:
        """Like ``col``, but a missing column is a problem naming the file and the names looked for."""
        cells = self.col(*names)
        if cells is None:
            problems.add(self.file, 1, names[0],
                         f"required column is missing (looked for {' or '.join(names)}; the header has: "
                         f"{', '.join(self.raw.columns)})")
            return [""] * self.nrows
        return cells

    def opt(self, *names: str) -> list[str]:
        cells = self.col(*names)
        return cells if cells is not None else [""] * self.nrows

    def other_columns(self, used: set[str]) -> list[str]:
        return [c for c in self.raw.columns if norm(c) not in used]


def find(folder: Path, objects: dict[str, tuple[str, ...]], problems: ProblemCollector,
         required: tuple[str, ...] = ()) -> dict[str, SourceFile]:
    """Read the files of ``folder`` (or one file) that match ``objects`` (object -> accepted file names)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        paths = [folder]
    elif folder.is_dir():
        # not only regular files: a .csv that is a device or a pipe is refused by name by read_table
        paths = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".csv" and not p.is_dir())
    else:
        problems.add(str(folder), None, None, "does not exist; give the folder of the export (or its file)")
        return {}
    by_norm = {norm(p.stem): p for p in paths}
    found: dict[str, SourceFile] = {}
    for obj, names in objects.items():
        path = next((by_norm[norm(n)] for n in names if norm(n) in by_norm), None)
        if path is None:
            if obj in required:
                problems.add(str(folder), None, None, f"has no {names[0]}.csv; it is required (also accepted: "
                             f"{', '.join(n + '.csv' for n in names[1:]) or 'no other name'})")
            continue
        raw = read_table(path, problems)
        if raw is not None:
            found[obj] = SourceFile(raw)
    return found
