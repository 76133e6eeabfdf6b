"""Read the files of a FORMAT.md folder, CSV or Parquet, into rows with line numbers.

CSV is read with Python's ``csv`` module (RFC 4180 quoting, quoted fields may
span lines) as UTF-8; a leading byte-order mark is dropped and CRLF or LF line
endings are both accepted. Every row remembers the physical line on which its
record starts, so problems can be reported where a person will look for them.
Parquet is read with PyArrow; its "line" is the row number + 1 (the header
being line 1 in CSV, the first Parquet row is reported as line 2 as well, so a
file converted from CSV keeps its line numbers).
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

from bestby.format import SPECS
from bestby.importers.problems import ProblemCollector

csv.field_size_limit(1 << 24)


@dataclass
class RawTable:
    file: str                 # the file's name as the user sees it, e.g. deals.csv
    columns: list[str]        # header, as written (BOM removed, surrounding spaces stripped)
    rows: list[list]          # cells: str for CSV ('' is empty), typed values or None for Parquet
    lines: list[int]          # the line each row starts on


def find_files(folder: Path, problems: ProblemCollector) -> dict[str, Path]:
    """Map each FORMAT.md file name present in ``folder`` to its path."""
    found: dict[str, Path] = {}
    if not folder.is_dir():
        problems.add(str(folder), None, None, "is not a folder; give the folder that holds deals.csv")
        return found
    for name in SPECS:
        candidates = [p for p in (folder / f"{name}.csv", folder / f"{name}.parquet") if p.exists()]
        if len(candidates) == 2:
            problems.add(candidates[0].name, None, None, f"both {name}.csv and {name}.parquet are present; keep one")
        elif candidates:
            found[name] = candidates[0]
    if "deals" not in found and not problems:
        problems.add(str(folder), None, None, "has no deals.csv or deals.parquet; deals is the one required file")
    return found


def read_table(path: Path, problems: ProblemCollector) -> RawTable | None:
    if path.suffix == ".parquet":
        return _read_parquet(path, problems)
    return _read_csv(path, problems)


def _read_csv(path: Path, problems: ProblemCollector) -> RawTable | None:
    data = path.read_bytes()
    if not data.strip(b"\xef\xbb\xbf \r\n\t"):
        problems.add(path.name, None, None, "the file is empty; it needs at least a header row")
        return None
    # Drop the byte-order mark ourselves rather than decoding with "utf-8-sig":
    # that codec reports error offsets relative to the data after the mark, so
    # the line and byte of a bad byte would be off by the mark's 3 bytes.
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        start = bom + exc.start  # offset in the file as saved
        line = data[:start].count(b"\n") + 1
        problems.add(path.name, line, None, f"is not valid UTF-8 (byte {start}); save the file as UTF-8")
        return None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except csv.Error as exc:
        problems.add(path.name, 1, None, f"the header row cannot be read: {exc}")
        return None
    dupes = sorted({h for h in header if header.count(h) > 1})
    for h in dupes:
        problems.add(path.name, 1, h, "the column appears more than once in the header")
    if "" in header:
        problems.add(path.name, 1, None, f"column {header.index('') + 1} has an empty name in the header")
    width = len(header)
    rows: list[list] = []
    lines: list[int] = []
    start = reader.line_num + 1
    try:
        for row in reader:
            if len(row) != width:
                if not row:
                    start = reader.line_num + 1
                    continue  # a blank line (often the last one) is not a record
                problems.add(path.name, start, None, f"has {len(row)} cells but the header has {width}")
            else:
                rows.append(row)
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        problems.add(path.name, start, None, f"cannot be parsed as CSV: {exc}")
        return None
    return RawTable(path.name, header, rows, lines)


def _read_parquet(path: Path, problems: ProblemCollector) -> RawTable | None:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        problems.add(path.name, None, None, f"cannot be read as Parquet: {exc}")
        return None
    columns = [c.strip() for c in table.column_names]
    if not columns:
        problems.add(path.name, None, None, "the file is empty; it has no columns")
        return None
    pylists = [table.column(i).to_pylist() for i in range(table.num_columns)]
    rows = [list(r) for r in zip(*pylists)] if pylists else []
    return RawTable(path.name, columns, rows, list(range(2, len(rows) + 2)))
