"""The importers read bounded input: a device (a deals.csv linked to /dev/zero), a named pipe or a folder where a file
is expected, and a file past BESTBY_MAX_IMPORT_MB are refused with the file named, at once, and nothing is written;
the streaming reader gives the cells and line numbers that Python's csv module reads from the same file."""

from __future__ import annotations

import codecs
import csv
import io
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bestby.importers.problems import ProblemCollector
from bestby.importers.readers import read_table
from bestby.synth import write_synth
from tests.importers.crm.salesforce_export import write_export

REPO = Path(__file__).resolve().parents[2]


def bestby(args: list[str], home: Path, **env) -> subprocess.CompletedProcess:
    """The real command line on its own SQLite store, with 3 GB of address space and a minute at most (before
    the fix a /dev/zero input ran to a MemoryError and a named pipe blocked for ever)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("BESTBY_") and k != "DJANGO_SETTINGS_MODULE"}
    full |= {"BESTBY_HOME": str(home), **env}

    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    return subprocess.run([sys.executable, "-m", "bestby.cli", *args], env=full, cwd=REPO, capture_output=True,
                          text=True, timeout=120, preexec_fn=limits)


def counts(home: Path) -> tuple[int, int]:
    with sqlite3.connect(home / "bestby.sqlite3") as conn:
        return (conn.execute("SELECT count(*) FROM pipeline_deal").fetchone()[0],
                conn.execute("SELECT count(*) FROM activities_touch").fetchone()[0])


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store holding a small synthetic workspace, and the folder it came from."""
    base = tmp_path_factory.mktemp("bounded")
    folder = base / "synth"
    write_synth(folder, deals=30, seed=11)
    home = base / "home"
    done = bestby(["import", "canonical", str(folder)], home)
    assert done.returncode == 0, done.stderr
    return home, folder, counts(home)


