"""Shared helpers of the canonical import tests (this module holds no tests).

``snapshot`` captures everything stored: the bytes of a full export and every
row of every model (including audit entries, sign-in fields and pipelines,
which the export does not show), so "stored data stays exactly as it was" is
one equality.
"""

from __future__ import annotations

import io
from pathlib import Path

from django.apps import apps
from django.core.management import call_command
from django.db import connection

from bestby.exporters import export_canonical
from tests.importers.folders import HAND

#: rows of each file of the hand folder (tests/importers/folders.py), counted by hand
HAND_ROWS = {"users": 2, "stages": 4, "accounts": 2, "deals": 3, "stage_events": 6, "close_date_events": 2,
             "touches": 2, "quotas": 2}


def write_files(folder: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``files`` ({name: text or bytes}) byte for byte into a new ``folder``."""
    folder.mkdir(parents=True)
    for name, content in files.items():
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        (folder / name).write_bytes(data)
    return folder


def export_bytes(folder: Path) -> dict[str, bytes]:
    """Export the store into ``folder`` and return {file name: bytes}."""
    export_canonical(folder)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def all_rows() -> dict[str, list[tuple]]:
    return {m._meta.label: list(m._base_manager.order_by("pk").values_list()) for m in apps.get_models()}


class Snapshot:
    """Everything stored at one moment."""

    _n = 0

    def __init__(self, tmp_path: Path) -> None:
        Snapshot._n += 1
        self.export = export_bytes(tmp_path / f"snapshot-{Snapshot._n}")
        self.rows = all_rows()
        self.counts = {label: len(rows) for label, rows in self.rows.items()}  # audit.AuditEntry included

    def assert_same(self, other: "Snapshot") -> None:
        assert other.counts == self.counts
        assert other.export.keys() == self.export.keys()
        for name in self.export:
            assert other.export[name] == self.export[name], name
        assert other.rows == self.rows


def flush_store() -> None:
    """Empty every table inside the running test (the test's transaction restores them).

    On PostgreSQL the foreign keys are checked at commit (deferred); TRUNCATE
    refuses to run while such checks are pending, so they are run first.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    assert all(n == 0 for label, n in ((m._meta.label, m._base_manager.count()) for m in apps.get_models())
               if not label.startswith(("auth.", "contenttypes.")))


def replace_line(text: str, old: str, new: str) -> str:
    """Replace exactly one occurrence of ``old`` (a whole or partial line) in ``text``."""
    assert text.count(old) == 1, (old, text)
    return text.replace(old, new)


def drop_column(text: str, column: str) -> str:
    """Remove ``column`` from a simple CSV (no quoted commas in the affected files)."""
    lines = text.splitlines()
    header = lines[0].split(",")
    i = header.index(column)
    out = []
    for line in lines:
        cells = line.split(",")
        del cells[i]
        out.append(",".join(cells))
    return "\n".join(out) + "\n"


def write_parquet_copies(src: Path, dst: Path, *, infer_types: bool) -> Path:
    """Write a Parquet copy of every CSV of ``src`` into ``dst`` with PyArrow.

    ``infer_types=True`` lets PyArrow's CSV reader type the columns (int64,
    double, timestamp, date32, null), as a real Parquet producer would;
    otherwise every column is a string column with empty cells as NULL.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    dst.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.glob("*.csv")):
        data = path.read_bytes()
        if infer_types:
            table = pacsv.read_csv(io.BytesIO(data))
        else:
            import csv

            rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
            header, body = rows[0], [r for r in rows[1:] if r]
            table = pa.table({
                h: pa.array([r[i] or None for r in body], type=pa.string()) for i, h in enumerate(header)
            })
        pq.write_table(table, dst / f"{path.stem}.parquet")
    return dst


#: the hand folder with three valid changes: a renamed user, a new deal
#: amount for d1 and one more touch. A bad variant built on it must change
#: nothing at all, these valid rows included.
def changed_hand() -> dict[str, str]:
    files = dict(HAND)
    files["users.csv"] = replace_line(files["users.csv"], "u-rep1,Rita Rep,", "u-rep1,Rita Representative,")
    files["deals.csv"] = replace_line(files["deals.csv"], "Acme rollout,a-acme,u-rep1,12000.50,", "Acme rollout,a-acme,u-rep1,13000.00,")
    files["touches.csv"] = files["touches.csv"] + "t3,2024-02-05T09:00:00,email,u-rep1,out,replied,d1,,,a-acme,,follow-up\n"
    return files


def invalid_utf8_touches(bom: bool, at_line_start: bool = False):
    """A mutation of a files dict: touches.csv gets a lone 0xFF byte on line 3 (optionally after a BOM)."""
    def mutate(files):
        if at_line_start:  # the bad byte right after the newline that ends line 2
            text = files["touches.csv"].replace("\nt2,", "\n\udcfft2,")
        else:
            text = files["touches.csv"].replace("liked a post", "liked a \udcff post")
        data = text.encode("utf-8", "surrogateescape")  # writes the lone byte 0xFF
        files["touches.csv"] = (b"\xef\xbb\xbf" if bom else b"") + data
        return files
    return mutate
