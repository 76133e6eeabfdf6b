"""Read the files of a FORMAT.md folder, CSV or Parquet, into columns with line numbers.

CSV is UTF-8 with RFC 4180 quoting (quoted fields may span lines); a leading
byte-order mark is dropped and CRLF or LF line endings are both accepted.
Every row can say the physical line on which its record starts, so problems
are reported where a person will look for them.

Two readers give the same cells. The fast one is PyArrow's multithreaded CSV
parser (chosen because a million-row file must load in seconds); the careful
one is Python's ``csv`` module, which knows each record's line. The fast
reader is tried first; whenever it objects to anything (a ragged row, bad
UTF-8, a broken quote) the careful reader reads the file again and reports the
problem with its line. Line numbers of a file read the fast way are computed
by the careful reader only when a problem needs one.
Parquet is read with PyArrow; its "line" is the row number + 1 (the header
being line 1 in CSV, the first Parquet row is reported as line 2 as well, so a
file converted from CSV keeps its line numbers).
"""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from bestby.format import SPECS
from bestby.importers.problems import ProblemCollector

csv.field_size_limit(1 << 24)


class RawTable:
    """A file's header and cells, column by column (str for CSV, '' is empty; typed or None for Parquet)."""

    def __init__(self, file: str, columns: list[str], cells: list[list], lines: list[int] | None = None,
                 nrows: int | None = None, line_source: Path | None = None) -> None:
        self.file = file            # the file's name as the user sees it, e.g. deals.csv
        self.columns = columns      # header (BOM removed, surrounding spaces stripped)
        self.cells = cells          # one list per header column
        self.nrows = nrows if nrows is not None else (len(cells[0]) if cells else 0)
        self._lines = lines
        self._line_source = line_source

    @property
    def lines(self) -> list[int]:
        """The line each row starts on (computed on first use for a file read the fast way)."""
        if self._lines is None:
            self._lines = _csv_lines(self._line_source) if self._line_source else list(range(2, self.nrows + 2))
        return self._lines

    @property
    def rows(self) -> list[list]:
        return [list(r) for r in zip(*self.cells)] if self.cells else [[] for _ in range(self.nrows)]


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
    fast = _read_csv_fast(path, data)
    if fast is not None:
        return fast
    return _read_csv_careful(path, data, problems)


def _header(data: bytes) -> list[str] | None:
    """The stripped header names, or None when the header needs the careful reader."""
    first = data.split(b"\n", 1)[0]
    try:
        row = next(csv.reader([first.decode("utf-8").rstrip("\r")], strict=True))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return None
    header = [h.strip() for h in row]
    if '"' in first.decode("utf-8") and first.count(b'"') % 2:
        return None  # a quoted header cell spans lines
    if len(set(header)) != len(header) or "" in header:
        return None
    return header


def _read_csv_fast(path: Path, data: bytes) -> RawTable | None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    header = _header(data[bom:])
    if header is None or data.count(b'"') % 2:
        return None  # an odd number of quotes is a broken quote, which PyArrow would let run to the end

    try:
        table = pacsv.read_csv(
            pa.py_buffer(data[bom:]),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    cells = [table.column(i).to_pylist() for i in range(table.num_columns)]
    newlines = data.count(b"\n")
    ends = data.endswith(b"\n")
    if (ends and newlines == table.num_rows + 1) or (not ends and newlines == table.num_rows):
        # one line per record and no blank line: record i starts on line i + 2, no second reading needed
        return RawTable(path.name, header, cells, lines=list(range(2, table.num_rows + 2)), nrows=table.num_rows)
    return RawTable(path.name, header, cells, nrows=table.num_rows, line_source=path)


def _csv_lines(path: Path) -> list[int]:
    """The starting line of every record, as the careful reader counts them."""
    data = path.read_bytes()
    bom = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    reader = csv.reader(io.StringIO(data[bom:].decode("utf-8"), newline=""))
    next(reader, None)
    lines, start = [], reader.line_num + 1
    for row in reader:
        if row:
            lines.append(start)
        start = reader.line_num + 1
    return lines


def _read_csv_careful(path: Path, data: bytes, problems: ProblemCollector) -> RawTable | None:
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
    cells = [list(c) for c in zip(*rows)] if rows else [[] for _ in header]
    return RawTable(path.name, header, cells, lines=lines, nrows=len(rows))


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
    cells = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return RawTable(path.name, columns, cells, nrows=table.num_rows)
