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

A NUL character (U+0000) is refused in any text cell (``bestby.bounds.check_text``:
PostgreSQL cannot store it, SQLite stores it and the API then fails on it).
Looking for it cell by cell would cost a pass over every text cell of a
million rows, so the readers look where it is cheap: the CSV scan already
reads every byte (a NUL is the byte 0x00 in UTF-8), and PyArrow searches a
Parquet file's text columns at once. ``RawTable.nul_free`` says the file has
none, and the parser then skips the search (``tables.parse_table``).

Bounded input (the security review ran ``deals.csv`` symlinked to
``/dev/zero`` into a MemoryError at 6 GB, and a valid 200 MB CSV peaked at
2.6 GB):

* a file is opened once (:func:`open_input`) and checked on what was opened:
  a folder, a device such as ``/dev/zero``, a named pipe or a socket is
  refused with the file named, and so is a file larger than
  ``BESTBY_MAX_IMPORT_MB`` (:func:`input_limit`); a link is followed and the
  file it leads to is what is checked;
* a CSV file is never held whole in memory: one pass in 16 MB blocks counts
  its quotes and line ends, PyArrow then parses it from the open file, and the
  careful reader decodes it line by line;
* cells are turned into Python strings column by column, each column's Arrow
  memory released after it, and equal cells of a column share one string
  object (Arrow's dictionary encoding per block), so a column of a few
  distinct values (stage, kind, owner) costs a pointer per row instead of a
  string; the row numbers of a file read the fast way are a ``range``.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from bestby.format import SPECS
from bestby.importers.problems import ProblemCollector

csv.field_size_limit(1 << 24)
BLOCK = 1 << 24  # bytes read at a time: the scan's blocks and PyArrow's
#: a header line longer than this is left to the careful reader
HEADER_MAX = 1 << 20
_LONE_CR = re.compile(r"(?<=\r)(?=[^\n])")


class RawTable:
    """A file's header and cells, column by column (str for CSV, '' is empty; typed or None for Parquet)."""

    def __init__(self, file: str, columns: list[str], cells: list[list], lines: list[int] | range | None = None,
                 nrows: int | None = None, line_source: Path | None = None, nul_free: bool = False) -> None:
        self.file = file            # the file's name as the user sees it, e.g. deals.csv
        self.columns = columns      # header (BOM removed, surrounding spaces stripped)
        self.cells = cells          # one list per header column
        #: True when the reader saw that no cell holds a NUL character (a whole file's bytes, or a Parquet file's
        #: text columns at once), so the parser need not look cell by cell; False: not known
        self.nul_free = nul_free
        self.nrows = nrows if nrows is not None else (len(cells[0]) if cells else 0)
        self._lines = lines
        self._line_source = line_source

    @property
    def lines(self) -> list[int] | range:
        """The line each row starts on (computed on first use for a file read the fast way)."""
        if self._lines is None:
            self._lines = _csv_lines(self._line_source) if self._line_source else range(2, self.nrows + 2)
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


def input_limit() -> int:
    """The largest file an import reads, in bytes: ``BESTBY_MAX_IMPORT_MB`` (Django's setting once it is set up)."""
    from django.conf import settings

    if settings.configured and hasattr(settings, "BESTBY_MAX_IMPORT_BYTES"):
        return settings.BESTBY_MAX_IMPORT_BYTES
    from bestby import config

    return config.load().max_import_mb * 2**20


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def refusal(st: os.stat_result, limit: int) -> str | None:
    """Why a file with status ``st`` is not read as an import's input (None: it is read)."""
    if stat.S_ISDIR(st.st_mode):
        return "is a folder, not a file; give a CSV or Parquet file"
    if not stat.S_ISREG(st.st_mode):
        return f"is {_kind(st.st_mode)}, not a regular file; give a CSV or Parquet file"
    if st.st_size > limit:
        return (f"is {st.st_size / 2**20:,.1f} MB; an import reads files up to {limit / 2**20:,.0f} MB "
                "(BESTBY_MAX_IMPORT_MB)")
    return None


def open_input(path: Path, problems: ProblemCollector, limit: int | None = None) -> BinaryIO | None:
    """Open ``path`` for reading, or add a problem naming it and return None (see the module doc).

    The checks are made on the opened file, so the path cannot be swapped for
    another between check and read; opening does not block on a named pipe.
    """
    name = Path(path).name
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        problems.add(name, None, None, "does not exist")
        return None
    except OSError as exc:
        problems.add(name, None, None, f"cannot be opened: {exc.strerror}")
        return None
    message = refusal(os.fstat(fd), input_limit() if limit is None else limit)
    if message:
        os.close(fd)
        problems.add(name, None, None, message)
        return None
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_table(path: Path, problems: ProblemCollector, *, limit: int | None = None) -> RawTable | None:
    """Read one CSV or Parquet file; None (with a problem naming the file) when it cannot be read."""
    fh = open_input(path, problems, limit)
    if fh is None:
        return None
    with fh:
        if path.suffix == ".parquet":
            return _read_parquet(path, fh, problems)
        return _read_csv(path, fh, problems)


@dataclass
class _Scan:
    """What one pass over a CSV file's bytes tells, without keeping them."""
    header: bytes | None  # the first line (without its line end), None when longer than HEADER_MAX
    bom: int              # 3 when the file starts with a UTF-8 byte-order mark, else 0
    quotes: int
    newlines: int
    ends_with_newline: bool
    blank: bool           # only a byte-order mark and white space
    nul: bool             # a 0x00 byte anywhere (U+0000 is that byte in UTF-8, and no other character has it)


def _scan(fh: BinaryIO) -> _Scan:
    head = bytearray()
    quotes = newlines = 0
    last = b""
    blank = True
    header_done = False
    nul = False
    while block := fh.read(BLOCK):
        quotes += block.count(b'"')
        nul = nul or b"\x00" in block
        newlines += block.count(b"\n")
        if blank and block.strip(b"\xef\xbb\xbf \r\n\t"):
            blank = False
        if not header_done:
            end = block.find(b"\n")
            head += block if end < 0 else block[:end]
            header_done = end >= 0 or len(head) > HEADER_MAX
        last = block[-1:]
    fh.seek(0)
    bom = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    header = bytes(head[bom:]) if len(head) <= HEADER_MAX else None
    return _Scan(header, bom, quotes, newlines, last == b"\n", blank, nul)


def _read_csv(path: Path, fh: BinaryIO, problems: ProblemCollector) -> RawTable | None:
    scan = _scan(fh)
    fast = _read_csv_fast(path, fh, scan)
    if fast is not None:
        return fast
    fh.seek(0)
    return _read_csv_careful(path, fh, scan, problems)


def _header(first: bytes | None) -> list[str] | None:
    """The stripped header names from the first line, or None when the header needs the careful reader."""
    if first is None:
        return None
    try:
        text = first.decode("utf-8").rstrip("\r")
        row = next(csv.reader([text], strict=True))
    except (UnicodeDecodeError, csv.Error, StopIteration):
        return None
    header = [h.strip() for h in row]
    if '"' in text and first.count(b'"') % 2:
        return None  # a quoted header cell spans lines
    if len(set(header)) != len(header) or "" in header:
        return None
    return header


def _read_csv_fast(path: Path, fh: BinaryIO, scan: _Scan) -> RawTable | None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    header = _header(scan.header)
    if header is None or scan.quotes % 2:
        return None  # an odd number of quotes is a broken quote, which PyArrow would let run to the end
    try:
        table = pacsv.read_csv(
            fh,  # the byte-order mark is in the header row, which is skipped
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=BLOCK),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(
                column_types={h: pa.string() for h in header},
                strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        fh.seek(0)
        return None
    nrows = table.num_rows
    cells = _columns_to_lists(table)
    if (scan.ends_with_newline and scan.newlines == nrows + 1) or (not scan.ends_with_newline
                                                                    and scan.newlines == nrows):
        # one line per record and no blank line: record i starts on line i + 2, no second reading needed
        return RawTable(path.name, header, cells, lines=range(2, nrows + 2), nrows=nrows, nul_free=not scan.nul)
    return RawTable(path.name, header, cells, nrows=nrows, line_source=path, nul_free=not scan.nul)


def _columns_to_lists(table) -> list[list]:
    """The table's columns as Python lists, one column at a time, releasing each column's Arrow memory after it.

    In a string column, equal cells become one shared ``str`` (Arrow's dictionary encoding, block by
    block, with one string kept per value across blocks): a column with few distinct values costs a
    pointer per row. A block whose values are mostly distinct is converted directly (sharing would save
    little and cost a hash table).
    """
    import pyarrow as pa

    columns = table.columns
    del table
    out = []
    for i in range(len(columns)):
        column, columns[i] = columns[i], None
        out.append(_shared_strings(column) if pa.types.is_string(column.type) else column.to_pylist())
        del column
    pa.default_memory_pool().release_unused()
    return out


def _shared_strings(column) -> list:
    import numpy as np
    import pyarrow.compute as pc

    cells: list = []
    canonical: dict[str, str] = {}
    for chunk in column.chunks:
        if len(chunk) < 64:
            cells.extend(chunk.to_pylist())
            continue
        encoded = pc.dictionary_encode(chunk)
        values = encoded.dictionary.to_pylist()
        if 2 * len(values) > len(chunk):
            cells.extend(chunk.to_pylist())
            continue
        # one slot past the values stands for an empty cell: a Parquet string column may hold nulls, whose
        # indices are null too (as NumPy they would be NaN floats, which cannot index)
        shared = np.empty(len(values) + 1, dtype=object)
        shared[:-1] = [canonical.setdefault(v, v) for v in values]
        indices = encoded.indices.fill_null(len(values)) if encoded.indices.null_count else encoded.indices
        cells.extend(shared[indices.to_numpy(zero_copy_only=False)].tolist())
    return cells


def _decoded_lines(fh: BinaryIO, bom: int) -> Iterator[str]:
    """The file's lines as text (line ends kept), decoded one at a time; UnicodeDecodeError carries the byte
    offset in the file as ``start`` and the line number as ``line``."""
    offset, line = 0, 1
    for raw in fh:
        chunk = raw[bom:] if offset == 0 else raw
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            exc.start += offset + (bom if offset == 0 else 0)
            exc.line = line
            raise
        if "\r" in text.rstrip("\r\n"):
            yield from _LONE_CR.split(text)  # a line that ends in a lone CR (old Mac files) is a line too
        else:
            yield text
        offset += len(raw)
        line += 1


def _csv_lines(path: Path) -> list[int]:
    """The starting line of every record, as the careful reader counts them (the file read line by line)."""
    with open(path, "rb") as fh:
        bom = len(codecs.BOM_UTF8) if fh.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8 else 0
        fh.seek(0)
        reader = csv.reader(_decoded_lines(fh, bom))
        next(reader, None)
        lines, start = [], reader.line_num + 1
        for row in reader:
            if row:
                lines.append(start)
            start = reader.line_num + 1
    return lines


def _read_csv_careful(path: Path, fh: BinaryIO, scan: _Scan, problems: ProblemCollector) -> RawTable | None:
    if scan.blank:
        problems.add(path.name, None, None, "the file is empty; it needs at least a header row")
        return None
    # Drop the byte-order mark ourselves rather than decoding with "utf-8-sig":
    # that codec reports error offsets relative to the data after the mark, so
    # the line and byte of a bad byte would be off by the mark's 3 bytes.
    try:
        return _careful_rows(path, csv.reader(_decoded_lines(fh, scan.bom), strict=True), problems, scan.nul)
    except UnicodeDecodeError as exc:
        problems.add(path.name, exc.line, None, f"is not valid UTF-8 (byte {exc.start}); save the file as UTF-8")
        return None


def _careful_rows(path: Path, reader, problems: ProblemCollector, nul: bool = True) -> RawTable | None:
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
    return RawTable(path.name, header, cells, lines=lines, nrows=len(rows), nul_free=not nul)


def _read_parquet(path: Path, fh: BinaryIO, problems: ProblemCollector) -> RawTable | None:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(fh)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        problems.add(path.name, None, None, f"cannot be read as Parquet: {exc}")
        return None
    columns = [c.strip() for c in table.column_names]
    if not columns:
        problems.add(path.name, None, None, "the file is empty; it has no columns")
        return None
    nrows = table.num_rows
    nul_free = _nul_free(table)
    cells = _columns_to_lists(table)
    return RawTable(path.name, columns, cells, nrows=nrows, nul_free=nul_free)


def _nul_free(table) -> bool:
    """Whether no text cell of a Parquet table holds a NUL character (one vectorised search per column)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            if pc.any(pc.match_substring(column, "\x00")).as_py():
                return False
        elif not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
                  or pa.types.is_temporal(column.type) or pa.types.is_decimal(column.type)
                  or pa.types.is_boolean(column.type) or pa.types.is_null(column.type)):
            return False  # a column of another type (binary, a list) becomes text cell by cell: not known
    return True