def one_line(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("special", ["device", "pipe", "folder"])
def test_a_special_file_in_a_folder_import_is_refused_by_name_and_nothing_is_written(store, tmp_path, special):
    home, folder, before = store
    bad = tmp_path / "in"
    shutil.copytree(folder, bad)
    touches = bad / "touches.csv"
    touches.unlink()
    if special == "device":
        touches.symlink_to("/dev/zero")
        expected = "touches.csv: is a device, not a regular file; give a CSV or Parquet file"
    elif special == "pipe":
        os.mkfifo(touches)
        expected = "touches.csv: is a named pipe, not a regular file; give a CSV or Parquet file"
    else:
        touches.mkdir()
        expected = "touches.csv: is a folder, not a file; give a CSV or Parquet file"
    # the deals change too, so a partial write would show
    deals = (bad / "deals.csv").read_text().replace(",open,", ",open,", 1)
    (bad / "deals.csv").write_text(deals.replace("\n", "\n", 1))
    out = bestby(["import", "canonical", str(bad)], home)
    assert out.returncode == 1, out.stderr
    assert "Import refused" in out.stderr and expected in one_line(out.stderr)
    assert counts(home) == before


def test_a_file_past_the_import_cap_is_refused_before_it_is_read(store, tmp_path):
    home, folder, before = store
    bad = tmp_path / "in"
    shutil.copytree(folder, bad)
    with open(bad / "touches.csv", "a") as fh:  # 2.6 MB: the synthetic file and more rows of the same shape
        rows = (bad / "touches.csv").read_text().splitlines(keepends=True)[1:]
        while fh.tell() < 2.6 * 2**20:
            fh.writelines(rows)
    size = (bad / "touches.csv").stat().st_size
    out = bestby(["import", "canonical", str(bad)], home, BESTBY_MAX_IMPORT_MB="1")
    assert out.returncode == 1
    expected = f"touches.csv: is {size / 2**20:.1f} MB; an import reads files up to 1 MB (BESTBY_MAX_IMPORT_MB)"
    assert expected in one_line(out.stderr)
    assert counts(home) == before
    # under a cap it fits, the same folder is read (and refused only for its repeated touch ids)
    out = bestby(["import", "canonical", str(bad), "--dry-run"], home, BESTBY_MAX_IMPORT_MB="3")
    assert "BESTBY_MAX_IMPORT_MB" not in out.stderr and "duplicate" in out.stderr


def test_crm_and_maven_imports_refuse_a_device_by_name(store, tmp_path):
    home, _folder, before = store
    export = write_export(tmp_path / "sf")
    (export / "Opportunity.csv").unlink()
    (export / "Opportunity.csv").symlink_to("/dev/zero")
    out = bestby(["import", "salesforce", str(export)], home)
    assert out.returncode == 1 and "Opportunity.csv: is a device, not a regular file" in one_line(out.stderr)
    maven = tmp_path / "maven"
    maven.mkdir()
    for name in ("accounts.csv", "products.csv", "sales_teams.csv", "sales_pipeline.csv"):
        (maven / name).symlink_to("/dev/zero")
    out = bestby(["import", "maven", str(maven)], home)
    assert out.returncode == 1 and ".csv: is a device, not a regular file" in one_line(out.stderr)
    assert counts(home) == before


def by_csv_module(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Header, cells by column and starting lines as Python's csv module reads the file (the independent reading)."""
    text = path.read_bytes().decode("utf-8")
    text = text[1:] if text.startswith("\ufeff") else text
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [h.strip() for h in next(reader)]
    rows, lines, start = [], [], reader.line_num + 1
    for row in reader:
        if row:
            rows.append(row)
            lines.append(start)
        start = reader.line_num + 1
    return header, [list(c) for c in zip(*rows)], lines


@pytest.mark.parametrize("shape", ["plain", "bom-crlf", "multiline", "many-blocks"])
def test_streaming_reader_gives_the_cells_and_lines_the_csv_module_reads(tmp_path, shape, monkeypatch):
    import bestby.importers.readers as readers

    rows = [["deal_id", "stage", "owner_id", "note"]]
    for i in range(3000):
        note = f'said "yes"\non line two {i}' if shape == "multiline" and i % 7 == 0 else f"n{i % 5}"
        rows.append([f"D{i:05d}", ["Qualify", "Proposal", "Won"][i % 3], f"u{i % 4}", note])
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n" if shape == "bom-crlf" else "\n").writerows(rows)
    data = buf.getvalue().encode("utf-8")
    path = tmp_path / "deals.csv"
    path.write_bytes((codecs.BOM_UTF8 if shape == "bom-crlf" else b"") + data)
    if shape == "many-blocks":
        monkeypatch.setattr(readers, "BLOCK", 4096)  # many Arrow blocks, and values shared across them
    problems = ProblemCollector()
    raw = read_table(path, problems)
    assert not problems
    header, cells, lines = by_csv_module(path)
    assert raw.columns == header and raw.cells == cells and list(raw.lines) == lines
    assert raw.nrows == 3000
    stages = raw.cells[1]
    assert stages[0] is stages[3]  # equal cells share one string


def test_a_bad_byte_is_still_reported_with_its_line_and_offset(tmp_path):
    path = tmp_path / "deals.csv"
    head = codecs.BOM_UTF8 + b"deal_id,name\r\nD1,ok\r\nD2,caf"
    path.write_bytes(head + b"\xe9\r\nD3,x\r\n")
    problems = ProblemCollector()
    assert read_table(path, problems) is None
    assert [str(p) for p in problems.problems] == [
        f"deals.csv, line 3: is not valid UTF-8 (byte {len(head)}); save the file as UTF-8"]


def test_a_parquet_file_reads_the_same_cells(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    stages = ["Qualify", "Proposal"] * 500
    pq.write_table(pa.table({"deal_id": [f"D{i}" for i in range(1000)], "stage": stages,
                             "amount": list(range(1000))}), tmp_path / "deals.parquet")
    problems = ProblemCollector()
    raw = read_table(tmp_path / "deals.parquet", problems)
    assert not problems and raw.columns == ["deal_id", "stage", "amount"]
    assert raw.cells == [[f"D{i}" for i in range(1000)], stages, list(range(1000))]


def test_a_parquet_text_column_with_empty_cells_and_few_values_reads_as_written(tmp_path):
    """The reader shares equal strings block by block; a Parquet column's nulls once crashed it (NaN indices).

    ``bestby import canonical`` of a 100,000-deal Parquet folder failed on its first such column; here 200 rows
    of three values and nulls, one in four empty, read back cell for cell.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bestby.importers.problems import ProblemCollector

    written = [None if i % 4 == 0 else ("North", "South", "East")[i % 3] for i in range(200)]
    pq.write_table(pa.table({"deal_id": [f"d{i}" for i in range(200)], "source": written}), tmp_path / "deals.parquet")
    problems = ProblemCollector()
    table = read_table(tmp_path / "deals.parquet", problems)
    assert problems.problems == []
    assert table.columns == ["deal_id", "source"]
    assert table.cells[1] == written and table.cells[0] == [f"d{i}" for i in range(200)]
